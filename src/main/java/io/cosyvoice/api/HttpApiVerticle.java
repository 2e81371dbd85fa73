package io.cosyvoice.api;

import io.cosyvoice.config.TlsConfig;
import io.cosyvoice.error.ServiceException;
import io.cosyvoice.metrics.Metrics;
import io.cosyvoice.metrics.SynthesisMetrics;
import io.cosyvoice.synthesis.Backends;
import io.cosyvoice.synthesis.SynthesisClient;
import io.cosyvoice.voice.VoiceLibrary;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The public HTTP API on one event loop; deploy one instance per core, they share the port.
 * Stopping it shuts the listener gracefully: no new connections, in-flight requests finish
 * within the shutdown timeout.
 */
public final class HttpApiVerticle extends VerticleBase {

    static final String SPEECH_SOCKET_PATH = "/api-ws/v1/audio/speech";
    private static final Logger log = LoggerFactory.getLogger(HttpApiVerticle.class);
    private static final Logger accessLog = LoggerFactory.getLogger("io.cosyvoice.access");

    /**
     * What the API serves.
     *
     * @param tokens   the accepted bearer tokens (at least one)
     * @param library  the reference-audio library; null in a backend process, whose port serves only
     *                 {@code /health/*} and {@code /metrics} (no public API)
     * @param metrics  the process's metrics: recorded by the speech routes, served on {@code /metrics}
     * @param backends where synthesis jobs go: this process's engine or the cluster's backends
     * @param tls      HTTPS (OpenSSL, HTTP/2 by ALPN) when a certificate is configured, checked by {@link HttpTls#check}
     */
    public record Services(String host, int port, Duration shutdownTimeout, long maxUploadBytes, List<String> tokens,
                           Duration webSocketIdleTimeout, Duration synthesisStallTimeout, VoiceLibrary library, List<ReadinessCheck> readiness,
                           Metrics metrics, Backends backends, TlsConfig tls) {
    }

    private final Services services;
    private HttpServer server;

    public HttpApiVerticle(Services services) {
        this.services = services;
    }

    @Override
    public Future<?> start() {
        server = vertx.createHttpServer(HttpTls.apply(new HttpServerOptions(), services.tls())
                        .setHost(services.host())
                        .setPort(services.port())
                        .setMaxFormAttributeSize(64 * 1024)
                        .setHandle100ContinueAutomatically(false)
                        // accept whatever subprotocol is offered: browsers send bearer.<token> (checked by BearerAuth)
                        .setWebSocketSubProtocols(List.of("*")))
                .requestHandler(router());
        return server.listen();
    }

    @Override
    public Future<?> stop() {
        return server == null ? Future.succeededFuture()
                : server.shutdown(services.shutdownTimeout().toMillis(), TimeUnit.MILLISECONDS);
    }

    Router router() {
        Router router = Router.router(vertx);
        router.route().handler(RequestIds::assign).handler(HttpApiVerticle::logAccess);
        if (services.tls().enabled()) {
            router.route().handler(this::countHttps);
        }
        new HealthRoutes(services.readiness()).mount(router);
        BearerAuth auth = new BearerAuth(services.tokens());
        new MetricsRoute(services.metrics(), auth).mount(router);
        if (services.library() == null) {
            router.route().failureHandler(ApiErrors::handle);
            router.errorHandler(404, ApiErrors::handle);
            router.errorHandler(500, ApiErrors::handle);
            return router;
        }
        router.route("/api/*").handler(auth);
        router.route("/api-ws/*").handler(auth);
        router.route(OpenAiRoutes.PREFIX + "*").handler(auth);
        new ReferenceAudioRoutes(services.library(), services.maxUploadBytes()).mount(router);
        SynthesisClient synthesis = new SynthesisClient(vertx, services.synthesisStallTimeout(), services.backends());
        SynthesisMetrics requests = services.metrics().synthesis();
        new SpeechRoutes(services.library(), synthesis, requests).mount(router);
        new OpenAiRoutes(services.library(), synthesis, requests).mount(router);
        router.get(SPEECH_SOCKET_PATH).handler(ctx -> {
            if (!"websocket".equalsIgnoreCase(ctx.request().getHeader("Upgrade"))) {
                ctx.fail(ServiceException.invalid("Upgrade", "expected a WebSocket handshake (Upgrade: websocket)"));
                return;
            }
            ctx.request().toWebSocket()
                    .onSuccess(socket -> new SpeechSocket(vertx, socket, services.library(), synthesis,
                            services.webSocketIdleTimeout(), requests).start())
                    .onFailure(err -> log.atDebug().addKeyValue("cause", err.toString()).log("websocket handshake failed"));
        });
        new OpenApiRoute().mount(router);
        new WebUiRoutes().mount(router);
        router.route().failureHandler(ApiErrors::handle);
        router.errorHandler(404, ApiErrors::handle);
        router.errorHandler(405, ApiErrors::handle);
        router.errorHandler(500, ApiErrors::handle);
        return router;
    }

    private void countHttps(io.vertx.ext.web.RoutingContext ctx) {
        var request = ctx.request();
        if (request.isSSL()) {
            services.metrics().https().onRequest(HttpTls.engine(request.sslSession()),
                    request.version() == io.vertx.core.http.HttpVersion.HTTP_2 ? "h2" : "http/1.1");
        }
        ctx.next();
    }

    private static void logAccess(io.vertx.ext.web.RoutingContext ctx) {
        long start = System.nanoTime();
        // probes and scrapers hit the health and metrics routes every few seconds: keep them out of the INFO log
        String path = ctx.request().path();
        var level = path.startsWith("/health/") || path.equals(MetricsRoute.PATH)
                ? org.slf4j.event.Level.DEBUG : org.slf4j.event.Level.INFO;
        ctx.addEndHandler(done -> accessLog.atLevel(level)
                .addKeyValue("request_id", RequestIds.of(ctx))
                .addKeyValue("method", ctx.request().method())
                .addKeyValue("path", ctx.request().path())
                .addKeyValue("status", ctx.response().getStatusCode())
                .addKeyValue("ms", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start))
                .log("http"));
        ctx.next();
    }
}
