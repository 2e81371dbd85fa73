package io.cosyvoice.text;

import java.util.Objects;

/**
 * Turns user text (Chinese, English or mixed) into what the model should read: numbers, dates,
 * times, money, units and symbols as words, and only speakable characters.
 *
 * <p><b>Language.</b> Each number or symbol is read in Chinese when the nearest letter before or
 * after it in the same sentence is a CJK character (or CJK punctuation such as ，：。), in English
 * when it is a Latin letter, and otherwise in the language of the whole text (Chinese when it has
 * at least as many CJK characters as English words; a text without letters is English).
 *
 * <p><b>Chinese.</b> 10 → 十, 105 → 一百零五, 2008 → 两千零八 (两 for a 2 before 千, before 万 or 亿
 * alone, at the start before 百, and a lone 2 before a measure word: 2个 → 两个), 10000 → 一万; 负
 * for negatives (零下 for temperatures); 3.14 → 三点一四; 50% → 百分之五十; a four-digit number before
 * 年 digit by digit (2024年 → 二零二四年); 2024-03-05, 2024/3/5, 3/5/2024 → 二零二四年三月五日; 10:30 →
 * 十点三十分; 3-5 and 3~5 → 三到五; 1/2 → 二分之一; 3:2 → 三比二; 第3 → 第三; units (km 公里, kg 公斤,
 * m 米, cm 厘米, °C 摄氏度...); $ 美元, € 欧元, £ 英镑, ¥/￥ 元 (￥5.20 → 五元二角, ￥45.50元 →
 * 四十五元五角); a numbered line "1. 苹果" → 一、苹果.
 *
 * <p><b>English.</b> 21 → twenty-one, 1,234 → one thousand two hundred thirty-four, 3.14 → three
 * point one four, -5 → minus five, 23rd → twenty-third, a lone 1100..2099 as a year (1999 → nineteen
 * ninety-nine, 2008 → two thousand eight, 2024 → twenty twenty-four), 1990s → nineteen nineties,
 * 50% → fifty percent, $5.20 → five dollars and twenty cents (also £, €, ¥), 10:30 → ten thirty,
 * 7:05 → seven oh five, 10am → ten AM, 3/5/2024 → March fifth, twenty twenty-four, 1/2 → one half,
 * units (km, kg, cm, mm, mph, °C, °F...), Mr. → Mister, Dr. Smith → Doctor Smith, e.g. → for example.
 *
 * <p><b>Both.</b> Numbers of 7 or more digits with more than two significant digits, and numbers
 * with a leading zero, are read digit by digit (phone numbers, codes), as are hyphenated digit groups
 * like 400-820-8820; 1.2.3 reads as a version. The symbols + = × ÷ ± &lt; &gt; ≤ ≥ ≈ ≠ &amp; @ are
 * read only where they stand as words (not in "AT&amp;T" or "C++").
 *
 * <p><b>Clean-up.</b> Full-width letters and digits become half-width; whitespace runs collapse
 * (and whitespace next to CJK text goes); control characters, emoji and other pictographs are
 * dropped; quotes become {@code "} and {@code '}; repeated punctuation collapses (!!! → !, 。。。 →
 * 。, ... and …… → …), as does punctuation that starts a sentence or precedes an end; dashes used as
 * pauses become commas; markdown decoration (#, *, _, ~, bullets, rules, link targets, brackets) is
 * removed; ASCII punctuation after a CJK character becomes full-width.
 *
 * <p><b>Markers</b> of the model pass through unchanged: {@code [breath]}, {@code [laughter]} and
 * any {@code [lowercase_word]}, {@code <strong>} and {@code </strong>} (the text between them is
 * normalised), {@code <|endofprompt|>} and any {@code <|token|>}.
 *
 * <p>The text is normalised sentence by sentence (the sentence ends of {@link SentenceSplitter}),
 * so nothing reaches across a sentence end and text arriving in pieces gives the same result
 * ({@link IncrementalSplitter}). Normalising is idempotent:
 * {@code normalize(normalize(x)).equals(normalize(x))}.
 */
public final class TextNormalizer {

    private TextNormalizer() {}

    /** The text as the model should read it. */
    public static String normalize(String text) {
        return normalize(text, null);
    }

    /**
     * As {@link #normalize(String)}; {@code fallback} is the language for numbers with no letter
     * around them in their sentence (null: the majority language of {@code text} itself).
     */
    static String normalize(String text, Lang fallback) {
        Objects.requireNonNull(text, "text");
        Lang doc = fallback;
        if (doc == null) {
            long count = Units.count(text);
            doc = Lang.majority(Units.cjk(count), Units.words(count));
        }
        StringBuilder out = new StringBuilder(text.length() + 32);
        boolean newline = false;
        boolean gap = false;
        for (String raw : SentenceEnds.sentences(text)) {
            String sentence = sentence(raw, doc);
            gap |= Chars.isSpace(raw.codePointAt(0));
            if (!sentence.isEmpty()) {
                if (!out.isEmpty()) {
                    out.append(separator(out, sentence, newline, gap));
                }
                out.append(sentence);
                newline = false;
                gap = false;
            } else {
                gap = true; // something was there
            }
            newline |= raw.indexOf('\n') >= 0 || raw.indexOf('\r') >= 0;
            gap |= Chars.isSpace(raw.codePointBefore(raw.length()));
        }
        return out.toString();
    }

    /** One sentence: markers protected, cleaned, numbers and symbols read, cleaned again. */
    private static String sentence(String raw, Lang doc) {
        Markers.Protected p = Markers.protect(raw);
        String s = Cleaner.clean(p.text());
        s = Verbalizer.verbalize(s, doc);
        s = Cleaner.clean(s);
        return p.restore(s);
    }

    /**
     * Between two sentences: a newline where there was one; where there was whitespace, a space
     * unless the clean-up would drop it (next to CJK text, before punctuation); where there was
     * none, nothing, but a space between two words and after a full stop before a word ("Go.$5" →
     * "Go. five dollars", still two sentences).
     */
    private static String separator(CharSequence before, String after, boolean newline, boolean gap) {
        if (newline) {
            return "\n";
        }
        int last = Character.codePointBefore(before, before.length());
        int first = after.codePointAt(0);
        if (gap) {
            return Cleaner.keepsSpace(last, first, after.length() > 1 ? after.charAt(1) : 0) ? " " : "";
        }
        return (last == '.' || Chars.isWordChar(last)) && Chars.isWordChar(first) ? " " : "";
    }
}
