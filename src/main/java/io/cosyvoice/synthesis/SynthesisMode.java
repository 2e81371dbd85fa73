package io.cosyvoice.synthesis;

import java.util.Arrays;
import java.util.Optional;

/** The three ways CosyVoice2 uses a reference voice, with their API names. */
public enum SynthesisMode {
    /** Zero-shot: the model continues the reference's text and speech tokens. */
    ZERO_SHOT("fast_replication"),
    /** Cross-lingual: the model hears the voice but not the reference's text. */
    CROSS_LINGUAL("cross_lingual_replication"),
    /** Instruct: a natural-language instruction (dialect, emotion, pace) steers the voice. */
    INSTRUCT("natural_language_replication");

    private final String apiName;

    SynthesisMode(String apiName) {
        this.apiName = apiName;
    }

    public String apiName() {
        return apiName;
    }

    public static Optional<SynthesisMode> fromApiName(String name) {
        return Arrays.stream(values()).filter(m -> m.apiName.equals(name)).findFirst();
    }
}
