package io.cosyvoice.synthesis;

import io.cosyvoice.error.ErrorCode;
import io.cosyvoice.synthesis.SynthesisMessages.Accepted;
import io.cosyvoice.synthesis.SynthesisMessages.Capacity;
import io.cosyvoice.synthesis.SynthesisMessages.Cancel;
import io.cosyvoice.synthesis.SynthesisMessages.Chunk;
import io.cosyvoice.synthesis.SynthesisMessages.Credit;
import io.cosyvoice.synthesis.SynthesisMessages.End;
import io.cosyvoice.synthesis.SynthesisMessages.Failure;
import io.cosyvoice.synthesis.SynthesisMessages.Job;
import io.cosyvoice.synthesis.SynthesisMessages.MoreText;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.MessageConsumer;

import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The far side of the synthesis contract for tests, until the real engine exists: deterministic
 * audio (a tone per sentence, its length proportional to the sentence's characters) sent in
 * chunks under the contract's credit rules. It counts what it did so tests can check
 * cancellation and backpressure. A sentence containing {@link #FAIL_WORD} fails the job after
 * its first chunk.
 */
public final class FakeSynthesisBackend extends VerticleBase {

    public static final double SECONDS_PER_CHARACTER = 0.08;
    public static final double MIN_SENTENCE_SECONDS = 0.3;
    public static final int CHUNK_SAMPLES = 4800; // 0.2 s at 24 kHz
    public static final String FAIL_WORD = "zzfailzz";
    public static final double AMPLITUDE = 0.25;

    public final AtomicInteger started = new AtomicInteger();
    public final AtomicInteger cancelled = new AtomicInteger();
    public final AtomicInteger finished = new AtomicInteger();
    public final AtomicLong chunksSent = new AtomicLong();
    public final ConcurrentHashMap<String, List<String>> sentencesByJob = new ConcurrentHashMap<>();
    /** Pause between chunks, to look like a model at work. */
    public volatile long chunkDelayMs;
    /** Accept jobs but never send anything: a backend that hangs. */
    public volatile boolean stall;
    /**
     * Told, per job, the nanoseconds from its first sentence's arrival (with the job, or in a later
     * message for a WebSocket task) to its first chunk sent: this backend's own time to first chunk.
     */
    public volatile java.util.function.LongConsumer firstChunkNanos;
    /** Told, per job that ended well, the nanoseconds from its first sentence's arrival to its end. */
    public volatile java.util.function.LongConsumer endNanos;

    private final String modelVersion;

    /** A backend without a model: voices get no prompt features. */
    public FakeSynthesisBackend() {
        this(null);
    }

    /**
     * A backend that says it runs {@code modelVersion} and makes prompt features of a real model's
     * sizes (25 speech tokens and 50 mel frames of 80 bins a second), so that synthesis goes the
     * production way: the voice's features looked up and sent with every job.
     */
    public FakeSynthesisBackend(String modelVersion) {
        this.modelVersion = modelVersion;
    }

    @Override
    public Future<?> start() {
        SynthesisMessages.registerCodecs(vertx);
        Future<Void> jobs = vertx.eventBus().<Job>consumer(SynthesisMessages.JOBS_ADDRESS, message -> {
            Job job = message.body();
            FakeJob fake = new FakeJob(job);
            message.reply(new Accepted(fake.input.address(), false, false, new Capacity("", 1, 1, false, 0)));
            started.incrementAndGet();
            fake.addText(job.sentences(), job.textComplete());
        }).completion();
        if (modelVersion == null) {
            return jobs;
        }
        return Future.all(jobs,
                vertx.eventBus().consumer(SynthesisMessages.ENGINE_ADDRESS,
                        m -> m.reply(new SynthesisMessages.EngineInfo(modelVersion, "test backend " + modelVersion, true))).completion(),
                vertx.eventBus().<SynthesisMessages.PromptRequest>consumer(SynthesisMessages.PROMPT_ADDRESS, m -> {
                    double seconds = m.body().samples().length / (double) m.body().sampleRate();
                    int frames = Math.max(1, (int) Math.round(seconds * 50));
                    m.reply(new io.cosyvoice.voice.PromptFeatures(modelVersion, new int[(int) Math.round(seconds * 25)],
                            new float[192], new float[frames * 80], frames));
                }).completion());
    }

    /** Seconds of audio the fake makes for one sentence. */
    public static double secondsFor(String sentence) {
        long characters = sentence.codePoints().filter(c -> !Character.isWhitespace(c)).count();
        return Math.max(MIN_SENTENCE_SECONDS, characters * SECONDS_PER_CHARACTER);
    }

    public static double secondsFor(List<String> sentences) {
        return sentences.stream().mapToDouble(FakeSynthesisBackend::secondsFor).sum();
    }

    /** How many chunks the fake sends for these sentences. */
    public static long chunksFor(List<String> sentences) {
        return sentences.stream()
                .mapToLong(s -> (Math.round(secondsFor(s) * SynthesisMessages.SAMPLE_RATE) + CHUNK_SAMPLES - 1) / CHUNK_SAMPLES)
                .sum();
    }

    /** The tone of a sentence: 200 to 400 Hz, chosen by its text. */
    public static double frequencyFor(String sentence) {
        return 200 + Math.floorMod(sentence.hashCode(), 201);
    }

    /**
     * The chunks of a sentence's tone, made once per sentence: a stand-in for a model on another
     * device should not spend the server's CPU (the overhead benchmark runs hundreds of streams).
     * Shared arrays are safe: receivers never modify a chunk's samples.
     */
    private static List<float[]> tone(String sentence) {
        List<float[]> cached = TONES.get(sentence);
        if (cached != null) {
            return cached;
        }
        int total = (int) Math.round(secondsFor(sentence) * SynthesisMessages.SAMPLE_RATE);
        double hz = frequencyFor(sentence);
        List<float[]> chunks = new java.util.ArrayList<>();
        for (int start = 0; start < total; start += CHUNK_SAMPLES) {
            float[] samples = new float[Math.min(CHUNK_SAMPLES, total - start)];
            for (int i = 0; i < samples.length; i++) {
                samples[i] = (float) (AMPLITUDE * Math.sin(2 * Math.PI * hz * (start + i) / SynthesisMessages.SAMPLE_RATE));
            }
            chunks.add(samples);
        }
        if (TONES.size() < MAX_CACHED_TONES) {
            TONES.put(sentence, chunks);
        }
        return chunks;
    }

    private static final int MAX_CACHED_TONES = 256;
    private static final ConcurrentHashMap<String, List<float[]>> TONES = new ConcurrentHashMap<>();

    private final class FakeJob {
        private final Job job;
        private final MessageConsumer<Object> input;
        private final ArrayDeque<Chunk> ready = new ArrayDeque<>();
        private final List<String> received = new java.util.concurrent.CopyOnWriteArrayList<>();
        private int credits;
        private boolean textComplete;
        private boolean over;
        private boolean pumping;
        private long sequence;
        private int sentenceIndex;
        private boolean failAfterNext;
        private long firstTextNanos = -1;

        FakeJob(Job job) {
            this.job = job;
            this.credits = job.initialCredits();
            sentencesByJob.put(job.jobId(), received);
            this.input = vertx.eventBus().localConsumer("cosyvoice.fake.input." + job.jobId(), message -> {
                switch (message.body()) {
                    case MoreText more -> addText(more.sentences(), more.last());
                    case Credit credit -> {
                        credits += credit.chunks();
                        pump();
                    }
                    case Cancel cancel -> {
                        cancelled.incrementAndGet();
                        stop();
                    }
                    default -> throw new IllegalStateException("unexpected " + message.body());
                }
            });
        }

        void addText(List<String> sentences, boolean last) {
            if (firstTextNanos < 0 && !sentences.isEmpty()) {
                firstTextNanos = System.nanoTime();
            }
            for (String sentence : sentences) {
                received.add(sentence);
                int index = sentenceIndex++;
                for (float[] samples : tone(sentence)) {
                    ready.add(new Chunk(-1, index, samples, 0.01));
                }
                if (sentence.contains(FAIL_WORD)) {
                    failAfterNext = true;
                }
            }
            textComplete |= last;
            pump();
        }

        void pump() {
            if (over || pumping || stall) {
                return;
            }
            if (credits > 0 && !ready.isEmpty()) {
                Chunk next = ready.poll();
                credits--;
                java.util.function.LongConsumer timing = firstChunkNanos;
                if (sequence == 0 && timing != null) {
                    timing.accept(System.nanoTime() - firstTextNanos);
                }
                vertx.eventBus().send(job.outputAddress(), new Chunk(sequence++, next.sentenceIndex(), next.samples(), next.generateSeconds()));
                chunksSent.incrementAndGet();
                if (failAfterNext) {
                    vertx.eventBus().send(job.outputAddress(), new Failure(ErrorCode.INTERNAL_ERROR, "synthesis failed (test backend)"));
                    stop();
                    return;
                }
                if (chunkDelayMs > 0) {
                    pumping = true;
                    vertx.setTimer(chunkDelayMs, t -> {
                        pumping = false;
                        pump();
                    });
                } else {
                    vertx.runOnContext(v -> pump());
                }
                return;
            }
            if (ready.isEmpty() && textComplete) {
                java.util.function.LongConsumer timing = endNanos;
                if (timing != null) {
                    timing.accept(System.nanoTime() - firstTextNanos);
                }
                vertx.eventBus().send(job.outputAddress(), new End(sequence));
                finished.incrementAndGet();
                stop();
            }
        }

        void stop() {
            over = true;
            ready.clear();
            input.unregister();
        }
    }
}
