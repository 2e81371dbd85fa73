package io.cosyvoice.batching;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.cosyvoice.engine.LlmGraph;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;

/**
 * What the batcher tests share: the tiny twin's LLM graph, opened once per class; the batchers a
 * test starts, closed after it, with the pool's native memory then checked released; a listener
 * that records the steps; golden cases submitted and checked token by token.
 */
abstract class TinyLlmBatcherTest {

    private static TinyLlm tiny;
    static LlmGraph graph;

    private final List<ContinuousBatcher> opened = new ArrayList<>();
    final Steps steps = new Steps();

    @BeforeAll
    static void openTinyLlm() throws Exception {
        tiny = TinyLlm.open();
        graph = tiny.graph();
    }

    @AfterAll
    static void closeTinyLlm() {
        tiny.close();
    }

    @AfterEach
    void closeBatchers() {
        opened.forEach(ContinuousBatcher::close);
        assertReleased();
    }

    /** After every batcher closed: the pool kind under test holds no native memory. */
    abstract void assertReleased();

    ContinuousBatcher start(BatcherOptions options) {
        return start(options, StepRunner.of(graph.session()));
    }

    ContinuousBatcher start(BatcherOptions options, StepRunner runner) {
        ContinuousBatcher batcher = ContinuousBatcher.start(graph, options, steps, runner);
        opened.add(batcher);
        return batcher;
    }

    /** Records every step and failure the listener sees. */
    static final class Steps implements BatcherListener {
        final List<Step> all = Collections.synchronizedList(new ArrayList<>());
        final List<Integer> failedSequences = Collections.synchronizedList(new ArrayList<>());
        final AtomicInteger slots = new AtomicInteger();
        final AtomicInteger maxSlots = new AtomicInteger();
        final AtomicInteger admitted = new AtomicInteger();

        @Override
        public void onStep(Step step) {
            all.add(step);
        }

        @Override
        public void onSlotsInUse(int n) {
            slots.set(n);
            maxSlots.accumulateAndGet(n, Math::max);
        }

        @Override
        public void onAdmitted(long waitNanos) {
            admitted.incrementAndGet();
        }

        @Override
        public void onStepFailed(Throwable error, int sequences) {
            failedSequences.add(sequences);
        }
    }

    /** A submitted golden case and the tokens it streamed. */
    record Run(GoldenCases golden, BatchedGeneration handle, List<Integer> streamed) {

        Generation await() throws Exception {
            return handle.completion().get(60, TimeUnit.SECONDS);
        }

        int[] streamedTokens() {
            synchronized (streamed) {
                return streamed.stream().mapToInt(Integer::intValue).toArray();
            }
        }

        int count() {
            synchronized (streamed) {
                return streamed.size();
            }
        }

        /** Waits for the end and checks every token against the golden. */
        void assertGolden() throws Exception {
            Generation g = await();
            assertArrayEquals(golden.speechTokens(), g.tokens(), golden.name());
            assertArrayEquals(golden.speechTokens(), streamedTokens(), golden.name() + " streamed");
            int maxLen = 20 * golden.textTokens().length;
            assertEquals(g.tokens().length == maxLen ? Generation.Stop.MAX_LEN : Generation.Stop.STOP_TOKEN, g.stop());
        }
    }

    static Run submit(ContinuousBatcher batcher, GoldenCases c) {
        return submit(batcher, c, t -> { });
    }

    /** Submits a case; {@code also} sees each token after it is recorded. */
    static Run submit(ContinuousBatcher batcher, GoldenCases c, IntConsumer also) {
        List<Integer> streamed = Collections.synchronizedList(new ArrayList<>());
        BatchedGeneration handle = batcher.submit(c.request(graph), t -> {
            streamed.add(t);
            also.accept(t);
        });
        return new Run(c, handle, streamed);
    }
}
