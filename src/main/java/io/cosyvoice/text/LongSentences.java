package io.cosyvoice.text;

import java.util.ArrayList;
import java.util.List;

/**
 * Cuts a sentence longer than the limit: at clause punctuation (，,、：:) first, packing as many
 * clauses as fit into each piece; a clause still too long at spaces, and as a last resort between
 * units (never inside a word or a marker), into pieces of about equal length.
 */
final class LongSentences {

    private LongSentences() {}

    /** Pieces of at most {@code max} units; concatenated they give back the sentence but whitespace. */
    static List<String> cut(String sentence, int max) {
        List<String> raw = new ArrayList<>();
        pack(sentence, 0, max, raw);
        List<String> merged = new ArrayList<>();
        String prefix = "";
        for (String p : raw) {
            if (Units.of(p) == 0) {
                if (merged.isEmpty()) {
                    prefix += p;
                } else {
                    merged.set(merged.size() - 1, merged.getLast() + p);
                }
            } else {
                merged.add(prefix + p);
                prefix = "";
            }
        }
        List<String> out = new ArrayList<>();
        for (String p : merged) {
            String t = p.strip();
            if (!t.isEmpty()) {
                out.add(t);
            }
        }
        if (out.isEmpty() && !prefix.isBlank()) {
            out.add(prefix.strip());
        }
        return out;
    }

    private static void pack(String text, int level, int max, List<String> out) {
        int total = Units.of(text);
        if (total <= max) {
            out.add(text);
            return;
        }
        List<String> parts = switch (level) {
            case 0 -> cutAfter(text, true);
            case 1 -> cutAfter(text, false);
            default -> unitParts(text);
        };
        if (parts.size() <= 1 && level < 2) {
            pack(text, level + 1, max, out);
            return;
        }
        if (level > 0) {
            // words or characters: pieces of even length rather than full ones and a short rest
            int count = (total + max - 1) / max;
            max = (total + count - 1) / count;
        }
        StringBuilder cur = new StringBuilder();
        int units = 0;
        for (String p : parts) {
            int u = Units.of(p);
            if (u > max) {
                if (!cur.isEmpty()) {
                    out.add(cur.toString());
                    cur.setLength(0);
                    units = 0;
                }
                pack(p, level + 1, max, out);
            } else if (units + u <= max) {
                cur.append(p);
                units += u;
            } else {
                out.add(cur.toString());
                cur.setLength(0);
                cur.append(p);
                units = u;
            }
        }
        if (!cur.isEmpty()) {
            out.add(cur.toString());
        }
    }

    /** Cuts after clause punctuation (and the closers and spaces after it), or after whitespace. */
    private static List<String> cutAfter(String s, boolean clauses) {
        List<String> parts = new ArrayList<>();
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
            boolean cut = clauses
                    ? Chars.isPause(c) && !((c == ',' || c == ':') && i > 0 && i + 1 < n
                            && Chars.isAsciiDigit(s.charAt(i - 1)) && Chars.isAsciiDigit(s.charAt(i + 1)))
                    : Chars.isSpace(c);
            i++;
            if (cut) {
                while (i < n && (Chars.isSpace(s.charAt(i)) || clauses && Chars.isCloser(s.charAt(i)))) {
                    i++;
                }
                parts.add(s.substring(start, i));
                start = i;
            }
        }
        if (start < n) {
            parts.add(s.substring(start));
        }
        return parts;
    }

    /** One part per unit (a CJK character or a word), with the punctuation and markers after it. */
    private static List<String> unitParts(String s) {
        List<String> parts = new ArrayList<>();
        int n = s.length();
        int start = 0;
        boolean seenUnit = false;
        boolean inWord = false;
        int i = 0;
        while (i < n) {
            char c = s.charAt(i);
            if (c == '[' || c == '<') {
                int e = Markers.end(s, i);
                if (e > 0) {
                    i = e;
                    inWord = false;
                    continue;
                }
            }
            int cp = s.codePointAt(i);
            boolean unitStart;
            if (Chars.isCjk(cp)) {
                unitStart = true;
                inWord = false;
            } else if (Character.isLetter(cp)) {
                unitStart = !inWord;
                inWord = true;
            } else {
                boolean apostrophe = inWord && (cp == '\'' || cp == 0x2019) && i + 1 < n && Character.isLetter(s.charAt(i + 1));
                int type = Character.getType(cp);
                boolean mark = type == Character.NON_SPACING_MARK || type == Character.COMBINING_SPACING_MARK;
                inWord = inWord && (apostrophe || mark);
                unitStart = false;
            }
            if (unitStart) {
                if (seenUnit) {
                    parts.add(s.substring(start, i));
                    start = i;
                }
                seenUnit = true;
            }
            i += Character.charCount(cp);
        }
        parts.add(s.substring(start));
        return parts;
    }
}
