package io.cosyvoice.text;

import java.util.ArrayList;
import java.util.List;

/**
 * The model's special markers: {@code [breath]}, {@code [laughter]} and any {@code [lowercase_word]},
 * {@code <strong>} and {@code </strong>}, {@code <|endofprompt|>} and any {@code <|token|>}. They pass
 * through normalisation untouched (replaced by a placeholder character meanwhile) and are never cut.
 */
final class Markers {

    /** Stands for one marker while the text around it is normalised (a private-use character). */
    static final char PLACEHOLDER = '\uE000';

    private static final int MAX_LENGTH = 64;
    private static final String STRONG = "<strong>";
    private static final String STRONG_END = "</strong>";

    private Markers() {}

    /** The end of the marker that starts at {@code i}, or -1 when none starts there. */
    static int end(CharSequence s, int i) {
        int n = s.length();
        char c = s.charAt(i);
        if (c == '[') {
            int j = i + 1;
            if (j >= n || !isLower(s.charAt(j))) {
                return -1;
            }
            while (j < n && j - i < MAX_LENGTH && isTagChar(s.charAt(j))) {
                j++;
            }
            return j < n && s.charAt(j) == ']' ? j + 1 : -1;
        }
        if (c == '<') {
            if (startsWith(s, i, STRONG)) {
                return i + STRONG.length();
            }
            if (startsWith(s, i, STRONG_END)) {
                return i + STRONG_END.length();
            }
            if (i + 1 < n && s.charAt(i + 1) == '|') {
                int j = i + 2;
                while (j < n && j - i < MAX_LENGTH && isTokenChar(s.charAt(j))) {
                    j++;
                }
                if (j > i + 2 && j + 1 < n && s.charAt(j) == '|' && s.charAt(j + 1) == '>') {
                    return j + 2;
                }
            }
        }
        return -1;
    }

    /** True when the text from {@code i} to its end is an incomplete marker that more text may complete. */
    static boolean couldStart(CharSequence s, int i) {
        int n = s.length();
        int len = n - i;
        if (len <= 0 || len >= MAX_LENGTH) {
            return false;
        }
        char c = s.charAt(i);
        if (c == '[') {
            for (int j = i + 1; j < n; j++) {
                char d = s.charAt(j);
                if (j == i + 1 ? !isLower(d) : !isTagChar(d)) {
                    return false;
                }
            }
            return true;
        }
        if (c != '<') {
            return false;
        }
        if (isPrefix(s, i, STRONG) || isPrefix(s, i, STRONG_END)) {
            return true;
        }
        if (len == 1) {
            return true;
        }
        if (s.charAt(i + 1) != '|') {
            return false;
        }
        for (int j = i + 2; j < n; j++) {
            char d = s.charAt(j);
            if (!isTokenChar(d)) {
                return d == '|' && j == n - 1 && j > i + 2;
            }
        }
        return true;
    }

    /** True when the text holds a marker. */
    static boolean contains(CharSequence s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if ((c == '[' || c == '<') && end(s, i) > 0) {
                return true;
            }
        }
        return false;
    }

    /** True for {@code <strong>}, the one marker that belongs to the text after it. */
    static boolean isOpening(CharSequence s, int start, int end) {
        return end - start == STRONG.length() && startsWith(s, start, STRONG);
    }

    /** The text with every marker replaced by {@link #PLACEHOLDER}, and the markers in order. */
    static Protected protect(String text) {
        StringBuilder out = new StringBuilder(text.length());
        List<String> markers = new ArrayList<>();
        int n = text.length();
        int i = 0;
        while (i < n) {
            char c = text.charAt(i);
            if (c == '[' || c == '<') {
                int e = end(text, i);
                if (e > 0) {
                    markers.add(text.substring(i, e));
                    out.append(PLACEHOLDER);
                    i = e;
                    continue;
                }
            }
            if (c != PLACEHOLDER) {
                out.append(c);
            }
            i++;
        }
        return new Protected(out.toString(), List.copyOf(markers));
    }

    /** A protected text and the markers its placeholders stand for. */
    record Protected(String text, List<String> markers) {

        /** Puts the markers back, in order, in place of the placeholders of a normalised text. */
        String restore(String normalised) {
            if (markers.isEmpty()) {
                return normalised;
            }
            StringBuilder out = new StringBuilder(normalised.length() + markers.size() * 12);
            int next = 0;
            for (int i = 0; i < normalised.length(); i++) {
                char c = normalised.charAt(i);
                if (c == PLACEHOLDER) {
                    out.append(markers.get(next++));
                } else {
                    out.append(c);
                }
            }
            if (next != markers.size()) {
                throw new IllegalStateException("normalisation lost a marker");
            }
            return out.toString();
        }
    }

    private static boolean isLower(char c) {
        return c >= 'a' && c <= 'z';
    }

    private static boolean isTagChar(char c) {
        return isLower(c) || c >= '0' && c <= '9' || c == '_' || c == '-';
    }

    private static boolean isTokenChar(char c) {
        return Chars.isAsciiAlnum(c) || c == '_' || c == '-';
    }

    private static boolean startsWith(CharSequence s, int i, String prefix) {
        if (i + prefix.length() > s.length()) {
            return false;
        }
        for (int k = 0; k < prefix.length(); k++) {
            if (s.charAt(i + k) != prefix.charAt(k)) {
                return false;
            }
        }
        return true;
    }

    /** True when s[i..] is a proper prefix of {@code marker}. */
    private static boolean isPrefix(CharSequence s, int i, String marker) {
        int len = s.length() - i;
        if (len >= marker.length()) {
            return false;
        }
        for (int k = 0; k < len; k++) {
            if (s.charAt(i + k) != marker.charAt(k)) {
                return false;
            }
        }
        return true;
    }
}
