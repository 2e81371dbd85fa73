package io.cosyvoice.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cosyvoice.synthesis.SynthesisMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class TextTokenizerTest {

    private static ModelDirectory model;
    private static TextTokenizer tokenizer;

    @BeforeAll
    static void open() throws Exception {
        model = ModelDirectory.open(Goldens.TINY, false);
        tokenizer = TextTokenizer.open(model);
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    static Stream<Goldens.Case> cases() {
        return Goldens.cases().stream();
    }

    @ParameterizedTest
    @MethodSource("cases")
    void encodesTheGoldenTexts(Goldens.Case c) {
        assertArrayEquals(c.textTokens(), tokenizer.encode(c.text()));
        String llmPrompt = SpeechTokenGenerator.llmPromptText(c.mode(), c.promptText(), c.instructText(),
                model.config().text().endofprompt());
        assertArrayEquals(c.promptTextTokens(), tokenizer.encode(llmPrompt));
    }

    @Test
    void encodesThePromptTranscript() {
        Goldens.Prompt prompt = Goldens.prompt();
        assertArrayEquals(prompt.promptTextTokens(), tokenizer.encode(prompt.promptText()));
    }

    @Test
    void addsNothingAroundTheTextAndReadsSpecialTokensInIt() {
        // ids from the reference library (Python tokenizers 0.23.2, encode(text, add_special_tokens=False))
        assertArrayEquals(new long[] {2044, 220, 546, 981, 11, 197, 400, 301, 458, 220, 34, 78, 82, 88, 53, 999, 17, 220,
                746, 220, 16, 15, 15, 4, 1216, 67, 88, 589}, tokenizer.encode("Hello  world,\tthis is CosyVoice2 — 100% ready!\n"));
        assertArrayEquals(new long[] {2052, 1700, 2053, 260, 244, 1188, 234, 2054, 2056},
                tokenizer.encode("[breath]你好<strong>世界</strong>[laughter]"));
        assertArrayEquals(new long[] {68, 985, 73, 72, 220, 172, 253, 247, 224, 328, 310, 64, 69, 127, 102},
                tokenizer.encode("emoji 🙂 and café"));
        assertArrayEquals(new long[] {311, 307, 948, 278, 79, 64, 313}, tokenizer.encode(" leading space"));
        assertArrayEquals(new long[] {2048, 2049}, tokenizer.encode("<|endoftext|><|im_start|>"));
        assertArrayEquals(new long[] {2051}, tokenizer.encode(model.config().text().endofprompt()));
        // the NFC normaliser: a decomposed é is the composed one
        assertArrayEquals(tokenizer.encode("café"), tokenizer.encode("cafe\u0301"));
        assertEquals(0, tokenizer.encode("").length);
    }

    @Test
    void longTextIsNotTruncated() {
        String text = "今天天气很好。".repeat(400);
        assertEquals(400 * tokenizer.encode("今天天气很好。").length, tokenizer.encode(text).length);
    }

    @Test
    void instructTextGetsItsEndOfPromptOnce() {
        String eop = model.config().text().endofprompt();
        assertEquals("开心地说" + eop, SpeechTokenGenerator.llmPromptText(SynthesisMode.INSTRUCT, "x", "开心地说", eop));
        assertEquals("开心地说" + eop, SpeechTokenGenerator.llmPromptText(SynthesisMode.INSTRUCT, "x", "开心地说" + eop, eop));
        assertEquals("", SpeechTokenGenerator.llmPromptText(SynthesisMode.CROSS_LINGUAL, "x", "y", eop));
        assertEquals("x", SpeechTokenGenerator.llmPromptText(SynthesisMode.ZERO_SHOT, "x", "y", eop));
        assertThrows(IllegalArgumentException.class,
                () -> SpeechTokenGenerator.llmPromptText(SynthesisMode.INSTRUCT, "x", " ", eop));
    }

    @Test
    void aBrokenTokenizerFileIsAModelError(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("tokenizer.json"), "{\"version\": \"1.0\", \"model\": 7}");
        ModelException e = assertThrows(ModelException.class, () -> TextTokenizer.open(file));
        assertTrue(e.getMessage().contains("tokenizer.json"), e.getMessage());
    }

    @Test
    void threadsShareOneTokenizer() throws Exception {
        Goldens.Case c = Goldens.get("zero_shot_long_stream");
        try (var pool = java.util.concurrent.Executors.newFixedThreadPool(4)) {
            var futures = java.util.stream.IntStream.range(0, 64)
                    .mapToObj(i -> pool.submit(() -> tokenizer.encode(c.text()))).toList();
            for (var f : futures) {
                assertArrayEquals(c.textTokens(), f.get());
            }
        }
    }
}
