package io.cosyvoice.storage;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.fail;

/** Runs store calls on a Vert.x event loop, as the server does, and waits for them from the test thread. */
final class StorageTestSupport {

    static final long TIMEOUT_SECONDS = 40;

    private StorageTestSupport() {
    }

    /**
     * Starts the call on a fresh event-loop context, checks that its future completes on that same
     * context, and returns the result (or throws the failure's cause).
     */
    static <T> T run(Vertx vertx, Supplier<Future<T>> call) throws Throwable {
        Context context = vertx.getOrCreateContext();
        CompletableFuture<T> result = new CompletableFuture<>();
        context.runOnContext(v -> {
            Future<T> future;
            try {
                future = call.get();
            } catch (Throwable e) {
                result.completeExceptionally(new AssertionError("the call threw instead of failing its future", e));
                return;
            }
            future.onComplete(ar -> {
                if (Vertx.currentContext() != context) {
                    result.completeExceptionally(new AssertionError(
                            "the future completed on " + Vertx.currentContext() + ", not the caller's context"));
                } else if (ar.succeeded()) {
                    result.complete(ar.result());
                } else {
                    result.completeExceptionally(ar.cause());
                }
            });
        });
        try {
            return result.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw e.getCause();
        } catch (TimeoutException e) {
            return fail("the store call did not complete within " + TIMEOUT_SECONDS + " s");
        }
    }

    /** Like {@link #run} but for a call that must succeed. */
    static <T> T ok(Vertx vertx, Supplier<Future<T>> call) {
        try {
            return run(vertx, call);
        } catch (Throwable e) {
            throw new AssertionError("expected success, got " + e, e);
        }
    }

    /** Like {@link #run} but for a call that must fail with the given type; returns the failure. */
    @SuppressWarnings("unchecked")
    static <E extends Throwable> E fails(Class<E> type, Vertx vertx, Supplier<? extends Future<?>> call) {
        Object result;
        try {
            result = run(vertx, () -> (Future<Object>) call.get());
        } catch (Throwable e) {
            if (type.isInstance(e)) {
                return type.cast(e);
            }
            throw new AssertionError("expected " + type.getSimpleName() + ", got " + e, e);
        }
        throw new AssertionError("expected " + type.getSimpleName() + ", but the call succeeded with " + result);
    }
}
