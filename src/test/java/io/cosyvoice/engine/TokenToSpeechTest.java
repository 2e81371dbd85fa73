package io.cosyvoice.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxValue;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/**
 * Token-to-speech against the reference pipeline's goldens on the committed tiny twin: the golden
 * speech tokens, prompt features and seed go in; chunk sizes, audio and mel must come out.
 */
class TokenToSpeechTest {

    static final List<String> CASES = FlowGoldens.CASES;

    // every tensor made or returned, kept only while open: what remains after a request is a leak
    private static final Queue<OnnxValue> OPEN = new ConcurrentLinkedQueue<>();
    private static final AtomicLong SEEN = new AtomicLong();

    private static OnnxGraphs graphs;
    private static TokenToSpeech t2s;
    private static FlowPrompt prompt;

    @BeforeAll
    static void open() throws Exception {
        ModelDirectory model = ModelDirectory.open(FlowGoldens.TINY, false);
        // one intra-op thread, as the goldens were made
        graphs = OnnxGraphs.open(model, new EngineOptions(1, "cpu", 0, 0, false));
        t2s = TokenToSpeech.open(model, graphs, value -> {
            SEEN.incrementAndGet();
            OPEN.removeIf(OnnxValue::isClosed);
            OPEN.add(value);
        });
        prompt = FlowGoldens.prompt();
    }

    @AfterAll
    static void close() {
        graphs.close();
    }

    /** What one request produced. */
    record Run(List<float[]> chunks, List<Mel> mels, SpeechStream stream) {

        int[] sizes() {
            return chunks.stream().mapToInt(c -> c.length).toArray();
        }

        float[] audio() {
            return VocoderBatchingTest.concat(chunks);
        }

        Mel mel() {
            return mels.stream().reduce(Mel::append).orElseThrow();
        }
    }

    static Run start(int[] tokens, long seed, boolean stream, double speed) {
        List<float[]> chunks = new ArrayList<>();
        List<Mel> mels = new ArrayList<>();
        return new Run(chunks, mels, t2s.open(prompt, seed, stream, speed, chunks::add, mels::add));
    }

    static Run run(int[] tokens, long seed, boolean stream, double speed) throws Exception {
        Run run = start(tokens, seed, stream, speed);
        for (int token : tokens) {
            run.stream().offer(token);
        }
        run.stream().finish();
        return run;
    }

    static Run run(FlowGoldens.Case c) throws Exception {
        return run(c.speechTokens(), c.seed(), c.stream(), c.speed());
    }

