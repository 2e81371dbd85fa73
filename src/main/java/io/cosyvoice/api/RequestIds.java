package io.cosyvoice.api;

import io.vertx.ext.web.RoutingContext;

import java.util.UUID;

/** Gives every request an id, echoed in {@code X-Request-Id} and in error bodies and logs. */
final class RequestIds {

    static final String HEADER = "X-Request-Id";
    private static final String KEY = "request_id";

    private RequestIds() {
    }

    static void assign(RoutingContext ctx) {
        String id = UUID.randomUUID().toString();
        ctx.put(KEY, id);
        ctx.response().putHeader(HEADER, id);
        ctx.next();
    }

    static String of(RoutingContext ctx) {
        String id = ctx.get(KEY);
        return id == null ? UUID.randomUUID().toString() : id;
    }
}
