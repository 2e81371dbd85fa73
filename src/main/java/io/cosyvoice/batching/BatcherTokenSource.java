package io.cosyvoice.batching;

import io.cosyvoice.engine.LlmGraph;
import io.cosyvoice.engine.LlmRequest;
import io.cosyvoice.engine.TokenSource;

import java.util.concurrent.CompletableFuture;
import java.util.function.IntConsumer;

/** The engine's {@link TokenSource} served by a {@link ContinuousBatcher}. */
public final class BatcherTokenSource implements TokenSource {

    private final ContinuousBatcher batcher;

    private BatcherTokenSource(ContinuousBatcher batcher) {
        this.batcher = batcher;
    }

    /** Starts a batcher (its scheduler threads and KV pools) over the engine's LLM graph. */
    public static BatcherTokenSource start(LlmGraph graph, BatcherOptions options, BatcherListener listener) {
        return new BatcherTokenSource(ContinuousBatcher.start(graph, options, listener));
    }

    @Override
    public Running start(LlmRequest request, IntConsumer onToken) {
        BatchedGeneration generation = batcher.submit(request, onToken);
        return new Running() {
            @Override
            public void cancel() {
                generation.cancel();
            }

            @Override
            public CompletableFuture<?> completion() {
                return generation.completion();
            }
        };
    }

    public ContinuousBatcher batcher() {
        return batcher;
    }

    @Override
    public void close() {
        batcher.close();
    }
}
