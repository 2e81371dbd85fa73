package io.cosyvoice.batching;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cosyvoice.engine.LlmGraph;
import io.cosyvoice.engine.LlmRequest;
import io.cosyvoice.synthesis.SynthesisMode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * The LLM side of the reference goldens (models/reference/golden/*&#47;case.json): what a request
 * feeds the LLM and the speech tokens it must draw. The engine's own Goldens helper is package-private.
 */
record GoldenCases(String name, SynthesisMode mode, long seed, long[] textTokens, long[] promptTextTokens,
        int[] speechTokens) {

    static final Path TINY = Path.of("models/random/tiny");
    static final Path DIR = Path.of("models/reference/golden");

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, SynthesisMode> MODES = Map.of("zero_shot", SynthesisMode.ZERO_SHOT,
            "cross_lingual", SynthesisMode.CROSS_LINGUAL, "instruct", SynthesisMode.INSTRUCT);
    private static final long[] PROMPT_SPEECH = longs(read(DIR.resolve("prompt/speech_tokens.json")).get("speech_tokens"));

    /** Every case, in name order. */
    static List<GoldenCases> all() {
        try (Stream<Path> dirs = Files.list(DIR)) {
            return dirs.filter(d -> Files.isRegularFile(d.resolve("case.json"))).sorted().map(d -> {
                JsonNode json = read(d.resolve("case.json"));
                JsonNode in = json.get("inputs");
                JsonNode out = json.get("outputs");
                return new GoldenCases(d.getFileName().toString(), MODES.get(in.get("mode").asText()), in.get("seed").asLong(),
                        longs(out.get("text_tokens")), longs(out.get("prompt_text_tokens")),
                        StreamSupport.stream(out.get("speech_tokens").spliterator(), false).mapToInt(JsonNode::asInt).toArray());
            }).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static GoldenCases get(String name) {
        return all().stream().filter(c -> c.name.equals(name)).findFirst().orElseThrow();
    }

    /** A fresh request for this case (the aligned prompt: 2 mel frames per prompt token). */
    LlmRequest request(LlmGraph graph) {
        return request(graph, seed);
    }

    LlmRequest request(LlmGraph graph, long withSeed) {
        return graph.request(mode, textTokens, promptTextTokens, PROMPT_SPEECH, 2 * PROMPT_SPEECH.length, withSeed);
    }

    @Override
    public String toString() {
        return name;
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
}
