package io.cosyvoice.engine;

import io.cosyvoice.error.ErrorCode;
import io.cosyvoice.metrics.EngineMetrics;
import io.cosyvoice.synthesis.Backends;
import io.cosyvoice.synthesis.SynthesisMessages;
import io.cosyvoice.synthesis.SynthesisMessages.Accepted;
import io.cosyvoice.synthesis.SynthesisMessages.Cancel;
import io.cosyvoice.synthesis.SynthesisMessages.Capacity;
import io.cosyvoice.synthesis.SynthesisMessages.Chunk;
import io.cosyvoice.synthesis.SynthesisMessages.Credit;
import io.cosyvoice.synthesis.SynthesisMessages.End;
import io.cosyvoice.synthesis.SynthesisMessages.EngineQuery;
import io.cosyvoice.synthesis.SynthesisMessages.Failure;
import io.cosyvoice.synthesis.SynthesisMessages.Job;
import io.cosyvoice.synthesis.SynthesisMessages.MoreText;
import io.cosyvoice.synthesis.SynthesisMessages.PromptRequest;
import io.cosyvoice.voice.PromptCache;
import io.cosyvoice.voice.PromptFeatures;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The synthesis backend of this process: takes jobs from the event bus and runs them on the
 * {@link Engine}, on threads it owns (never an event loop or Vert.x's shared worker pool).
 *
 * <p>Each job runs on one worker thread, sentence by sentence with one voice. A chunk is sent only
 * against a credit: without credits the worker waits (the client is slow), and a {@link Cancel}
 * stops it between model steps. At most {@code workers} jobs run and {@code queueSize} wait;
 * more are refused with 429. Each sentence has a deadline: past it the job fails with
 * {@link ErrorCode#DEADLINE_EXCEEDED} and its LLM sequence is cancelled (its batch slot freed at the next step).
 *
 * <p>In a cluster it listens on addresses of its own node ({@link Backends.Target}), reports its free
 * capacity ({@link #capacity()}) for placement, cancels the jobs of a frontend that left
 * ({@link #cancelJobsFrom}) and drains on stop: no new jobs, running ones finish within the drain
 * timeout, and those still running then fail with a clear error.
 *
 * <p>It keeps the voices' prompt features that jobs brought (up to a byte budget, least recently used
 * out first) and says so when it accepts a job, so that a frontend of the cluster can leave them out
 * of the next jobs of that voice; a job that left them out when they are gone is refused with
 * {@link SynthesisMessages#PROMPT_NEEDED}, and its frontend sends it again with them.
 *
 * <p>It reports to {@link EngineMetrics}: the jobs waiting for a worker, each job's wait, the jobs
 * running (each holds one LLM sequence) and every LLM step, at batch size 1 (each job steps its own
 * sequence, its KV cache written in place: no bytes copied).
 */
public final class EngineBackendVerticle extends VerticleBase {

    private static final Logger log = LoggerFactory.getLogger(EngineBackendVerticle.class);
    private static final SecureRandom SEEDS = new SecureRandom();

    private final Engine engine;
    private final int workers;
    private final int queueSize;
    private final EngineMetrics metrics;
    private final boolean reportsLlmSteps;
    private final long deadlineNanos;
    private final Backends.Target self;
    private final Duration drainTimeout;
    private final PromptCache prompts;
    private volatile boolean draining;
    private MessageConsumer<Job> jobs;
    /** Jobs taken and not yet done. */
    private int admitted;
    /** Changes of the free capacity so far: lets a frontend order the capacity reports it gets. */
    private long capacityVersion;
    private int waiting;
    private int running;
    private final List<Run> runs = new java.util.concurrent.CopyOnWriteArrayList<>();
    private ExecutorService pool;

    /**
     * @param reportsLlmSteps true when each job decodes its own tokens (no batcher): the jobs are then
     *                        the LLM's slots and their steps its steps; with the batcher, it reports those
     */
    public EngineBackendVerticle(Engine engine, int workers, int queueSize, EngineMetrics metrics, boolean reportsLlmSteps) {
        this(engine, workers, queueSize, metrics, reportsLlmSteps, Duration.ZERO, "", Duration.ZERO, 0);
    }

    /**
     * @param deadline     how long one sentence may take, from when it could start to its last chunk, not
     *                     counting waits for the client's credits; zero for no limit
     * @param nodeId       this process's cluster node id (empty when it runs alone): the backend takes jobs at its
     *                     {@link Backends.Target} addresses
     * @param drainTimeout how long stopping waits for running jobs to finish before failing them
     * @param promptCacheBytes how much of the prompt features received with jobs to keep; 0 for none (a single
     *                     process: its frontend never leaves them out)
     */
    public EngineBackendVerticle(Engine engine, int workers, int queueSize, EngineMetrics metrics, boolean reportsLlmSteps,
                                 Duration deadline, String nodeId, Duration drainTimeout, long promptCacheBytes) {
        this.self = new Backends.Target(nodeId);
        this.prompts = new PromptCache(promptCacheBytes);
        this.drainTimeout = drainTimeout;
        this.engine = engine;
        this.workers = workers;
        this.queueSize = queueSize;
        this.metrics = metrics;
        this.reportsLlmSteps = reportsLlmSteps;
        this.deadlineNanos = deadline.toNanos();
    }

    /** Moves jobs between waiting and running, and reports both in the order they changed. */
    private synchronized void jobsChanged(int waitingDelta, int runningDelta) {
        waiting += waitingDelta;
        running += runningDelta;
        if (waitingDelta != 0) {
            metrics.onQueue(waiting);
        }
        if (runningDelta != 0 && reportsLlmSteps) {
            metrics.onSlotsInUse(running);
        }
    }

    @Override
    public Future<?> start() {
        SynthesisMessages.registerCodecs(vertx);
        AtomicInteger threadCount = new AtomicInteger();
        ThreadFactory threads = task -> {
            Thread thread = new Thread(task, "cosyvoice-engine-" + threadCount.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
        pool = Executors.newFixedThreadPool(workers, threads);
        var bus = vertx.eventBus();
        jobs = bus.consumer(self.jobsAddress(), this::job);
        return Future.all(
                jobs.completion(),
                bus.<EngineQuery>consumer(self.engineAddress(), m -> m.reply(engine.info())).completion(),
                bus.<PromptRequest>consumer(self.promptAddress(), this::prompt).completion());
    }

    /** What this backend would accept now, for placement. */
    public synchronized Capacity capacity() {
        return new Capacity(self.nodeId(), draining ? 0 : Math.max(0, workers + queueSize - admitted), workers + queueSize,
                draining, capacityVersion);
    }

    /** Takes a job if there is room: its capacity with the job taken, or null when full or draining. */
    private synchronized Capacity admit() {
        if (draining || admitted >= workers + queueSize) {
            return null;
        }
        admitted++;
        capacityVersion++;
        return capacity();
    }

    private synchronized void released() {
        admitted--;
        capacityVersion++;
    }

    /** True once stopping began: no new jobs. */
    public boolean draining() {
        return draining;
    }

    /** Cancels the jobs of a frontend that is gone: nobody reads their audio or grants them credits. */
    public void cancelJobsFrom(String origin) {
        runs.stream().filter(run -> run.job.origin().equals(origin))
                .forEach(run -> run.cancel("its frontend left the cluster"));
    }

    /** Drains: takes no new job, lets running ones finish within the drain timeout, then fails the rest. */
    @Override
    public Future<?> stop() {
        synchronized (this) {
            draining = true;
            capacityVersion++;
        }
        long deadline = System.nanoTime() + drainTimeout.toNanos();
        if (!runs.isEmpty() && !drainTimeout.isZero()) {
            log.atInfo().addKeyValue("jobs", runs.size()).addKeyValue("timeout", drainTimeout)
                    .log("draining: no new jobs, waiting for running ones");
        }
        return jobs.unregister().transform(ignored -> vertx.executeBlocking(() -> {
            while (!runs.isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            runs.forEach(run -> run.abort("the synthesis backend is shutting down; try again"));
            pool.shutdown();
            if (!pool.awaitTermination(10, TimeUnit.SECONDS)) {
                pool.shutdownNow();
            }
            return null;
        }, false));
    }

    private void prompt(Message<PromptRequest> message) {
        PromptRequest request = message.body();
        vertx.executeBlocking(() -> engine.promptFeatures(request.samples(), request.sampleRate()), false)
                .onSuccess(message::reply)
                .onFailure(err -> {
                    if (err instanceof IllegalArgumentException) {
                        message.fail(400, "file: the model cannot use this audio: " + err.getMessage());
                    } else {
                        log.atError().setCause(err).log("prompt feature extraction failed");
                        message.fail(500, "prompt feature extraction failed: " + err.getMessage());
                    }
                });
    }

    private void job(Message<Job> message) {
        Job job = message.body();
        String modelVersion = engine.info().modelVersion();
        boolean promptKept;
        if (job.promptWithheld()) {
            Optional<PromptFeatures> kept = prompts.get(job.voiceId(), modelVersion);
            if (kept.isEmpty()) {
                message.fail(SynthesisMessages.PROMPT_NEEDED, "this synthesis backend does not keep the prompt features of voice "
                        + job.voiceId() + "; send them with the job");
                return;
            }
            job = job.withPrompt(kept.get());
            promptKept = true;
        } else if (job.prompt() == null || !job.prompt().modelVersion().equals(modelVersion)) {
            message.fail(503, "the voice's prompt features are not ready for model " + engine.info().description()
                    + "; try again");
            return;
        } else {
            promptKept = prompts.put(job.voiceId(), job.prompt());
        }
        Capacity taken = admit();
        if (taken == null) {
            message.fail(429, draining ? "the synthesis backend is shutting down; try again"
                    : "the synthesis engine is busy (" + workers + " running, " + queueSize + " waiting); try again later");
            return;
        }
        Run run = new Run(job);
        runs.add(run);
        Job accepted = job;
        run.input.completion()
                .onSuccess(v -> {
                    log.atDebug().addKeyValue("job", accepted.jobId()).addKeyValue("voice", accepted.voiceId())
                            .addKeyValue("origin", accepted.origin()).log("synthesis job accepted");
                    message.reply(new Accepted(run.input.address(), true, promptKept, taken));
                    run.queuedAt = System.nanoTime();
                    jobsChanged(1, 0);
                    pool.execute(run);
                })
                .onFailure(err -> {
                    run.release();
                    message.fail(500, err.getMessage());
                });
    }

    /** One job: its input consumer lives on the event loop, its work on an engine thread. */
    private final class Run implements Runnable {
        private final Job job;
        private final MessageConsumer<Object> input;
        private final LinkedBlockingQueue<String> sentences = new LinkedBlockingQueue<>();
        private final Semaphore credits;
        private final long seed;
        private volatile boolean textComplete;
        private volatile String cancelled;
        private volatile String aborted;
        private volatile Thread worker;
        private long queuedAt;
        /** When the current sentence could start, moved later by every wait for the client's credits. */
        private long sentenceClock;

        Run(Job job) {
            this.job = job;
            this.credits = new Semaphore(job.initialCredits());
            this.seed = job.seed().orElseGet(SEEDS::nextLong);
            sentences.addAll(job.sentences());
            textComplete = job.textComplete();
            input = vertx.eventBus().consumer("cosyvoice.engine.input." + job.jobId(), message -> {
                switch (message.body()) {
                    case MoreText more -> {
                        sentences.addAll(more.sentences());
                        textComplete |= more.last();
                        wake();
                    }
                    case Credit credit -> credits.release(credit.chunks());
                    case Cancel cancel -> cancel(cancel.reason());
                    default -> log.atWarn().addKeyValue("job", job.jobId()).log("ignored an unknown message");
                }
            });
        }

        void cancel(String reason) {
            cancelled = reason;
            wake();
        }

        /** Stops the job and tells its frontend why. */
        void abort(String reason) {
            aborted = reason;
            cancel(reason);
        }

        private void wake() {
            Thread thread = worker;
            if (thread != null) {
                thread.interrupt();
            }
        }

        @Override
        public void run() {
            worker = Thread.currentThread();
            metrics.onAdmitted(System.nanoTime() - queuedAt);
            jobsChanged(-1, 1);
            long sequence = 0;
            sentenceClock = queuedAt;
            try {
                int index = 0;
                while (cancelled == null) {
                    String sentence = nextSentence();
                    if (sentence == null) {
                        break;
                    }
                    if (index > 0) {
                        sentenceClock = System.nanoTime();
                    }
                    int sentenceIndex = index++;
                    long[] sent = {sequence};
                    boolean[] overdue = {false}; // set when the engine was told to stop for the deadline
                    // a chunk's compute: since the sentence started or the previous chunk went out (credit waits excluded)
                    long[] computing = {System.nanoTime()};
                    engine.speak(new Engine.Utterance(sentence, job.mode(), job.promptText(), job.instruct(), job.prompt(),
                                    seed + sentenceIndex, job.speed(), job.streaming()),
                            samples -> {
                                double seconds = (System.nanoTime() - computing[0]) / 1e9;
                                awaitCredit();
                                vertx.eventBus().send(job.outputAddress(), new Chunk(sent[0]++, sentenceIndex, samples, seconds));
                                computing[0] = System.nanoTime();
                            },
                            () -> cancelled != null || (overdue[0] = overdue()),
                            (prefillTokens, nanos) -> metrics.onStep(1, prefillTokens, nanos, 0));
                    sequence = sent[0];
                    if (cancelled == null && overdue[0]) {
                        throw new DeadlineExceeded(sentenceIndex);
                    }
                }
                if (cancelled == null) {
                    vertx.eventBus().send(job.outputAddress(), new End(sequence));
                } else if (aborted != null) {
                    vertx.eventBus().send(job.outputAddress(), new Failure(ErrorCode.SERVICE_UNAVAILABLE, aborted));
                }
            } catch (Cancelled e) {
                // the client is gone (nothing more to send), or the backend stops under it
                if (aborted != null) {
                    vertx.eventBus().send(job.outputAddress(), new Failure(ErrorCode.SERVICE_UNAVAILABLE, aborted));
                }
            } catch (DeadlineExceeded e) {
                log.atWarn().addKeyValue("job", job.jobId()).log(e.getMessage());
                vertx.eventBus().send(job.outputAddress(), new Failure(ErrorCode.DEADLINE_EXCEEDED, e.getMessage()));
            } catch (RuntimeException | Error e) {
                log.atError().setCause(e).addKeyValue("job", job.jobId()).log("synthesis failed");
                if (cancelled == null) {
                    vertx.eventBus().send(job.outputAddress(), new Failure(ErrorCode.INTERNAL_ERROR,
                            "synthesis failed: " + e.getMessage()));
                }
            } finally {
                worker = null;
                Thread.interrupted(); // a late wake-up must not leak into the next job on this thread
                vertx.runOnContext(v -> input.unregister());
                jobsChanged(0, -1);
                release();
            }
        }

        /** True once the current sentence has run past the deadline. */
        private boolean overdue() {
            return deadlineNanos > 0 && System.nanoTime() - sentenceClock > deadlineNanos;
        }

        /** The next sentence, waiting for text while the job's text is open; null when all is done. */
        private String nextSentence() {
            while (true) {
                String next = sentences.poll();
                if (next != null || textComplete) {
                    return next == null ? sentences.poll() : next;
                }
                if (cancelled != null) {
                    throw new Cancelled();
                }
                try {
                    next = sentences.poll(1, TimeUnit.SECONDS);
                    if (next != null) {
                        return next;
                    }
                } catch (InterruptedException e) {
                    // woken by text or a cancel: look again
                }
            }
        }

        private void awaitCredit() {
            if (credits.tryAcquire()) {
                return;
            }
            // a slow client's time is not the engine's: the sentence's deadline clock stops while waiting
            long waitStarted = System.nanoTime();
            try {
                while (true) {
                    if (cancelled != null) {
                        throw new Cancelled();
                    }
                    try {
                        if (credits.tryAcquire(1, TimeUnit.SECONDS)) {
                            return;
                        }
                    } catch (InterruptedException e) {
                        // woken by a cancel or new text: check and wait again
                    }
                }
            } finally {
                sentenceClock += System.nanoTime() - waitStarted;
            }
        }

        void release() {
            if (runs.remove(this)) {
                released();
            }
        }
    }

    /** Unwinds a job whose sentence ran past the deadline. */
    private final class DeadlineExceeded extends RuntimeException {
        DeadlineExceeded(int sentenceIndex) {
            super("sentence " + (sentenceIndex + 1) + " took longer than the engine's deadline of "
                    + Duration.ofNanos(deadlineNanos).toMillis() + " ms (engine.deadline); try again later or with shorter text",
                    null, false, false);
        }
    }

    /** Unwinds a cancelled job's worker. */
    private static final class Cancelled extends RuntimeException {
        Cancelled() {
            super(null, null, false, false);
        }
    }
}
