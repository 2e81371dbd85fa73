package io.cosyvoice.storage;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.slf4j.LoggerFactory;

/**
 * Without a logback configuration every logger logs at DEBUG, and S3Proxy's Jetty, the AWS SDK
 * and Netty then drown the test output. Raises those loggers to INFO unless something already
 * configured a level for them. Register it before {@code VertxExtension}, which creates Vert.x
 * (and so initialises Netty's logging) early: {@code @ExtendWith({TestLogging.class, VertxExtension.class})}.
 */
final class TestLogging implements BeforeAllCallback {

    private static final String[] NOISY = {
        "org.eclipse.jetty", "software.amazon.awssdk", "io.netty", "io.vertx", "com.google", "org.apache",
        "io.opentelemetry",
    };

    /** S3Proxy logs its CORS settings and Jetty's start and stop at INFO. */
    private static final String[] CHATTY = {"org.gaul"};

    TestLogging() {
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        quietThirdParties();
    }

    static void quietThirdParties() {
        if (!(LoggerFactory.getILoggerFactory() instanceof ch.qos.logback.classic.LoggerContext)) {
            return;
        }
        for (String name : NOISY) {
            raise(name, Level.INFO);
        }
        for (String name : CHATTY) {
            raise(name, Level.WARN);
        }
    }

    private static void raise(String name, Level level) {
        if (LoggerFactory.getLogger(name) instanceof Logger logger && logger.getLevel() == null) {
            logger.setLevel(level);
        }
    }
}
