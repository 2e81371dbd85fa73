package io.cosyvoice.text;

import io.cosyvoice.text.NumberTokens.DateToken;
import io.cosyvoice.text.NumberTokens.DigitGroups;
import io.cosyvoice.text.NumberTokens.Decade;
import io.cosyvoice.text.NumberTokens.Fraction;
import io.cosyvoice.text.NumberTokens.Measure;
import io.cosyvoice.text.NumberTokens.Money;
import io.cosyvoice.text.NumberTokens.Num;
import io.cosyvoice.text.NumberTokens.Ordinal;
import io.cosyvoice.text.NumberTokens.Percent;
import io.cosyvoice.text.NumberTokens.Plain;
import io.cosyvoice.text.NumberTokens.Range;
import io.cosyvoice.text.NumberTokens.Ratio;
import io.cosyvoice.text.NumberTokens.Time;
import io.cosyvoice.text.NumberTokens.Token;
import io.cosyvoice.text.NumberTokens.Unit;
import io.cosyvoice.text.NumberTokens.Version;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.cosyvoice.text.NumberTokens.digitsAt;

/**
 * Reads numbers, dates, times, money, units, abbreviations and symbols as words, in Chinese or in
 * English depending on the text around each of them. Works on a cleaned, protected text; leaves no
 * ASCII digit behind.
 */
final class Verbalizer {

    private static final char PH = Markers.PLACEHOLDER;

    /** How far the language scan looks for a letter on each side. */
    private static final int SCAN_LIMIT = 200;

    private static final Pattern ABBREVIATION =
            Pattern.compile("(?<![A-Za-z])(Mrs|Mr|Dr|vs|[Ee]\\.g|[Ii]\\.e|[Nn][Oo])\\.");

    private Verbalizer() {}

    static String verbalize(String s, Lang doc) {
        String t = numbers(symbols(abbreviations(s, doc), doc), doc);
        // again: a symbol next to a number read in Chinese ("5°C=") now stands as a word, "Dr. 3/5" is "Dr. March"
        return symbols(abbreviations(t, doc), doc);
    }

    // ---- which language ----------------------------------------------------------------------

    /**
     * The language of the span [start, end): Chinese when the nearest letter on either side within
     * the sentence (and 200 characters) is CJK (or CJK punctuation), else English when one is a
     * Latin letter, else the language of the whole text.
     */
    static Lang decide(String s, int start, int end, Lang doc) {
        for (int i = start; i < end; i++) {
            if (Chars.isCjk(s.charAt(i))) {
                return Lang.ZH;
            }
        }
        Lang left = scanLeft(s, start);
        Lang right = scanRight(s, end);
        if (left == Lang.ZH || right == Lang.ZH) {
            return Lang.ZH;
        }
        if (left == Lang.EN || right == Lang.EN) {
            return Lang.EN;
        }
        return doc;
    }

    private static Lang scanLeft(String s, int from) {
        int j = from;
        int stop = Math.max(0, from - SCAN_LIMIT);
        while (j > stop) {
            int cp = s.codePointBefore(j);
            j -= Character.charCount(cp);
            if (cp == '\n' || Chars.isHardEnd(cp) || cp == '.' && Chars.isBarrierDot(s, j)) {
                return null; // the sentence starts here
            }
            Lang l = classify(cp);
            if (l != null) {
                return l;
            }
        }
        return null;
    }

    private static Lang scanRight(String s, int from) {
        int j = from;
        int n = Math.min(s.length(), from + SCAN_LIMIT);
        while (j < n) {
            int cp = s.codePointAt(j);
            if (Chars.isCjkEnd(cp)) {
                return Lang.ZH;
            }
            if (cp == '\n' || Chars.isHardEnd(cp) || cp == '.' && Chars.isBarrierDot(s, j)) {
                return null;
            }
            Lang l = classify(cp);
            if (l != null) {
                return l;
            }
            j += Character.charCount(cp);
        }
        return null;
    }

    private static Lang classify(int cp) {
        if (Chars.isCjk(cp) || Chars.isCjkPunct(cp) && !Chars.isCjkCloser(cp)) {
            return Lang.ZH;
        }
        if (Chars.isLatinLetter(cp)) {
            return Lang.EN;
        }
        return null;
    }

