package io.cosyvoice;

import io.cosyvoice.config.ConfigException;
import io.cosyvoice.config.ConfigLoader;
import io.cosyvoice.config.ServerConfig;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** {@code java -jar cosyvoice-server.jar}: load the configuration, start, stop gracefully on SIGTERM. */
public final class Main {

    private Main() {
    }

    public static void main(String[] args) throws Exception {
        ServerConfig config;
        try {
            config = ConfigLoader.load(System.getenv());
        } catch (ConfigException e) {
            System.err.println("cosyvoice-server: configuration error: " + e.getMessage());
            System.exit(2);
            return;
        }
        Logging.configure(config.log());
        CosyVoiceServer server;
        try {
            server = CosyVoiceServer.start(config).await(10, TimeUnit.MINUTES);
        } catch (Exception e) {
            org.slf4j.LoggerFactory.getLogger(Main.class).error("start-up failed: {}", e.getMessage(), e);
            System.err.println("cosyvoice-server: start-up failed: " + e.getMessage());
            System.exit(1);
            return;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                server.stop().await(config.http().shutdownTimeout().toSeconds() + 30, TimeUnit.SECONDS);
            } catch (Exception e) {
                System.err.println("cosyvoice-server: unclean shutdown: " + e);
            } finally {
                stopped.countDown();
            }
        }, "shutdown"));
        stopped.await();
    }
}
