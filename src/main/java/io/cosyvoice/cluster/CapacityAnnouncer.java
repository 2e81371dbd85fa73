package io.cosyvoice.cluster;

import io.cosyvoice.engine.EngineBackendVerticle;
import io.cosyvoice.synthesis.SynthesisMessages;
import io.cosyvoice.synthesis.SynthesisMessages.Capacity;
import io.vertx.core.Vertx;

/**
 * A backend's side of placement: publishes its free capacity to the frontends when it changes
 * (checked every {@link #CHECK_MS}) and at least every {@link #HEARTBEAT_MS} as a sign of life, and
 * cancels the jobs of a frontend that left the cluster.
 */
public final class CapacityAnnouncer {

    static final long CHECK_MS = 100;
    static final long HEARTBEAT_MS = 1000;

    private final Vertx vertx;
    private final EngineBackendVerticle backend;
    private final long timer;
    private Capacity last;
    private long lastSentAt;

    private CapacityAnnouncer(Vertx vertx, ClusterNode node, EngineBackendVerticle backend) {
        this.vertx = vertx;
        this.backend = backend;
        SynthesisMessages.registerCodecs(vertx);
        node.onNodeLeft(backend::cancelJobsFrom);
        announce();
        this.timer = vertx.setPeriodic(CHECK_MS, t -> announce());
    }

    /** Starts announcing the backend's capacity on the cluster. */
    public static CapacityAnnouncer start(Vertx vertx, ClusterNode node, EngineBackendVerticle backend) {
        return new CapacityAnnouncer(vertx, node, backend);
    }

    private void announce() {
        Capacity now = backend.capacity();
        long at = System.nanoTime();
        if (!now.equals(last) || at - lastSentAt >= HEARTBEAT_MS * 1_000_000) {
            vertx.eventBus().publish(SynthesisMessages.CAPACITY_ADDRESS, now);
            last = now;
            lastSentAt = at;
        }
    }

    /** Stops announcing (after the backend drained: the node leaves the cluster next). */
    public void stop() {
        vertx.cancelTimer(timer);
    }
}
