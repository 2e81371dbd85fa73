package io.cosyvoice.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class IncrementalSplitterTest {

    static Stream<String> texts() {
        return Stream.of(
                TextCorpus.LONG_CHINESE,
                TextCorpus.LONG_ENGLISH,
                TextCorpus.MIXED,
                "2024年3月5日，气温-3.5°C，湿度80%。On 3/5/2024 the temperature was -3.5°C and 80% humid. "
                        + "I paid $12.50 for 3 books at 10:30.",
                "[laughter]真的吗？<strong>不会</strong>吧[breath]！用四川话说<|endofprompt|>今天吃火锅。",
                "北京, 你好, 收到好友从远方寄来的生日礼物,那份意外的惊喜与深深的祝福让我心中充满了甜蜜的快乐,笑容如花儿般绽放。",
                "1. 苹果3斤\n2. 香蕉2.5斤\n\n3. 橘子……一共￥45.50元！！！\n他说：“明天见！”然后就走了。",
                "Mr. Smith paid $3.50 at 7:05 a.m. today. The U.S. team won 3:2!!! Version 1.2.3 is out... e.g. now.");
    }

    @ParameterizedTest
    @MethodSource("texts")
    void oneCharacterAtATimeGivesTheOneShotPieces(String text) {
        for (int max : new int[] {SentenceSplitter.DEFAULT_MAX_LENGTH, 20, 7}) {
            List<String> expected = SentenceSplitter.split(TextNormalizer.normalize(text), max);
            IncrementalSplitter splitter = new IncrementalSplitter(max);
            List<String> got = new ArrayList<>();
            for (int i = 0; i < text.length(); i++) {
                got.addAll(splitter.push(text.substring(i, i + 1)));
            }
            got.addAll(splitter.finish());
            assertEquals(expected, got, "max " + max);
        }
    }

    @ParameterizedTest
    @MethodSource("texts")
    void fragmentsOfAnySizeGiveTheOneShotPieces(String text) {
        Random random = new Random(text.length());
        List<String> expected = SentenceSplitter.split(TextNormalizer.normalize(text), SentenceSplitter.DEFAULT_MAX_LENGTH);
        for (int round = 0; round < 20; round++) {
            IncrementalSplitter splitter = new IncrementalSplitter(SentenceSplitter.DEFAULT_MAX_LENGTH);
            List<String> got = new ArrayList<>();
            int at = 0;
            while (at < text.length()) {
                int end = Math.min(text.length(), at + 1 + random.nextInt(12));
                got.addAll(splitter.push(text.substring(at, end)));
                at = end;
            }
            got.addAll(splitter.finish());
            assertEquals(expected, got);
        }
    }

    @Test
    void aPieceComesOutAsSoonAsItsSentenceIsCertain() {
        IncrementalSplitter splitter = new IncrementalSplitter(80);
        assertEquals(List.of(), splitter.push("今天天气很好"));
        assertEquals(List.of(), splitter.push("！"), "a closing quote could still follow");
        assertEquals(List.of("今天天气很好！"), splitter.push("我们"));
        assertEquals(List.of("我们去公园吧。"), splitter.push("去公园吧。 "), "six units: nothing can change it");
        assertEquals(List.of(), splitter.push("好吗？ "), "two units: held, to be merged with what follows");
        assertEquals(List.of("好吗？然后去吃饭。"), splitter.push("然后去吃饭。\n"));
        assertEquals(List.of(), splitter.finish());
    }

    @Test
    void aChineseEndFollowedByWhitespaceIsCertainAndSoIsANewline() {
        IncrementalSplitter splitter = new IncrementalSplitter(80);
        assertEquals(List.of("你好。"), splitter.push("你好。 "));
        IncrementalSplitter lines = new IncrementalSplitter(80);
        assertEquals(List.of("第一行没有标点"), lines.push("第一行没有标点\n"));
    }

    @Test
    void aFullStopFollowedOnlyByWhitespaceIsNotCertain() {
        IncrementalSplitter splitter = new IncrementalSplitter(80);
        assertEquals(List.of(), splitter.push("It costs $3"));
        assertEquals(List.of(), splitter.push("."));
        assertEquals(List.of(), splitter.push("50 now. "));
        assertEquals(List.of("It costs three dollars and fifty cents now."), splitter.push("Next"));
        assertEquals(List.of(), splitter.push(" is No. "));
        assertEquals(List.of(), splitter.push("5. "));
        assertEquals(List.of("Next is number five."), splitter.finish());
    }

    @Test
    void halfANumberIsNeverNormalised() {
        IncrementalSplitter splitter = new IncrementalSplitter(80);
        assertEquals(List.of(), splitter.push("价格是3"));
        assertEquals(List.of(), splitter.push("."));
        assertEquals(List.of(), splitter.push("5元。"));
        assertEquals(List.of("价格是三点五元。"), splitter.push("很便宜"));
        assertEquals(List.of("很便宜"), splitter.finish());
    }

    @Test
    void aMarkerArrivingInPiecesStaysWhole() {
        IncrementalSplitter splitter = new IncrementalSplitter(80);
        assertEquals(List.of(), splitter.push("你好。[bre"));
        assertEquals(List.of("你好。[breath]"), splitter.push("ath]再见"));
        assertEquals(List.of(), splitter.push("。<str"));
        assertEquals(List.of(), splitter.push("ong>好"), "再见。 is short: held for merging");
        assertEquals(List.of("再见。<strong>好"), splitter.finish());
    }

    @Test
    void markersAloneAtTheVeryEndComeAsAPieceOfTheirOwn() {
        IncrementalSplitter splitter = new IncrementalSplitter(80);
        assertEquals(List.of("你好。"), splitter.push("你好。 "));
        assertEquals(List.of(), splitter.push("[breath]"));
        assertEquals(List.of("[breath]"), splitter.finish());
        assertEquals(List.of("你好。[breath]"), SentenceSplitter.split("你好。 [breath]", 80), "one-shot: attached");

        IncrementalSplitter punctuation = new IncrementalSplitter(80);
        assertEquals(List.of("你好。"), punctuation.push("你好。 "));
        assertEquals(List.of(), punctuation.push("……"));
        assertEquals(List.of(), punctuation.finish(), "punctuation alone is not worth synthesising");
    }

    @Test
    void bufferedCharactersCountsWhatHasNotBeenReturned() {
        IncrementalSplitter splitter = new IncrementalSplitter(80);
        assertEquals(0, splitter.bufferedCharacters());
        splitter.push("你好");
        assertEquals(2, splitter.bufferedCharacters());
        assertEquals(List.of("你好。"), splitter.push("。 "));
        assertEquals(1, splitter.bufferedCharacters(), "the space after the sentence");
        assertEquals(List.of(), splitter.push("对。 "));
        assertEquals(3, splitter.bufferedCharacters(), "a space, and 对。 held back to be merged");
        assertEquals(List.of("对。"), splitter.finish());
        assertEquals(0, splitter.bufferedCharacters());
    }

    @Test
    void finishEmptiesTheSplitterForTheNextText() {
        IncrementalSplitter splitter = new IncrementalSplitter(80);
        assertEquals(List.of(), splitter.finish());
        splitter.push("第一段文字，没有结束");
        assertEquals(List.of("第一段文字，没有结束"), splitter.finish());
        assertEquals(List.of("好。"), splitter.push("好。再"), "a new text: its first piece goes out at once");
        assertEquals(List.of("再"), splitter.finish());
        assertEquals(List.of(), splitter.push(""));
    }

    @Test
    void argumentsAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> new IncrementalSplitter(0));
        assertThrows(NullPointerException.class, () -> new IncrementalSplitter(80).push(null));
    }
}
