package io.cosyvoice.batching;

import io.cosyvoice.batching.BatcherException.Reason;
import io.cosyvoice.engine.LlmGraph;
import io.cosyvoice.engine.LlmRequest;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Continuous batching of {@code llm.onnx} decode steps (models/README.md, "Why this layout"): many
 * sequences share one step, each at its own length, with its own sampling state, seed and limits,
 * so the tokens of a sequence are exactly those the one-sequence generator draws for it. Sequences
 * join and leave between steps; a long prefix is prefilled in bounded chunks while the others keep
 * decoding.
 *
 * <p>Each replica is one KV slot pool and one thread that owns it; the ONNX Runtime session is
 * shared. {@link #submit} never blocks (any thread, an event loop included); tokens are delivered
 * on the replica's thread, which every sequence of that replica waits on: consumers must hand work
 * off (to vocoder threads, the event loop) and return at once.
 */
public final class ContinuousBatcher implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ContinuousBatcher.class);

    private final BatcherOptions options;
    private final BatcherListener listener;
    private final Scheduler[] replicas;
    /** The C API session of {@link KvBinding#IOBINDING}, closed after the replicas; else {@code null}. */
    private final NativeLlmSession nativeSession;
    private final int limit;
    private final AtomicInteger inSystem = new AtomicInteger();
    private final AtomicInteger waiting = new AtomicInteger();
    private final AtomicInteger slotsInUse = new AtomicInteger();
    private volatile boolean closed;

    private ContinuousBatcher(LlmGraph graph, BatcherOptions options, BatcherListener listener, StepRunner runner) {
        int maxPosition = graph.config().maxPosition();
        if (options.kvCapacity() > maxPosition) {
            throw new IllegalArgumentException("KV capacity " + options.kvCapacity() + " exceeds the model's "
                    + maxPosition + " positions");
        }
        this.options = options;
        this.listener = new GuardedListener(listener);
        this.limit = options.replicas() * options.maxBatchSize() + options.queueSize();
        this.replicas = new Scheduler[options.replicas()];
        NativeLlmSession session = null;
        try {
            if (options.kvBinding() == KvBinding.IOBINDING) {
                session = NativeLlmSession.open(graph);
            }
            for (int i = 0; i < replicas.length; i++) {
                SlotPool pool = session == null
                        ? new KvSlotPool(graph.environment(), graph.config(), graph.scalarTotalLength(), options.maxBatchSize(),
                                options.kvCapacity(), options.maxTokensPerStep(), runner, graph.options().cuda())
                        : new DeviceSlotPool(session, graph.config(), graph.scalarTotalLength(), options.maxBatchSize(),
                                options.kvCapacity(), options.maxTokensPerStep());
                replicas[i] = new Scheduler(i, graph, options, this, this.listener, pool);
            }
        } catch (ai.onnxruntime.OrtException | RuntimeException e) {
            // nothing started yet: free what was allocated
            for (Scheduler s : replicas) {
                if (s != null) {
                    s.closePool();
                }
            }
            if (session != null) {
                session.close();
            }
            throw new BatcherException(Reason.MODEL_FAILED, "cannot set up the LLM batcher's KV cache ("
                    + options.kvBinding().name().toLowerCase(java.util.Locale.ROOT) + " binding): " + e.getMessage(), e);
        }
        this.nativeSession = session;
    }

    /**
     * Allocates every replica's pool and starts its thread.
     *
     * @throws BatcherException {@link Reason#MODEL_FAILED} when the cache cannot be set up (e.g. the
     *                          C API of {@link KvBinding#IOBINDING} is missing or the device out of memory)
     */
    public static ContinuousBatcher start(LlmGraph graph, BatcherOptions options, BatcherListener listener) {
        return start(graph, options, listener, StepRunner.of(graph.session()));
    }

    /** @param runner runs the graph calls of the {@link KvBinding#JAVA} binding (a seam for tests) */
    static ContinuousBatcher start(LlmGraph graph, BatcherOptions options, BatcherListener listener, StepRunner runner) {
        ContinuousBatcher batcher = new ContinuousBatcher(graph, options, listener, runner);
        for (Scheduler s : batcher.replicas) {
            s.start();
        }
        log.atInfo().addKeyValue("replicas", options.replicas()).addKeyValue("slots", options.maxBatchSize())
                .addKeyValue("kvCapacity", options.kvCapacity()).addKeyValue("tokensPerStep", options.maxTokensPerStep())
                .addKeyValue("queue", options.queueSize()).addKeyValue("kvBinding", options.kvBinding())
                .addKeyValue("kvMiB", Stream.of(batcher.replicas).mapToLong(Scheduler::cacheSize).sum() >> 20)
                .log("LLM batcher started");
        return batcher;
    }

    /** {@link #submit(LlmRequest, IntConsumer, Duration)} without a deadline. */
    public BatchedGeneration submit(LlmRequest request, IntConsumer onToken) {
        return submit(request, onToken, null);
    }

    /**
     * Queues one sequence; never blocks.
     *
     * @param request  a fresh request from {@link LlmGraph#request} (the batcher steps it; don't touch it after)
     * @param onToken  each token as it is drawn, on the scheduler thread: must be cheap and must not
     *                 block; if it throws, this sequence fails ({@link Reason#CONSUMER_FAILED}) and
     *                 no further tokens come
     * @param deadline how long the whole generation may take from now, waiting included ({@code null}: no limit)
     * @throws BatcherException         {@link Reason#QUEUE_FULL} when every slot is taken and the
     *                                  queue is full, {@link Reason#SHUT_DOWN} once closed
     * @throws IllegalArgumentException when the sequence cannot fit a slot's KV capacity, or the
     *                                  request has already run
     */
    public BatchedGeneration submit(LlmRequest request, IntConsumer onToken, Duration deadline) {
        if (closed) {
            throw new BatcherException(Reason.SHUT_DOWN, "the LLM batcher is shut down");
        }
        if (request.count() > 0 || request.finished() && request.maxLength() > 0) {
            throw new IllegalArgumentException("the request has already run");
        }
        if (request.capacityNeeded() > options.kvCapacity()) {
            throw new IllegalArgumentException("the sequence needs " + request.capacityNeeded() + " KV positions (prefix "
                    + request.prefixLength() + " + max_len " + request.maxLength() + "), a batcher slot holds "
                    + options.kvCapacity());
        }
        long now = System.nanoTime();
        long deadlineNanos = deadline == null ? 0 : now + saturatedNanos(deadline);
        BatchedGeneration g = new BatchedGeneration(request, onToken, now, deadlineNanos, deadline != null);
        if (request.maxLength() == 0) {
            // nothing to generate (as the one-sequence generator: no graph call)
            g.end(Generation.Stop.MAX_LEN);
            g.complete(now);
            return g;
        }
        if (inSystem.incrementAndGet() > limit) {
            inSystem.decrementAndGet();
            throw new BatcherException(Reason.QUEUE_FULL, "the LLM batcher is full (" + slotsInUse.get() + " sequences "
                    + "running, " + waiting.get() + " waiting); try again later");
        }
        listener.onQueue(waiting.incrementAndGet());
        Scheduler target = replicas[0];
        for (Scheduler s : replicas) {
            if (s.load() < target.load()) {
                target = s;
            }
        }
        target.enqueue(g);
        return g;
    }

    private static long saturatedNanos(Duration d) {
        try {
            return Math.max(d.toNanos(), 0);
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE / 2;
        }
    }

    public BatcherOptions options() {
        return options;
    }

    /** Sequences in a slot, over all replicas. */
    public int slotsInUse() {
        return slotsInUse.get();
    }

    /** Sequences submitted and not yet in a slot. */
    public int waiting() {
        return waiting.get();
    }

    void admitted(BatchedGeneration g) {
        listener.onQueue(waiting.decrementAndGet());
        listener.onSlotsInUse(slotsInUse.incrementAndGet());
        listener.onAdmitted(g.admittedNanos - g.submittedNanos);
    }

    void slotsChanged(int delta) {
        listener.onSlotsInUse(slotsInUse.addAndGet(delta));
    }

    /** A sequence completed (once per sequence). */
    void finished(BatchedGeneration g) {
        inSystem.decrementAndGet();
        if (!g.admitted) {
            listener.onQueue(waiting.decrementAndGet());
        }
    }

    /**
     * Stops every replica: running and waiting sequences fail with {@link Reason#SHUT_DOWN}, the
     * pools are freed. Blocks until the threads have finished their step (not on an event loop).
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Scheduler s : replicas) {
            s.stop();
        }
        try {
            for (Scheduler s : replicas) {
                if (!s.join(30_000)) {
                    log.atWarn().log("an LLM batcher thread did not stop within 30 s");
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (nativeSession != null) {
            boolean stopped = true;
            for (Scheduler s : replicas) {
                stopped &= s.stopped();
            }
            if (stopped) {
                nativeSession.close();
            } else {
                // a replica still runs a step on the session: leave it to the process's end rather than crash under it
                log.atWarn().log("the LLM batcher's native session is left open: a replica did not stop");
            }
        }
    }
}
