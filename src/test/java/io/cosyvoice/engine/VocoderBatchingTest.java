package io.cosyvoice.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxValue;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Flow estimator and HiFT calls of concurrent requests batched on the batchers' threads, on the
 * committed tiny twin: every request must get the mel it gets alone bit for bit (the estimator's
 * rows do not interact, and same-shape batching keeps each row's arithmetic), and its audio within
 * a few float32 ulps (HiFT's vectorised element-wise kernels round the odd sample differently
 * depending on where a row sits in the batch), hence the goldens too, whatever runs beside it.
 */
class VocoderBatchingTest {

    private static final Queue<OnnxValue> OPEN = new ConcurrentLinkedQueue<>();

    private static ModelDirectory model;
    private static OnnxGraphs graphs;
    private static TokenToSpeech solo;
    private static TokenToSpeech batched;
    private static FlowPrompt prompt;

    @BeforeAll
    static void open() throws Exception {
        model = ModelDirectory.open(FlowGoldens.TINY, false);
        graphs = OnnxGraphs.open(model, new EngineOptions(1, "cpu", 0, 0, false)); // as the goldens were made
        solo = TokenToSpeech.open(model, graphs);
        batched = TokenToSpeech.open(model, graphs, value -> {
            OPEN.removeIf(OnnxValue::isClosed);
            OPEN.add(value);
        }, new VocoderBatching(true, 8));
        prompt = FlowGoldens.prompt();
    }

    @AfterAll
    static void close() {
        batched.close();
        solo.close();
        graphs.close();
    }

    /** One request: tokens in, chunks out. */
    record Request(int[] tokens, long seed, boolean stream, double speed) {}

    /** What a request produced: its audio chunks and each flow call's mel. */
    record Result(List<float[]> chunks, List<Mel> mels) {}

    static Result run(TokenToSpeech t2s, Request r, BooleanSupplier cancelled) throws Exception {
        List<float[]> chunks = new ArrayList<>();
        List<Mel> mels = new ArrayList<>();
        SpeechStream s = new SpeechStream(t2s, prompt, r.seed(), r.stream(), r.speed(), chunks::add, mels::add, cancelled);
        for (int token : r.tokens()) {
            s.offer(token);
        }
        s.finish();
        return new Result(chunks, mels);
    }

    static float[] concat(List<float[]> chunks) {
        float[] out = new float[chunks.stream().mapToInt(c -> c.length).sum()];
        int at = 0;
        for (float[] c : chunks) {
            System.arraycopy(c, 0, out, at, c.length);
            at += c.length;
        }
        return out;
    }

    /** Largest sample difference seen between a batched request and the same request alone. */
    static final double AUDIO_ULPS = 1e-6;

    private static void assertSameAudio(Result expected, Result actual, String what) {
        assertEquals(expected.mels().size(), actual.mels().size(), what + ": flow calls");
        for (int i = 0; i < expected.mels().size(); i++) {
            assertArrayEquals(expected.mels().get(i).data(), actual.mels().get(i).data(), what + ": mel of flow call " + i);
        }
        assertEquals(expected.chunks().size(), actual.chunks().size(), what + ": chunks");
        for (int i = 0; i < expected.chunks().size(); i++) {
            double max = maxAbsDiff(expected.chunks().get(i), actual.chunks().get(i));
            assertTrue(max <= AUDIO_ULPS, what + ": chunk " + i + " differs by " + max);
        }
    }

    static double maxAbsDiff(float[] a, float[] b) {
        return TokenToSpeechTest.maxAbs(a, b);
    }

    private static void awaitWaiting(ShapeBatcher<?, ?> batcher, int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (batcher.waiting() < n) {
            assertTrue(System.nanoTime() < deadline, "only " + batcher.waiting() + " calls arrived, expected " + n);
            Thread.sleep(2);
        }
    }

    @Test
    void theGoldenCasesRunTogetherGiveExactlyTheirSoloAudio() throws Exception {
        Map<String, FlowGoldens.Case> cases = new LinkedHashMap<>();
        FlowGoldens.CASES.forEach(name -> cases.put(name, FlowGoldens.load(name)));
        ShapeBatcher.Stats flowBefore = batched.flow().batcher().stats();
        ShapeBatcher.Stats hiftBefore = batched.hift().batcher().stats();
        try (ExecutorService pool = Executors.newFixedThreadPool(cases.size())) {
            // hold both batchers until every request's first call waits, so they start together
            batched.flow().batcher().pause(true);
            batched.hift().batcher().pause(true);
            Map<String, Future<Result>> runs = new LinkedHashMap<>();
            cases.forEach((name, c) -> runs.put(name, pool.submit(() ->
                    run(batched, new Request(c.speechTokens(), c.seed(), c.stream(), c.speed()), () -> false))));
            awaitWaiting(batched.flow().batcher(), cases.size());
            batched.flow().batcher().pause(false);
            awaitWaiting(batched.hift().batcher(), cases.size());
            batched.hift().batcher().pause(false);
            for (var entry : runs.entrySet()) {
                FlowGoldens.Case c = cases.get(entry.getKey());
                Result together = entry.getValue().get(60, TimeUnit.SECONDS);
                Result alone = run(solo, new Request(c.speechTokens(), c.seed(), c.stream(), c.speed()), () -> false);
                assertSameAudio(alone, together, c.name());
                float[] audio = concat(together.chunks());
                assertArrayEquals(c.chunkSamples(), together.chunks().stream().mapToInt(a -> a.length).toArray(), c.name());
                double max = TokenToSpeechTest.maxAbs(c.audio(), audio);
                assertTrue(max <= 5e-3, c.name() + ": audio max abs " + max);
                assertTrue(TokenToSpeechTest.rmsDiff(c.audio(), audio) <= 2e-4, c.name() + ": audio rms");
            }
        }
        ShapeBatcher.Stats flow = batched.flow().batcher().stats();
        ShapeBatcher.Stats hift = batched.hift().batcher().stats();
        // the four streaming cases share the prompt, so their first chunks have one shape in both graphs
        assertTrue(flow.largestBatch() >= 4, "flow batches: " + flow);
        assertTrue(hift.largestBatch() >= 4, "hift batches: " + hift);
        assertTrue(flow.batches() - flowBefore.batches() < flow.calls() - flowBefore.calls(), "flow batches: " + flow);
        assertTrue(hift.batches() - hiftBefore.batches() < hift.calls() - hiftBefore.calls(), "hift batches: " + hift);
        OPEN.removeIf(OnnxValue::isClosed);
        assertTrue(OPEN.isEmpty(), OPEN.size() + " tensors left open");
    }

    @Test
    void requestsOfDifferentLengthsAtOnceEachGetTheirSoloAudio() throws Exception {
        int[] tokens = FlowGoldens.load("zero_shot_long_stream").speechTokens();
        List<Request> requests = new ArrayList<>();
        int[] lengths = {5, 30, 60, tokens.length, 45, tokens.length, 28, 80};
        for (int i = 0; i < lengths.length; i++) {
            requests.add(new Request(Arrays.copyOf(tokens, lengths[i]), 100 + i, i % 4 != 3, i == 6 ? 1.4 : 1.0));
        }
        try (ExecutorService pool = Executors.newFixedThreadPool(requests.size())) {
            for (int round = 0; round < 3; round++) {
                List<Future<Result>> together = new ArrayList<>();
                for (Request r : requests) {
                    together.add(pool.submit(() -> run(batched, r, () -> false)));
                }
                for (int i = 0; i < requests.size(); i++) {
                    assertSameAudio(run(solo, requests.get(i), () -> false), together.get(i).get(60, TimeUnit.SECONDS),
                            "round " + round + ", request " + i + " (" + lengths[i] + " tokens)");
                }
            }
        }
    }

    @Test
    void aCancelledRequestLeavesWhileOthersGoOn() throws Exception {
        int[] tokens = FlowGoldens.load("zero_shot_long_stream").speechTokens();
        Request a = new Request(tokens, 5, true, 1.0);
        Request b = new Request(tokens, 6, true, 1.0);
        AtomicBoolean cancelA = new AtomicBoolean();
        ShapeBatcher<?, ?> flow = batched.flow().batcher();
        try (ExecutorService pool = Executors.newFixedThreadPool(2)) {
            flow.pause(true);
            Future<Result> ra = pool.submit(() -> run(batched, a, cancelA::get));
            Future<Result> rb = pool.submit(() -> run(batched, b, () -> false));
            awaitWaiting(flow, 2);
            cancelA.set(true);
            ExecutionException e = assertThrows(ExecutionException.class, () -> ra.get(5, TimeUnit.SECONDS));
            assertTrue(e.getCause() instanceof CancellationException, e.toString());
            assertEquals(1, flow.waiting(), "the cancelled call left the queue");
            flow.pause(false);
            assertSameAudio(run(solo, b, () -> false), rb.get(60, TimeUnit.SECONDS), "the other request");
        } finally {
            flow.pause(false);
        }
    }

    @Test
    void closingFailsWaitingRequestsClearlyWithoutAHang() throws Exception {
        TokenToSpeech closing = TokenToSpeech.open(model, graphs, TensorScope.NO_OBSERVER, new VocoderBatching(true, 4));
        int[] tokens = FlowGoldens.load("zero_shot_long_stream").speechTokens();
        try (ExecutorService pool = Executors.newFixedThreadPool(3)) {
            closing.flow().batcher().pause(true);
            List<Future<Result>> runs = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                Request r = new Request(Arrays.copyOf(tokens, 30 + 20 * i), i, i != 1, 1.0);
                runs.add(pool.submit(() -> run(closing, r, () -> false)));
            }
            awaitWaiting(closing.flow().batcher(), 3);
            long start = System.nanoTime();
            closing.close();
            for (Future<Result> run : runs) {
                ExecutionException e = assertThrows(ExecutionException.class, () -> run.get(10, TimeUnit.SECONDS));
                assertTrue(e.getCause() instanceof IllegalStateException, e.toString());
                assertTrue(e.getCause().getMessage().contains("shutting down"), e.getCause().getMessage());
            }
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10));
            IllegalStateException after = assertThrows(IllegalStateException.class,
                    () -> run(closing, new Request(Arrays.copyOf(tokens, 10), 0, false, 1.0), () -> false));
            assertTrue(after.getMessage().contains("closed"), after.getMessage());
        }
    }
}