    /**
     * True when the symbol at [start, end) stands as a word: nothing but whitespace, a digit, CJK
     * text, a marker or the text's edge on either side ("a & b", "1+1", "你&我"; not "AT&T", "C++").
     */
    static boolean standing(CharSequence s, int start, int end) {
        return boundary(s, start - 1) && boundary(s, end);
    }

    private static boolean boundary(CharSequence s, int i) {
        if (i < 0 || i >= s.length()) {
            return true;
        }
        char c = s.charAt(i);
        return c == ' ' || c == '\n' || c == PH || Chars.isAsciiDigit(c) || Chars.isCjkAny(c)
                || Chars.isPause(c) || Chars.isHardEnd(c) || c == '.' || Chars.isCloser(c) || c == '('
                || c == '（' || c == '《' || c == '—'
                || Character.isSurrogate(c) && Chars.isCjk(Character.codePointAt(s, Character.isHighSurrogate(c) ? i : i - 1));
    }

    // ---- abbreviations -----------------------------------------------------------------------

    private static String abbreviations(String s, Lang doc) {
        Matcher m = ABBREVIATION.matcher(s);
        if (!m.find()) {
            return s;
        }
        StringBuilder out = new StringBuilder(s.length() + 16);
        int copied = 0;
        do {
            int end = m.end();
            int next = end < s.length() && s.charAt(end) == ' ' ? end + 1 : end;
            char after = end < s.length() ? s.charAt(end) : ' ';
            boolean spaceNext = !(Chars.isSpace(after) || Chars.isPause(after) || Chars.isHardEnd(after)
                    || after == '.' || Chars.isCloser(after) || Chars.isCjkAny(after));
            String word = m.group(1);
            String replacement = switch (word) {
                case "Mr" -> "Mister";
                case "Mrs" -> "Missus";
                case "vs" -> "versus";
                case "e.g", "E.g" -> "for example";
                case "i.e", "I.e" -> "that is";
                case "Dr" -> next < s.length() && Character.isUpperCase(s.charAt(next)) ? "Doctor" : null;
                default -> null; // No
            };
            if (word.equalsIgnoreCase("No") && next < s.length() && Chars.isAsciiDigit(s.charAt(next))) {
                out.append(s, copied, m.start());
                out.append(decide(s, m.start(), next, doc) == Lang.ZH ? "第" : "number ");
                copied = next;
                continue;
            }
            if (replacement != null) {
                out.append(s, copied, m.start()).append(replacement);
                if (spaceNext) {
                    out.append(' '); // "e.g.<5": a word, then the symbol as before
                }
                copied = end;
            }
        } while (m.find());
        out.append(s, copied, s.length());
        return out.toString();
    }

    // ---- symbols -----------------------------------------------------------------------------

