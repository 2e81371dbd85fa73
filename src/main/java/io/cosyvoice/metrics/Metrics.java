package io.cosyvoice.metrics;

import io.cosyvoice.config.MetricsConfig;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.micrometer.Label;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;

import java.util.EnumSet;
import java.util.UUID;

/**
 * The metrics of one server process: one Micrometer registry, scraped by Prometheus from
 * {@code GET /metrics}. It holds the synthesis metrics the API records ({@link #synthesis()}),
 * those of the engine or batcher ({@link #engine()}), the JVM's, and Vert.x's own (HTTP server,
 * event bus, pools) for the Vert.x instance made by {@link #vertx}.
 *
 * <p>When metrics are disabled every meter is a no-op, so callers record unconditionally.
 */
public final class Metrics implements AutoCloseable {

    /** The Prometheus text exposition format, version 0.0.4: what {@link #scrape} writes. */
    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private final MetricsConfig config;
    private final MeterRegistry registry;
    private final PrometheusMeterRegistry prometheus;
    private final JvmGcMetrics gc;
    private final EngineMetrics engine;
    private final SynthesisMetrics synthesis;
    private final HttpsMetrics https;
    private ClusterMetrics cluster;

    private Metrics(MetricsConfig config, MeterRegistry registry, PrometheusMeterRegistry prometheus, JvmGcMetrics gc) {
        this.config = config;
        this.registry = registry;
        this.prometheus = prometheus;
        this.gc = gc;
        this.engine = new EngineMetrics(registry);
        this.synthesis = new SynthesisMetrics(registry);
        this.https = new HttpsMetrics(registry);
    }

    /** A new registry as configured: Prometheus with the JVM's metrics, or nothing when disabled. */
    public static Metrics create(MetricsConfig config) {
        if (!config.enabled()) {
            return disabled();
        }
        PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new ClassLoaderMetrics().bindTo(prometheus);
        new JvmMemoryMetrics().bindTo(prometheus);
        JvmGcMetrics gc = new JvmGcMetrics();
        gc.bindTo(prometheus);
        new JvmThreadMetrics().bindTo(prometheus);
        new ProcessorMetrics().bindTo(prometheus);
        new UptimeMetrics().bindTo(prometheus);
        new FileDescriptorMetrics().bindTo(prometheus);
        return new Metrics(config, prometheus, prometheus, gc);
    }

    /** Metrics that record nothing (a registry without backends: every meter is a no-op). */
    public static Metrics disabled() {
        return new Metrics(new MetricsConfig(false, false), new CompositeMeterRegistry(), null, null);
    }

    public boolean enabled() {
        return prometheus != null;
    }

    /** Whether {@code GET /metrics} needs an API bearer token. */
    public boolean requireToken() {
        return config.requireToken();
    }

    /** What the synthesis backend (engine threads today, the continuous batcher later) reports. */
    public EngineMetrics engine() {
        return engine;
    }

    /** What the API records per synthesis request. */
    public SynthesisMetrics synthesis() {
        return synthesis;
    }

    /**
     * A Vert.x instance that reports its own metrics (HTTP server requests by method, route and
     * status; event bus; worker and connection pools) to this registry, or a plain one when disabled.
     */
    public Vertx vertx(VertxOptions options) {
        return vertxBuilder(options).build();
    }

    /** A Vert.x builder that reports to this registry (when enabled); a cluster manager can be added to it. */
    public io.vertx.core.VertxBuilder vertxBuilder(VertxOptions options) {
        if (!enabled()) {
            return Vertx.builder().with(options);
        }
        MicrometerMetricsOptions vertxMetrics = new MicrometerMetricsOptions()
                .setEnabled(true)
                // Vert.x keeps registries by name, JVM-wide: a name of its own per server
                .setRegistryName("cosyvoice-" + UUID.randomUUID())
                // no event-bus address label: per-job addresses would make series without bound
                .setLabels(EnumSet.of(Label.HTTP_METHOD, Label.HTTP_CODE, Label.HTTP_ROUTE, Label.POOL_TYPE,
                        Label.POOL_NAME, Label.EB_SIDE));
        return Vertx.builder()
                .with(new VertxOptions(options).setMetricsOptions(vertxMetrics))
                .withMetrics(new MicrometerMetricsFactory(registry));
    }

    /**
     * Every metric in the Prometheus text format. Formatting reads every meter: call it off the
     * event loop.
     *
     * @throws IllegalStateException when metrics are disabled
     */
    public String scrape() {
        if (prometheus == null) {
            throw new IllegalStateException("metrics are disabled");
        }
        return prometheus.scrape();
    }

    /**
     * A frontend's view of the cluster's backends; registered on first use, so a process that is
     * not a frontend has none of its series.
     */
    public synchronized ClusterMetrics cluster() {
        if (cluster == null) {
            cluster = new ClusterMetrics(registry);
        }
        return cluster;
    }

    /** Requests over TLS by engine and protocol. */
    public HttpsMetrics https() {
        return https;
    }

    MeterRegistry registry() {
        return registry;
    }

    @Override
    public void close() {
        if (gc != null) {
            gc.close();
        }
        registry.close();
    }
}
