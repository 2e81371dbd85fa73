package io.cosyvoice.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.StreamSupport;

/** The reference pipeline's golden files (models/reference/golden) as the token-to-speech tests read them. */
final class FlowGoldens {

    static final Path TINY = Path.of("models/random/tiny");
    static final Path DIR = Path.of("models/reference/golden");
    static final List<String> CASES = List.of("zero_shot", "zero_shot_stream", "cross_lingual", "cross_lingual_stream",
            "instruct", "instruct_stream", "zero_shot_speed1.5", "zero_shot_long_stream");

    /** One synthesis case: its inputs, the tokens the LLM generated, and what the pipeline made of them. */
    record Case(String name, long seed, boolean stream, double speed, int[] speechTokens, int[] chunkSamples,
            float[] audio, float[] mel) {}

    private FlowGoldens() {}

    static FlowPrompt prompt() {
        try {
            JsonNode json = new ObjectMapper().readTree(DIR.resolve("prompt/speech_tokens.json").toFile());
            long[] tokens = StreamSupport.stream(json.get("speech_tokens").spliterator(), false)
                    .mapToLong(JsonNode::asLong).toArray();
            return new FlowPrompt(tokens, array("prompt/speaker_embedding.npy"), array("prompt/prompt_mel.npy"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Case load(String name) {
        try {
            Path dir = DIR.resolve(name);
            JsonNode json = new ObjectMapper().readTree(dir.resolve("case.json").toFile());
            JsonNode in = json.get("inputs");
            JsonNode out = json.get("outputs");
            Path mel = dir.resolve("mel.npy");
            return new Case(name, in.get("seed").asLong(), in.get("stream").asBoolean(), in.get("speed").asDouble(),
                    ints(out.get("speech_tokens")), ints(out.get("chunk_samples")), array(name + "/audio.npy"),
                    Files.exists(mel) ? array(name + "/mel.npy") : null);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int[] ints(JsonNode node) {
        return StreamSupport.stream(node.spliterator(), false).mapToInt(JsonNode::asInt).toArray();
    }

    private static float[] array(String file) throws IOException {
        return NpyFile.map(DIR.resolve(file)).toArray();
    }
}
