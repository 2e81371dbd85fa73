package io.cosyvoice.api;

import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.StaticHandler;

/**
 * The web UI: static HTML, CSS and JavaScript from {@code webroot/} in the jar, at {@code /}. No
 * token is needed to load the page; the API calls it makes carry the token the user enters.
 * Mounted after the API routes and only for top-level file names, so it never shadows the API.
 */
final class WebUiRoutes {

    static final String WEBROOT = "webroot";

    /**
     * Only this origin's own files: no inline script or style, no framing; {@code blob:} media for
     * the audio the page builds (recordings, downloads); {@code connect-src 'self'} covers the
     * same-origin WebSocket.
     */
    static final String CONTENT_SECURITY_POLICY = String.join("; ",
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "media-src 'self' blob:",
            "connect-src 'self' blob:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'");

    void mount(Router router) {
        StaticHandler files = StaticHandler.create(WEBROOT)
                .setIndexPage("index.html")
                .setDirectoryListing(false)
                .setIncludeHidden(false)
                .setDefaultContentEncoding("UTF-8");
        router.routeWithRegex("/[A-Za-z0-9._-]*").method(HttpMethod.GET).method(HttpMethod.HEAD)
                .handler(WebUiRoutes::securityHeaders)
                .handler(files);
    }

    private static void securityHeaders(RoutingContext ctx) {
        ctx.addHeadersEndHandler(v -> {
            if (ctx.response().getStatusCode() >= 400) {
                return; // a miss falls through to the JSON 404: leave its headers alone
            }
            ctx.response().headers()
                    .set("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                    .set("X-Content-Type-Options", "nosniff")
                    .set("Referrer-Policy", "no-referrer")
                    // small files that change with each release: always revalidate (Last-Modified, 304)
                    .set(HttpHeaders.CACHE_CONTROL, "no-cache");
        });
        ctx.next();
    }
}
