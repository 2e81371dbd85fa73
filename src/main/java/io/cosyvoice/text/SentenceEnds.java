package io.cosyvoice.text;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Where sentences end: after a run of 。！？!?；;… (quotes, closing brackets and markers other than
 * {@code <strong>} directly after it belong to the sentence), after a newline, and after a full stop
 * that is not a decimal point ("3.5"), inside a word ("e.g", "example.com"), before a comma or colon
 * ("etc., and"), after an abbreviation ("Mr.", "Dr.", "e.g.", "U.S.", an initial "J.", "No." before
 * a number, "a.m." after a number before a lower-case word), or after a list number in Chinese
 * ("1. 苹果"). The same rules serve complete text and text still arriving; for the latter an end is
 * only certain once what follows it is known.
 */
final class SentenceEnds {

    static final int NOT_END = -1;
    static final int NEED_MORE = -2;

    private static final Set<String> ABBREVIATIONS = Set.of(
            "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "mt", "fig", "inc", "ltd", "co", "corp",
            "approx", "dept", "est", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
            "nov", "dec", "gen", "gov", "sgt", "capt", "col", "lt", "rev", "ave", "no");

    private SentenceEnds() {}

    /** The sentences of a complete text, in order; concatenated they give back the text. */
    static List<String> sentences(String s) {
        List<String> out = new ArrayList<>();
        int n = s.length();
        int start = 0;
        int i = 0;
        while (i < n) {
            char c = s.charAt(i);
            if (c == '[' || c == '<') {
                int e = Markers.end(s, i);
                if (e > 0) {
                    i = e;
                    continue;
                }
            }
            if (c == '\n') {
                out.add(s.substring(start, i + 1));
                start = i + 1;
                i++;
                continue;
            }
            if (Chars.isHardEnd(c) || c == '.') {
                int r = endAt(s, i, true);
                if (r > 0) {
                    out.add(s.substring(start, r));
                    start = r;
                    i = r;
                    continue;
                }
            }
            i++;
        }
        if (start < n) {
            out.add(s.substring(start));
        }
        return out;
    }

    /**
     * Scans text that is still arriving from {@code from}: the end of the last sentence that is
     * certainly complete (0 if none) in the high half, where the next scan resumes in the low half.
     */
    static long scan(CharSequence s, int from) {
        int n = s.length();
        int cut = 0;
        int i = from;
        while (i < n) {
            char c = s.charAt(i);
            if (c == '[' || c == '<') {
                int e = Markers.end(s, i);
                if (e > 0) {
                    i = e;
                    continue;
                }
                if (Markers.couldStart(s, i)) {
                    return pack(cut, i);
                }
            }
            if (c == '\n') {
                cut = i + 1;
                i++;
                continue;
            }
            if (Chars.isHardEnd(c) || c == '.') {
                int r = endAt(s, i, false);
                if (r == NEED_MORE) {
                    return pack(cut, i);
                }
                if (r > 0) {
                    cut = r;
                    i = r;
                    continue;
                }
            }
            i++;
        }
        return pack(cut, n);
    }

    private static long pack(int cut, int resume) {
        return (long) cut << 32 | resume;
    }

    /**
     * For end punctuation at i (the first of its run): the end of the sentence, {@link #NOT_END},
     * or {@link #NEED_MORE} when the text is incomplete and what follows decides.
     */
    static int endAt(CharSequence s, int i, boolean complete) {
        int n = s.length();
        int j = i;
        while (j < n && (Chars.isHardEnd(s.charAt(j)) || s.charAt(j) == '.')) {
            j++;
        }
        boolean singleDot = j == i + 1 && s.charAt(i) == '.';
        if (singleDot) {
            if (j < n && Chars.isWordChar(Character.codePointAt(s, j))) {
                return NOT_END; // 3.5, e.g, example.com
            }
            if (j < n && (s.charAt(j) == ',' || s.charAt(j) == ':' || s.charAt(j) == '，' || s.charAt(j) == '：')) {
                return NOT_END; // "etc., and"
            }
            int list = listNumber(s, i);
            if (list > 0) {
                return NOT_END; // "1. 苹果": read as 一、苹果
            }
            if (list < 0 && !complete) {
                return NEED_MORE;
            }
            String word = wordBefore(s, i);
            if ((word.equalsIgnoreCase("a.m") || word.equalsIgnoreCase("p.m")) && afterDigit(s, i - word.length() - 1)) {
                int k = j;
                while (k < n && Chars.isSpace(s.charAt(k))) {
                    k++;
                }
                if (k >= n && !complete) {
                    return NEED_MORE;
                }
                if (k < n && k > j && s.charAt(k) >= 'a' && s.charAt(k) <= 'z') {
                    return NOT_END; // "10 a.m. tomorrow"
                }
            }
            if (isAbbreviation(word)) {
                if (!lastSegment(word).equalsIgnoreCase("no")) {
                    return NOT_END;
                }
                int k = j;
                while (k < n && Chars.isSpace(s.charAt(k))) {
                    k++;
                }
                if (k >= n && !complete) {
                    return NEED_MORE;
                }
                if (k < n && Chars.isAsciiDigit(s.charAt(k))) {
                    return NOT_END; // No. 5
                }
            }
        }
        if (j >= n) {
            return complete ? j : NEED_MORE;
        }
        int k = j;
        while (k < n) {
            char c = s.charAt(k);
            if (c == '[' || c == '<') {
                int e = Markers.end(s, k);
                if (e > 0) {
                    if (Markers.isOpening(s, k, e)) {
                        break;
                    }
                    k = e;
                    continue;
                }
                if (!complete && Markers.couldStart(s, k)) {
                    return NEED_MORE;
                }
                break;
            }
            if (!Chars.isCloser(c)) {
                break;
            }
            k++;
        }
        if (k >= n) {
            return complete ? k : NEED_MORE;
        }
        if (singleDot) {
            char next = s.charAt(k);
            if (!complete && Chars.isSpace(next)) {
                int m = k;
                while (m < n && Chars.isSpace(s.charAt(m))) {
                    m++;
                }
                if (m >= n) {
                    return NEED_MORE; // "3. " then "5"? "No. " then "5"?
                }
            }
        }
        return k;
    }

