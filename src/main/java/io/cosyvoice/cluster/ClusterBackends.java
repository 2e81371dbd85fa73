package io.cosyvoice.cluster;

import io.cosyvoice.error.ErrorCode;
import io.cosyvoice.error.ServiceException;
import io.cosyvoice.metrics.ClusterMetrics;
import io.cosyvoice.synthesis.Backends;
import io.cosyvoice.synthesis.SynthesisMessages;
import io.cosyvoice.synthesis.SynthesisMessages.Capacity;
import io.cosyvoice.synthesis.SynthesisMessages.EngineInfo;
import io.cosyvoice.synthesis.SynthesisMessages.EngineQuery;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The frontend's view of the cluster's backends, from the capacity they publish: each job goes to
 * the backend with the most free capacity (not round robin), counted against it until the backend
 * answers with its capacity after taking it. Reports are ordered by their version, not by arrival:
 * one sent just before a job arrived never makes its backend look idle again. A backend that leaves
 * the cluster, or stops reporting for {@link #REPORT_TIMEOUT_MS}, is dropped at once and the streams
 * it was running fail with a clear error. It asks each backend once which model it runs, and reports
 * what it knows to readiness and to the metrics. It remembers which voices' prompt features each
 * backend keeps (forgotten with the backend), so jobs may leave them out.
 */
public final class ClusterBackends implements Backends {

    private static final Logger log = LoggerFactory.getLogger(ClusterBackends.class);
    /** Backends report at least every {@link CapacityAnnouncer#HEARTBEAT_MS}; this many ms of silence means gone. */
    static final long REPORT_TIMEOUT_MS = 5_000;
    /** A backend that did not say which model it runs is asked again after this long. */
    private static final long INFO_RETRY_NANOS = TimeUnit.SECONDS.toNanos(5);
    private static final long INFO_TIMEOUT_MS = 5_000;

    private final Vertx vertx;
    private final String localNode;
    private final Function<String, Optional<String>> memberAddress;
    private final ClusterMetrics metrics;
    private final long reportTimeoutMs;
    private final Map<String, Backend> backends = new ConcurrentHashMap<>();
    private MessageConsumer<Capacity> reports;
    private long sweepTimer;

    /** One backend as it last said, less the jobs placed on it that it has not answered yet. */
    private static final class Backend {
        final String nodeId;
        final Set<Watch> watches = ConcurrentHashMap.newKeySet();
        final HeldPrompts prompts = new HeldPrompts();
        /** Its free capacity in its newest report or answer, of {@link #version}. */
        int saidFree;
        long version = -1;
        /** Jobs placed on it and not answered yet: no report can be trusted to count them. */
        int unanswered;
        int total;
        boolean draining;
        long reportedAt;
        /** The model it runs, once it answered; asked when it first reports and retried while unknown. */
        EngineInfo model;
        boolean askingModel;
        long modelAskedAt;

        Backend(String nodeId) {
            this.nodeId = nodeId;
        }

        int free() {
            return draining ? 0 : Math.max(0, saidFree - unanswered);
        }

        /** Takes what the backend said, unless it said something newer already. */
        boolean said(Capacity capacity) {
            if (capacity.version() < version) {
                return false;
            }
            version = capacity.version();
            saidFree = capacity.free();
            total = capacity.total();
            draining = capacity.draining();
            return true;
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

    private ClusterBackends(Vertx vertx, String localNode, Function<String, Optional<String>> memberAddress,
                            ClusterMetrics metrics, long reportTimeoutMs) {
        this.vertx = vertx;
        this.localNode = localNode;
        this.memberAddress = memberAddress;
        this.metrics = metrics;
        this.reportTimeoutMs = reportTimeoutMs;
    }

    /** Starts listening to the backends' reports and to members leaving. */
    public static Future<ClusterBackends> start(Vertx vertx, ClusterNode node, ClusterMetrics metrics) {
        return start(vertx, node.nodeId(), node::memberAddress, metrics, REPORT_TIMEOUT_MS)
                .onSuccess(directory -> node.onNodeLeft(directory::left));
    }

    /** The directory alone; members leaving are told to {@link #left}. */
    static Future<ClusterBackends> start(Vertx vertx, String localNode, Function<String, Optional<String>> memberAddress,
                                         ClusterMetrics metrics, long reportTimeoutMs) {
        SynthesisMessages.registerCodecs(vertx);
        ClusterBackends directory = new ClusterBackends(vertx, localNode, memberAddress, metrics, reportTimeoutMs);
        directory.reports = vertx.eventBus().consumer(SynthesisMessages.CAPACITY_ADDRESS,
                message -> directory.report(message.body()));
        directory.sweepTimer = vertx.setPeriodic(Math.min(1000, reportTimeoutMs), t -> directory.dropSilent());
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
        boolean askModel;
        synchronized (this) {
            Backend backend = backends.computeIfAbsent(capacity.nodeId(), id -> {
                log.atInfo().addKeyValue("node", id).addKeyValue("capacity", capacity.total()).log("synthesis backend available");
                return new Backend(id);
            });
            boolean wasDraining = backend.draining;
            backend.reportedAt = System.nanoTime();
            if (backend.said(capacity)) {
                if (backend.draining && !wasDraining) {
                    log.atInfo().addKeyValue("node", backend.nodeId).log("synthesis backend draining: no new jobs go to it");
                }
                metrics.reported(backend.nodeId, backend.free(), backend.total);
                countBackends();
            }
            askModel = backend.model == null && !backend.askingModel
                    && (backend.modelAskedAt == 0 || backend.reportedAt - backend.modelAskedAt > INFO_RETRY_NANOS);
            if (askModel) {
                backend.askingModel = true;
                backend.modelAskedAt = backend.reportedAt;
            }
        }
        if (askModel) {
            askModel(capacity.nodeId());
        }
    }

    /** Asks a backend which model it runs (once: a backend's model is fixed for its life). */
    private void askModel(String nodeId) {
        vertx.eventBus().<EngineInfo>request(new Target(nodeId).engineAddress(), new EngineQuery(),
                        new DeliveryOptions().setSendTimeout(INFO_TIMEOUT_MS))
                .onComplete(reply -> {
                    synchronized (this) {
                        Backend backend = backends.get(nodeId);
                        if (backend == null) {
                            return;
                        }
                        backend.askingModel = false;
                        if (reply.succeeded()) {
                            backend.model = reply.result().body();
                        }
                    }
                    if (reply.failed()) {
                        log.atWarn().addKeyValue("node", nodeId)
                                .log("synthesis backend did not say which model it runs: " + reply.cause().getMessage());
                    }
                });
    }

    /** Called with the lock held, after the set of backends or their states changed. */
    private void countBackends() {
        int draining = (int) backends.values().stream().filter(b -> b.draining).count();
        metrics.backends(backends.size() - draining, draining);
    }

    private void dropSilent() {
        long now = System.nanoTime();
        for (Backend backend : backends.values()) {
            long silentMs;
            synchronized (this) {
                silentMs = TimeUnit.NANOSECONDS.toMillis(now - backend.reportedAt);
            }
            if (silentMs > reportTimeoutMs) {
                lost(backend.nodeId, ClusterMetrics.Lost.SILENT, "it sent no capacity report for " + silentMs + " ms");
            }
        }
    }

    /** A member left the cluster (on a Hazelcast thread): drops it if it was a backend. */
    void left(String nodeId) {
        lost(nodeId, ClusterMetrics.Lost.LEFT, "it left the cluster");
    }

    /** Drops a backend and fails the streams it was running. */
    private void lost(String nodeId, ClusterMetrics.Lost reason, String why) {
        Backend backend;
        synchronized (this) {
            backend = backends.remove(nodeId);
            if (backend == null) {
                return;
            }
            metrics.lost(nodeId, reason);
            countBackends();
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
        int most = backends.values().stream().mapToInt(Backend::free).max().orElse(0);
        // among the backends with the most room, any: idle backends share the work
        List<Backend> best = backends.values().stream().filter(b -> b.free() == most && most > 0).toList();
        if (!best.isEmpty()) {
            Backend chosen = best.get(ThreadLocalRandom.current().nextInt(best.size()));
            chosen.unanswered++;
            metrics.placed(chosen.nodeId);
            metrics.reported(chosen.nodeId, chosen.free(), chosen.total);
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
                .max(Comparator.comparingInt(Backend::free))
                .map(b -> new Target(b.nodeId))
                .orElseThrow(Backends::noBackend);
    }

    @Override
    public synchronized void refused(Target target) {
        Backend backend = backends.get(target.nodeId());
        if (backend != null) {
            backend.saidFree = 0;
        }
    }

    @Override
    public synchronized void answered(Target target, Capacity taken) {
        Backend backend = backends.get(target.nodeId());
        if (backend == null) {
            return;
        }
        backend.unanswered = Math.max(0, backend.unanswered - 1);
        if (taken != null) {
            backend.said(taken);
        }
        metrics.reported(backend.nodeId, backend.free(), backend.total);
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

    @Override
    public boolean withholdPrompt(Target target, UUID voice, String modelVersion) {
        Backend backend = backends.get(target.nodeId());
        boolean withhold = backend != null && !target.nodeId().equals(localNode) && backend.prompts.contains(voice, modelVersion);
        if (withhold) {
            metrics.promptWithheld();
        }
        return withhold;
    }

    @Override
    public void promptHeld(Target target, UUID voice, String modelVersion, boolean held) {
        if (!held) {
            metrics.promptResent();
        }
        Backend backend = backends.get(target.nodeId());
        if (backend != null) {
            backend.prompts.set(voice, modelVersion, held);
        }
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

    /**
     * For readiness, from memory (never waits on a backend): the backends known, their capacity as
     * counted here (what they last said less the jobs placed on them and not answered yet), and the
     * models they run.
     */
    public synchronized JsonObject detail() {
        List<Backend> known = backends.values().stream().sorted(Comparator.comparing((Backend b) -> b.nodeId)).toList();
        List<Backend> taking = known.stream().filter(b -> !b.draining).toList();
        JsonArray nodes = new JsonArray();
        for (Backend b : known) {
            nodes.add(new JsonObject()
                    .put("node", b.nodeId)
                    .put("address", memberAddress.apply(b.nodeId).orElse(null))
                    .put("draining", b.draining)
                    .put("free_capacity", b.free())
                    .put("capacity", b.total)
                    .put("model", b.model == null ? null : b.model.description())
                    .put("model_version", b.model == null ? null : b.model.modelVersion()));
        }
        return new JsonObject()
                .put("backends", known.size())
                .put("available", taking.size())
                .put("free_capacity", taking.stream().mapToInt(Backend::free).sum())
                .put("capacity", taking.stream().mapToInt(b -> b.total).sum())
                .put("models", new JsonArray(known.stream().filter(b -> b.model != null)
                        .map(b -> b.model.description()).distinct().toList()))
                .put("nodes", nodes);
    }
}
