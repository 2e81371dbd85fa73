package io.cosyvoice;

import io.cosyvoice.api.ApiTokens;
import io.cosyvoice.api.HttpApiVerticle;
import io.cosyvoice.api.ReadinessCheck;
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
 * One server process: database, object storage, voice library and the HTTP API, started in
 * order and stopped in reverse. {@link #start} fails (closing what it opened) when a component
 * cannot start.
 */
public final class CosyVoiceServer {

    private static final Logger log = LoggerFactory.getLogger(CosyVoiceServer.class);
    private static final long SWEEP_INTERVAL_MS = TimeUnit.MINUTES.toMillis(5);

    private final Vertx vertx;
    private final ServerConfig config;
    private final int port;
    private final Database database;
    private final BlobStore blobs;
    private final String deploymentId;
    private final long sweepTimer;
    private final Optional<RunningEngine> engine;
    private final Metrics metrics;

    /** The engine of this process and the verticle that serves it on the event bus. */
    private record RunningEngine(Engine engine, String deploymentId) {
    }

    private CosyVoiceServer(Vertx vertx, ServerConfig config, int port, Database database, BlobStore blobs,
                            String deploymentId, long sweepTimer, Optional<RunningEngine> engine, Metrics metrics) {
        this.vertx = vertx;
        this.config = config;
        this.port = port;
        this.database = database;
        this.blobs = blobs;
        this.deploymentId = deploymentId;
        this.sweepTimer = sweepTimer;
        this.engine = engine;
        this.metrics = metrics;
    }

    public static Future<CosyVoiceServer> start(ServerConfig config) {
        Metrics metrics = Metrics.create(config.metrics());
        Vertx vertx = metrics.vertx(new VertxOptions().setPreferNativeTransport(false));
        CompletableFuture<CosyVoiceServer> started = new CompletableFuture<>();
        start(vertx, config, metrics).onComplete(result -> {
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
        });
        return Future.fromCompletionStage(started);
    }

    private static Future<CosyVoiceServer> start(Vertx vertx, ServerConfig config, Metrics metrics) {
        int port = config.http().port() == 0 ? freePort() : config.http().port();
        List<java.util.function.Supplier<Future<?>>> undo = new ArrayList<>();
        Future<List<String>> tokens = vertx.executeBlocking(() -> {
            Files.createDirectories(config.dataDir());
            return ApiTokens.resolve(config.apiTokens(), config.dataDir());
        }, false);
        Future<Database> database = tokens.compose(t -> Database.open(vertx, config.database(), config.dataDir()))
                .onSuccess(db -> undo.add(db::close));
        Future<BlobStore> blobs = database.compose(db -> BlobStore.open(vertx, config.storage()))
                .onSuccess(store -> undo.add(store::close));
        Future<Optional<RunningEngine>> engine = blobs.compose(store -> startEngine(vertx, config.engine(), metrics))
                .onSuccess(running -> running.ifPresent(r -> undo.add(() -> {
                    r.engine().close();
                    return Future.succeededFuture();
                })));
        return engine.compose(running -> {
            Database db = database.result();
            BlobStore store = blobs.result();
            VoiceLibrary library = new VoiceLibrary(vertx, db.pool(), store, new BackendPromptSource(vertx));
            List<ReadinessCheck> readiness = new ArrayList<>(List.of(
                    new ReadinessCheck("database", db.describe(), db::check),
                    new ReadinessCheck("storage", store.describe(), store::check)));
            running.ifPresent(r -> readiness.add(new ReadinessCheck("model", r.engine().describe(),
                    () -> Future.succeededFuture())));
            var services = new HttpApiVerticle.Services(config.http().host(), port, config.http().shutdownTimeout(),
                    config.maxUploadBytes(), tokens.result(), config.http().webSocketIdleTimeout(),
                    config.http().synthesisStallTimeout(), library, readiness, metrics);
            int instances = Math.max(1, Runtime.getRuntime().availableProcessors());
            return vertx.deployVerticle(() -> new HttpApiVerticle(services), new DeploymentOptions().setInstances(instances))
                    .map(id -> {
                        library.sweepAbandonedUploads();
                        long timer = vertx.setPeriodic(SWEEP_INTERVAL_MS, t -> library.sweepAbandonedUploads());
                        log.atInfo().addKeyValue("port", port).addKeyValue("database", db.describe())
                                .addKeyValue("storage", store.describe()).log("cosyvoice-server listening");
                        return new CosyVoiceServer(vertx, config, port, db, store, id, timer, running, metrics);
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
    private static Future<Optional<RunningEngine>> startEngine(Vertx vertx, EngineConfig config, Metrics metrics) {
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
                                config.workers(), config.kvCapacity(), config.replicas()),
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
                .compose(loaded -> vertx.deployVerticle(new EngineBackendVerticle(loaded, config.workers(), config.queueSize(), metrics.engine(),
                                !config.batching()))
                        .recover(err -> {
                            loaded.close();
                            return Future.failedFuture(err);
                        })
                        .map(id -> Optional.of(new RunningEngine(loaded, id))));
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
        vertx.cancelTimer(sweepTimer);
        CompletableFuture<Void> componentsClosed = new CompletableFuture<>();
        vertx.undeploy(deploymentId)
                .transform(r -> engine.map(e -> vertx.undeploy(e.deploymentId())
                        .onComplete(v -> e.engine().close())).orElse(Future.succeededFuture()))
                .transform(r -> blobs.close())
                .transform(r -> database.close())
                .onComplete(r -> componentsClosed.complete(null));
        // Vert.x is closed from outside its own threads: its event loops are what is being stopped
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
