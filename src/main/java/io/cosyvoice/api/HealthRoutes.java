package io.cosyvoice.api;

import io.vertx.core.Future;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * {@code /health/live}: the process serves HTTP. {@code /health/ready}: every component answers
 * within a short timeout; 503 with the failing ones otherwise. A component may add a {@code detail}
 * object of what it sees now (a frontend: the cluster's backends). No token needed.
 */
final class HealthRoutes {

    private static final long CHECK_TIMEOUT_MS = 3000;

    private final List<ReadinessCheck> components;

    HealthRoutes(List<ReadinessCheck> components) {
        this.components = List.copyOf(components);
    }

    void mount(Router router) {
        router.get("/health/live").handler(ctx -> send(ctx, 200, new JsonObject().put("status", "UP")));
        router.get("/health/ready").handler(this::ready);
    }

    private void ready(RoutingContext ctx) {
        Map<String, JsonObject> results = new LinkedHashMap<>();
        List<Future<Void>> checks = new ArrayList<>();
        for (ReadinessCheck component : components) {
            long start = System.nanoTime();
            Future<Void> check = runCheck(component)
                    .andThen(result -> {
                        JsonObject entry = new JsonObject()
                                .put("status", result.succeeded() ? "UP" : "DOWN")
                                .put("description", component.description())
                                .put("latency_ms", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start))
                                .put("error", result.succeeded() ? null : String.valueOf(result.cause().getMessage()));
                        detail(component).ifPresent(detail -> entry.put("detail", detail));
                        results.put(component.name(), entry);
                    });
            checks.add(check);
        }
        Future.join(checks).onComplete(done -> {
            boolean up = checks.stream().allMatch(Future::succeeded);
            JsonObject componentsJson = new JsonObject();
            components.forEach(c -> componentsJson.put(c.name(), results.get(c.name())));
            send(ctx, up ? 200 : 503, new JsonObject().put("status", up ? "UP" : "DOWN").put("components", componentsJson));
        });
    }

    private Future<Void> runCheck(ReadinessCheck component) {
        Future<Void> check;
        try {
            check = component.check().get();
        } catch (RuntimeException e) {
            check = Future.failedFuture(e);
        }
        return check.timeout(CHECK_TIMEOUT_MS, TimeUnit.MILLISECONDS);
    }

    /** The component's detail; a failure to make it hides it and changes nothing else. */
    private static Optional<JsonObject> detail(ReadinessCheck component) {
        try {
            return Optional.ofNullable(component.detail().get());
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    private static void send(RoutingContext ctx, int status, JsonObject body) {
        ctx.response().setStatusCode(status)
                .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                .putHeader(HttpHeaders.CACHE_CONTROL, "no-store")
                .end(body.encode());
    }
}
