package io.cosyvoice.batching;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The continuous batcher with {@code kv-binding=iobinding} on the CPU: the KV cache in the C API
 * session's allocator, bound with IoBinding. Every golden case draws exactly the reference tokens
 * (those of the Java binding and of the one-sequence generator), batched and chunked, over one or
 * two replicas; a decode step transfers its inputs and logits, never the cache.
 */
class IoBindingBatcherTest extends TinyLlmBatcherTest {

    private static final List<GoldenCases> CASES = GoldenCases.all();
    private static final BatcherOptions OPTIONS = BatcherOptions.DEFAULTS.withKvCapacity(512).withKvBinding(KvBinding.IOBINDING);

    @Override
    void assertReleased() {
        assertEquals(0, DeviceSlotPool.openValues(), "every OrtValue and IoBinding released with its pool");
    }

    @ParameterizedTest(name = "batch {0}, {1} tokens per step, {2} replica(s)")
    @CsvSource({"1, 256, 1", "16, 256, 1", "16, 32, 1", "3, 256, 2"})
    void goldensSubmittedTogetherDrawTheReferenceTokens(int batch, int tokensPerStep, int replicas) throws Exception {
        ContinuousBatcher batcher = start(OPTIONS.withMaxBatchSize(batch).withMaxTokensPerStep(tokensPerStep).withReplicas(replicas));
        List<Run> runs = CASES.stream().map(c -> submit(batcher, c)).toList();
        for (Run run : runs) {
            run.assertGolden();
        }
        for (BatcherListener.Step s : steps.all) {
            assertTrue(s.prefillTokens() <= tokensPerStep, "a step's prefill stays within the budget: " + s);
            assertTrue(s.batchSize() <= batch);
        }
        if (batch > 1) {
            assertTrue(steps.all.stream().anyMatch(s -> s.batchSize() > 1), "the sequences did decode together");
        }
    }

    @Test
    void aDecodeStepTransfersItsInputsAndLogitsAndNoCache() throws Exception {
        ContinuousBatcher batcher = start(OPTIONS);
        for (Run run : CASES.stream().map(c -> submit(batcher, c)).toList()) {
            run.assertGolden();
        }
        int hidden = graph.config().hiddenSize();
        int vocab = graph.vocab();
        int decodeSteps = 0;
        for (BatcherListener.Step s : steps.all) {
            if (s.prefillTokens() == 0 && s.cacheBytesCopied() == 0) {
                long b = s.batchSize();
                // in per row: embedding, position, seqlens_k, last_index; total_sequence_length; out: the rows' logits
                assertEquals(b * (hidden * 4 + 8 + 4 + 8) + 4 + b * vocab * 4, s.bytesCopied(), s.toString());
                decodeSteps++;
            }
        }
        assertTrue(decodeSteps > 50, decodeSteps + " pure decode steps");
    }

    @Test
    void retiringTheMiddleOfThreeMovesTheLastIntoItsSlotOnTheDevice() throws Exception {
        ContinuousBatcher batcher = start(OPTIONS.withMaxBatchSize(3));
        Run a = submit(batcher, GoldenCases.get("zero_shot_long_stream")); // 91 tokens
        Run b = submit(batcher, GoldenCases.get("cross_lingual"));         // 37 tokens: ends first
        Run c = submit(batcher, GoldenCases.get("instruct"));              // 60 tokens, 12 prefix positions
        AtomicInteger lastCount = new AtomicInteger();
        b.handle().completion().thenRun(() -> lastCount.set(c.streamed().size())); // on the scheduler thread, at the retire
        b.assertGolden();
        a.assertGolden();
        c.assertGolden();
        long perPosition = SlotPool.bytesPerSlot(graph.config(), 1);
        List<Long> moves = steps.all.stream().map(BatcherListener.Step::cacheBytesCopied).filter(n -> n > 0).toList();
        assertEquals(12 + lastCount.get() - 1, moves.getFirst() / perPosition, "moves " + moves);
        assertEquals(0, moves.getFirst() % perPosition);
    }

    @Test
    void openingAndClosingReleasesEveryNativeObject() throws Exception {
        for (int round = 0; round < 3; round++) {
            ContinuousBatcher batcher = ContinuousBatcher.start(graph, OPTIONS.withMaxBatchSize(4), steps);
            submit(batcher, GoldenCases.get("instruct")).assertGolden();
            assertTrue(DeviceSlotPool.openValues() > 0, "decode bindings are kept while the batcher runs");
            batcher.close();
            assertEquals(0, DeviceSlotPool.openValues(), "round " + round);
        }
    }
}
