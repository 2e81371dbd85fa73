package io.cosyvoice.batching;

/**
 * Statistics of the batcher as they happen, for metrics. Every method is called on a scheduler
 * thread (and {@link #onQueue} also on submitting threads) between model steps: implementations
 * must be thread-safe and cheap (update a counter or gauge, nothing more). Values are totals over
 * all replicas unless said otherwise. Every method defaults to doing nothing.
 */
public interface BatcherListener {

    BatcherListener NONE = new BatcherListener() { };

    /**
     * One iteration of one replica: its prefill call(s) and its decode call.
     *
     * @param replica          which replica
     * @param batchSize        rows of the decode call (0: no decode this iteration); a sequence whose
     *                         long prefix is being chunked rides along as a row whose logits are dropped
     * @param prefillTokens    prefix positions computed (padding excluded)
     * @param tokens           tokens sampled (by the decode and by prefills that completed)
     * @param nanos            the iteration's time: retire, admit, graph calls, sampling, callbacks
     * @param bytesCopied      bytes the loop copied: inputs written, logits read, and cache moves
     * @param cacheBytesCopied of those, KV cache bytes moved (only when a retired slot is filled by the last one)
     */
    record Step(int replica, int batchSize, int prefillTokens, int tokens, long nanos, long bytesCopied,
            long cacheBytesCopied) {}

    default void onStep(Step step) { }

    /** Sequences submitted and not yet in a slot, after it changed. */
    default void onQueue(int waiting) { }

    /** A sequence got a slot after waiting this long since {@code submit}. */
    default void onAdmitted(long waitNanos) { }

    /** Slots holding a sequence, after it changed. */
    default void onSlotsInUse(int slots) { }

    /** A graph call failed: its {@code sequences} failed with it, the scheduler goes on. */
    default void onStepFailed(Throwable error, int sequences) { }
}
