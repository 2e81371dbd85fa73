package io.cosyvoice.engine;

import java.util.Arrays;

/**
 * What the flow takes from the reference voice, already aligned (models/README.md, "Prompt
 * alignment"): {@code n} speech tokens, the raw speaker embedding, and {@code 2n} prompt mel frames.
 * Immutable (arrays are copied in and out), so one prompt may serve any number of requests.
 *
 * @param tokens    prompt speech tokens, each in {@code [0, 6561)}
 * @param embedding speaker embedding as campplus gives it ({@code spk_embed_dim} values)
 * @param mel       prompt mel frames-major, {@code [frames, mel_bins]} (the layout of prompt_mel.npy)
 */
record FlowPrompt(long[] tokens, float[] embedding, float[] mel) {

    FlowPrompt {
        tokens = tokens.clone();
        embedding = embedding.clone();
        mel = mel.clone();
    }

    @Override
    public long[] tokens() {
        return tokens.clone();
    }

    @Override
    public float[] embedding() {
        return embedding.clone();
    }

    @Override
    public float[] mel() {
        return mel.clone();
    }

    int tokenCount() {
        return tokens.length;
    }

    /** Reads without copying, for the flow's own inputs. */
    long token(int i) {
        return tokens[i];
    }

    float[] embeddingView() {
        return embedding;
    }

    float[] melView() {
        return mel;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FlowPrompt p && Arrays.equals(tokens, p.tokens) && Arrays.equals(embedding, p.embedding)
                && Arrays.equals(mel, p.mel);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Arrays.hashCode(tokens) + Arrays.hashCode(embedding)) + Arrays.hashCode(mel);
    }

    @Override
    public String toString() {
        return "FlowPrompt[" + tokens.length + " tokens, " + embedding.length + "-dim embedding, " + mel.length + " mel values]";
    }
}
