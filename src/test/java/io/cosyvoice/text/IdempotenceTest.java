package io.cosyvoice.text;

import static io.cosyvoice.text.SplitAssertions.assertValidSplit;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

class IdempotenceTest {

    /** Pieces of real and awkward text, glued at random. */
    private static final String[] FRAGMENTS = {
        "你好", "世界", "今天", "这是", "。", "！", "？", "，", ",", ".", ". ", "!", "?", " ", "  ", "\n", "…", "...", "……",
        "3", "15", "2024", "3.5", "-3.5", "2024年", "3月5日", "10:30", "50%", "$12.50", "￥5", "3-5", "1/2", "3:2",
        "13812345678", "1,234", "1st", "23rd", "1990s", "km", "5km", "°C", "-3°C", "℃", "&", " & ", "@", "+", "=",
        " = ", "<", ">", "#", "*", "_", "~", "**", "- ", "— ", "——", "--", "\"", "“", "”", "'", "(", ")", "（", "）",
        "【", "】", "[breath]", "[laughter]", "<strong>", "</strong>", "<|endofprompt|>", "[", "]", "|",
        "Hello", "world", "the", "Mr.", "Dr. ", "e.g.", "No. 5", "a.m.", "pm", "I", "apples", "U.S.", "😀", "\u200b",
        "\t", "ＡＢＣ", "１２３", "：", "；", ";", ":", "、", "%", "v1.2.3", "C++", "AT&T", "3 ~ 5", "10 - 20",
        "2020-2024", "2024-03-05", "3/5/2024", "7:05", "am", "\r\n", "。。。", "!!!", "?!", "第3", "2个", "0.5", "007",
        "1.", "2. ", "Go.", "\"Go.\"", "A", "B.",
    };

    @Test
    void everyTextOfTheTestsNormalisesOnlyOnce() {
        for (String text : TextCorpus.all()) {
            String once = TextNormalizer.normalize(text);
            assertEquals(once, TextNormalizer.normalize(once), () -> "normalising again changed: " + text);
        }
    }

    @Test
    void randomTexts() {
        Random random = new Random(20240305);
        for (int round = 0; round < 3000; round++) {
            StringBuilder sb = new StringBuilder();
            int parts = 1 + random.nextInt(14);
            for (int p = 0; p < parts; p++) {
                sb.append(FRAGMENTS[random.nextInt(FRAGMENTS.length)]);
            }
            String text = sb.toString();
            String once = TextNormalizer.normalize(text);
            assertEquals(once, TextNormalizer.normalize(once), () -> "not idempotent: " + text);

            int max = 1 + random.nextInt(12);
            List<String> pieces = SentenceSplitter.split(once, max);
            assertValidSplit(once, pieces, max);

            // The same words, in the same order, when the text arrives in fragments (the fallback
            // language fixed: it depends on how much of the text has arrived).
            Lang fallback = random.nextBoolean() ? Lang.ZH : Lang.EN;
            List<String> oneShot = SentenceSplitter.split(TextNormalizer.normalize(text, fallback), max);
            IncrementalSplitter splitter = new IncrementalSplitter(max, fallback);
            List<String> streamed = new ArrayList<>();
            for (int at = 0; at < text.length(); ) {
                int end = Math.min(text.length(), at + 1 + random.nextInt(5));
                streamed.addAll(splitter.push(text.substring(at, end)));
                at = end;
            }
            streamed.addAll(splitter.finish());
            assertEquals(words(String.join(" ", oneShot)), words(String.join(" ", streamed)), () -> "streamed: " + text);
        }
    }

    private static String words(String s) {
        return SplitAssertions.MARKER.matcher(s).replaceAll("").replaceAll("[^\\p{L}]", "");
    }
}
