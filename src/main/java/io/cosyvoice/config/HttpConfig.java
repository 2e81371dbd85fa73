package io.cosyvoice.config;

import java.time.Duration;

/**
 * The public HTTP listener.
 *
 * @param port            0 picks a free port (tests)
 * @param shutdownTimeout how long a graceful shutdown waits for in-flight requests
 */
public record HttpConfig(String host, int port, Duration shutdownTimeout) {
    public static final HttpConfig DEFAULTS = new HttpConfig("0.0.0.0", 8080, Duration.ofSeconds(30));
}
