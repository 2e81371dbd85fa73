package io.cosyvoice.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;

import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A frontend's view of the cluster's backends. The series of one backend node exist from its first
 * capacity report until it is lost, then are removed: node ids are new at every start, and dead
 * nodes must not linger.
 *
 * <pre>
 * cosyvoice_cluster_backends{state="available|draining"}   gauge    backends known, by whether they take jobs
 * cosyvoice_cluster_backend_free_capacity{node}            gauge    free capacity the node last announced
 * cosyvoice_cluster_backend_capacity{node}                 gauge    total capacity the node last announced
 * cosyvoice_cluster_jobs_placed_total{node}                counter  jobs this frontend sent to the node
 * cosyvoice_cluster_backends_lost_total{reason="left|silent"} counter backends dropped
 * cosyvoice_cluster_prompts_withheld_total                 counter  jobs sent without the voice's prompt features
 * cosyvoice_cluster_prompts_resent_total                   counter  of those, sent again with them (the backend lacked them)
 * </pre>
 *
 * <p>Thread-safe (synchronized); called by the frontend's directory of backends on every report
 * (about one a second per backend) and every placement.
 */
public final class ClusterMetrics {

    /** Why a backend was dropped. */
    public enum Lost {
        /** It left the cluster: stopped, crashed, or missed the cluster's heartbeats. */
        LEFT,
        /** It stayed a member but sent no capacity report for the directory's timeout. */
        SILENT;

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private final MeterRegistry registry;
    private final AtomicInteger available = new AtomicInteger();
    private final AtomicInteger draining = new AtomicInteger();
    private final Map<Lost, Counter> lost = new EnumMap<>(Lost.class);
    private final Map<String, Node> nodes = new HashMap<>();
    private final Counter promptsWithheld;
    private final Counter promptsResent;

    /** The meters of one backend node, removed together. */
    private record Node(AtomicInteger free, AtomicInteger total, Counter placed, List<Meter> meters) {
    }

    ClusterMetrics(MeterRegistry registry) {
        this.registry = registry;
        String backends = "Synthesis backends this frontend knows: available take jobs, draining finish theirs and take none";
        Gauge.builder("cosyvoice.cluster.backends", available, AtomicInteger::get)
                .description(backends).tag("state", "available").register(registry);
        Gauge.builder("cosyvoice.cluster.backends", draining, AtomicInteger::get)
                .description(backends).tag("state", "draining").register(registry);
        for (Lost reason : Lost.values()) {
            lost.put(reason, Counter.builder("cosyvoice.cluster.backends.lost")
                    .description("Synthesis backends dropped: left the cluster, or silent (no capacity report in time)")
                    .tag("reason", reason.label())
                    .register(registry));
        }
        promptsWithheld = Counter.builder("cosyvoice.cluster.prompts.withheld")
                .description("Synthesis jobs sent to a backend without the voice's prompt features, which it said it keeps")
                .register(registry);
        promptsResent = Counter.builder("cosyvoice.cluster.prompts.resent")
                .description("Jobs sent without prompt features whose backend no longer had them: sent again with them")
                .register(registry);
    }

    /** Records nothing: for a directory run without a server's metrics (tests). */
    public static ClusterMetrics disabled() {
        return new ClusterMetrics(new CompositeMeterRegistry());
    }

    /** A backend announced its capacity; its series start with its first report. */
    public synchronized void reported(String node, int free, int total) {
        Node meters = nodes.computeIfAbsent(node, this::register);
        meters.free().set(free);
        meters.total().set(total);
    }

    /** How many known backends take jobs, and how many drain. */
    public synchronized void backends(int available, int draining) {
        this.available.set(available);
        this.draining.set(draining);
    }

    /** The frontend sent a job to this backend (ignored for a node already lost). */
    public synchronized void placed(String node) {
        Node meters = nodes.get(node);
        if (meters != null) {
            meters.placed().increment();
        }
    }

    /** A job went to a backend without its voice's prompt features. */
    public void promptWithheld() {
        promptsWithheld.increment();
    }

    /** A job sent without its prompt features was refused for lack of them, and goes again with them. */
    public void promptResent() {
        promptsResent.increment();
    }

    /** The backend was dropped: counts it, and removes its series. */
    public synchronized void lost(String node, Lost reason) {
        lost.get(reason).increment();
        Node meters = nodes.remove(node);
        if (meters != null) {
            meters.meters().forEach(registry::remove);
        }
    }

    private Node register(String node) {
        AtomicInteger free = new AtomicInteger();
        AtomicInteger total = new AtomicInteger();
        Gauge freeGauge = Gauge.builder("cosyvoice.cluster.backend.free.capacity", free, AtomicInteger::get)
                .description("Jobs the backend node said it would accept now (its last capacity report)")
                .tag("node", node).strongReference(true).register(registry);
        Gauge totalGauge = Gauge.builder("cosyvoice.cluster.backend.capacity", total, AtomicInteger::get)
                .description("Jobs the backend node accepts at most: engine.workers + engine.queue-size (its last capacity report)")
                .tag("node", node).strongReference(true).register(registry);
        Counter placed = Counter.builder("cosyvoice.cluster.jobs.placed")
                .description("Synthesis jobs this frontend sent to the backend node (a refused one retried elsewhere counts on both)")
                .tag("node", node).register(registry);
        return new Node(free, total, placed, List.of(freeGauge, totalGauge, placed));
    }
}
