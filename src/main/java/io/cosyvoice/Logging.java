package io.cosyvoice;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.core.joran.spi.JoranException;
import io.cosyvoice.config.LogConfig;
import org.slf4j.LoggerFactory;

import java.util.Locale;

/** Applies the configured log format and level to Logback (read from {@code logback.xml}). */
final class Logging {

    private Logging() {
    }

    static void configure(LogConfig config) {
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return;
        }
        context.reset();
        context.putProperty("LOG_FORMAT", config.format().name().toUpperCase(Locale.ROOT));
        context.putProperty("LOG_LEVEL", config.level());
        JoranConfigurator configurator = new JoranConfigurator();
        configurator.setContext(context);
        try {
            configurator.doConfigure(Logging.class.getResource("/logback.xml"));
        } catch (JoranException e) {
            System.err.println("cosyvoice-server: logging configuration failed: " + e.getMessage());
        }
    }
}
