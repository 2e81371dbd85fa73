package io.cosyvoice.text;

import static io.cosyvoice.text.SplitAssertions.assertValidSplit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SentenceSplitterTest {

    private static final int MAX = SentenceSplitter.DEFAULT_MAX_LENGTH;

    @Test
    void longChineseParagraph() {
        String text = TextNormalizer.normalize(TextCorpus.LONG_CHINESE);
        List<String> pieces = SentenceSplitter.split(text, MAX);
        assertEquals(List.of(
                "好的。",
                "今天是二零二四年三月五日，北京的天气非常好，气温大约在十五摄氏度左右，湿度只有百分之三十，"
                        + "我们一行八个人早上七点三十分从家里出发，开车走了大约一百二十公里，",
                "一路上经过了许多美丽的村庄和一望无际的田野，还在路边的小店里买了两斤苹果和三瓶水，一共花了四十五元五角，"
                        + "大家有说有笑，心情格外舒畅，直到中午十二点左右才终于到达了目的地。[breath]",
                "下午我们去爬山，山高约一千五百米，爬到山顶用了将近三个小时！",
                "晚上大家围坐在一起吃饭聊天，一直聊到深夜才依依不舍地回房间休息。",
                "第二天早上我们看了日出，真美啊！"), pieces);
        assertValidSplit(text, pieces, MAX);
    }

    @ParameterizedTest(name = "max {0}")
    @ValueSource(ints = {1, 2, 5, 8, 13, 20, 40, 80, 200})
    void longParagraphsAtAnyLimit(int max) {
        for (String raw : List.of(TextCorpus.LONG_CHINESE, TextCorpus.LONG_ENGLISH, TextCorpus.MIXED)) {
            String text = TextNormalizer.normalize(raw);
            List<String> pieces = SentenceSplitter.split(text, max);
            assertValidSplit(text, pieces, max);
            String first = SentenceSplitter.split(text, 10_000).getFirst();
            assertTrue(first.startsWith(pieces.getFirst()), "the first piece is never merged with the next");
        }
    }

    @Test
    void longEnglishParagraph() {
        String text = TextNormalizer.normalize(TextCorpus.LONG_ENGLISH);
        List<String> pieces = SentenceSplitter.split(text, MAX);
        assertValidSplit(text, pieces, MAX);
        assertEquals("Okay.", pieces.get(0), "a short first sentence goes out alone");
        assertEquals("Doctor Smith arrived at nine fifteen AM on Jan. fifth with three point five kilograms of equipment.",
                pieces.get(1), "no cut after Jan.");
        assertEquals("The U.S. team agreed!", pieces.get(3));
        assertEquals("nobody knew. [laughter] In the end they voted seven to two in favor, and the meeting ended at "
                + "eleven forty-five.", pieces.getLast(), "a short sentence is merged with the next");

        List<String> small = SentenceSplitter.split(text, 20);
        assertValidSplit(text, small, 20);
        assertTrue(small.get(2).startsWith("He said the project, which"), "cut after a comma, short clause merged");
        assertTrue(small.get(2).endsWith("and seventy-five"), "a clause over the limit is cut between words");
    }

    @Test
    void decimalPointsAndAbbreviationsDoNotEndSentences() {
        assertEquals(List.of("Pi is 3.14.", "It is about 2.5 times more.", "Version 1.2.3 is out."),
                SentenceSplitter.split("Pi is 3.14. It is about 2.5 times more. Version 1.2.3 is out.", MAX));
        assertEquals(List.of("Mr. Smith met Dr. Brown in the U.S. on Jan. 5, e.g. at 10 a.m.", "They talked."),
                SentenceSplitter.split("Mr. Smith met Dr. Brown in the U.S. on Jan. 5, e.g. at 10 a.m. They talked.", MAX));
        assertEquals(List.of("See No. 5 and J. K. Rowling.", "Then stop."),
                SentenceSplitter.split("See No. 5 and J. K. Rowling. Then stop.", MAX));
        assertEquals(List.of("圆周率约为3.14。", "真的吗？"), SentenceSplitter.split("圆周率约为3.14。真的吗？", MAX));
    }

    @Test
    void sentenceEndsKeepTheirPunctuationAndClosingQuotes() {
        assertEquals(List.of("他说：\"明天见！\"", "然后就走了。"), SentenceSplitter.split("他说：\"明天见！\"然后就走了。", MAX));
        assertEquals(List.of("Really?!", "Yes; sure…", "ok. Done"), SentenceSplitter.split("Really?! Yes; sure… ok. Done", 2));
        assertEquals(List.of("第一行", "第二行很长很长"), SentenceSplitter.split("第一行\n第二行很长很长", MAX));
    }

    @Test
    void shortPiecesAreMergedForwardButNotTheFirst() {
        assertEquals(List.of("好。", "对。是的，我们走吧。"), SentenceSplitter.split("好。对。是的，我们走吧。", MAX));
        assertEquals(List.of("好。", "对。", "是的，我们走吧。"), SentenceSplitter.split("好。对。是的，我们走吧。", 6),
                "merging must stay within the limit");
        assertEquals(List.of("我们现在出发吧。", "好。对。行。"), SentenceSplitter.split("我们现在出发吧。好。对。行。", MAX),
                "the last short piece has nothing to merge with");
    }

    @Test
    void overLongSentencesAreCutAtCommasThenSpacesThenAnywhere() {
        String clauses = "第一个分句有点长，第二个分句也有点长，第三个分句同样很长。"; // 8 + 9 + 9 units
        assertEquals(List.of("第一个分句有点长，第二个分句也有点长，", "第三个分句同样很长。"),
                SentenceSplitter.split(clauses, 17));
        assertEquals(List.of("第一个分句有点长，", "第二个分句也有点长，", "第三个分句同样很长。"),
                SentenceSplitter.split(clauses, 16));
        String words = "one two three four five six seven eight nine ten eleven twelve";
        assertEquals(List.of("one two three four", "five six seven eight", "nine ten eleven twelve"),
                SentenceSplitter.split(words, 5), "three pieces of even length");
        String run = "一".repeat(200);
        List<String> pieces = SentenceSplitter.split(run, 80);
        assertEquals(List.of("一".repeat(67), "一".repeat(67), "一".repeat(66)), pieces);
        String mixed = "超长的中文句子没有标点符号" + "好".repeat(30) + "[breath]" + "好".repeat(30) + "后面还有English words";
        assertValidSplit(mixed, SentenceSplitter.split(mixed, 7), 7);
    }

    @Test
    void markersAreNeverCutAndNeverAlone() {
        assertEquals(List.of("[laughter]真的吗？", "<strong>不会</strong>吧[breath]"),
                SentenceSplitter.split("[laughter]真的吗？<strong>不会</strong>吧[breath]", MAX));
        assertEquals(List.of("你好。[breath]", "再见。"), SentenceSplitter.split("你好。[breath] 再见。", MAX));
        assertEquals(List.of("你好。[breath]"), SentenceSplitter.split("你好。\n[breath]", MAX), "a trailing marker joins");
        assertEquals(List.of("[breath]你好。"), SentenceSplitter.split("[breath]\n你好。", MAX), "a leading marker joins");
        assertEquals(List.of("用四川话说<|endofprompt|>"), SentenceSplitter.split("用四川话说<|endofprompt|>", MAX));
        assertEquals(List.of("[breath] [laughter]"), SentenceSplitter.split("[breath]\n[laughter]", MAX),
                "markers alone: one piece");
        String many = "[breath]一二三[laughter]四五六<strong>七八九</strong>十[noise]".repeat(5);
        for (int max = 1; max <= 12; max++) {
            assertValidSplit(many, SentenceSplitter.split(many, max), max);
        }
    }

    @Test
    void theDocumentExample() {
        String text = TextNormalizer.normalize(
                "北京, 你好, 收到好友从远方寄来的生日礼物,那份意外的惊喜与深深的祝福让我心中充满了甜蜜的快乐,笑容如花儿般绽放。");
        assertEquals(List.of(text), SentenceSplitter.split(text, MAX));
        List<String> pieces = SentenceSplitter.split(text, 20);
        // The 25-unit clause has no comma or space inside: cut in two halves.
        assertEquals(List.of("北京，你好，收到好友从远方寄来的生日礼物，", "那份意外的惊喜与深深的祝福", "让我心中充满了甜蜜的快乐，",
                "笑容如花儿般绽放。"), pieces);
        assertValidSplit(text, pieces, 20);
    }

    @Test
    void blankTextsGiveNoPieces() {
        assertEquals(List.of(), SentenceSplitter.split("", MAX));
        assertEquals(List.of(), SentenceSplitter.split("  \n\n \t ", MAX));
    }

    @Test
    void theLimitMustBePositive() {
        assertThrows(IllegalArgumentException.class, () -> SentenceSplitter.split("你好", 0));
        assertThrows(NullPointerException.class, () -> SentenceSplitter.split(null, MAX));
    }

    @Test
    void unitsCountCjkCharactersAndWords() {
        assertEquals(2, Units.of("你好"));
        assertEquals(3, Units.of("你好 world"));
        assertEquals(2, Units.of("don't stop"));
        assertEquals(2, Units.of("twenty-one"));
        assertEquals(2, Units.of("3 apples, 4 pears!"), "digits count nothing");
        assertEquals(3, Units.of("[breath]你好<|endofprompt|><strong>hi</strong>"), "markers count nothing");
        assertEquals(0, Units.of("。，！…\"'"));
        assertEquals(5, Units.of("한국어 かな"));
    }
}
