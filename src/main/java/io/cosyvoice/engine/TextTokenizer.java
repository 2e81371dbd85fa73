package io.cosyvoice.engine;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * The model's {@code tokenizer.json} (Qwen2 byte-level BPE plus CosyVoice2's special tokens) through
 * DJL's binding of Hugging Face tokenizers. Text is encoded as the reference does
 * ({@code encode(text, add_special_tokens=False)}): nothing added around it, no truncation, no
 * padding, and special tokens written in the text (e.g. {@code <|endofprompt|>}) are recognised.
 *
 * <p>{@link #encode} is safe to call from several threads; {@link #close} must come after the last
 * call.
 */
final class TextTokenizer implements AutoCloseable {

    static {
        // DJL picks a CUDA build of the native library when it sees a GPU and downloads it; tokenizing
        // is CPU work, and the CPU build ships inside the jar, so a server never needs the network.
        // (DJL extracts the library to DJL_CACHE_DIR, else ~/.djl.ai, else java.io.tmpdir/.djl.ai.)
        if (System.getenv("RUST_FLAVOR") == null && System.getProperty("RUST_FLAVOR") == null) {
            System.setProperty("RUST_FLAVOR", "cpu");
        }
    }

    private static final Map<String, String> OPTIONS = Map.of(
            "addSpecialTokens", "false",
            "truncation", "false",
            "padding", "false",
            "addPrefixSpace", "false",
            "stripAccents", "false",
            "doLowerCase", "false");

    private final HuggingFaceTokenizer tokenizer;

    private TextTokenizer(HuggingFaceTokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    static TextTokenizer open(ModelDirectory model) throws ModelException {
        return open(model.file("tokenizer.json"));
    }

    static TextTokenizer open(Path tokenizerJson) throws ModelException {
        try {
            return new TextTokenizer(HuggingFaceTokenizer.newInstance(tokenizerJson, OPTIONS));
        } catch (IOException | RuntimeException | UnsatisfiedLinkError e) {
            throw new ModelException(tokenizerJson + ": cannot load the tokenizer: " + e.getMessage(), e);
        }
    }

    /** The token ids of {@code text}; an empty text has none. */
    long[] encode(String text) {
        if (text.isEmpty()) {
            return new long[0];
        }
        return tokenizer.encode(text, false, false).getIds();
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
