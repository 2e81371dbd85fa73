package io.cosyvoice.batching;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class ContinuousBatcherTest extends TinyLlmBatcherTest {

    private static final List<GoldenCases> CASES = GoldenCases.all();
    /** The longest golden needs 99 prefix positions + 13 · 20 tokens. */
    private static final BatcherOptions OPTIONS = BatcherOptions.DEFAULTS.withKvCapacity(512);

    @Override
    void assertReleased() {
        assertEquals(0, KvSlotPool.openTensors(), "every tensor closed with its pool");
    }

    static Stream<Arguments> layouts() {
        return Stream.of(
                Arguments.of(1, 256, 1),
                Arguments.of(16, 256, 1),
                Arguments.of(16, 32, 1),  // every zero-shot prefix (92, 99 positions) is chunked
                Arguments.of(3, 256, 2)); // two replicas over one session
    }

    /** Holds the first graph call until {@code open} is counted down: whatever is submitted before is "at once". */
    private static StepRunner gated(StepRunner runner, CountDownLatch open) {
        return (decode, rows, inputs, outputs) -> {
            await(open);
            runner.run(decode, rows, inputs, outputs);
        };
    }

    @ParameterizedTest(name = "batch {0}, {1} tokens per step, {2} replica(s)")
    @MethodSource("layouts")
    void goldensSubmittedAtOnce(int batch, int tokensPerStep, int replicas) throws Exception {
        CountDownLatch submitted = new CountDownLatch(1);
        ContinuousBatcher batcher = start(OPTIONS.withMaxBatchSize(batch).withMaxTokensPerStep(tokensPerStep)
                .withReplicas(replicas), gated(StepRunner.of(graph.session()), submitted));
        List<Run> runs = CASES.stream().map(c -> submit(batcher, c)).toList();
        submitted.countDown();
        for (Run run : runs) {
            run.assertGolden();
        }
        assertTrue(steps.maxSlots.get() <= batch * replicas);
        for (BatcherListener.Step s : steps.all) {
            assertTrue(s.prefillTokens() <= tokensPerStep, "a step's prefill stays within the budget: " + s);
            assertTrue(s.batchSize() <= batch);
        }
        if (batch > 1 && replicas == 1) {
            assertTrue(steps.all.stream().anyMatch(s -> s.batchSize() == Math.min(batch, CASES.size())),
                    "the sequences did decode together");
        }
    }

    @ParameterizedTest(name = "batch {0}")
    @ValueSource(ints = {1, 16})
    void goldensSubmittedWhileOthersRun(int batch) throws Exception {
        // each case is submitted from the scheduler thread when the previous one has drawn its 5th token
        ContinuousBatcher batcher = start(OPTIONS.withMaxBatchSize(batch));
        List<Run> runs = Collections.synchronizedList(new ArrayList<>());
        chain(batcher, runs, 0);
        for (int i = 0; i < CASES.size(); i++) {
            while (runs.size() <= i) {
                Thread.sleep(1);
            }
            runs.get(i).assertGolden();
        }
    }

    private static void chain(ContinuousBatcher batcher, List<Run> runs, int index) {
        AtomicInteger seen = new AtomicInteger();
        runs.add(submit(batcher, CASES.get(index), t -> {
            if (seen.incrementAndGet() == 5 && index + 1 < CASES.size()) {
                chain(batcher, runs, index + 1);
            }
        }));
    }

    @Test
    void goldensSubmittedFromManyThreadsAtRandomTimes() throws Exception {
        ContinuousBatcher batcher = start(OPTIONS.withMaxBatchSize(6).withMaxTokensPerStep(64));
        List<CompletableFuture<Run>> runs = new ArrayList<>();
        var random = new java.util.Random(7);
        for (int round = 0; round < 3; round++) {
            for (GoldenCases c : CASES) {
                long delay = random.nextInt(40);
                runs.add(CompletableFuture.supplyAsync(() -> submit(batcher, c),
                        CompletableFuture.delayedExecutor(delay, TimeUnit.MILLISECONDS)));
            }
        }
        for (CompletableFuture<Run> run : runs) {
            run.get(60, TimeUnit.SECONDS).assertGolden();
        }
    }

    @Test
    void aLongPrefixIsChunkedWhileTheOthersKeepDecoding() throws Exception {
        ContinuousBatcher batcher = start(OPTIONS.withMaxBatchSize(4).withMaxTokensPerStep(16));
        GoldenCases shortOne = GoldenCases.get("cross_lingual");   // 7 prefix positions, 37 tokens
        GoldenCases longOne = GoldenCases.get("zero_shot_long_stream"); // 99 prefix positions: 7 chunks
        // the long one is submitted from the scheduler thread once both others decode
        List<Run> decoders = Collections.synchronizedList(new ArrayList<>());
        int[] before = new int[2];
        int[] atFirstToken = new int[2];
        CompletableFuture<Run> chunkedRun = new CompletableFuture<>();
        AtomicInteger longTokens = new AtomicInteger();
        CountDownLatch submitted = new CountDownLatch(1);
        for (int i = 0; i < 2; i++) {
            boolean second = i == 1;
            AtomicInteger n = new AtomicInteger();
            decoders.add(submit(batcher, shortOne, t -> {
                await(submitted);
                if (second && n.incrementAndGet() == 2) {
                    before[0] = decoders.get(0).count();
                    before[1] = decoders.get(1).count();
                    chunkedRun.complete(submit(batcher, longOne, u -> {
                        if (longTokens.incrementAndGet() == 1) {
                            atFirstToken[0] = decoders.get(0).count();
                            atFirstToken[1] = decoders.get(1).count();
                        }
                    }));
                }
            }));
        }
        submitted.countDown();
        Run chunked = chunkedRun.get(30, TimeUnit.SECONDS);
        chunked.assertGolden();
        for (Run d : decoders) {
            d.assertGolden();
        }
        // 99 positions in chunks of 16 take 7 iterations, and every one of them decoded the others
        for (int i = 0; i < 2; i++) {
            assertTrue(atFirstToken[i] - before[i] >= 6, "decoder " + i + " went from " + before[i] + " to "
                    + atFirstToken[i] + " tokens while the long prefix was prefilled");
        }
        List<BatcherListener.Step> prefills = steps.all.stream().filter(s -> s.prefillTokens() > 0).toList();
        List<BatcherListener.Step> during = prefills.subList(prefills.size() - 7, prefills.size());
        assertEquals(List.of(16, 16, 16, 16, 16, 16, 3), during.stream().map(BatcherListener.Step::prefillTokens).toList());
        for (BatcherListener.Step s : during) {
            assertEquals(3, s.batchSize(), "two decoders and the chunked sequence riding along: " + s);
        }
    }

    @Test
    void cancellingFreesTheSlotBeforeTheNextStep() throws Exception {
        ContinuousBatcher batcher = start(OPTIONS.withMaxBatchSize(2));
        AtomicInteger bAtCancel = new AtomicInteger(-1);
        AtomicInteger bAtCFirst = new AtomicInteger(-1);
        Run[] b = new Run[1];
        Run[] a = new Run[1];
        CountDownLatch submitted = new CountDownLatch(1);
        a[0] = submit(batcher, GoldenCases.get("zero_shot_long_stream"), t -> {
            await(submitted);
            if (a[0].count() == 5) {
                a[0].handle().cancel();
                bAtCancel.set(b[0].count());
            }
        });
        b[0] = submit(batcher, GoldenCases.get("instruct"));
        Run c = submit(batcher, GoldenCases.get("cross_lingual"), t -> {
            if (bAtCFirst.get() < 0) {
                bAtCFirst.set(b[0].count());
            }
        });
        submitted.countDown();
        Generation cancelled = a[0].await();
        assertEquals(Generation.Stop.CANCELLED, cancelled.stop());
        assertArrayEquals(Arrays.copyOf(a[0].golden().speechTokens(), 5), cancelled.tokens(), "no step after the cancel");
        assertEquals(5, a[0].count());
        b[0].assertGolden();
        c.assertGolden();
        // the cancel came during step k (b drew its token after a's); step k+1 admitted c and prefilled it
        // before its decode, so c's first token came before b's next one
        assertEquals(bAtCancel.get() + 1, bAtCFirst.get(), "c got a's slot in the very next iteration");
    }

    private static void await(CountDownLatch latch) {
        try {
            assertTrue(latch.await(30, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void aWaitingSequenceCanBeCancelled() throws Exception {
        ContinuousBatcher batcher = start(OPTIONS.withMaxBatchSize(1));
        CountDownLatch release = new CountDownLatch(1);
        Run a = submit(batcher, GoldenCases.get("cross_lingual"), t -> await(release));
        Run b = submit(batcher, GoldenCases.get("instruct"));
        b.handle().cancel();
        release.countDown();
        Generation g = b.await();
        assertEquals(Generation.Stop.CANCELLED, g.stop());
        assertEquals(0, g.tokens().length);
        a.assertGolden();
    }

    @Test
    void aFullQueueRefusesClearly() throws Exception {
        ContinuousBatcher batcher = start(OPTIONS.withMaxBatchSize(1).withQueueSize(1));
        CountDownLatch inStep = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Run a = submit(batcher, GoldenCases.get("cross_lingual"), t -> {
            inStep.countDown();
            await(release);
        });
        assertTrue(inStep.await(30, TimeUnit.SECONDS));
        Run b = submit(batcher, GoldenCases.get("instruct"));
        BatcherException e = assertThrows(BatcherException.class, () -> submit(batcher, GoldenCases.get("zero_shot")));
        assertEquals(BatcherException.Reason.QUEUE_FULL, e.reason());
        assertTrue(e.getMessage().contains("full (1 sequences running, 1 waiting)"), e.getMessage());
        release.countDown();
        a.assertGolden();
        b.assertGolden();
        submit(batcher, GoldenCases.get("zero_shot")).assertGolden();
    }

    @Test
    void aDeadlineEndsASequenceRunningOrWaiting() throws Exception {
        ContinuousBatcher batcher = start(OPTIONS.withMaxBatchSize(1));
        GoldenCases c = GoldenCases.get("zero_shot_long_stream");
        AtomicInteger slowTokens = new AtomicInteger();
        BatchedGeneration slow = batcher.submit(c.request(graph), t -> {
            slowTokens.incrementAndGet();
            sleep(20);
        }, Duration.ofMillis(1000)); // 91 tokens at 20 ms or more each: cut short, with a second for the first token
        BatchedGeneration waiting = batcher.submit(GoldenCases.get("instruct").request(graph), t -> { },
                Duration.ofMillis(50));
        for (BatchedGeneration g : List.of(slow, waiting)) {
            ExecutionException e = assertThrows(ExecutionException.class, () -> g.completion().get(30, TimeUnit.SECONDS));
            BatcherException why = assertInstanceOf(BatcherException.class, e.getCause());
            assertEquals(BatcherException.Reason.DEADLINE_EXCEEDED, why.reason());
        }
        ExecutionException e = assertThrows(ExecutionException.class, () -> slow.completion().get());
        assertTrue(e.getCause().getMessage().contains("deadline of 1000 ms passed after"), e.getCause().getMessage());
        // it was running (at 20 ms a token, how many fit depends on the machine's load) and was cut short
        assertTrue(slowTokens.get() >= 1 && slowTokens.get() < c.speechTokens().length, slowTokens.get() + " tokens");
        e = assertThrows(ExecutionException.class, () -> waiting.completion().get());
        assertTrue(e.getCause().getMessage().contains("while waiting for a slot"), e.getCause().getMessage());
        // a generous deadline changes nothing
        List<Integer> tokens = new ArrayList<>();
        Generation g = batcher.submit(c.request(graph), tokens::add, Duration.ofMinutes(1)).completion()
                .get(30, TimeUnit.SECONDS);
        assertArrayEquals(c.speechTokens(), g.tokens());
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void aThrowingConsumerFailsOnlyItsSequence() throws Exception {
        ContinuousBatcher batcher = start(OPTIONS);
        List<Run> runs = new ArrayList<>();
        AtomicInteger calls = new AtomicInteger();
        for (int i = 0; i < CASES.size(); i++) {
            runs.add(submit(batcher, CASES.get(i)));
            if (i == 3) {
                BatchedGeneration bad = batcher.submit(GoldenCases.get("zero_shot").request(graph), t -> {
                    if (calls.incrementAndGet() == 3) {
                        throw new IllegalStateException("client gone");
                    }
                });
                ExecutionException e = assertThrows(ExecutionException.class, () -> bad.completion().get(30, TimeUnit.SECONDS));
                BatcherException why = assertInstanceOf(BatcherException.class, e.getCause());
                assertEquals(BatcherException.Reason.CONSUMER_FAILED, why.reason());
                assertEquals("client gone", why.getCause().getMessage());
            }
        }
        for (Run run : runs) {
            run.assertGolden();
        }
        assertEquals(3, calls.get(), "no token after the throw");
    }

    /** Fails the first call of one kind with {@code rowsToFail} rows, passes everything else to the session. */
    private static StepRunner failing(boolean decode, int rowsToFail) {
        StepRunner real = StepRunner.of(graph.session());
        AtomicInteger failed = new AtomicInteger();
        return (isDecode, rows, inputs, outputs) -> {
            if (isDecode == decode && rows == rowsToFail && failed.getAndIncrement() == 0) {
                throw new OrtException("injected failure of a " + (decode ? "decode" : "prefill") + " call of " + rows);
            }
            real.run(isDecode, rows, inputs, outputs);
        };
    }

    private static BatcherException failure(Run run) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> run.handle().completion().get(30, TimeUnit.SECONDS));
        return assertInstanceOf(BatcherException.class, e.getCause());
    }

    @Test
    void aFailedDecodeStepFailsItsBatchAndTheSchedulerGoesOn() throws Exception {
        CountDownLatch submitted = new CountDownLatch(1);
        ContinuousBatcher batcher = start(OPTIONS, gated(failing(true, 3), submitted));
        List<Run> first = CASES.subList(0, 3).stream().map(c -> submit(batcher, c)).toList();
        submitted.countDown();
        for (Run run : first) {
            BatcherException why = failure(run);
            assertEquals(BatcherException.Reason.MODEL_FAILED, why.reason());
            assertTrue(why.getMessage().contains("decode step failed for 3 sequence(s): injected failure"), why.getMessage());
        }
        assertEquals(List.of(3), steps.failedSequences);
        for (Run run : CASES.stream().map(c -> submit(batcher, c)).toList()) {
            run.assertGolden();
        }
    }

    @Test
    void aFailedPrefillFailsOnlyTheSequencesItPrefilled() throws Exception {
        AtomicInteger prefills = new AtomicInteger();
        StepRunner real = StepRunner.of(graph.session());
        ContinuousBatcher batcher = start(OPTIONS, (decode, rows, inputs, outputs) -> {
            if (!decode && prefills.incrementAndGet() == 2) {
                throw new OrtException("injected failure of the second prefill");
            }
            real.run(decode, rows, inputs, outputs);
        });
        CountDownLatch decoding = new CountDownLatch(1);
        Run a = submit(batcher, GoldenCases.get("zero_shot_long_stream"), t -> decoding.countDown());
        await(decoding);
        Run b = submit(batcher, GoldenCases.get("instruct"));
        assertEquals(BatcherException.Reason.MODEL_FAILED, failure(b).reason());
        Run c = submit(batcher, GoldenCases.get("cross_lingual"));
        a.assertGolden();
        c.assertGolden();
        assertEquals(List.of(1), steps.failedSequences);
    }

    @Test
    void retiringTheMiddleOfThreeMovesTheLastIntoItsSlot() throws Exception {
        ContinuousBatcher batcher = start(OPTIONS.withMaxBatchSize(3));
        GoldenCases longOne = GoldenCases.get("zero_shot_long_stream"); // 91 tokens
        GoldenCases middle = GoldenCases.get("cross_lingual");           // 37 tokens: ends first
        GoldenCases last = GoldenCases.get("instruct");                  // 60 tokens, 12 prefix positions
        Run a = submit(batcher, longOne);
        Run b = submit(batcher, middle);
        Run c = submit(batcher, last);
        AtomicInteger lastCount = new AtomicInteger();
        b.handle().completion().thenRun(() -> lastCount.set(c.count())); // on the scheduler thread, at the retire
        b.assertGolden();
        a.assertGolden();
        c.assertGolden();
        // the move copied exactly the last sequence's positions: its prefix and the tokens fed back so far
        ModelConfigSizes sizes = new ModelConfigSizes();
        List<Long> moves = steps.all.stream().map(BatcherListener.Step::cacheBytesCopied).filter(n -> n > 0).toList();
        assertEquals(12 + lastCount.get() - 1, moves.getFirst() / sizes.bytesPerPosition(), "moves " + moves);
        assertEquals(0, moves.getFirst() % sizes.bytesPerPosition());
    }

    /** Bytes of one KV position over all layers, K and V. */
    record ModelConfigSizes(long bytesPerPosition) {
        ModelConfigSizes() {
            this(KvSlotPool.bytesPerSlot(graph.config(), 1));
        }
    }

    @Test
    void aDecodeStepCopiesItsInputsAndLogitsAndNoCache() throws Exception {
        ContinuousBatcher batcher = start(OPTIONS);
        for (Run run : CASES.stream().map(c -> submit(batcher, c)).toList()) {
            run.assertGolden();
        }
        int hidden = graph.config().hiddenSize();
        int vocab = graph.vocab();
        int decodeSteps = 0;
        for (BatcherListener.Step s : steps.all) {
            if (s.prefillTokens() == 0 && s.cacheBytesCopied() == 0) {
                int b = s.batchSize();
                // per row: embedding, position, seqlens_k; total_sequence_length; per row the logits read
                assertEquals((long) b * (hidden * 4 + 8 + 4) + 4 + (long) b * vocab * 4, s.bytesCopied(), s.toString());
                decodeSteps++;
            }
        }
        long retirements = CASES.size();
        long stepsWithMoves = steps.all.stream().filter(s -> s.cacheBytesCopied() > 0).count();
        assertTrue(stepsWithMoves < retirements, "only a retirement moves a cache: " + stepsWithMoves);
        assertTrue(decodeSteps > 50, decodeSteps + " pure decode steps");
    }

    @Test
    void sequencesTooLongForASlotAreRefusedUpFront() {
        ContinuousBatcher batcher = start(OPTIONS.withKvCapacity(64));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> submit(batcher, GoldenCases.get("zero_shot")));
        assertTrue(e.getMessage().contains("KV positions"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> start(OPTIONS.withKvCapacity(graph.config().maxPosition() + 1)));
    }

    @Test
    void closingFailsWhatRunsAndRefusesMore() throws Exception {
        ContinuousBatcher batcher = start(OPTIONS.withMaxBatchSize(1));
        CountDownLatch inStep = new CountDownLatch(1);
        Run a = submit(batcher, GoldenCases.get("zero_shot_long_stream"), t -> {
            inStep.countDown();
            sleep(5);
        });
        Run b = submit(batcher, GoldenCases.get("instruct"));
        assertTrue(inStep.await(30, TimeUnit.SECONDS));
        batcher.close();
        assertEquals(BatcherException.Reason.SHUT_DOWN, failure(a).reason());
        assertEquals(BatcherException.Reason.SHUT_DOWN, failure(b).reason());
        BatcherException e = assertThrows(BatcherException.class, () -> submit(batcher, GoldenCases.get("instruct")));
        assertEquals(BatcherException.Reason.SHUT_DOWN, e.reason());
        assertEquals(0, batcher.slotsInUse());
        assertEquals(0, batcher.waiting());
        assertEquals(0, KvSlotPool.openTensors());
    }

    @Test
    void decodeBindingsAreMadeOncePerBatchSize() throws Exception {
        ContinuousBatcher batcher = start(OPTIONS.withMaxBatchSize(4));
        int layers = graph.config().numLayers();
        for (int round = 0; round < 3; round++) {
            for (Run run : CASES.stream().map(c -> submit(batcher, c)).toList()) {
                run.assertGolden();
            }
            // at most one decode binding per batch size 1..4 stays open, each 5 inputs + logits + K, V per layer
            assertTrue(KvSlotPool.openTensors() <= 4 * (6 + 2 * layers), KvSlotPool.openTensors() + " tensors open");
        }
        batcher.close();
        assertEquals(0, KvSlotPool.openTensors());
    }
}
