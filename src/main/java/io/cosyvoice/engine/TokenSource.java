package io.cosyvoice.engine;

import java.util.concurrent.CompletableFuture;
import java.util.function.IntConsumer;

/**
 * Where a sentence's speech tokens come from when they are not decoded on the speaking thread:
 * the continuous batcher, which steps every running sequence together. The engine hands it an
 * {@link LlmRequest} and keeps flow and HiFT on its own thread, so the LLM loop never waits on
 * the vocoder.
 */
public interface TokenSource extends AutoCloseable {

    /** A request on its way: cancel it, or learn how it ended. */
    interface Running {
        /** Ends the sequence at the next step; idempotent. */
        void cancel();

        /** Completes when the sequence ends; exceptionally when it failed or was refused. */
        CompletableFuture<?> completion();
    }

    /**
     * Queues the request; tokens go to {@code onToken} as they are drawn, on the source's thread
     * (which must not be blocked: hand them off).
     *
     * @throws RuntimeException when the source refuses it now (full, shut down)
     */
    Running start(LlmRequest request, IntConsumer onToken);

    @Override
    void close();
}
