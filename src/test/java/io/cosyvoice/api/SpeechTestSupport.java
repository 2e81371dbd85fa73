package io.cosyvoice.api;

import io.cosyvoice.audio.AudioDecoder;
import io.cosyvoice.audio.AudioHint;
import io.cosyvoice.audio.DecodedAudio;
import io.cosyvoice.audio.TestAudio;
import io.cosyvoice.engine.NpyFile;
import io.cosyvoice.support.TestServer;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.OptionalInt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Request bodies, SSE parsing and audio checks shared by the speech API tests. */
final class SpeechTestSupport {

    static final Path GOLDEN = Path.of("models/reference/golden");
    static final Path PROMPT = Path.of("models/reference/prompt.wav");
    static final String PROMPT_TEXT = "希望你以后能够做得比我还好哟。";
    static final String TEXT = "北京, 你好, 收到好友从远方寄来的生日礼物,那份意外的惊喜与深深的祝福让我心中充满了甜蜜的快乐,笑容如花儿般绽放。";

    private SpeechTestSupport() {
    }

    static String uploadVoice(TestServer server) {
        return server.uploadOk("voice.wav", TestAudio.wav16(2.0, 16000), "希望你以后能够做得比我还好哟").getString("id");
    }

    /** Uploads the reference pipeline's prompt (models/reference/prompt.wav) with its text; returns its id. */
    static String uploadPromptVoice(TestServer server) {
        try {
            return server.uploadOk("prompt.wav", Files.readAllBytes(PROMPT), PROMPT_TEXT).getString("id");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The golden zero-shot case through {@code POST /api/v1/audio/speech} (WAV at 24 kHz, volume 1) gives
     * the reference pipeline's audio within the goldens' tolerance.
     */
    static void assertSpeaksTheZeroShotGolden(TestServer server, String voice) throws Exception {
        JsonObject inputs = new JsonObject(Files.readString(GOLDEN.resolve("zero_shot/case.json"))).getJsonObject("inputs");
        JsonObject input = input("fast_replication", inputs.getString("text"), voice).put("seed", inputs.getLong("seed"))
                .put("output_format", "wav");
        HttpResponse<Buffer> response = server.speech(body(input, false));
        assertEquals(200, response.statusCode(), response.bodyAsString());
        DecodedAudio audio = decode(audio(List.of(response.bodyAsJsonObject())), "wav", 24000);
        float[] expected = NpyFile.map(GOLDEN.resolve("zero_shot/audio.npy")).toArray();
        assertEquals(expected.length, audio.samples().length, "sample count");
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(expected[i] - audio.samples()[i]));
        }
        // the goldens' 5e-3, plus 16-bit quantisation of the WAV
        assertTrue(worst < 5e-3 + 2.0 / 32768, "max abs difference " + worst);
    }

    static JsonObject input(String mode, String text, String voiceId) {
        JsonObject input = new JsonObject().put("mode", mode).put("reference_audio_id", voiceId).put("text", text);
        if ("natural_language_replication".equals(mode)) {
            input.put("instruct", "用四川话说");
        }
        return input;
    }

    /** A fast-replication input in WAV with a seed: the same seed and text give the same audio. */
    static JsonObject seededWav(String voiceId, String text, long seed) {
        return input("fast_replication", text, voiceId).put("seed", seed).put("output_format", "wav");
    }

    static JsonObject body(JsonObject input, boolean stream) {
        return new JsonObject().put("model", "CosyVoice2-0.5B").put("input", input).put("stream", stream);
    }

    /** The JSON of every {@code data:} event of an SSE body, in order. */
    static List<JsonObject> events(String body) {
        List<JsonObject> events = new ArrayList<>();
        for (String block : body.split("\n\n")) {
            if (block.startsWith("data: ")) {
                events.add(new JsonObject(block.substring(6)));
            } else if (!block.isBlank()) {
                throw new AssertionError("not an SSE data event: " + block);
            }
        }
        return events;
    }

    /** The concatenated audio of SSE events (or one non-streaming body). */
    static byte[] audio(List<JsonObject> events) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (JsonObject event : events) {
            JsonObject audio = event.getJsonObject("output").getJsonObject("audio");
            if (audio != null) {
                out.writeBytes(Base64.getDecoder().decode(audio.getString("data")));
            }
        }
        return out.toByteArray();
    }

    static DecodedAudio decode(byte[] bytes, String format, int sampleRate) throws Exception {
        AudioHint hint = "pcm".equals(format) ? new AudioHint("out.pcm", "audio/pcm", OptionalInt.of(sampleRate)) : AudioHint.none();
        return AudioDecoder.decode(bytes, hint);
    }

    /** Seconds of audio the test backend makes for a text, before speed. */
    static double expectedSeconds(String text) {
        return io.cosyvoice.synthesis.FakeSynthesisBackend.secondsFor(TextPreparation.sentences(text, "text"));
    }

    static double rms(float[] samples) {
        double sum = 0;
        for (float s : samples) {
            sum += s * s;
        }
        return Math.sqrt(sum / Math.max(1, samples.length));
    }
}
