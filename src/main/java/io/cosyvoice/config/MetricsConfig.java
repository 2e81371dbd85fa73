package io.cosyvoice.config;

/**
 * Prometheus metrics on the API port.
 *
 * @param enabled      serve {@code GET /metrics} and record metrics (false: no route, nothing recorded)
 * @param requireToken {@code GET /metrics} needs an API bearer token like {@code /api/}; false: open, like the health routes
 */
public record MetricsConfig(boolean enabled, boolean requireToken) {
    public static final MetricsConfig DEFAULTS = new MetricsConfig(true, false);
}
