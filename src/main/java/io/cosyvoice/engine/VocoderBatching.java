package io.cosyvoice.engine;

/**
 * Whether the flow estimator and HiFT calls of concurrent requests run batched on threads of their
 * own (one for the estimator, one for HiFT) instead of on each request's thread.
 *
 * @param enabled  batch them; {@code false}: every request calls the graphs on its own thread
 * @param maxBatch requests one batched call may carry (the estimator's batch is twice that: CFG)
 */
public record VocoderBatching(boolean enabled, int maxBatch) {

    public static final VocoderBatching OFF = new VocoderBatching(false, 1);

    public VocoderBatching {
        if (maxBatch < 1) {
            throw new IllegalArgumentException("maxBatch must be at least 1, got " + maxBatch);
        }
    }
}
