package io.cosyvoice.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cosyvoice.synthesis.SynthesisMode;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.function.IntConsumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class SpeechTokenGeneratorTest {

    private static ModelDirectory model;
    private static OnnxGraphs graphs;
    private static TextTokenizer tokenizer;
    private static SpeechTokenGenerator generator;
    private static final Goldens.Prompt PROMPT = Goldens.prompt();

    @BeforeAll
    static void open() throws Exception {
        model = ModelDirectory.open(Goldens.TINY, false);
        graphs = OnnxGraphs.open(model, new EngineOptions(1, "cpu", 0, 0, false));
        tokenizer = TextTokenizer.open(model);
        generator = new SpeechTokenGenerator(model, graphs);
    }

    @AfterAll
    static void close() {
        tokenizer.close();
        graphs.close();
    }

    static Stream<Goldens.Case> cases() {
        return Goldens.cases().stream();
    }

    private static SpeechTokenGenerator.Result run(SynthesisMode mode, String text, String promptText,
            String instructText, long seed, List<Integer> streamed) throws Exception {
        long[] textTokens = tokenizer.encode(text);
        long[] promptTokens = tokenizer.encode(SpeechTokenGenerator.llmPromptText(mode, promptText, instructText,
                model.config().text().endofprompt()));
        return generator.generate(mode, textTokens, promptTokens, PROMPT.speechTokens(), PROMPT.promptMelFrames(), seed,
                streamed::add, () -> false);
    }

    @ParameterizedTest
    @MethodSource("cases")
    void reproducesTheGoldenSpeechTokens(Goldens.Case c) throws Exception {
        List<Integer> streamed = new ArrayList<>();
        SpeechTokenGenerator.Result result = run(c.mode(), c.text(), c.promptText(), c.instructText(), c.seed(), streamed);
        assertArrayEquals(c.speechTokens(), result.tokens(), c.name());
        assertArrayEquals(c.speechTokens(), streamed.stream().mapToInt(Integer::intValue).toArray());
        int maxLen = generator.limits(c.textTokens().length, PROMPT.promptMelFrames()).maxLen();
        // the instruct case's 3 text tokens allow 60 speech tokens, and it uses them all
        assertEquals(c.speechTokens().length == maxLen ? SpeechTokenGenerator.Stop.MAX_LEN
                : SpeechTokenGenerator.Stop.STOP_TOKEN, result.stop());
        assertEquals(0, LlmSequence.openTensors());
    }

    @Test
    void eachModeReadsOnlyItsPartOfThePrompt() throws Exception {
        // the caller may pass the whole voice: cross-lingual ignores its text, instruct its speech tokens
        Goldens.Case cross = Goldens.get("cross_lingual");
        assertArrayEquals(cross.speechTokens(), generator.generate(SynthesisMode.CROSS_LINGUAL, cross.textTokens(),
                PROMPT.promptTextTokens(), PROMPT.speechTokens(), PROMPT.promptMelFrames(), cross.seed(), t -> {}, () -> false)
                .tokens());
        Goldens.Case instruct = Goldens.get("instruct");
        assertArrayEquals(instruct.speechTokens(), generator.generate(SynthesisMode.INSTRUCT, instruct.textTokens(),
                instruct.promptTextTokens(), PROMPT.speechTokens(), PROMPT.promptMelFrames(), instruct.seed(), t -> {},
                () -> false).tokens());
    }

    private static SpeechTokenGenerator.Result zeroShot(String text, long seed, IntConsumer onToken,
            BooleanSupplier cancelled) throws Exception {
        return generator.generate(SynthesisMode.ZERO_SHOT, tokenizer.encode(text), PROMPT.promptTextTokens(),
                PROMPT.speechTokens(), PROMPT.promptMelFrames(), seed, onToken, cancelled);
    }

    private static final String TEXT = "收到取消预约的短信后，我立刻给客服打了电话。";

    @Test
    void aSeedReproducesItsTokensAndAnotherSeedDoesNot() throws Exception {
        int[] a = zeroShot(TEXT, 11, t -> {}, () -> false).tokens();
        int[] b = zeroShot(TEXT, 11, t -> {}, () -> false).tokens();
        int[] c = zeroShot(TEXT, 12, t -> {}, () -> false).tokens();
        assertTrue(a.length > 0);
        assertArrayEquals(a, b);
        assertFalse(Arrays.equals(a, c));
    }

    @Test
    void cancellationStopsBeforeTheNextStep() throws Exception {
        AtomicBoolean cancel = new AtomicBoolean();
        List<Integer> streamed = new ArrayList<>();
        SpeechTokenGenerator.Result result = zeroShot(TEXT, 5, t -> {
            streamed.add(t);
            if (streamed.size() == 5) {
                cancel.set(true);
            }
        }, cancel::get);
        assertEquals(SpeechTokenGenerator.Stop.CANCELLED, result.stop());
        assertEquals(5, result.tokens().length);
        assertEquals(4, result.decodeSteps(), "prefill + 4 decode steps, none after the cancel");
        assertArrayEquals(Arrays.copyOf(zeroShot(TEXT, 5, t -> {}, () -> false).tokens(), 5), result.tokens());

        SpeechTokenGenerator.Result before = zeroShot(TEXT, 5, t -> {}, () -> true);
        assertEquals(SpeechTokenGenerator.Stop.CANCELLED, before.stop());
        assertEquals(0, before.tokens().length);
        assertEquals(0, before.prefillNanos(), "no graph call at all");
        assertEquals(0, LlmSequence.openTensors());
    }

    @Test
    void longerTextGivesMoreTokens() throws Exception {
        String[] texts = {"今天天气很好。", "收到取消预约的短信后，我立刻给客服打了电话。",
                "收到取消预约的短信后，我立刻给客服打了电话，今天天气很好，我们一起去公园散步吧。"};
        double[] mean = new double[texts.length];
        for (int i = 0; i < texts.length; i++) {
            for (long seed = 0; seed < 4; seed++) {
                mean[i] += zeroShot(texts[i], seed, t -> {}, () -> false).tokens().length / 4.0;
            }
        }
        assertTrue(mean[0] < mean[1] && mean[1] < mean[2], Arrays.toString(mean));
    }

    @Test
    void aFailingConsumerEndsTheGenerationAndFreesItsTensors() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> zeroShot(TEXT, 1, t -> {
            throw new IllegalStateException("client gone");
        }, () -> false));
        assertEquals("client gone", e.getMessage());
        assertEquals(0, LlmSequence.openTensors());
    }

    @Test
    void refusesInputsOutsideTheModel() {
        long[] text = tokenizer.encode(TEXT);
        assertThrows(IllegalArgumentException.class, () -> generator.generate(SynthesisMode.ZERO_SHOT, new long[0],
                new long[0], new long[0], 0, 0, t -> {}, () -> false));
        assertThrows(IllegalArgumentException.class, () -> generator.generate(SynthesisMode.ZERO_SHOT, new long[] {1 << 20},
                new long[0], new long[0], 0, 0, t -> {}, () -> false));
        assertThrows(IllegalArgumentException.class, () -> generator.generate(SynthesisMode.ZERO_SHOT, text,
                new long[0], new long[] {6561}, 2, 0, t -> {}, () -> false));
        int noise = model.config().flow().noiseFrames();
        assertThrows(IllegalArgumentException.class, () -> generator.generate(SynthesisMode.ZERO_SHOT, text,
                new long[0], new long[0], noise, 0, t -> {}, () -> false));
        // the cap leaves room for exactly one token
        assertEquals(new SpeechTokenGenerator.Limits(2 * text.length, 1), generator.limits(text.length, noise - 2));
        assertEquals(0, LlmSequence.openTensors());
    }

    @Test
    void concurrentRequestsShareTheSession() throws Exception {
        List<Goldens.Case> cases = Goldens.cases();
        try (var pool = Executors.newFixedThreadPool(4)) {
            List<Future<int[]>> futures = new ArrayList<>();
            for (int round = 0; round < 3; round++) {
                for (Goldens.Case c : cases) {
                    futures.add(pool.submit(() -> run(c.mode(), c.text(), c.promptText(), c.instructText(), c.seed(),
                            new ArrayList<>()).tokens()));
                }
            }
            for (int i = 0; i < futures.size(); i++) {
                assertArrayEquals(cases.get(i % cases.size()).speechTokens(), futures.get(i).get());
            }
        }
        assertEquals(0, LlmSequence.openTensors());
    }

    private static long residentKiB() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D", ""));
            }
        }
        throw new IllegalStateException("no VmRSS");
    }

    @Test
    void twoHundredGenerationsLeaveNoNativeMemoryBehind() throws Exception {
        Goldens.Case c = Goldens.get("zero_shot_long_stream");
        for (int i = 0; i < 20; i++) {
            run(c.mode(), c.text(), c.promptText(), c.instructText(), i, new ArrayList<>());
        }
        System.gc();
        var heap = ManagementFactory.getMemoryMXBean();
        long resident = residentKiB() - heap.getHeapMemoryUsage().getCommitted() / 1024;
        long steps = 0;
        long decodeNanos = 0;
        long prefillNanos = 0;
        for (int i = 0; i < 200; i++) {
            SpeechTokenGenerator.Result r = run(c.mode(), c.text(), c.promptText(), c.instructText(), i, new ArrayList<>());
            steps += r.decodeSteps();
            decodeNanos += r.decodeNanos();
            prefillNanos += r.prefillNanos();
        }
        System.gc();
        // resident memory less the Java heap's: the heap grows and shrinks as the collector likes
        long grown = residentKiB() - heap.getHeapMemoryUsage().getCommitted() / 1024 - resident;
        System.out.printf("200 generations: prefill of %d positions %.0f us, %d decode steps of %.0f us (graph and "
                + "sampling), native memory %+d KiB%n", c.promptTextTokens().length + c.textTokens().length + 2
                + PROMPT.speechTokens().length, prefillNanos / 1e3 / 200, steps, decodeNanos / 1e3 / steps, grown);
        assertEquals(0, LlmSequence.openTensors());
        // an unclosed output per step (26 KiB of logits) would leak about 400 MiB here
        assertTrue(grown < 64 * 1024, "resident memory grew by " + grown + " KiB");
    }
}
