package io.cosyvoice.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cosyvoice.synthesis.SynthesisMode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * The reference pipeline's golden files (models/reference/golden/, see its README) for tests: the
 * committed tiny twin they were written from, the prompt voice, and one {@link Case} per synthesis
 * case. Paths are relative to the project root, the tests' working directory.
 */
final class Goldens {

    static final Path TINY = Path.of("models/random/tiny");
    static final Path DIR = Path.of("models/reference/golden");

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, SynthesisMode> MODES = Map.of(
            "zero_shot", SynthesisMode.ZERO_SHOT,
            "cross_lingual", SynthesisMode.CROSS_LINGUAL,
            "instruct", SynthesisMode.INSTRUCT);

    private Goldens() {}

    /**
     * The reference voice, already aligned: {@code promptMelFrames() == 2 * speechTokens().length}.
     *
     * @param speechTokens     the aligned prompt tokens (what every case's flow and zero-shot LLM use)
     * @param promptText       its transcript
     * @param promptTextTokens the transcript's token ids
     */
    record Prompt(long[] speechTokens, String promptText, long[] promptTextTokens, int promptMelFrames) {

        static Path dir() {
            return DIR.resolve("prompt");
        }

        /** {@code [2n, 80]} prompt mel. */
        static Path promptMel() {
            return dir().resolve("prompt_mel.npy");
        }

        /** {@code [192]} speaker embedding. */
        static Path speakerEmbedding() {
            return dir().resolve("speaker_embedding.npy");
        }
    }

    /** One synthesis case: {@code inputs} and {@code outputs} of its {@code case.json}. */
    record Case(String name, SynthesisMode mode, String text, String promptText, String instructText, long seed,
            boolean stream, double speed, long[] textTokens, long[] promptTextTokens, int[] speechTokens,
            int[] chunkSamples, int audioSamples, int melFrames, double rms) {

        Path dir() {
            return DIR.resolve(name);
        }

        /** The concatenated audio chunks, 24 kHz. */
        Path audio() {
            return dir().resolve("audio.npy");
        }

        /** {@code [80, 2 × tokens]} generated mel before any speed change (non-streaming cases only). */
        Path mel() {
            return dir().resolve("mel.npy");
        }

        @Override
        public String toString() {
            return name;
        }
    }

    static Prompt prompt() {
        JsonNode json = read(Prompt.dir().resolve("speech_tokens.json"));
        long[] tokens = longs(json.get("speech_tokens"));
        return new Prompt(tokens, json.get("prompt_text").asText(), longs(json.get("prompt_text_tokens")),
                2 * tokens.length);
    }

    /** Every case, in name order. */
    static List<Case> cases() {
        try (Stream<Path> dirs = Files.list(DIR)) {
            List<Case> cases = new ArrayList<>();
            for (Path dir : dirs.filter(d -> Files.isRegularFile(d.resolve("case.json"))).sorted().toList()) {
                cases.add(parse(dir.getFileName().toString(), read(dir.resolve("case.json"))));
            }
            return cases;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Case get(String name) {
        return cases().stream().filter(c -> c.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no golden case " + name));
    }

    /** {@code tolerances.json}: "exact" or a number, by quantity. */
    static JsonNode tolerances() {
        return read(DIR.resolve("tolerances.json"));
    }

    /** A golden {@code .npy} array, whole, on the heap. */
    static float[] array(Path npy) {
        try {
            return NpyFile.map(npy).toArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Case parse(String name, JsonNode json) {
        JsonNode in = json.get("inputs");
        JsonNode out = json.get("outputs");
        SynthesisMode mode = MODES.get(in.get("mode").asText());
        if (mode == null) {
            throw new IllegalStateException(name + ": unknown mode " + in.get("mode"));
        }
        return new Case(name, mode, in.get("text").asText(), in.get("prompt_text").asText(),
                in.get("instruct_text").asText(), in.get("seed").asLong(), in.get("stream").asBoolean(),
                in.get("speed").asDouble(), longs(out.get("text_tokens")), longs(out.get("prompt_text_tokens")),
                ints(out.get("speech_tokens")), ints(out.get("chunk_samples")), out.get("audio_samples").asInt(),
                out.get("mel_frames").asInt(), out.get("rms").asDouble());
    }

    private static JsonNode read(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static long[] longs(JsonNode array) {
        return StreamSupport.stream(array.spliterator(), false).mapToLong(JsonNode::asLong).toArray();
    }

    private static int[] ints(JsonNode array) {
        return StreamSupport.stream(array.spliterator(), false).mapToInt(JsonNode::asInt).toArray();
    }
}