    private static String symbols(String s, Lang doc) {
        StringBuilder out = null;
        int copied = 0;
        int n = s.length();
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            char c2 = i + 1 < n ? s.charAt(i + 1) : 0;
            int len = 1;
            String zh;
            String en;
            switch (c) {
                case '+' -> { zh = "加"; en = "plus"; }
                case '=' -> {
                    len = c2 == '=' ? 2 : 1;
                    zh = "等于";
                    en = "equals";
                }
                case '<' -> {
                    len = c2 == '=' ? 2 : 1;
                    zh = len == 2 ? "小于等于" : "小于";
                    en = len == 2 ? "less than or equal to" : "less than";
                }
                case '>' -> {
                    len = c2 == '=' ? 2 : 1;
                    zh = len == 2 ? "大于等于" : "大于";
                    en = len == 2 ? "greater than or equal to" : "greater than";
                }
                case '≤' -> { zh = "小于等于"; en = "less than or equal to"; }
                case '≥' -> { zh = "大于等于"; en = "greater than or equal to"; }
                case '≠' -> { zh = "不等于"; en = "is not equal to"; }
                case '≈' -> { zh = "约等于"; en = "approximately"; }
                case '±' -> { zh = "正负"; en = "plus or minus"; }
                case '×', '*' -> { zh = "乘"; en = "times"; }
                case '÷' -> { zh = "除以"; en = "divided by"; }
                case '&' -> { zh = "和"; en = "and"; }
                case '@' -> { zh = "艾特"; en = "at"; }
                case '#' -> { zh = " "; en = "number"; }
                default -> {
                    continue;
                }
            }
            boolean word = c == '#'
                    ? i + 1 < n && Chars.isAsciiDigit(c2) && (i == 0 || !Chars.isAsciiAlnum(s.charAt(i - 1)))
                    : standing(s, i, i + len);
            if (!word) {
                continue;
            }
            if (out == null) {
                out = new StringBuilder(s.length() + 32);
            }
            out.append(s, copied, i);
            if (decide(s, i, i + len, doc) == Lang.ZH) {
                out.append(zh);
            } else {
                out.append(' ').append(en).append(' ');
            }
            copied = i + len;
            i += len - 1;
        }
        if (out == null) {
            return s;
        }
        return out.append(s, copied, n).toString();
    }

    // ---- numbers -----------------------------------------------------------------------------

    private static String numbers(String s, Lang doc) {
        StringBuilder out = null;
        int n = s.length();
        int copied = 0;
        int i = 0;
        while (i < n) {
            char c = s.charAt(i);
            boolean candidate = Chars.isAsciiDigit(c) ? i == 0 || !Chars.isAsciiDigit(s.charAt(i - 1))
                    : c == '-' || isCurrency(c);
            Token t = candidate ? lex(s, i) : null;
            if (t == null) {
                if (Chars.isAsciiDigit(c)) {
                    t = plainDigits(s, i); // never leave a digit behind
                } else {
                    i++;
                    continue;
                }
            }
            if (out == null) {
                out = new StringBuilder(s.length() + 64);
            }
            out.append(s, copied, t.start());
            if (decide(s, t.start(), t.end(), doc) == Lang.ZH) {
                out.append(t.zh(s));
            } else {
                if (t.start() > 0 && (Character.isLetterOrDigit(s.codePointBefore(t.start()))
                        || s.charAt(t.start() - 1) == '.')) {
                    out.append(' ');
                }
                out.append(t.en());
                if (t.end() < n && Character.isLetterOrDigit(s.codePointAt(t.end()))) {
                    out.append(' ');
                }
            }
            copied = t.end();
            i = t.end();
        }
        if (out == null) {
            return s;
        }
        return out.append(s, copied, n).toString();
    }

    private static Token plainDigits(String s, int i) {
        int j = i;
        while (j < s.length() && Chars.isAsciiDigit(s.charAt(j))) {
            j++;
        }
        return new Plain(i, j, false, new Num(s.substring(i, j), null, false, j));
    }

    static boolean isCurrency(char c) {
        return c == '$' || c == '£' || c == '€' || c == '¥' || c == '￥';
    }

    /** A '-' at i that is a minus sign: before a number, not after a word or a number. */
    private static boolean signContext(String s, int i) {
        if (i == 0) {
            return true;
        }
        int pc = s.codePointBefore(i);
        if (Chars.isLatinLetter(pc) || Chars.isAsciiDigit(pc)) {
            return false;
        }
        return switch (pc) {
            case '%', '-', '/', '°', '℃', '℉' -> false;
            default -> true; // also after a sentence end, a quote or a marker: where a sentence may start
        };
    }

    /** The token that starts at i (a digit, a minus sign or a currency sign), or null. */
    private static Token lex(String s, int i) {
        int n = s.length();
        int p = i;
        boolean neg = false;
        if (s.charAt(p) == '-') {
            if (!signContext(s, i)) {
                return null;
            }
            neg = true;
            p++;
        }
        char cur = 0;
        if (p < n && isCurrency(s.charAt(p))) {
            cur = s.charAt(p);
            p++;
            if (p < n && s.charAt(p) == ' ') {
                p++;
            }
        }
        if (p >= n || !Chars.isAsciiDigit(s.charAt(p))) {
            return null;
        }
        if (!neg && cur == 0) {
            Token t = dateOrTime(s, p);
            if (t != null) {
                return t;
            }
        }
        Num a = Num.parse(s, p);
        if (a.chain() != null) {
            return neg || cur != 0 ? new Plain(i, a.chainFirstEnd(), neg, a.first()) : new Version(i, a.end(), a.chain());
        }
        int e = a.end();
        if (cur != 0) {
            return currency(s, i, neg, cur, a);
        }
        if (a.frac() == null) {
            Token t = suffixed(s, i, neg, a);
            if (t != null) {
                return t;
            }
        }
        int k = e < n && s.charAt(e) == ' ' ? e + 1 : e;
        if (k < n && (s.charAt(k) == '%' || s.charAt(k) == '‰')) {
            int pe = k + 1;
            if (pe + 1 < n && (s.charAt(pe) == '-' || s.charAt(pe) == '~') && Chars.isAsciiDigit(s.charAt(pe + 1))) {
                Num b = Num.parse(s, pe + 1);
                if (b.chain() == null && b.end() < n && s.charAt(b.end()) == s.charAt(k)) {
                    return new Percent(i, b.end() + 1, neg, a, b, s.charAt(k) == '‰');
                }
            }
            return new Percent(i, pe, neg, a, null, s.charAt(k) == '‰');
        }
        Token range = range(s, i, neg, a);
        if (range != null) {
            return range;
        }
        Unit u = Unit.at(s, e);
        if (u != null) {
            return new Measure(i, u.end(), neg, a, u);
        }
        return new Plain(i, e, neg, a);
    }

    /** Ordinals (1st), decades (1990s), fractions (1/2), ratios (3:2), hours with am/pm (10am). */
    private static Token suffixed(String s, int i, boolean neg, Num a) {
        int n = s.length();
        int e = a.end();
        if (neg) {
            if (e + 1 < n && s.charAt(e) == '/' && Chars.isAsciiDigit(s.charAt(e + 1)) && !a.grouped()) {
                return fraction(s, i, true, a);
            }
            return null;
        }
        if (e + 1 < n) {
            String two = s.substring(e, e + 2).toLowerCase(Locale.ROOT);
            if ((two.equals("st") || two.equals("nd") || two.equals("rd") || two.equals("th"))
                    && (e + 2 >= n || !Character.isLetter(s.charAt(e + 2)))) {
                return new Ordinal(i, e + 2, a.digits());
            }
        }
        if (!a.grouped() && (a.digits().length() == 2 || a.digits().length() == 4) && a.digits().endsWith("0")
                && e < n && s.charAt(e) == 's' && (e + 1 >= n || !Character.isLetter(s.charAt(e + 1)))) {
            return new Decade(i, e + 1, a.digits());
        }
        if (!a.grouped() && e + 1 < n && s.charAt(e) == '/' && Chars.isAsciiDigit(s.charAt(e + 1))) {
            return fraction(s, i, false, a);
        }
        if (!a.grouped() && e + 1 < n && s.charAt(e) == ':' && Chars.isAsciiDigit(s.charAt(e + 1))) {
            Num b = Num.parse(s, e + 1);
            if (b.chain() == null && b.frac() == null && !b.grouped()) {
                return new Ratio(i, b.end(), a.digits(), b.digits());
            }
        }
        if (!a.grouped() && a.digits().length() <= 2) {
            int h = Integer.parseInt(a.digits());
            int[] ampm = ampm(s, e);
            if (h >= 1 && h <= 12 && ampm != null) {
                return new Time(i, ampm[0], h, -1, -1, ampm[1]);
            }
        }
        return null;
    }

    private static Token fraction(String s, int i, boolean neg, Num a) {
        int e = a.end();
        int j = e + 1;
        while (j < s.length() && Chars.isAsciiDigit(s.charAt(j))) {
            j++;
        }
        String den = s.substring(e + 1, j);
        boolean more = j < s.length() && (s.charAt(j) == '/' || s.charAt(j) == '.' && j + 1 < s.length()
                && Chars.isAsciiDigit(s.charAt(j + 1)));
        if (more || a.digits().length() > 6 || den.length() > 6 || Long.parseLong(den) == 0) {
            return null;
        }
        return new Fraction(i, j, neg, a.digits(), den);
    }

    /** "am", "a.m", "PM" after a time: {end, 1 for am / 2 for pm}, the final '.' of "a.m." left. */
    private static int[] ampm(String s, int e) {
        int n = s.length();
        int k = e < n && s.charAt(e) == ' ' ? e + 1 : e;
        if (k >= n) {
            return null;
        }
        char a = Character.toLowerCase(s.charAt(k));
        if (a != 'a' && a != 'p') {
            return null;
        }
        int m = k + 1;
        if (m < n && s.charAt(m) == '.') {
            m++;
        }
        if (m >= n || Character.toLowerCase(s.charAt(m)) != 'm') {
            return null;
        }
        if (m + 1 < n && Character.isLetter(s.charAt(m + 1))) {
            return null;
        }
        int end = m + 1;
        if (m > k + 1 && end < n && s.charAt(end) == '.' && SentenceEnds.dotContinues(s, end)) {
            end++; // "a.m. tomorrow": the final dot is not a full stop
        }
        return new int[] {end, a == 'a' ? 1 : 2};
    }

    private static Token range(String s, int i, boolean neg, Num a) {
        int n = s.length();
        int e = a.end();
        int sep;
        if (e + 1 < n && (s.charAt(e) == '-' || s.charAt(e) == '~') && Chars.isAsciiDigit(s.charAt(e + 1))) {
            sep = e;
        } else if (e + 3 < n && s.charAt(e) == ' ' && (s.charAt(e + 1) == '-' || s.charAt(e + 1) == '~')
                && s.charAt(e + 2) == ' ' && Chars.isAsciiDigit(s.charAt(e + 3))) {
            sep = e + 1;
        } else if (e + 2 < n && s.charAt(e) == '~' && s.charAt(e + 1) == ' ' && Chars.isAsciiDigit(s.charAt(e + 2))) {
            sep = e;
        } else {
            return null;
        }
        int bStart = Chars.isAsciiDigit(s.charAt(sep + 1)) ? sep + 1 : sep + 2;
        Num b = Num.parse(s, bStart);
        if (b.chain() != null) {
            return null;
        }
        if (s.charAt(sep) == '-' && sep == e && a.isPlainInt() && b.isPlainInt()) {
            List<String> groups = new ArrayList<>();
            groups.add(a.digits());
            groups.add(b.digits());
            int end = b.end();
            while (end + 1 < n && s.charAt(end) == '-' && Chars.isAsciiDigit(s.charAt(end + 1))) {
                Num c = Num.parse(s, end + 1);
                if (!c.isPlainInt()) {
                    break;
                }
                groups.add(c.digits());
                end = c.end();
            }
            boolean idLike = groups.size() > 2 || !neg && groups.stream().anyMatch(g -> g.length() > 6
                    || g.length() > 1 && g.charAt(0) == '0');
            if (idLike) {
                return neg ? null : new DigitGroups(i, end, groups);
            }
        }
        int k = b.end() < n && s.charAt(b.end()) == ' ' ? b.end() + 1 : b.end();
        if (k < n && s.charAt(k) == '%') {
            return new Percent(i, k + 1, neg, a, b, false);
        }
        Unit u = Unit.at(s, b.end());
        return new Range(i, u != null ? u.end() : b.end(), neg, a, b, u);
    }

    private static Token currency(String s, int i, boolean neg, char cur, Num a) {
        int n = s.length();
        int end = a.end();
        String scale = null;
        if (end < n && (s.charAt(end) == '万' || s.charAt(end) == '亿')) {
            scale = String.valueOf(s.charAt(end));
            end++;
        } else {
            int k = end < n && s.charAt(end) == ' ' ? end + 1 : end;
            for (String w : new String[] {"thousand", "million", "billion", "trillion"}) {
                if (s.regionMatches(true, k, w, 0, w.length())
                        && (k + w.length() >= n || !Character.isLetter(s.charAt(k + w.length())))) {
                    scale = w;
                    end = k + w.length();
                    break;
                }
            }
        }
        String name = Money.chineseName(cur);
        if (s.startsWith(name, end)) {
            end += name.length(); // "￥45.50元": the 元 is already said
        } else if ((cur == '¥' || cur == '￥') && end < n && s.charAt(end) == '块') {
            end++;
        }
        return new Money(i, end, neg, cur, a, scale);
    }

    /** Dates (2024-03-05, 2024/3/5, 3/5/2024, 2024-03) and times (10:30, 7:05:09 pm) at p. */
    private static Token dateOrTime(String s, int p) {
        int n = s.length();
        int l1 = digitsAt(s, p);
        if (l1 == 4 && p + 5 < n) {
            char sep = s.charAt(p + 4);
            if ((sep == '-' || sep == '/' || sep == '.') && Chars.isAsciiDigit(s.charAt(p + 5))) {
                int y = Integer.parseInt(s.substring(p, p + 4));
                int ms = p + 5;
                int l2 = digitsAt(s, ms);
                if (l2 <= 2) {
                    int m = Integer.parseInt(s.substring(ms, ms + l2));
                    int de = ms + l2;
                    if (de + 1 < n && s.charAt(de) == sep && Chars.isAsciiDigit(s.charAt(de + 1))) {
                        int l3 = digitsAt(s, de + 1);
                        int d = l3 <= 2 ? Integer.parseInt(s.substring(de + 1, de + 1 + l3)) : 0;
                        int end = de + 1 + l3;
                        boolean more = end + 1 < n && (s.charAt(end) == sep || s.charAt(end) == '.')
                                && Chars.isAsciiDigit(s.charAt(end + 1));
                        if (l3 <= 2 && validDate(m, d) && !more) {
                            return new DateToken(p, end, y, m, d);
                        }
                    } else if ((sep == '-' && l2 == 2 || sep == '/') && m >= 1 && m <= 12
                            && !(de + 1 < n && (s.charAt(de) == sep || s.charAt(de) == '.')
                                    && Chars.isAsciiDigit(s.charAt(de + 1)))) {
                        return new DateToken(p, de, y, m, 0);
                    }
                }
            }
        }
        if (l1 <= 2 && p + l1 + 1 < n && s.charAt(p + l1) == '/') {
            int ms = p + l1 + 1;
            int l2 = digitsAt(s, ms);
            int ys = ms + l2 + 1;
            if (l2 >= 1 && l2 <= 2 && ys < n && s.charAt(ys - 1) == '/' && digitsAt(s, ys) == 4) {
                int m = Integer.parseInt(s.substring(p, p + l1));
                int d = Integer.parseInt(s.substring(ms, ms + l2));
                int end = ys + 4;
                boolean more = end + 1 < n && (s.charAt(end) == '/' || s.charAt(end) == '.')
                        && Chars.isAsciiDigit(s.charAt(end + 1));
                if (validDate(m, d) && !more) {
                    return new DateToken(p, end, Integer.parseInt(s.substring(ys, end)), m, d);
                }
            }
        }
        if (l1 <= 2 && p + l1 + 2 < n && s.charAt(p + l1) == ':' && digitsAt(s, p + l1 + 1) == 2) {
            int h = Integer.parseInt(s.substring(p, p + l1));
            int ms = p + l1 + 1;
            int m = Integer.parseInt(s.substring(ms, ms + 2));
            int end = ms + 2;
            int sec = -1;
            if (end + 2 < n && s.charAt(end) == ':' && digitsAt(s, end + 1) == 2) {
                int ss = Integer.parseInt(s.substring(end + 1, end + 3));
                if (ss <= 59) {
                    sec = ss;
                    end += 3;
                }
            }
            boolean more = end + 1 < n && (s.charAt(end) == ':' || s.charAt(end) == '.')
                    && Chars.isAsciiDigit(s.charAt(end + 1));
            if (h <= 24 && m <= 59 && !more) {
                int[] ap = ampm(s, end);
                return ap == null ? new Time(p, end, h, m, sec, 0) : new Time(p, ap[0], h, m, sec, ap[1]);
            }
        }
        return null;
    }

    private static boolean validDate(int m, int d) {
        return m >= 1 && m <= 12 && d >= 1 && d <= 31;
    }
}
