package io.cosyvoice.text;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Splits normalised text into pieces the model synthesises one after another.
 *
 * <p>Length is measured in <b>units</b>: each CJK character (Han, kana, hangul) counts 1, each word
 * of letters counts 1, and digits, punctuation, whitespace and markers count 0.
 *
 * <ol>
 *   <li>Sentences end after 。！？!?；;… and newlines, and after a {@code .} that is followed by
 *       whitespace, the end or a character other than a letter, digit, comma or colon, and is
 *       neither a decimal point nor after an abbreviation (Mr. Mrs. Ms. Dr. Prof. St. Jan. vs. e.g.
 *       i.e. U.S., an initial, No. before a number) or a Chinese list number ("1. 苹果"). The end
 *       punctuation, and quotes, closing brackets and markers (but {@code <strong>}) right after it,
 *       stay with the sentence.
 *   <li>A sentence over {@code maxLength} units is cut at clause punctuation (，,、：:), then at
 *       spaces, and as a last resort between two units, each piece at most {@code maxLength} units.
 *   <li>A piece under {@value #MIN_LENGTH} units is merged with the following piece when the two fit
 *       in {@code maxLength}, except the first piece, which is never merged forward (a short first
 *       sentence streams sooner). A piece of no units (a marker alone, punctuation) joins the next
 *       piece, or the previous one at the end. Blank pieces are dropped.
 * </ol>
 *
 * Concatenated, the pieces give back the input but whitespace. A marker is never cut; a
 * {@code <strong>...</strong>} span that crosses a sentence end is split with it.
 */
public final class SentenceSplitter {

    /** About the length the model was trained on (the official frontend cuts at 60 to 80 tokens). */
    public static final int DEFAULT_MAX_LENGTH = 80;

    /** Pieces shorter than this many units are merged with the next one when they fit. */
    static final int MIN_LENGTH = 5;

    private SentenceSplitter() {}

    /**
     * The pieces of {@code text}, in order, each of at most {@code maxLength} units (a piece can only
     * be longer if it is a single unit with markers).
     *
     * @throws IllegalArgumentException if {@code maxLength} is under 1
     */
    public static List<String> split(String text, int maxLength) {
        Objects.requireNonNull(text, "text");
        checkMaxLength(maxLength);
        PieceFold fold = new PieceFold(maxLength);
        List<String> out = new ArrayList<>();
        for (String atom : atoms(text, maxLength)) {
            out.addAll(fold.accept(atom));
        }
        out.addAll(fold.finish());
        String orphan = fold.orphan();
        if (orphan != null) {
            if (out.isEmpty()) {
                out.add(orphan);
            } else {
                out.set(out.size() - 1, PieceFold.join(out.getLast(), orphan));
            }
        }
        return out;
    }

    /** Sentences, and the pieces of over-long ones, before merging; stripped, none blank. */
    static List<String> atoms(String text, int maxLength) {
        List<String> atoms = new ArrayList<>();
        for (String sentence : SentenceEnds.sentences(text)) {
            String s = sentence.strip();
            if (s.isEmpty()) {
                continue;
            }
            if (Units.of(s) <= maxLength) {
                atoms.add(s);
            } else {
                atoms.addAll(LongSentences.cut(s, maxLength));
            }
        }
        return atoms;
    }

    static void checkMaxLength(int maxLength) {
        if (maxLength < 1) {
            throw new IllegalArgumentException("maxLength must be at least 1: " + maxLength);
        }
    }
}