    /**
     * True when the '.' at i ends a list number in Chinese text: one to three digits at the start of
     * a line or sentence, then (after whitespace) CJK text.
     */
    static boolean isListNumber(CharSequence s, int i) {
        return listNumber(s, i) > 0;
    }

    /** 1 when the '.' at i ends a list number, 0 when not, -1 when the text ends before it is known. */
    private static int listNumber(CharSequence s, int i) {
        int d = i;
        while (d > 0 && Chars.isAsciiDigit(s.charAt(d - 1))) {
            d--;
        }
        if (i - d < 1 || i - d > 3) {
            return 0;
        }
        int m = d;
        while (m > 0) {
            char p = s.charAt(m - 1);
            int marker = p == ']' || p == '>' ? markerEndingAt(s, m) : -1;
            if (marker >= 0) {
                m = marker;
            } else if (Chars.isSpace(p) && p != '\n' || Chars.isCloser(p) || Chars.isPause(p) || isDecoration(p)
                    || p == Markers.PLACEHOLDER) {
                m--;
            } else {
                break;
            }
        }
        if (m > 0) {
            char p = s.charAt(m - 1);
            if (p != '\n' && p != '\r' && p != '.' && !Chars.isHardEnd(p)) {
                return 0;
            }
        }
        int k = i + 1;
        while (k < s.length() && (s.charAt(k) != '\n' && Chars.isSpace(s.charAt(k)) || isDecoration(s.charAt(k)))) {
            k++;
        }
        if (k >= s.length()) {
            return -1;
        }
        return Chars.isCjk(Character.codePointAt(s, k)) ? 1 : 0;
    }

    /** The start of the marker that ends at {@code end}, or -1. */
    private static int markerEndingAt(CharSequence s, int end) {
        for (int open = end - 2; open >= 0 && end - open <= 70; open--) {
            char c = s.charAt(open);
            if (c == '[' || c == '<') {
                return Markers.end(s, open) == end ? open : -1;
            }
        }
        return -1;
    }

    /** Characters normalisation removes as decoration (bullets, emphasis, brackets, dashes). */
    private static boolean isDecoration(char c) {
        return "*_~#[]{}`|\\^-+>•—【】〖〗〔〕".indexOf(c) >= 0;
    }

    /**
     * True when the '.' at i, the last of "a.m.", does not end the sentence: a comma or colon, or
     * whitespace and a lower-case letter, follows.
     */
    static boolean dotContinues(CharSequence s, int i) {
        int n = s.length();
        int j = i + 1;
        if (j < n && (s.charAt(j) == ',' || s.charAt(j) == ':')) {
            return true;
        }
        int k = j;
        while (k < n && Chars.isSpace(s.charAt(k))) {
            k++;
        }
        return k > j && k < n && s.charAt(k) >= 'a' && s.charAt(k) <= 'z';
    }

    /** The word before the '.' at i: letters, and single dots between letters ("e.g", "U.S"). */
    private static String wordBefore(CharSequence s, int i) {
        int j = i;
        while (j > 0) {
            char c = s.charAt(j - 1);
            if (Chars.isLatinLetter(c) || c == '.' && j >= 2 && Chars.isLatinLetter(s.charAt(j - 2)) && j < i) {
                j--;
            } else {
                break;
            }
        }
        return s.subSequence(j, i).toString();
    }

    private static boolean isAbbreviation(String word) {
        if (word.isEmpty()) {
            return false;
        }
        String last = lastSegment(word);
        if (ABBREVIATIONS.contains(last.toLowerCase(Locale.ROOT))) {
            return true;
        }
        if (last.length() == 1 && Character.isUpperCase(last.charAt(0)) && last.charAt(0) != 'I') {
            return true; // an initial: J. K. Rowling, U.S.
        }
        if (word.indexOf('.') >= 0) {
            String w = word.toLowerCase(Locale.ROOT);
            if (w.equals("a.m") || w.equals("p.m")) {
                return false; // "10 a.m." may end a sentence
            }
            for (String part : w.split("\\.")) {
                if (part.length() > 2) {
                    return false; // not e.g., i.e., Ph.D.
                }
            }
            return true;
        }
        return false;
    }

    private static String lastSegment(String word) {
        return word.substring(word.lastIndexOf('.') + 1);
    }

    /** True when a digit (one space allowed between) ends at i: "10 a.m.", "10a.m.". */
    private static boolean afterDigit(CharSequence s, int i) {
        int j = i;
        if (j >= 0 && s.charAt(j) == ' ') {
            j--;
        }
        return j >= 0 && Chars.isAsciiDigit(s.charAt(j));
    }
}
