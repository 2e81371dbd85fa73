package io.cosyvoice.text;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Sentence splitting for text that arrives in fragments (the WebSocket duplex protocol). Text is
 * buffered until a sentence end is certain: right away for a newline, once anything follows 。！？
 * !?；;… (more end punctuation, a closing quote or a marker could still belong to the sentence),
 * and for a {@code .} once a non-space character follows (it could be a decimal point, "No. 5").
 * Only complete sentences are normalised, never half a number.
 *
 * <p>What {@link #push} and {@link #finish} return, taken together, is what
 * {@code SentenceSplitter.split(TextNormalizer.normalize(allText), maxLength)} returns, with two
 * exceptions: a number with no letter around it in its sentence is read in the majority language of
 * the text received so far rather than of the whole text; and markers alone at the very end, after
 * the last piece went out, come as a piece of their own (punctuation alone there is dropped), where
 * {@code split} appends them to its last piece.
 *
 * <p>Not thread-safe. After {@link #finish} the splitter is empty and can take a new text.
 */
public final class IncrementalSplitter {

    private final int maxLength;
    private final Lang fixedLanguage;
    private final StringBuilder buffer = new StringBuilder();
    private int resume;
    private PieceFold fold;
    private int cjkSeen;
    private int wordsSeen;

    /**
     * @param maxLength the most units a piece may have, as for {@link SentenceSplitter#split}
     * @throws IllegalArgumentException if {@code maxLength} is under 1
     */
    public IncrementalSplitter(int maxLength) {
        this(maxLength, null);
    }

    /** As the public constructor, with the fallback language fixed (null: as received so far). */
    IncrementalSplitter(int maxLength, Lang fixedLanguage) {
        SentenceSplitter.checkMaxLength(maxLength);
        this.maxLength = maxLength;
        this.fixedLanguage = fixedLanguage;
        this.fold = new PieceFold(maxLength);
    }

    /** Adds a fragment; returns the pieces (normalised) that are now certainly complete, in order. */
    public List<String> push(String fragment) {
        Objects.requireNonNull(fragment, "fragment");
        if (fragment.isEmpty()) {
            return List.of();
        }
        buffer.append(fragment);
        long scan = SentenceEnds.scan(buffer, resume);
        int cut = (int) (scan >>> 32);
        resume = (int) scan;
        if (cut == 0) {
            return List.of();
        }
        String chunk = buffer.substring(0, cut);
        buffer.delete(0, cut);
        resume -= cut;
        return pieces(chunk);
    }

    /** Ends the text: returns the remaining pieces, and empties the splitter. */
    public List<String> finish() {
        String rest = buffer.toString();
        buffer.setLength(0);
        resume = 0;
        List<String> out = new ArrayList<>(pieces(rest));
        out.addAll(fold.finish());
        String orphan = fold.orphan();
        if (orphan != null && Markers.contains(orphan)) {
            out.add(orphan); // nothing left to attach it to; punctuation alone is not worth synthesising
        }
        fold = new PieceFold(maxLength);
        cjkSeen = 0;
        wordsSeen = 0;
        return out;
    }

    /**
     * Characters received but not returned yet: the raw text after the last complete sentence, plus
     * a short normalised piece held back to be merged with the next one.
     */
    public int bufferedCharacters() {
        return buffer.length() + fold.pendingCharacters();
    }

    private List<String> pieces(String chunk) {
        if (chunk.isBlank()) {
            return List.of();
        }
        long inChunk = Units.count(chunk);
        long inBuffer = Units.count(buffer);
        cjkSeen += Units.cjk(inChunk);
        wordsSeen += Units.words(inChunk);
        Lang doc = fixedLanguage != null ? fixedLanguage
                : Lang.majority(cjkSeen + Units.cjk(inBuffer), wordsSeen + Units.words(inBuffer));
        String normalised = TextNormalizer.normalize(chunk, doc);
        List<String> out = new ArrayList<>();
        for (String atom : SentenceSplitter.atoms(normalised, maxLength)) {
            out.addAll(fold.accept(atom));
        }
        return out;
    }
}
