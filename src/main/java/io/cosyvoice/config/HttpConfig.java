package io.cosyvoice.config;

import java.time.Duration;

/**
 * The public HTTP listener.
 *
 * @param port            0 picks a free port (tests)
 * @param shutdownTimeout how long a graceful shutdown waits for in-flight requests
 * @param webSocketIdleTimeout a duplex connection with no message and no running task closes after this
 * @param synthesisStallTimeout a synthesis that owes audio and holds credits but sends nothing for this long fails
 * @param tls             HTTPS with HTTP/2 when a certificate is configured
 */
public record HttpConfig(String host, int port, Duration shutdownTimeout, Duration webSocketIdleTimeout,
                         Duration synthesisStallTimeout, TlsConfig tls) {
    public static final HttpConfig DEFAULTS = new HttpConfig("0.0.0.0", 8080, Duration.ofSeconds(30), Duration.ofSeconds(60),
            Duration.ofSeconds(60), TlsConfig.OFF);
}
