package io.cosyvoice;

import io.cosyvoice.api.ApiTokens;
import io.cosyvoice.api.HttpApiVerticle;
import io.cosyvoice.api.HttpTls;
import io.cosyvoice.api.ReadinessCheck;
import io.cosyvoice.cluster.CapacityAnnouncer;
import io.cosyvoice.cluster.ClusterBackends;
import io.cosyvoice.cluster.ClusterNode;
import io.cosyvoice.config.ClusterConfig.Role;
import io.cosyvoice.config.EngineConfig;
import io.cosyvoice.config.ServerConfig;
import io.cosyvoice.database.Database;
import io.cosyvoice.engine.Engine;
import io.cosyvoice.engine.EngineBackendVerticle;
import io.cosyvoice.engine.EngineOptions;
import io.cosyvoice.engine.ModelException;
import io.cosyvoice.metrics.Metrics;
import io.cosyvoice.storage.BlobStore;
import io.cosyvoice.synthesis.BackendPromptSource;
import io.cosyvoice.synthesis.Backends;
import io.cosyvoice.voice.VoiceLibrary;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One server process: database, object storage, voice library, engine and the HTTP API, started in
 * order and stopped in reverse. With {@code role=frontend} it has no engine and places jobs on the
 * cluster's backends; with {@code role=backend} it runs only the engine (its HTTP port serves health
 * and metrics), joined to the frontends through the clustered event bus. {@link #start} fails (closing what it opened) when a component
 * cannot start.
 */
public final class CosyVoiceServer {

    private static final Logger log = LoggerFactory.getLogger(CosyVoiceServer.class);
    private static final long SWEEP_INTERVAL_MS = TimeUnit.MINUTES.toMillis(5);

    private final Vertx vertx;
    private final ServerConfig config;
    private final int port;
    private final Optional<Database> database;
    private final Optional<BlobStore> blobs;
    private final String deploymentId;
    private final long sweepTimer;
    private final Optional<RunningEngine> engine;
    private final Optional<ClusterBackends> backends;
    private final Metrics metrics;

    /** The engine of this process, the verticle that serves it on the event bus, and its capacity announcer in a cluster. */
    private record RunningEngine(Engine engine, EngineBackendVerticle backend, String deploymentId,
                                 Optional<CapacityAnnouncer> announcer) {
    }

    private CosyVoiceServer(Vertx vertx, ServerConfig config, int port, Optional<Database> database, Optional<BlobStore> blobs,
                            String deploymentId, long sweepTimer, Optional<RunningEngine> engine,
                            Optional<ClusterBackends> backends, Metrics metrics) {
        this.vertx = vertx;
        this.config = config;
        this.port = port;
        this.database = database;
        this.blobs = blobs;
        this.deploymentId = deploymentId;
        this.sweepTimer = sweepTimer;
        this.engine = engine;
        this.backends = backends;
        this.metrics = metrics;
    }

    public static Future<CosyVoiceServer> start(ServerConfig config) {
        Metrics metrics = Metrics.create(config.metrics());
        VertxOptions options = new VertxOptions().setPreferNativeTransport(false);
        Optional<ClusterNode> node = config.cluster().clustered()
                ? Optional.of(ClusterNode.create(config.cluster())) : Optional.empty();
        Future<Vertx> vertxStarted = node
                .map(n -> metrics.vertxBuilder(n.vertxOptions(options)).withClusterManager(n.clusterManager()).buildClustered()
                        .recover(err -> Future.<Vertx>failedFuture(new IllegalStateException(
                                "cannot join the cluster as " + n.describe() + ": " + err.getMessage(), err))))
                .orElseGet(() -> Future.succeededFuture(metrics.vertx(options)));
        CompletableFuture<CosyVoiceServer> started = new CompletableFuture<>();
        vertxStarted.onFailure(err -> {
            metrics.close();
            started.completeExceptionally(err);
        });
        vertxStarted.onSuccess(vertx -> start(vertx, config, metrics, node).onComplete(result -> {
            if (result.succeeded()) {
                started.complete(result.result());
                return;
            }
            // Vert.x is closed from outside its own threads, and the failure reported once it is:
            // completing on a context being closed would never deliver it
            CompletableFuture.runAsync(() -> { })
                    .thenCompose(v -> vertx.close().toCompletionStage())
                    .whenComplete((v, closeErr) -> {
                        metrics.close();
                        started.completeExceptionally(result.cause());
                    });
        }));
        return Future.fromCompletionStage(started);
    }

    private static Future<CosyVoiceServer> start(Vertx vertx, ServerConfig config, Metrics metrics, Optional<ClusterNode> node) {
        Role role = config.cluster().role();
        node.ifPresent(ClusterNode::watchMembers);
        int port = config.http().port() == 0 ? freePort() : config.http().port();
        List<java.util.function.Supplier<Future<?>>> undo = new ArrayList<>();
        // TLS first: a wrong certificate or key stops start-up before anything is opened
        Future<String> scheme = vertx.executeBlocking(() -> HttpTls.check(vertx, config.http().tls()), false);
        Future<List<String>> tokens = scheme.compose(s -> vertx.executeBlocking(() -> {
            Files.createDirectories(config.dataDir());
            return ApiTokens.resolve(config.apiTokens(), config.dataDir());
        }, false));
        // a backend serves no reference audio: no database, no storage
        boolean servesApi = role != Role.BACKEND;
        Future<Optional<Database>> database = tokens.compose(t -> servesApi
                        ? Database.open(vertx, config.database(), config.dataDir()).map(Optional::of)
                        : Future.succeededFuture(Optional.<Database>empty()))
                .onSuccess(db -> db.ifPresent(d -> undo.add(d::close)));
        Future<Optional<BlobStore>> blobs = database.compose(db -> servesApi
                        ? BlobStore.open(vertx, config.storage()).map(Optional::of)
                        : Future.succeededFuture(Optional.<BlobStore>empty()))
                .onSuccess(store -> store.ifPresent(s -> undo.add(s::close)));
        Future<Optional<ClusterBackends>> clusterBackends = blobs.compose(store -> role == Role.FRONTEND
                        ? ClusterBackends.start(vertx, node.orElseThrow(), metrics.cluster()).map(Optional::of)
                        : Future.succeededFuture(Optional.<ClusterBackends>empty()))
                .onSuccess(found -> found.ifPresent(b -> undo.add(b::stop)));
        Future<Optional<RunningEngine>> engine = clusterBackends.compose(found -> role == Role.FRONTEND
                        ? Future.succeededFuture(Optional.<RunningEngine>empty())
                        : startEngine(vertx, config, metrics, node))
                .onSuccess(running -> running.ifPresent(r -> undo.add(() -> {
                    r.announcer().ifPresent(CapacityAnnouncer::stop);
                    r.engine().close();
                    return Future.succeededFuture();
                })));
        return engine.compose(running -> {
            Optional<Database> db = database.result();
            Optional<BlobStore> store = blobs.result();
            Optional<ClusterBackends> cluster = clusterBackends.result();
            Backends backends = cluster.<Backends>map(b -> b).orElse(Backends.SINGLE_PROCESS);
            VoiceLibrary library = servesApi
                    ? new VoiceLibrary(vertx, db.orElseThrow().pool(), store.orElseThrow(), new BackendPromptSource(vertx, backends),
                            config.database().promptCacheBytes())
                    : null;
            List<ReadinessCheck> readiness = new ArrayList<>();
            db.ifPresent(d -> readiness.add(new ReadinessCheck("database", d.describe(), d::check)));
            store.ifPresent(s -> readiness.add(new ReadinessCheck("storage", s.describe(), s::check)));
            running.ifPresent(r -> readiness.add(new ReadinessCheck("model", r.engine().describe(),
                    () -> r.backend().draining() ? Future.failedFuture("draining: shutting down") : Future.succeededFuture())));
            cluster.ifPresent(b -> readiness.add(new ReadinessCheck("synthesis", "backends of the cluster", b::check, b::detail)));
            var services = new HttpApiVerticle.Services(config.http().host(), port, config.http().shutdownTimeout(),
                    config.maxUploadBytes(), tokens.result(), config.http().webSocketIdleTimeout(),
                    config.http().synthesisStallTimeout(), library, readiness, metrics, backends, config.http().tls());
            int instances = servesApi ? Math.max(1, Runtime.getRuntime().availableProcessors()) : 1;
            return vertx.deployVerticle(() -> new HttpApiVerticle(services), new DeploymentOptions().setInstances(instances))
                    .map(id -> {
                        long timer = -1;
                        if (library != null) {
                            library.sweepAbandonedUploads();
                            timer = vertx.setPeriodic(SWEEP_INTERVAL_MS, t -> library.sweepAbandonedUploads());
                        }
                        var started = log.atInfo().addKeyValue("port", port)
                                .addKeyValue("protocol", scheme.result())
                                .addKeyValue("role", role.name().toLowerCase(java.util.Locale.ROOT));
                        db.ifPresent(d -> started.addKeyValue("database", d.describe()));
                        store.ifPresent(s -> started.addKeyValue("storage", s.describe()));
                        node.ifPresent(n -> started.addKeyValue("cluster", n.describe()).addKeyValue("node", n.nodeId()));
                        started.log("cosyvoice-server listening");
                        return new CosyVoiceServer(vertx, config, port, db, store, id, timer, running, cluster, metrics);
                    });
        }).recover(err -> {
            // undo what started, in reverse, each step awaited, before reporting the failure
            Future<?> undone = Future.succeededFuture();
            for (int i = undo.size() - 1; i >= 0; i--) {
                var step = undo.get(i);
                undone = undone.transform(ignored -> step.get());
            }
            return undone.transform(ignored -> Future.failedFuture(err));
        });
    }

    /**
     * Loads the model and deploys the backend that serves it, or nothing when the engine is off.
     * Loading reads and checks a few MB (tiny twin) to a few GB: on a worker thread.
     */
    private static Future<Optional<RunningEngine>> startEngine(Vertx vertx, ServerConfig server, Metrics metrics,
                                                               Optional<ClusterNode> node) {
        EngineConfig config = server.engine();
        if (!config.enabled()) {
            log.atInfo().log("synthesis engine disabled (engine.enabled=false): this process serves the API only");
            return Future.succeededFuture(Optional.empty());
        }
        Path dir = config.effectiveModelDir();
        EngineOptions options = new EngineOptions(config.threads(), EngineOptions.resolveDevice(config.device()), config.cudaDeviceId(),
                config.cudaMemoryLimit(), config.verifyHashes());
        io.cosyvoice.metrics.EngineMetrics engineMetrics = metrics.engine();
        java.util.function.Function<io.cosyvoice.engine.LlmGraph, io.cosyvoice.engine.TokenSource> batcher = !config.batching()
                ? null
                : graph -> io.cosyvoice.batching.BatcherTokenSource.start(graph,
                        new io.cosyvoice.batching.BatcherOptions(config.maxBatchSize(), config.maxTokensPerStep(),
                                config.workers(), config.kvCapacity(), config.replicas(),
                                io.cosyvoice.batching.KvBinding.resolve(config.kvBinding(), options.cuda())),
                        new io.cosyvoice.batching.BatcherListener() {
                            @Override
                            public void onStep(Step step) {
                                engineMetrics.onStep(step.batchSize(), step.prefillTokens(), step.nanos(), step.cacheBytesCopied());
                            }

                            @Override
                            public void onSlotsInUse(int slots) {
                                engineMetrics.onSlotsInUse(slots);
                            }
                        });
        return vertx.executeBlocking(() -> {
                    try {
                        return Engine.open(dir, options, batcher,
                                new io.cosyvoice.engine.VocoderBatching(config.vocoderBatching(), config.vocoderMaxBatch()));
                    } catch (ModelException e) {
                        throw new IllegalStateException("cannot load the model: " + e.getMessage(), e);
                    }
                }, false)
                .compose(loaded -> {
                    // in a cluster the backend drains on shutdown: running jobs get the shutdown timeout to finish
                    var backend = new EngineBackendVerticle(loaded, config.workers(), config.queueSize(), metrics.engine(),
                            !config.batching(), config.deadline(), node.map(ClusterNode::nodeId).orElse(""),
                            node.isPresent() ? server.http().shutdownTimeout() : java.time.Duration.ZERO,
                            // only a clustered frontend leaves features out: a single process keeps none
                            node.isPresent() ? config.promptCacheBytes() : 0);
                    return vertx.deployVerticle(backend)
                            .recover(err -> {
                                loaded.close();
                                return Future.failedFuture(err);
                            })
                            .map(id -> Optional.of(new RunningEngine(loaded, backend, id,
                                    node.map(n -> CapacityAnnouncer.start(vertx, n, backend)))));
                });
    }

    /** The port the API listens on. */
    public int port() {
        return port;
    }

    public ServerConfig config() {
        return config;
    }

    public Vertx vertx() {
        return vertx;
    }

    /**
     * Graceful shutdown: stop accepting, let in-flight requests finish (up to the configured
     * timeout), then close the database and storage and Vert.x itself.
     */
    public Future<Void> stop() {
        log.info("shutting down");
        if (sweepTimer >= 0) {
            vertx.cancelTimer(sweepTimer);
        }
        CompletableFuture<Void> componentsClosed = new CompletableFuture<>();
        vertx.undeploy(deploymentId)
                // a backend drains here while it keeps announcing (draining): frontends place nothing new on it
                .transform(r -> engine.map(e -> vertx.undeploy(e.deploymentId())
                        .onComplete(v -> {
                            e.announcer().ifPresent(CapacityAnnouncer::stop);
                            e.engine().close();
                        })).orElse(Future.succeededFuture()))
                .transform(r -> backends.map(ClusterBackends::stop).orElse(Future.succeededFuture()))
                .transform(r -> blobs.map(BlobStore::close).orElse(Future.succeededFuture()))
                .transform(r -> database.map(Database::close).orElse(Future.succeededFuture()))
                .onComplete(r -> componentsClosed.complete(null));
        // Vert.x is closed from outside its own threads: its event loops are what is being stopped;
        // closing it leaves the cluster
        return Future.fromCompletionStage(componentsClosed
                .thenComposeAsync(v -> vertx.close().toCompletionStage())
                .whenComplete((v, err) -> {
                    metrics.close();
                    log.info("stopped");
                }));
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
