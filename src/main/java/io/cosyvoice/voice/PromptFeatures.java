package io.cosyvoice.voice;

/**
 * What the model needs of a voice, computed once from its reference audio by the model that will
 * use it: 25 Hz speech tokens, the speaker embedding and the 24 kHz prompt mel (frames × 80,
 * row-major), aligned to two mel frames per token. Tied to the model version that made it.
 */
public record PromptFeatures(String modelVersion, int[] speechTokens, float[] speakerEmbedding, float[] promptMel,
                             int promptMelFrames) {

    public PromptFeatures {
        if (promptMelFrames <= 0 || promptMel.length % promptMelFrames != 0) {
            throw new IllegalArgumentException("prompt mel of " + promptMel.length + " values is not "
                    + promptMelFrames + " whole frames");
        }
    }

    public int melBins() {
        return promptMel.length / promptMelFrames;
    }
}
