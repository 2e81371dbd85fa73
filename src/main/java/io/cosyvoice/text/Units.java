package io.cosyvoice.text;

/**
 * Length of text in speech units: each CJK character (Han, kana, hangul) counts 1, each word of
 * letters of another script counts 1 (an apostrophe inside a word does not split it; a hyphen
 * does), digits, punctuation, whitespace and markers count 0.
 */
final class Units {

    private Units() {}

    static int of(CharSequence s) {
        long c = count(s);
        return (int) (c >>> 32) + (int) c;
    }

    /** CJK characters in the high half, words in the low half. */
    static long count(CharSequence s) {
        int n = s.length();
        int cjk = 0;
        int words = 0;
        boolean inWord = false;
        int i = 0;
        while (i < n) {
            char ch = s.charAt(i);
            if (ch == '[' || ch == '<') {
                int e = Markers.end(s, i);
                if (e > 0) {
                    i = e;
                    inWord = false;
                    continue;
                }
            }
            int cp = Character.codePointAt(s, i);
            if (Chars.isCjk(cp)) {
                cjk++;
                inWord = false;
            } else if (Character.isLetter(cp)) {
                if (!inWord) {
                    words++;
                    inWord = true;
                }
            } else if (inWord && (cp == '\'' || cp == 0x2019) && i + 1 < n && Character.isLetter(s.charAt(i + 1))) {
                // don't, it's: one word
            } else if (inWord && (Character.getType(cp) == Character.NON_SPACING_MARK
                    || Character.getType(cp) == Character.COMBINING_SPACING_MARK)) {
                // accents and vowel signs continue the word
            } else {
                inWord = false;
            }
            i += Character.charCount(cp);
        }
        return (long) cjk << 32 | words;
    }

    /** CJK characters of a text (markers not counted). */
    static int cjk(long count) {
        return (int) (count >>> 32);
    }

    /** Words of a text (markers not counted). */
    static int words(long count) {
        return (int) count;
    }
}
