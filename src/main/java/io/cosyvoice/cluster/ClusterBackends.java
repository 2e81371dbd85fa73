package io.cosyvoice.cluster;

import io.cosyvoice.error.ErrorCode;
import io.cosyvoice.error.ServiceException;
import io.cosyvoice.synthesis.Backends;
import io.cosyvoice.synthesis.SynthesisMessages;
import io.cosyvoice.synthesis.SynthesisMessages.Capacity;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The frontend's view of the cluster's backends, from the capacity they publish: each job goes to
 * the backend with the most free capacity (not round robin), counted against it until it reports
 * again. A backend that leaves the cluster, or stops reporting for {@link #REPORT_TIMEOUT_MS}, is
 * dropped at once and the streams it was running fail with a clear error.
 */
public final class ClusterBackends implements Backends {

    private static final Logger log = LoggerFactory.getLogger(ClusterBackends.class);
    /** Backends report at least every {@link CapacityAnnouncer#HEARTBEAT_MS}; this many ms of silence means gone. */
    static final long REPORT_TIMEOUT_MS = 5_000;

    private final Vertx vertx;
    private final String localNode;
    private final Map<String, Backend> backends = new ConcurrentHashMap<>();
    private MessageConsumer<Capacity> reports;
    private long sweepTimer;

    /** One backend as last reported, less the jobs placed on it since. */
    private static final class Backend {
        final String nodeId;
        final Set<Watch> watches = ConcurrentHashMap.newKeySet();
        int free;
        int total;
        boolean draining;
        long reportedAt;

        Backend(String nodeId) {
            this.nodeId = nodeId;
        }
    }

    /** A stream to fail on its own context when its backend goes. */
    private record Watch(Context context, Runnable onLost) {
        @Override
        public boolean equals(Object other) {
            return this == other;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(this);
        }
    }

    private ClusterBackends(Vertx vertx, String localNode) {
        this.vertx = vertx;
        this.localNode = localNode;
    }

    /** Starts listening to the backends' reports and to members leaving. */
    public static Future<ClusterBackends> start(Vertx vertx, ClusterNode node) {
        SynthesisMessages.registerCodecs(vertx);
        ClusterBackends directory = new ClusterBackends(vertx, node.nodeId());
        node.onNodeLeft(left -> directory.lost(left, "it left the cluster"));
        directory.reports = vertx.eventBus().consumer(SynthesisMessages.CAPACITY_ADDRESS,
                message -> directory.report(message.body()));
        directory.sweepTimer = vertx.setPeriodic(1000, t -> directory.dropSilent());
        return directory.reports.completion().map(directory);
    }

    public Future<Void> stop() {
        vertx.cancelTimer(sweepTimer);
        return reports.unregister();
    }

    @Override
    public String localNode() {
        return localNode;
    }

    private void report(Capacity capacity) {
        Backend backend = backends.computeIfAbsent(capacity.nodeId(), id -> {
            log.atInfo().addKeyValue("node", id).addKeyValue("capacity", capacity.total()).log("synthesis backend available");
            return new Backend(id);
        });
        synchronized (this) {
            if (capacity.draining() && !backend.draining) {
                log.atInfo().addKeyValue("node", backend.nodeId).log("synthesis backend draining: no new jobs go to it");
            }
            backend.free = capacity.free();
            backend.total = capacity.total();
            backend.draining = capacity.draining();
            backend.reportedAt = System.nanoTime();
        }
    }

    private void dropSilent() {
        long now = System.nanoTime();
        for (Backend backend : backends.values()) {
            long silentMs;
            synchronized (this) {
                silentMs = TimeUnit.NANOSECONDS.toMillis(now - backend.reportedAt);
            }
            if (silentMs > REPORT_TIMEOUT_MS) {
                lost(backend.nodeId, "it sent no capacity report for " + silentMs + " ms");
            }
        }
    }

    /** Drops a backend and fails the streams it was running. */
    private void lost(String nodeId, String why) {
        Backend backend = backends.remove(nodeId);
        if (backend == null) {
            return;
        }
        log.atWarn().addKeyValue("node", nodeId).addKeyValue("streams", backend.watches.size())
                .log("synthesis backend lost: " + why + "; failing its streams");
        for (Watch watch : backend.watches) {
            watch.context().runOnContext(v -> watch.onLost().run());
        }
        backend.watches.clear();
    }

    @Override
    public synchronized Target placeJob() {
        int most = backends.values().stream().filter(b -> !b.draining).mapToInt(b -> b.free).max().orElse(0);
        // among the backends with the most room, any: idle backends share the work
        List<Backend> best = backends.values().stream().filter(b -> !b.draining && b.free == most && most > 0).toList();
        if (!best.isEmpty()) {
            Backend chosen = best.get(ThreadLocalRandom.current().nextInt(best.size()));
            chosen.free--;
            return new Target(chosen.nodeId);
        }
        if (backends.values().stream().allMatch(b -> b.draining)) {
            throw Backends.noBackend();
        }
        throw new ServiceException(ErrorCode.TOO_MANY_REQUESTS, "every synthesis backend is busy ("
                + backends.size() + " backends); try again later");
    }

    @Override
    public synchronized Target any() {
        return backends.values().stream()
                .filter(b -> !b.draining)
                .max(Comparator.comparingInt((Backend b) -> b.free))
                .map(b -> new Target(b.nodeId))
                .orElseThrow(Backends::noBackend);
    }

    @Override
    public synchronized void refused(Target target) {
        Backend backend = backends.get(target.nodeId());
        if (backend != null) {
            backend.free = 0;
        }
    }

    @Override
    public Runnable watch(Target target, Runnable onLost) {
        Watch watch = new Watch(vertx.getOrCreateContext(), onLost);
        Backend backend = backends.get(target.nodeId());
        if (backend == null) {
            // gone between accepting the job and now
            watch.context().runOnContext(v -> onLost.run());
            return () -> { };
        }
        backend.watches.add(watch);
        if (!backends.containsKey(target.nodeId())) {
            lostWatch(backend, watch);
        }
        return () -> backend.watches.remove(watch);
    }

    /** A watch added while its backend was being dropped: fail it too, once. */
    private static void lostWatch(Backend backend, Watch watch) {
        if (backend.watches.remove(watch)) {
            watch.context().runOnContext(v -> watch.onLost().run());
        }
    }

    /** Backends that take jobs now (reported, not draining). */
    public synchronized int available() {
        return (int) backends.values().stream().filter(b -> !b.draining).count();
    }

    /** For readiness: succeeds while at least one backend takes jobs. */
    public Future<Void> check() {
        int count = available();
        return count > 0 ? Future.succeededFuture()
                : Future.failedFuture("no synthesis backend in the cluster");
    }
}
