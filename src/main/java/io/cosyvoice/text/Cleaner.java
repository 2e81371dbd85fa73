package io.cosyvoice.text;

import java.util.regex.Pattern;

/**
 * Character-level clean-up, run before and after numbers are read: width, quotes, dashes, control
 * characters, emoji, decoration, whitespace and repeated punctuation. Markers are placeholders here
 * and are never removed or moved.
 */
final class Cleaner {

    private static final int MAX_ROUNDS = 6;
    private static final char PH = Markers.PLACEHOLDER;
    private static final Pattern MARKDOWN_LINK = Pattern.compile("\\[([^\\[\\]\\n]*)\\]\\([^()\\s]*\\)");

    private Cleaner() {}

    /** Cleans a protected text, repeating the rules until nothing changes. */
    static String clean(String s) {
        String t = MARKDOWN_LINK.matcher(mapCharacters(s)).replaceAll("$1");
        for (int round = 0; round < MAX_ROUNDS; round++) {
            String next = punctuation(whitespace(cjkPunctuation(dashes(structure(t, round == 0)))));
            if (next.equals(t)) {
                return t;
            }
            t = next;
        }
        return t;
    }

    // ---- 1. characters one by one ------------------------------------------------------------

    static String mapCharacters(String s) {
        StringBuilder out = new StringBuilder(s.length());
        int n = s.length();
        int i = 0;
        while (i < n) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            if (cp == PH) {
                out.append(PH);
                continue;
            }
            if (cp == '\r') {
                if (i < n && s.charAt(i) == '\n') {
                    continue;
                }
                out.append('\n');
                continue;
            }
            if (cp >= 0xFF10 && cp <= 0xFF19 || cp >= 0xFF21 && cp <= 0xFF3A || cp >= 0xFF41 && cp <= 0xFF5A) {
                out.append((char) (cp - 0xFEE0)); // full-width letters and digits
                continue;
            }
            if (Character.getType(cp) == Character.SPACE_SEPARATOR) {
                out.append(' ');
                continue;
            }
            String mapped = mapped(cp);
            if (mapped != null) {
                out.append(mapped);
                continue;
            }
            if (keep(cp)) {
                out.appendCodePoint(cp);
            } else if (cp != 0x00AD && cp != 0x200C && cp != 0x200D) {
                out.append(' '); // a dropped character still separates ("1.😀3" is not 1.3)
            }
        }
        return out.toString();
    }

    private static String mapped(int cp) {
        return switch (cp) {
            case '\n', 0x0B, 0x0C, 0x85, 0x2028, 0x2029 -> "\n";
            case '\t' -> " ";
            case 0xFF04 -> "$";
            case 0xFF05 -> "%";
            case 0xFF06 -> "&";
            case 0xFF0A -> "*";
            case 0xFF0B -> "+";
            case 0xFF0D, 0x2010, 0x2011, 0x2012, 0x2013, 0x2212, 0xFE63 -> "-";
            case 0xFF0E -> ".";
            case 0xFF0F -> "/";
            case 0xFF1C -> "<";
            case 0xFF1D -> "=";
            case 0xFF1E -> ">";
            case 0xFF20 -> "@";
            case 0xFF03 -> "#";
            case 0xFF3C -> "\\";
            case 0xFF3F -> "_";
            case 0xFF5C -> "|";
            case 0xFF5E, 0x301C -> "~";
            case 0xFF3B -> "[";
            case 0xFF3D -> "]";
            case 0xFF5B -> "{";
            case 0xFF5D -> "}";
            case 0xFF61 -> "。";
            case 0xFF64 -> "、";
            case 0xFF02, 0x201C, 0x201D, 0x201E, 0x201F, 0x301D, 0x301E, 0x301F, 0x00AB, 0x00BB, 0x2039,
                    0x203A, 0x300C, 0x300D, 0x300E, 0x300F, 0xFE41, 0xFE42, 0xFE43, 0xFE44, 0xFF62, 0xFF63,
                    0x2033 -> "\"";
            case 0xFF07, 0x2018, 0x2019, 0x201A, 0x201B, 0x2032, 0x00B4 -> "'";
            case 0x2014, 0x2015, 0x2E3A, 0x2E3B, 0xFE58 -> "—";
            case 0x22EF, 0xFE19 -> "…";
            case 0x00BA -> "°";
            case 0x30FB, 0x2027 -> "·";
            case 0x00BD -> "1/2";
            case 0x00BC -> "1/4";
            case 0x00BE -> "3/4";
            case 0x2153 -> "1/3";
            case 0x2154 -> "2/3";
            case '`' -> " ";
            default -> null;
        };
    }

    /** Whether a character not mapped above is kept. */
    private static boolean keep(int cp) {
        if (cp == ' ' || cp == '\n') {
            return true;
        }
        if (cp >= 0xFE00 && cp <= 0xFE0F || cp >= 0xE0100 && cp <= 0xE01EF || cp == 0x20E3) {
            return false; // variation selectors, keycaps: emoji parts
        }
        return switch (Character.getType(cp)) {
            case Character.CONTROL, Character.FORMAT, Character.PRIVATE_USE, Character.SURROGATE,
                    Character.UNASSIGNED, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR -> false;
            case Character.OTHER_SYMBOL -> cp == 0x00B0 || cp == 0x2103 || cp == 0x2109; // emoji, ©®™; not °
            case Character.MODIFIER_SYMBOL -> false; // ^ ´ ¨ and emoji skin tones
            case Character.MATH_SYMBOL -> cp < 0x80 || cp == 0x00D7 || cp == 0x00F7 || cp == 0x00B1
                    || cp == 0x2264 || cp == 0x2265 || cp == 0x2260 || cp == 0x2248;
            case Character.OTHER_NUMBER -> cp == 0x00B2 || cp == 0x00B3; // m², m³; not ① or ¹
            default -> true;
        };
    }

    // ---- 2. decoration and structure ---------------------------------------------------------

    /** {@code lists}: turn "1. 苹果" into "1、苹果" (only as written, not after other clean-up). */
    private static String structure(String s, boolean lists) {
        StringBuilder out = new StringBuilder(s.length());
        int n = s.length();
        int i = 0;
        while (i < n) {
            char c = s.charAt(i);
            if (c == '=' || c == '*' || c == '_' || c == '~' || c == '#') {
                int r = run(s, i, c);
                if (r >= 3) {
                    out.append(' ');
                    i += r; // ====, ***, ___: rules and decoration
                    continue;
                }
            }
            if ((c == '-' || c == '*' || c == '+' || c == '>')
                    && (i + 1 == n || s.charAt(i + 1) == ' ' || s.charAt(i + 1) == '\n') && atSentenceStart(out)) {
                out.append(' ');
                i++; // markdown bullet or quote
                continue;
            }
            if (c == '•') {
                out.append(' '); // a bullet, or a separator
                i++;
                continue;
            }
            if (lists && Chars.isAsciiDigit(c) && (i == 0 || !Chars.isAsciiDigit(s.charAt(i - 1)))) {
                int j = listNumberEnd(s, i);
                if (j > 0) {
                    out.append(s, i, j).append('、'); // "1. 苹果" → "1、苹果"
                    i = skipSpaces(s, j + 1);
                    continue;
                }
            }
            switch (c) {
                case '*', '~' -> out.append(digitAround(s, i) ? c : ' ');
                case '<', '>' -> {
                    int len = i + 1 < n && s.charAt(i + 1) == '=' ? 2 : 1;
                    if (Verbalizer.standing(s, i, i + len)) {
                        out.append(s, i, i + len);
                        i += len;
                        continue;
                    }
                    out.append(' ');
                }
                case '#' -> {
                    boolean number = i + 1 < n && Chars.isAsciiDigit(s.charAt(i + 1))
                            && (i == 0 || !Chars.isAsciiAlnum(s.charAt(i - 1)));
                    out.append(number ? c : ' ');
                }
                // brackets that are not markers are not read
                case '_', '|', '\\', '[', ']', '{', '}', '^', '【', '】', '〖', '〗', '〔', '〕' -> out.append(' ');
                default -> out.append(c);
            }
            i++;
        }
        return out.toString();
    }

    /** "12." at the start of a line or sentence of Chinese: the index of the '.', else -1. */
    private static int listNumberEnd(String s, int i) {
        int j = i;
        while (j < s.length() && Chars.isAsciiDigit(s.charAt(j))) {
            j++;
        }
        return j < s.length() && s.charAt(j) == '.' && SentenceEnds.isListNumber(s, j) ? j : -1;
    }

    /**
     * True when the text built so far ends at the start of a line or right after a sentence end
     * (whitespace, closing quotes and markers skipped): markdown bullets, and punctuation that
     * nothing speakable precedes, are dropped there.
     */
    static boolean atSentenceStart(CharSequence out) {
        int j = out.length();
        while (j > 0) {
            int cp = Character.codePointBefore(out, j);
            j -= Character.charCount(cp);
            if (cp == ' ' || cp == PH || Chars.isCloser(cp)) {
                continue;
            }
            if (cp == '.') {
                return j > 0 && out.charAt(j - 1) == '.' || SentenceEnds.endAt(out, j, true) > 0;
            }
            return cp == '\n' || Chars.isHardEnd(cp);
        }
        return true;
    }

    private static boolean digitAround(String s, int i) {
        int l = i - 1;
        while (l >= 0 && s.charAt(l) == ' ') {
            l--;
        }
        int r = skipSpaces(s, i + 1);
        return l >= 0 && r < s.length() && Chars.isAsciiDigit(s.charAt(l)) && Chars.isAsciiDigit(s.charAt(r));
    }

    private static int run(String s, int i, char c) {
        int j = i;
        while (j < s.length() && s.charAt(j) == c) {
            j++;
        }
        return j - i;
    }

    private static int skipSpaces(String s, int i) {
        while (i < s.length() && s.charAt(i) == ' ') {
            i++;
        }
        return i;
    }

    // ---- 3. dashes as pauses -----------------------------------------------------------------

    private static String dashes(String s) {
        StringBuilder out = new StringBuilder(s.length());
        int n = s.length();
        int i = 0;
        while (i < n) {
            char c = s.charAt(i);
            int end = -1;
            if (c == '—' || c == '-' && i + 1 < n && s.charAt(i + 1) == '-') {
                end = i;
                while (end < n && (s.charAt(end) == '—' || s.charAt(end) == '-')) {
                    end++;
                }
            } else if (c == '-' && i > 0 && s.charAt(i - 1) == ' ' && i + 1 < n && s.charAt(i + 1) == ' '
                    && !digitAround(s, i)) {
                end = i + 1; // "word - word"
            }
            if (end < 0) {
                out.append(c);
                i++;
                continue;
            }
            while (!out.isEmpty() && out.charAt(out.length() - 1) == ' ') {
                out.setLength(out.length() - 1);
            }
            int next = skipSpaces(s, end);
            boolean cjk = !out.isEmpty() && Chars.isCjkAny(Character.codePointBefore(out, out.length()))
                    || next < n && Chars.isCjkAny(s.codePointAt(next));
            out.append(atSentenceStart(out) ? " " : cjk ? "，" : ", ");
            i = next;
        }
        return out.toString();
    }

    // ---- 4. ASCII punctuation in Chinese text ------------------------------------------------

    private static String cjkPunctuation(String s) {
        StringBuilder out = null;
        int n = s.length();
        for (int i = 1; i < n; i++) {
            char c = s.charAt(i);
            char to = switch (c) {
                case ',' -> '，';
                case '!' -> '！';
                case '?' -> '？';
                case ';' -> '；';
                case ':' -> '：';
                case '.' -> i + 1 < n && (s.charAt(i + 1) == '.' || Chars.isAsciiAlnum(s.charAt(i + 1))) ? 0 : '。';
                default -> 0;
            };
            if (to != 0 && Chars.isCjk(Character.codePointBefore(s, i))) {
                if (out == null) {
                    out = new StringBuilder(s);
                }
                out.setCharAt(i, to);
            }
        }
        return out == null ? s : out.toString();
    }

    // ---- 5. whitespace -----------------------------------------------------------------------

    private static String whitespace(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (String line : s.split("\n", -1)) {
            String l = line(line);
            if (!l.isEmpty()) {
                if (!out.isEmpty()) {
                    out.append('\n');
                }
                out.append(l);
            }
        }
        return out.toString();
    }

    private static String line(String line) {
        StringBuilder out = new StringBuilder(line.length());
        int n = line.length();
        int i = 0;
        while (i < n) {
            char c = line.charAt(i);
            if (c != ' ') {
                out.append(c);
                i++;
                continue;
            }
            int j = skipSpaces(line, i);
            if (out.isEmpty() || j >= n) {
                i = j; // leading or trailing
                continue;
            }
            int before = Character.codePointBefore(out, out.length());
            if (keepsSpace(before, line.codePointAt(j), j + 1 < n ? line.charAt(j + 1) : 0)) {
                out.append(' ');
            }
            i = j;
        }
        return out.toString();
    }

    /**
     * Whether whitespace between two characters stays (as one space): not next to CJK text, not
     * after an opening bracket, not before punctuation (but before ".5").
     */
    static boolean keepsSpace(int before, int after, char afterNext) {
        return !(Chars.isCjkAny(before) || Chars.isCjkAny(after) || before == '('
                || after == ',' || after == '!' || after == '?' || after == ';' || after == ':'
                || after == '…' || after == ')' || after == '%'
                || after == '.' && !Chars.isAsciiDigit(afterNext));
    }

    // ---- 6. repeated and stray punctuation ---------------------------------------------------

    /** After dropping punctuation: a full stop must not end up glued to the word after it. */
    private static void keepApart(StringBuilder out, String s, int next) {
        if (!out.isEmpty() && out.charAt(out.length() - 1) == '.' && next < s.length()
                && Chars.isWordChar(s.codePointAt(next))) {
            out.append(' ');
        }
    }

    private static String punctuation(String s) {
        StringBuilder out = new StringBuilder(s.length());
        int n = s.length();
        int i = 0;
        while (i < n) {
            char c = s.charAt(i);
            char e;
            int len = 1;
            if (c == '.') {
                int r = run(s, i, '.');
                if (r >= 2) {
                    e = '…';
                    len = r;
                } else if (i + 1 < n && Chars.isAsciiAlnum(s.charAt(i + 1))) {
                    if (!atSentenceStart(out)) {
                        out.append(c); // 3.5, e.g, example.com; not ".A" after a sentence end
                    }
                    i++;
                    continue;
                } else {
                    e = '.';
                }
            } else if (Chars.isHardEnd(c) || Chars.isPause(c)) {
                e = c;
                if (Chars.isPause(c) && i + 1 < n && Chars.isAsciiDigit(s.charAt(i + 1))
                        && i > 0 && Chars.isAsciiDigit(s.charAt(i - 1))) {
                    out.append(c); // 1,234 and 10:30
                    i++;
                    continue;
                }
            } else {
                out.append(c);
                i++;
                continue;
            }
            boolean afterDot = !out.isEmpty() && out.charAt(out.length() - 1) == '.';
            if (atSentenceStart(out) && !(afterDot && (e == ',' || e == ':'))) {
                i += len; // "!!!" → "!", "。，" → "。", leading punctuation; but "etc., and"
                keepApart(out, s, i);
                continue;
            }
            if (Chars.isPause(e)) {
                int k = skipSpaces(s, i + len);
                if (k >= n) {
                    i += len; // a pause at the very end
                    continue;
                }
                if (afterDot && (e == ',' || e == ':')) {
                    out.append(e);
                    i += len;
                    continue;
                }
                char next = s.charAt(k);
                if (next == '\n' || Chars.isHardEnd(next) || Chars.isPause(next)
                        || next == '.' && !(k + 1 < n && Chars.isAsciiAlnum(s.charAt(k + 1)))) {
                    i += len; // "，。" → "，", "，，" → "，"
                    keepApart(out, s, i);
                    continue;
                }
            }
            out.append(e);
            i += len;
        }
        return out.toString();
    }
}
