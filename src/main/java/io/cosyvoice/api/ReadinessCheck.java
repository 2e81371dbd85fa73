package io.cosyvoice.api;

import io.vertx.core.Future;

import java.util.function.Supplier;

/**
 * A component that must answer for the server to be ready, as reported by {@code /health/ready}.
 *
 * @param name        the key in the health document, e.g. {@code database}
 * @param description what it is, for operators (never credentials)
 */
public record ReadinessCheck(String name, String description, Supplier<Future<Void>> check) {
}
