package io.cosyvoice.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

class TextNormalizerTest {

    private static final Pattern MARKER = Pattern.compile("\\[[a-z][a-z0-9_-]*]|</?strong>|<\\|[A-Za-z0-9_-]+\\|>");

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.cosyvoice.text.TextCorpus#chinese")
    void chinese(String input, String expected) {
        assertEquals(expected, TextNormalizer.normalize(input));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.cosyvoice.text.TextCorpus#english")
    void english(String input, String expected) {
        assertEquals(expected, TextNormalizer.normalize(input));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.cosyvoice.text.TextCorpus#cleanup")
    void cleanUp(String input, String expected) {
        assertEquals(expected, TextNormalizer.normalize(input));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.cosyvoice.text.TextCorpus#markers")
    void markersPassThrough(String input, String expected) {
        assertEquals(expected, TextNormalizer.normalize(input));
    }

    @ParameterizedTest(name = "{0} → {1}")
    @CsvSource({
        "0, 零", "10, 十", "15, 十五", "20, 二十", "105, 一百零五", "110, 一百一十", "200, 两百", "1010, 一千零一十",
        "1200, 一千二百", "2008, 两千零八", "10000, 一万", "10005, 一万零五", "20000, 两万", "22000, 两万两千",
        "100010, 十万零一十", "1000000, 一百万", "1000100, 一百万零一百", "100000000, 一亿",
        "100010000, 一亿零一万", "1200000000, 十二亿", "007, 七",
    })
    void chineseCardinals(String digits, String expected) {
        assertEquals(expected, ChineseNumbers.cardinal(digits));
    }

    @ParameterizedTest(name = "{0} → {1}")
    @CsvSource(delimiter = '|', value = {
        "1999 | nineteen ninety-nine", "2008 | two thousand eight", "2000 | two thousand", "2010 | twenty ten",
        "2024 | twenty twenty-four", "1905 | nineteen oh five", "1900 | nineteen hundred", "1100 | eleven hundred",
    })
    void englishYears(int year, String expected) {
        assertEquals(expected, EnglishNumbers.year(year));
    }

    @ParameterizedTest(name = "{0} → {1}")
    @CsvSource(delimiter = '|', value = {
        "0 | zero", "13 | thirteen", "21 | twenty-one", "100 | one hundred", "105 | one hundred five",
        "1234 | one thousand two hundred thirty-four", "1000000 | one million",
        "2000000001 | two billion one",
    })
    void englishCardinals(String digits, String expected) {
        assertEquals(expected, EnglishNumbers.cardinal(digits));
    }

    @Test
    void digitsNextToChineseReadInChineseAndNextToEnglishInEnglish() {
        assertEquals("我有三个苹果，I have three apples.", TextNormalizer.normalize("我有3个苹果，I have 3 apples."));
        // The nearest letter on either side, within the sentence, decides; CJK punctuation counts.
        assertEquals("他说：Chapter three is good.第三章很好。", TextNormalizer.normalize("他说：Chapter 3 is good. 第3章很好。"));
        assertEquals("iPhone十五。", TextNormalizer.normalize("iPhone 15。"));
    }

    @Test
    void numbersWithNoLetterAroundFollowTheWholeText() {
        assertEquals("今天很好。三。", TextNormalizer.normalize("今天很好。3。"));
        assertEquals("Fine. three.", TextNormalizer.normalize("Fine. 3."), "after a full stop the number is alone");
        assertEquals("fifty percent", TextNormalizer.normalize("50%"), "no letters at all: English");
    }

    @Test
    void noDigitIsLeftOutsideMarkers() {
        for (String text : TextCorpus.all()) {
            String outside = MARKER.matcher(TextNormalizer.normalize(text)).replaceAll("");
            assertFalse(outside.matches("(?s).*[0-9].*"), () -> "digits left in " + outside);
        }
    }

    @Test
    void nothingInsideAMarkerChanges() {
        String text = "<|endofprompt|>[breath]3个[laughter]<strong>5 km</strong><|zh|>[a_1-b] is 2 m.";
        String normalised = TextNormalizer.normalize(text);
        assertEquals("<|endofprompt|>[breath]三个[laughter]<strong>五公里</strong><|zh|>[a_1-b] is two meters.", normalised);
        Matcher in = MARKER.matcher(text);
        Matcher out = MARKER.matcher(normalised);
        while (in.find()) {
            assertTrue(out.find());
            assertEquals(in.group(), out.group());
        }
        assertFalse(out.find());
    }

    @Test
    void privateUseCharactersOfTheInputCannotPassForMarkers() {
        assertEquals("你好[breath]", TextNormalizer.normalize("你\uE000好[breath]\uE000"));
    }

    @Test
    void emptyAndBlankTexts() {
        assertEquals("", TextNormalizer.normalize(""));
        assertEquals("", TextNormalizer.normalize(" \n\t "));
        assertEquals("", TextNormalizer.normalize("😀😀 ***"));
        assertThrows(NullPointerException.class, () -> TextNormalizer.normalize(null));
    }
}
