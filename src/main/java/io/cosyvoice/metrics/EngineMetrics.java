package io.cosyvoice.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the synthesis backend reports: its queue, and the LLM's steps and slots. The methods match
 * the continuous batcher's listener one for one, so wiring the batcher is a one-line adapter;
 * today the engine's own threads call them (one step at batch 1 per LLM call of a job).
 *
 * <p>Thread-safe; every method is cheap (no allocation, no lock) and may be called from engine
 * or batcher threads.
 *
 * <pre>
 * cosyvoice_synthesis_queue_length          gauge      jobs admitted but not yet started
 * cosyvoice_synthesis_queue_wait_seconds    histogram  admission to start of work, per job
 * cosyvoice_llm_slots_in_use                gauge      sequences the LLM is working on
 * cosyvoice_llm_batch_size                  histogram  sequences per LLM step
 * cosyvoice_llm_step_seconds{phase}         histogram  one LLM step; phase prefill (it read a prompt) or decode
 * cosyvoice_llm_tokens_total{kind}          counter    prefill: prompt positions read; generated: tokens drawn
 * cosyvoice_llm_kv_copied_bytes_total       counter    KV-cache bytes copied between buffers
 * </pre>
 */
public final class EngineMetrics {

    private static final Duration[] WAIT_BUCKETS = seconds(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60);
    private static final Duration[] STEP_BUCKETS = seconds(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5);
    private static final double[] BATCH_BUCKETS = {1, 2, 4, 8, 16, 32, 64, 128, 256};

    private final AtomicInteger queueLength = new AtomicInteger();
    private final AtomicInteger slotsInUse = new AtomicInteger();
    private final Timer queueWait;
    private final DistributionSummary batchSize;
    private final Timer prefillStep;
    private final Timer decodeStep;
    private final Counter prefillTokens;
    private final Counter generatedTokens;
    private final Counter kvCopied;

    EngineMetrics(MeterRegistry registry) {
        Gauge.builder("cosyvoice.synthesis.queue.length", queueLength, AtomicInteger::get)
                .description("Synthesis jobs admitted by the backend and waiting to start")
                .register(registry);
        Gauge.builder("cosyvoice.llm.slots.in.use", slotsInUse, AtomicInteger::get)
                .description("Sequences the LLM is working on (engine: running jobs; batcher: occupied batch slots)")
                .register(registry);
        queueWait = Timer.builder("cosyvoice.synthesis.queue.wait")
                .description("Time a synthesis job waited from admission until work on it started")
                .serviceLevelObjectives(WAIT_BUCKETS)
                .register(registry);
        batchSize = DistributionSummary.builder("cosyvoice.llm.batch.size")
                .description("Sequences in one LLM step")
                .serviceLevelObjectives(BATCH_BUCKETS)
                .register(registry);
        prefillStep = step(registry, "prefill");
        decodeStep = step(registry, "decode");
        String tokens = "LLM tokens: prefill counts prompt positions read, generated counts tokens drawn (one per sequence per step)";
        prefillTokens = Counter.builder("cosyvoice.llm.tokens").tag("kind", "prefill").description(tokens).register(registry);
        generatedTokens = Counter.builder("cosyvoice.llm.tokens").tag("kind", "generated").description(tokens).register(registry);
        kvCopied = Counter.builder("cosyvoice.llm.kv.copied").baseUnit("bytes")
                .description("KV-cache bytes copied between buffers (0 while every sequence's cache is written in place)")
                .register(registry);
    }

    /** Records nothing: for backends run without a server's metrics (tests, tools). */
    public static EngineMetrics disabled() {
        return new EngineMetrics(new CompositeMeterRegistry());
    }

    private static Timer step(MeterRegistry registry, String phase) {
        return Timer.builder("cosyvoice.llm.step")
                .description("Duration of one LLM step (graph call and sampling) over the whole batch")
                .tag("phase", phase)
                .serviceLevelObjectives(STEP_BUCKETS)
                .register(registry);
    }

    /**
     * One LLM step.
     *
     * @param batchSize     sequences in the step; each draws one token
     * @param prefillTokens prompt positions the step read (0 for a pure decode step)
     * @param stepNanos     the step's duration
     * @param bytesCopied   KV-cache bytes the step copied (compaction, moves between slots)
     */
    public void onStep(int batchSize, int prefillTokens, long stepNanos, long bytesCopied) {
        this.batchSize.record(batchSize);
        (prefillTokens > 0 ? prefillStep : decodeStep).record(stepNanos, TimeUnit.NANOSECONDS);
        if (prefillTokens > 0) {
            this.prefillTokens.increment(prefillTokens);
        }
        generatedTokens.increment(batchSize);
        if (bytesCopied > 0) {
            kvCopied.increment(bytesCopied);
        }
    }

    /** Jobs now waiting to start. */
    public void onQueue(int length) {
        queueLength.set(length);
    }

    /** A job started after waiting this long since its admission. */
    public void onAdmitted(long waitNanos) {
        queueWait.record(waitNanos, TimeUnit.NANOSECONDS);
    }

    /** Sequences the LLM now works on. */
    public void onSlotsInUse(int n) {
        slotsInUse.set(n);
    }

    static Duration[] seconds(double... values) {
        Duration[] durations = new Duration[values.length];
        for (int i = 0; i < values.length; i++) {
            durations[i] = Duration.ofNanos(Math.round(values[i] * 1e9));
        }
        return durations;
    }
}
