package io.cosyvoice.api;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

import java.util.function.Supplier;

/**
 * A component that must answer for the server to be ready, as reported by {@code /health/ready}.
 *
 * @param name        the key in the health document, e.g. {@code database}
 * @param description what it is, for operators (never credentials); static
 * @param detail      what it reports now, shown as the component's {@code detail} once its check ended,
 *                    whatever the outcome; read from memory (it must not wait), null for none
 */
public record ReadinessCheck(String name, String description, Supplier<Future<Void>> check, Supplier<JsonObject> detail) {

    /** A component without detail. */
    public ReadinessCheck(String name, String description, Supplier<Future<Void>> check) {
        this(name, description, check, () -> null);
    }
}
