package io.cosyvoice.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What every split must satisfy. */
final class SplitAssertions {

    static final Pattern MARKER = Pattern.compile("\\[[a-z][a-z0-9_-]*]|</?strong>|<\\|[A-Za-z0-9_-]+\\|>");

    private SplitAssertions() {}

    /**
     * Each piece at most {@code max} units (one unit with markers at worst), not blank, not only
     * markers or punctuation; together, whitespace aside, exactly the text; every marker whole.
     */
    static void assertValidSplit(String text, List<String> pieces, int max) {
        for (String p : pieces) {
            int units = Units.of(p);
            assertTrue(units <= max || units == 1, () -> "over " + max + " units (" + units + "): " + p);
            assertFalse(p.isBlank(), "blank piece");
            assertEquals(p.strip(), p, "untrimmed piece");
            if (pieces.size() > 1) {
                assertTrue(units > 0, () -> "a piece with nothing to say: " + p + " in " + pieces);
            }
        }
        assertEquals(squeeze(text), squeeze(String.join("", pieces)), "text lost, added or reordered");
        assertEquals(markers(text), markers(String.join(" ", pieces)), "markers cut or lost");
        for (String p : pieces) {
            String outside = MARKER.matcher(p).replaceAll("");
            assertFalse(outside.contains("<|") || outside.contains("</str") || outside.matches("(?s).*\\[[a-z_]+$"),
                    () -> "a marker was cut: " + p);
        }
    }

    static String squeeze(String s) {
        return s.replaceAll("\\s", "");
    }

    static List<String> markers(String s) {
        List<String> out = new ArrayList<>();
        Matcher m = MARKER.matcher(s);
        while (m.find()) {
            out.add(m.group());
        }
        return out;
    }
}
