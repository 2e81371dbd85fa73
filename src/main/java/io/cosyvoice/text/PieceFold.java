package io.cosyvoice.text;

import java.util.ArrayList;
import java.util.List;

/**
 * Merges sentence pieces left to right: a piece under {@link SentenceSplitter#MIN_LENGTH} units
 * takes the following piece when both fit in the limit, except the first piece, which goes out at
 * once; pieces of no units (markers, punctuation) join the next piece, or the last one at the end.
 * A piece goes out as soon as no later piece can change it, so the same fold serves streaming.
 */
final class PieceFold {

    private final int max;
    private String pending;
    private int pendingUnits;
    private String carry;
    private boolean emitted;

    PieceFold(int max) {
        this.max = max;
    }

    /** Takes the next piece; returns the pieces that are now final. */
    List<String> accept(String piece) {
        int units = Units.of(piece);
        if (units == 0) {
            carry = carry == null ? piece : join(carry, piece);
            return List.of();
        }
        if (carry != null) {
            piece = join(carry, piece);
            carry = null;
        }
        List<String> out = new ArrayList<>(2);
        if (pending == null) {
            pending = piece;
            pendingUnits = units;
        } else if (pendingUnits + units <= max) {
            pending = join(pending, piece);
            pendingUnits += units;
        } else {
            out.add(pending);
            pending = piece;
            pendingUnits = units;
        }
        if (!emitted || pendingUnits >= SentenceSplitter.MIN_LENGTH) {
            out.add(pending);
            pending = null;
        }
        if (!out.isEmpty()) {
            emitted = true;
        }
        return out;
    }

    /** The held piece, if any, with any trailing unit-less pieces. */
    List<String> finish() {
        if (pending == null) {
            return List.of();
        }
        String last = carry == null ? pending : join(pending, carry);
        pending = null;
        carry = null;
        emitted = true;
        return List.of(last);
    }

    /** Unit-less pieces at the very end that no held piece could take (after {@link #finish}). */
    String orphan() {
        String o = carry;
        carry = null;
        return o;
    }

    int pendingCharacters() {
        return (pending == null ? 0 : pending.length()) + (carry == null ? 0 : carry.length());
    }

    /** Joins two pieces: directly next to CJK text, else with one space. */
    static String join(String a, String b) {
        if (a.isEmpty() || b.isEmpty()) {
            return a + b;
        }
        int last = a.codePointBefore(a.length());
        int first = b.codePointAt(0);
        return Chars.isCjkAny(last) || Chars.isCjkAny(first) ? a + b : a + " " + b;
    }
}
