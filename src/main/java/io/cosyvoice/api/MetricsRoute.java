package io.cosyvoice.api;

import io.cosyvoice.metrics.Metrics;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * {@code GET /metrics}: every metric in the Prometheus text format, with or without the API's bearer
 * token as configured; absent (404) when metrics are disabled. The text is formatted on a worker
 * thread, off the event loop.
 */
final class MetricsRoute {

    static final String PATH = "/metrics";

    private final Metrics metrics;
    private final Handler<RoutingContext> auth;

    MetricsRoute(Metrics metrics, Handler<RoutingContext> auth) {
        this.metrics = metrics;
        this.auth = auth;
    }

    void mount(Router router) {
        if (!metrics.enabled()) {
            return;
        }
        Route route = router.get(PATH);
        if (metrics.requireToken()) {
            route.handler(auth);
        }
        route.handler(this::scrape);
    }

    private void scrape(RoutingContext ctx) {
        ctx.vertx().executeBlocking(metrics::scrape, false)
                .onSuccess(text -> ctx.response()
                        .putHeader(HttpHeaders.CONTENT_TYPE, Metrics.CONTENT_TYPE)
                        .putHeader(HttpHeaders.CACHE_CONTROL, "no-store")
                        .end(text))
                .onFailure(ctx::fail);
    }
}
