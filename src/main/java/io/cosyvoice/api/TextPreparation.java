package io.cosyvoice.api;

import io.cosyvoice.error.ServiceException;
import io.cosyvoice.text.SentenceSplitter;
import io.cosyvoice.text.TextNormalizer;

import java.util.List;

/** Normalised, sentence-split text for the backend. */
final class TextPreparation {

    private TextPreparation() {
    }

    static List<String> sentences(String text, String field) {
        List<String> sentences = SentenceSplitter.split(TextNormalizer.normalize(text), SentenceSplitter.DEFAULT_MAX_LENGTH);
        if (sentences.isEmpty()) {
            throw ServiceException.invalid(field, "has nothing to speak");
        }
        return sentences;
    }
}
