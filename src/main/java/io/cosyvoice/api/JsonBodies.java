package io.cosyvoice.api;

import io.cosyvoice.error.ServiceException;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/** The JSON object body of a request (read by a BodyHandler), or a 400 naming {@code body}. */
final class JsonBodies {

    private JsonBodies() {
    }

    static JsonObject object(RoutingContext ctx) {
        Buffer raw = ctx.body().buffer();
        if (raw == null || raw.length() == 0) {
            throw ServiceException.invalid("body", "a JSON object is required");
        }
        Object value;
        try {
            value = Json.decodeValue(raw);
        } catch (DecodeException e) {
            throw ServiceException.invalid("body", "not valid JSON");
        }
        if (!(value instanceof JsonObject object)) {
            throw ServiceException.invalid("body", "must be a JSON object");
        }
        return object;
    }
}
