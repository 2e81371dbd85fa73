package io.cosyvoice.batching;

import ai.onnxruntime.OrtException;
import io.cosyvoice.batching.BatchedGeneration.Phase;
import io.cosyvoice.batching.BatcherException.Reason;
import io.cosyvoice.engine.LlmGraph;
import io.cosyvoice.engine.LlmRequest;
import java.nio.FloatBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One replica: a {@link SlotPool} and the thread that owns it, running the iteration-level loop
 * (as Orca, vLLM and TGI schedule): before every graph call it retires ended sequences (finished,
 * cancelled, failed, past their deadline) and admits waiting ones, then runs at most one chunk of a
 * long prefix, one fresh prefill of new sequences batched within the token budget, and one decode
 * step ({@code S = 1}) of every sequence in a slot.
 *
 * <p>Slots {@code [0, active)} hold every admitted sequence, so each call binds a contiguous block.
 * A sequence whose prefix is being chunked stays in that block and rides along in decode steps as
 * a row whose logits are dropped: the position it writes is the one its next chunk overwrites, so
 * nothing has to be moved when it starts decoding. Retiring a sequence moves the last slot into its
 * place (one sequence's cache).
 */
final class Scheduler implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(Scheduler.class);
    private static final long IDLE_PARK_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final int replica;
    private final BatcherOptions options;
    private final ContinuousBatcher batcher;
    private final BatcherListener listener;
    private final SlotPool pool;
    private final int hidden;
    private final float[] logits;
    private final ConcurrentLinkedQueue<BatchedGeneration> inbox = new ConcurrentLinkedQueue<>();
    private final ArrayDeque<BatchedGeneration> waiting = new ArrayDeque<>();
    private final BatchedGeneration[] slots;
    private final AtomicInteger load = new AtomicInteger();
    private final Thread thread;
    private volatile boolean stopping;
    private volatile boolean stopped;
    private int active;
    private BatchedGeneration chunking;
    private int sampled;

    /** @param pool this replica's KV cache; the scheduler owns it from now on and closes it when it stops */
    Scheduler(int replica, LlmGraph graph, BatcherOptions options, ContinuousBatcher batcher, BatcherListener listener,
            SlotPool pool) {
        this.replica = replica;
        this.options = options;
        this.batcher = batcher;
        this.listener = listener;
        this.hidden = graph.config().hiddenSize();
        this.logits = new float[graph.vocab()];
        this.pool = pool;
        this.slots = new BatchedGeneration[options.maxBatchSize()];
        this.thread = new Thread(this, "cosyvoice-llm-batcher-" + replica);
        thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** Frees the pool of a scheduler that never started. */
    void closePool() {
        pool.close();
    }

    /** Whether the loop has ended (and closed its pool). */
    boolean stopped() {
        return stopped && !thread.isAlive();
    }

    /** Sequences given to this replica and not yet ended. */
    int load() {
        return load.get();
    }

    long cacheSize() {
        return pool.cacheSize();
    }

    /** Hands a sequence to this replica (any thread). */
    void enqueue(BatchedGeneration g) {
        load.incrementAndGet();
        g.scheduler = this;
        inbox.add(g);
        if (stopped) {
            // the loop is gone: nobody else will drain it
            failInbox();
        }
        wake();
    }

    void wake() {
        LockSupport.unpark(thread);
    }

    void stop() {
        stopping = true;
        wake();
    }

    boolean join(long millis) throws InterruptedException {
        thread.join(millis);
        return !thread.isAlive();
    }

    @Override
    public void run() {
        try {
            while (!stopping) {
                boolean stepped;
                try {
                    stepped = iteration();
                } catch (RuntimeException | Error e) {
                    // a bug in the loop itself: end what runs, keep serving
                    log.atError().setCause(e).addKeyValue("replica", replica).log("LLM batcher iteration failed");
                    abandonSlots(new BatcherException(Reason.MODEL_FAILED, "the LLM batcher failed: " + e, e));
                    stepped = true;
                }
                if (!stepped && inbox.isEmpty() && !stopping) {
                    LockSupport.parkNanos(this, idleNanos());
                }
            }
        } finally {
            stopped = true;
            BatcherException shutDown = new BatcherException(Reason.SHUT_DOWN, "the LLM batcher is shutting down");
            abandonSlots(shutDown);
            for (BatchedGeneration g : waiting) {
                g.fail(shutDown);
                finish(g);
            }
            waiting.clear();
            failInbox();
            pool.close();
        }
    }

    /** Long enough to sleep, short enough to expire a waiting sequence's deadline on time. */
    private long idleNanos() {
        long now = System.nanoTime();
        long park = IDLE_PARK_NANOS;
        for (BatchedGeneration g : waiting) {
            if (g.hasDeadline) {
                park = Math.min(park, Math.max(g.deadlineNanos - now, 1));
            }
        }
        return park;
    }

    private void failInbox() {
        for (BatchedGeneration g; (g = inbox.poll()) != null; ) {
            g.fail(new BatcherException(Reason.SHUT_DOWN, "the LLM batcher is shut down"));
            finish(g);
        }
    }

    /** Ends every sequence in a slot without moving caches (the pool is being reset or closed). */
    private void abandonSlots(BatcherException why) {
        for (int i = 0; i < active; i++) {
            BatchedGeneration g = slots[i];
            g.fail(why);
            finish(g);
            slots[i] = null;
            batcher.slotsChanged(-1);
        }
        active = 0;
        chunking = null;
    }

    /** One iteration; false when there was nothing to run. */
    private boolean iteration() {
        long start = System.nanoTime();
        long io = pool.ioBytes();
        long cache = pool.cacheBytes();
        sampled = 0;
        for (BatchedGeneration g; (g = inbox.poll()) != null; ) {
            waiting.add(g);
        }
        retire(start);
        int prefillTokens = prefill();
        retire(System.nanoTime());
        int rows = decode();
        if (prefillTokens == 0 && rows == 0) {
            return false;
        }
        long cacheMoved = pool.cacheBytes() - cache;
        listener.onStep(new BatcherListener.Step(replica, rows, prefillTokens, sampled, System.nanoTime() - start,
                pool.ioBytes() - io + cacheMoved, cacheMoved));
        return true;
    }

    /** Ends and removes cancelled, expired and ended sequences, in slots and waiting. */
    private void retire(long now) {
        for (int i = 0; i < active; ) {
            BatchedGeneration g = slots[i];
            check(g, now);
            if (g.phase == Phase.ENDED) {
                remove(i);
                finish(g);
            } else {
                i++;
            }
        }
        for (Iterator<BatchedGeneration> it = waiting.iterator(); it.hasNext(); ) {
            BatchedGeneration g = it.next();
            check(g, now);
            if (g.phase == Phase.ENDED) {
                it.remove();
                finish(g);
            }
        }
    }

    private static void check(BatchedGeneration g, long now) {
        if (g.phase == Phase.ENDED) {
            return;
        }
        if (g.cancelRequested()) {
            g.end(Generation.Stop.CANCELLED);
        } else if (g.hasDeadline && now - g.deadlineNanos >= 0) {
            String where = g.admitted ? "after " + g.request.count() + " tokens" : "while waiting for a slot";
            g.fail(new BatcherException(Reason.DEADLINE_EXCEEDED, "the request's deadline of "
                    + TimeUnit.NANOSECONDS.toMillis(g.deadlineNanos - g.submittedNanos) + " ms passed " + where));
        }
    }

    /** Frees slot {@code i}: the last sequence in a slot moves into it, so slots stay a prefix. */
    private void remove(int i) {
        BatchedGeneration g = slots[i];
        int last = active - 1;
        if (i != last) {
            BatchedGeneration moved = slots[last];
            try {
                pool.move(last, i, moved.length);
            } catch (OrtException | RuntimeException e) {
                // its cache may be half-copied: it cannot go on, the others can
                stepFailed(List.of(moved), "cache move", e);
            }
            slots[i] = moved;
            moved.slot = i;
        }
        slots[last] = null;
        active--;
        g.slot = -1;
        if (chunking == g) {
            chunking = null;
        }
        batcher.slotsChanged(-1);
    }

    private void finish(BatchedGeneration g) {
        if (g.complete(System.nanoTime())) {
            load.decrementAndGet();
            batcher.finished(g);
        }
    }

    private void admit(BatchedGeneration g) {
        g.slot = active;
        slots[active++] = g;
        g.phase = Phase.PREFILLING;
        g.length = 0;
        g.admitted = true;
        g.admittedNanos = System.nanoTime();
        batcher.admitted(g);
    }

    /**
     * Continues the chunked prefix, if any, then admits waiting sequences in order: those that fit
     * the token budget together are prefilled in one call; a prefix longer than the whole budget
     * starts chunking when it reaches the head of the queue and nothing else is chunking.
     *
     * @return prefix positions computed
     */
    private int prefill() {
        int budget = options.maxTokensPerStep();
        int computed = 0;
        if (chunking != null) {
            BatchedGeneration g = chunking;
            int n = Math.min(g.request.prefixLength() - g.length, budget);
            runPrefill(List.of(g), n);
            computed += n;
            budget -= n;
        }
        List<BatchedGeneration> group = new ArrayList<>();
        int width = 0;
        int groupTokens = 0;
        while (!waiting.isEmpty() && active < slots.length) {
            BatchedGeneration g = waiting.peek();
            int length = g.request.prefixLength();
            if (length > options.maxTokensPerStep()) {
                if (group.isEmpty() && chunking == null && budget == options.maxTokensPerStep()) {
                    admit(waiting.poll());
                    chunking = g;
                    runPrefill(List.of(g), budget);
                    computed += budget;
                }
                break;
            }
            int w = Math.max(width, length);
            if ((long) (group.size() + 1) * w > budget) {
                break;
            }
            admit(waiting.poll());
            group.add(g);
            width = w;
            groupTokens += length;
        }
        if (!group.isEmpty()) {
            runPrefill(group, width);
            computed += groupTokens;
        }
        return computed;
    }

    /**
     * One prefill call over consecutive slots: each row feeds its next {@code min(width, rest)} prefix
     * positions after those it has (fresh rows start at 0 and are right-padded to {@code width}; a
     * chunk on a past is one row). Rows whose prefix is complete sample their first token.
     */
    private void runPrefill(List<BatchedGeneration> rows, int width) {
        FloatBuffer embeds = pool.embeds();
        int total = 0;
        for (int r = 0; r < rows.size(); r++) {
            BatchedGeneration g = rows.get(r);
            int past = g.length;
            int n = Math.min(width, g.request.prefixLength() - past);
            g.request.prefixRows(past, n, embeds, r * width * hidden);
            pool.wrote(n);
            // padded positions (beyond n) take any values: attention never reads them
            for (int i = 0; i < width; i++) {
                pool.position(r * width + i, past + i);
            }
            pool.seqlen(r, past + n - 1);
            pool.lastIndex(r, n - 1);
            total = Math.max(total, past + n);
        }
        pool.total(total);
        int first = rows.getFirst().slot;
        try {
            pool.step(false, first, rows.size(), width);
        } catch (OrtException | RuntimeException e) {
            stepFailed(rows, "prefill", e);
            return;
        }
        for (int r = 0; r < rows.size(); r++) {
            BatchedGeneration g = rows.get(r);
            g.length += Math.min(width, g.request.prefixLength() - g.length);
            if (g.length == g.request.prefixLength()) {
                if (chunking == g) {
                    chunking = null;
                }
                g.phase = Phase.DECODING;
                pool.readLogits(r, logits, 0);
                sample(g);
            }
        }
    }

    /**
     * One decode step over every slot: each decoding sequence feeds its last token at its own
     * length; a sequence between prefill chunks rides along (its logits are dropped and the
     * position it writes is overwritten by its next chunk).
     *
     * @return rows of the call, 0 when nothing decodes
     */
    private int decode() {
        int decoding = 0;
        int longest = 0;
        FloatBuffer embeds = pool.embeds();
        for (int r = 0; r < active; r++) {
            BatchedGeneration g = slots[r];
            if (g.phase == Phase.DECODING) {
                g.request.lastTokenEmbedding(embeds, r * hidden);
                pool.wrote(1);
                decoding++;
            }
            pool.position(r, g.length);
            pool.seqlen(r, g.length);
            longest = Math.max(longest, g.length);
        }
        if (decoding == 0) {
            return 0;
        }
        pool.total(longest + 1);
        int rows = active;
        try {
            pool.step(true, 0, rows, 1);
        } catch (OrtException | RuntimeException e) {
            stepFailed(Arrays.asList(slots).subList(0, rows), "decode", e);
            return rows;
        }
        for (int r = 0; r < rows; r++) {
            BatchedGeneration g = slots[r];
            if (g.phase == Phase.DECODING) {
                g.length++;
                pool.readLogits(r, logits, 0);
                sample(g);
            }
        }
        return rows;
    }

    private void sample(BatchedGeneration g) {
        int token;
        try {
            token = g.request.next(logits, 0);
        } catch (RuntimeException e) {
            g.fail(new BatcherException(Reason.MODEL_FAILED, "sampling failed: " + e.getMessage(), e));
            return;
        }
        sampled++;
        if (token == LlmRequest.STOP) {
            g.end(Generation.Stop.STOP_TOKEN);
            return;
        }
        try {
            g.onToken.accept(token);
        } catch (RuntimeException | Error e) {
            g.fail(new BatcherException(Reason.CONSUMER_FAILED, "the token consumer failed: " + e, e));
            return;
        }
        if (g.request.finished()) {
            g.end(Generation.Stop.MAX_LEN);
        }
    }

    private void stepFailed(List<BatchedGeneration> rows, String kind, Exception e) {
        log.atError().setCause(e).addKeyValue("replica", replica).addKeyValue("step", kind)
                .addKeyValue("sequences", rows.size()).log("LLM step failed; its sequences fail, the others go on");
        BatcherException why = new BatcherException(Reason.MODEL_FAILED, "the LLM " + kind + " step failed for "
                + rows.size() + " sequence(s): " + e.getMessage(), e);
        for (BatchedGeneration g : rows) {
            g.fail(why);
        }
        listener.onStepFailed(e, rows.size());
    }
}