    static double maxAbs(float[] a, float[] b) {
        assertEquals(a.length, b.length, "lengths");
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs((double) a[i] - b[i]));
        }
        return max;
    }

    static double rmsDiff(float[] a, float[] b) {
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            double d = (double) a[i] - b[i];
            sum += d * d;
        }
        return Math.sqrt(sum / Math.max(1, a.length));
    }

    @ParameterizedTest
    @FieldSource("CASES")
    void reproducesTheGoldenCase(String name) throws Exception {
        FlowGoldens.Case golden = FlowGoldens.load(name);
        Run run = run(golden);
        assertArrayEquals(golden.chunkSamples(), run.sizes(), "chunk sizes");
        float[] audio = run.audio();
        double max = maxAbs(golden.audio(), audio);
        double rms = rmsDiff(golden.audio(), audio);
        String mel = "";
        if (golden.mel() != null) {
            Mel m = run.mel();
            assertEquals(2 * golden.speechTokens().length, m.frames());
            double melMax = maxAbs(golden.mel(), m.data());
            mel = String.format(", mel max abs %.2e", melMax);
            assertTrue(melMax <= 1e-4, name + ": mel max abs " + melMax);
        }
        SpeechStream s = run.stream();
        System.out.printf("golden %-22s %d chunks %s: audio max abs %.2e, rms %.2e%s; per chunk flow %.1f ms, hift %.1f ms%n",
                name, s.chunksEmitted(), Arrays.toString(run.sizes()), max, rms, mel,
                s.flowNanos() / 1e6 / s.chunksEmitted(), s.hiftNanos() / 1e6 / s.chunksEmitted());
        assertTrue(max <= 5e-3, name + ": audio max abs " + max);
        assertTrue(rms <= 2e-4, name + ": audio rms of difference " + rms);
        assertEquals(golden.speechTokens().length, s.tokenCount());
        assertEquals(audio.length, s.samplesEmitted());
        assertEquals(audio.length / 24000.0, s.secondsEmitted(), 1e-12);
    }

    @Test
    void theFinalStreamingChunkHasTheNonStreamingMel() throws Exception {
        FlowGoldens.Case whole = FlowGoldens.load("zero_shot");
        Run streamed = run(FlowGoldens.load("zero_shot_stream"));
        Mel last = streamed.mels().getLast();
        Mel tail = new Mel(80, whole.mel().length / 80, whole.mel()).last(last.frames());
        assertTrue(maxAbs(tail.data(), last.data()) <= 1e-4);
    }

    @Test
    void theFirstHopPadsThePromptToAWholeChunk() throws Exception {
        // the goldens' prompt has 75 tokens (pad 0); the reference pipeline gives these sizes for 60 and 0
        int[] tokens = FlowGoldens.load("zero_shot_long_stream").speechTokens();
        int[] expected60 = {(25 + 15) * 2 * 480 - 3840, (91 - 40) * 2 * 480 + 8 * 480};
        int[] expected0 = {25 * 2 * 480 - 3840, 15 * 2 * 480 + 8 * 480};
        for (int p : new int[] {60, 0}) {
            FlowPrompt shorter = new FlowPrompt(Arrays.copyOf(prompt.tokens(), p), prompt.embedding(),
                    Arrays.copyOf(prompt.mel(), 2 * p * 80));
            int[] input = p == 60 ? tokens : Arrays.copyOf(tokens, 40);
            List<float[]> chunks = new ArrayList<>();
            SpeechStream s = t2s.open(shorter, 3, true, 1.0, chunks::add);
            for (int token : input) {
                s.offer(token);
            }
            s.finish();
            assertArrayEquals(p == 60 ? expected60 : expected0, chunks.stream().mapToInt(c -> c.length).toArray(), "prompt " + p);
        }
    }

    @Test
    void streamingAndNotGiveTheSameLength() throws Exception {
        int[] tokens = FlowGoldens.load("zero_shot_long_stream").speechTokens();
        Run streamed = run(tokens, 3, true, 1.0);
        Run whole = run(tokens, 3, false, 1.0);
        assertEquals(3, streamed.chunks().size());
        assertEquals(1, whole.chunks().size());
        assertEquals(whole.audio().length, streamed.audio().length);
        assertEquals(480 * 2 * tokens.length, whole.audio().length);
        assertEquals(streamed.mel().frames(), whole.mel().frames());
    }

    @Test
    void moreTokensGiveLongerAudio() throws Exception {
        int[] tokens = FlowGoldens.load("zero_shot_long_stream").speechTokens();
        int previous = 0;
        for (int n : new int[] {5, 30, 60, tokens.length}) {
            int length = run(Arrays.copyOf(tokens, n), 3, false, 1.0).audio().length;
            assertEquals(2 * 480 * n, length);
            assertTrue(length > previous);
            previous = length;
        }
    }

    @Test
    void speedScalesTheDuration() throws Exception {
        int[] tokens = FlowGoldens.load("zero_shot_long_stream").speechTokens();
        int normal = 2 * 480 * tokens.length;
        for (boolean stream : new boolean[] {false, true}) {
            for (double speed : new double[] {1.5, 0.75}) {
                Run run = run(tokens, 3, stream, speed);
                // each flow call rounds its frames down once
                double slack = 480.0 * run.mels().size();
                int length = run.audio().length;
                assertTrue(Math.abs(length - normal / speed) <= slack,
                        "stream " + stream + ", speed " + speed + ": " + length + " samples for " + normal / speed);
            }
        }
    }

    @Test
    void interleavedRequestsShareNothing() throws Exception {
        int[] a = FlowGoldens.load("zero_shot_stream").speechTokens();
        int[] b = FlowGoldens.load("zero_shot_long_stream").speechTokens();
        Run aloneA = run(a, 4, true, 1.0);
        Run aloneB = run(b, 3, true, 1.3);
        Run ra = start(a, 4, true, 1.0);
        Run rb = start(b, 3, true, 1.3);
        for (int i = 0; i < Math.max(a.length, b.length); i++) {
            if (i < b.length) {
                rb.stream().offer(b[i]);
            }
            if (i < a.length) {
                ra.stream().offer(a[i]);
            }
            if (i == a.length - 1) {
                ra.stream().finish();
            }
        }
        rb.stream().finish();
        assertSame(aloneA, ra);
        assertSame(aloneB, rb);

        // and on two threads at once
        try (ExecutorService pool = Executors.newFixedThreadPool(2)) {
            Future<Run> fa = pool.submit(() -> run(a, 4, true, 1.0));
            Future<Run> fb = pool.submit(() -> run(b, 3, true, 1.3));
            assertSame(aloneA, fa.get());
            assertSame(aloneB, fb.get());
        }
    }

    private static void assertSame(Run expected, Run actual) {
        assertEquals(expected.chunks().size(), actual.chunks().size());
        for (int i = 0; i < expected.chunks().size(); i++) {
            assertArrayEquals(expected.chunks().get(i), actual.chunks().get(i), "chunk " + i);
        }
    }

    @Test
    void noTensorStaysOpen() throws Exception {
        long before = SEEN.get();
        run(FlowGoldens.load("zero_shot_long_stream"));
        run(FlowGoldens.load("zero_shot_speed1.5"));
        OPEN.removeIf(OnnxValue::isClosed);
        assertTrue(SEEN.get() - before > 100, "the observer saw " + (SEEN.get() - before) + " values");
        assertTrue(OPEN.isEmpty(), OPEN.size() + " tensors left open, e.g. " + OPEN.peek());
    }

    @Test
    void theLeakCheckSeesAnOpenTensor() throws Exception {
        OPEN.removeIf(OnnxValue::isClosed);
        TensorScope scope = new TensorScope(graphs.environment(), value -> OPEN.add(value));
        scope.floats(new float[] {1, 2, 3}, 3);
        OPEN.removeIf(OnnxValue::isClosed);
        assertEquals(1, OPEN.size());
        scope.close();
        OPEN.removeIf(OnnxValue::isClosed);
        assertEquals(0, OPEN.size());
    }

    @Test
    void aFailedChunkLeavesNoOpenTensor() {
        // a prompt whose mel does not match its tokens fails inside the flow, after its inputs exist
        FlowPrompt broken = new FlowPrompt(new long[] {1, 2}, prompt.embedding(), new float[80 * 3]);
        SpeechStream s = t2s.open(broken, 0, false, 1.0, chunk -> { });
        assertThrows(IllegalArgumentException.class, () -> {
            s.offer(5);
            s.finish();
        });
        OPEN.removeIf(OnnxValue::isClosed);
        assertEquals(0, OPEN.size());
    }

    @Test
    void refusesMisuse() throws Exception {
        assertThrows(IllegalArgumentException.class, () -> t2s.open(prompt, 0, true, 0, c -> { }));
        assertThrows(IllegalArgumentException.class, () -> t2s.open(prompt, 0, true, Double.NaN, c -> { }));
        SpeechStream s = t2s.open(prompt, 0, true, 1.0, c -> { });
        assertThrows(IllegalArgumentException.class, () -> s.offer(6561));
        assertThrows(IllegalArgumentException.class, () -> s.offer(-1));
        s.offer(7);
        s.finish();
        assertEquals(1, s.chunksEmitted());
        assertThrows(IllegalStateException.class, () -> s.offer(7));
        assertThrows(IllegalStateException.class, s::finish);
        // no tokens: no audio
        Run empty = run(new int[0], 0, false, 1.0);
        assertEquals(0, empty.chunks().size());
        assertTrue(empty.mels().isEmpty());
    }

    @Test
    void theFlowNoiseBoundsTheTokens() throws Exception {
        // tiny twin: 3000 noise frames, 150 of them the prompt's: 1425 speech tokens fit
        SpeechStream s = t2s.open(prompt, 0, false, 1.0, c -> { });
        for (int i = 0; i < 1425; i++) {
            s.offer(i % 6561);
        }
        assertThrows(IllegalStateException.class, () -> s.offer(1));
    }
}
