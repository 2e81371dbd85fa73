package io.cosyvoice.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Requests that arrived over TLS, by the TLS engine that decrypted them and the HTTP version ALPN
 * chose, so an operator can see that OpenSSL and HTTP/2 are really in use.
 *
 * <pre>
 * cosyvoice_https_requests_total{engine="openssl|jdk", protocol="h2|http/1.1"}   counter
 * </pre>
 */
public final class HttpsMetrics {

    private final MeterRegistry registry;
    private final Map<String, Counter> counters = new ConcurrentHashMap<>();

    HttpsMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    /** One request over TLS. */
    public void onRequest(String engine, String protocol) {
        counters.computeIfAbsent(engine + ' ' + protocol, k -> Counter.builder("cosyvoice.https.requests")
                .description("Requests received over TLS, by TLS engine and ALPN protocol")
                .tag("engine", engine).tag("protocol", protocol)
                .register(registry)).increment();
    }
}
