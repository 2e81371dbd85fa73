package io.cosyvoice.batching;

import io.cosyvoice.engine.LlmRequest;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntConsumer;

/**
 * A sequence submitted to the {@link ContinuousBatcher}: cancel it, or wait for its end. Its tokens
 * go to the consumer given at submit, on the scheduler thread, as they are drawn.
 */
public final class BatchedGeneration {

    enum Phase { WAITING, PREFILLING, DECODING, ENDED }

    final LlmRequest request;
    final IntConsumer onToken;
    final long submittedNanos;
    /** {@code System.nanoTime()} by which it must end; only with {@link #hasDeadline}. */
    final long deadlineNanos;
    final boolean hasDeadline;
    private final CompletableFuture<Generation> done = new CompletableFuture<>();
    private final CompletableFuture<Generation> view = done.copy();
    private final AtomicBoolean finished = new AtomicBoolean();
    private volatile boolean cancelRequested;
    volatile Scheduler scheduler;

    // the scheduler thread's, from admission on
    Phase phase = Phase.WAITING;
    int slot = -1;
    /** KV positions written (prefix rows so far while prefilling). */
    int length;
    boolean admitted;
    long admittedNanos;
    Generation.Stop stop;
    BatcherException failure;

    BatchedGeneration(LlmRequest request, IntConsumer onToken, long submittedNanos, long deadlineNanos, boolean hasDeadline) {
        this.request = request;
        this.onToken = onToken;
        this.submittedNanos = submittedNanos;
        this.deadlineNanos = deadlineNanos;
        this.hasDeadline = hasDeadline;
    }

    /**
     * Asks the scheduler to end this sequence: its slot is freed before the next step, and it ends
     * with {@link Generation.Stop#CANCELLED} and the tokens emitted until then (at most one more
     * token may arrive if a step is under way). Any thread, any time; idempotent.
     */
    public void cancel() {
        cancelRequested = true;
        Scheduler s = scheduler;
        if (s != null) {
            s.wake();
        }
    }

    /**
     * Completes when the sequence ends: normally (stop token, {@code max_len}, cancelled) or
     * exceptionally with a {@link BatcherException} saying why. It completes on the scheduler
     * thread: attach work with the {@code *Async} methods or hand off, never block there.
     * Cancelling this future does not cancel the sequence; {@link #cancel} does.
     */
    public CompletableFuture<Generation> completion() {
        return view;
    }

    /** Positions of its prefill. */
    public int prefixLength() {
        return request.prefixLength();
    }

    boolean cancelRequested() {
        return cancelRequested;
    }

    /** Ends it normally (scheduler thread); it completes when retired. */
    void end(Generation.Stop why) {
        if (phase != Phase.ENDED) {
            phase = Phase.ENDED;
            stop = why;
        }
    }

    /** Ends it with a failure (scheduler thread); it completes when retired. */
    void fail(BatcherException why) {
        if (phase != Phase.ENDED) {
            phase = Phase.ENDED;
            failure = why;
        }
    }

    /** Completes the future once, from whichever thread gets here first; false if it was already done. */
    boolean complete(long now) {
        if (!finished.compareAndSet(false, true)) {
            return false;
        }
        if (failure != null) {
            done.completeExceptionally(failure);
        } else {
            long wait = (admitted ? admittedNanos : now) - submittedNanos;
            long run = admitted ? now - admittedNanos : 0;
            done.complete(new Generation(request.tokens(), stop, request.prefixLength(), wait, run));
        }
        return true;
    }
}
