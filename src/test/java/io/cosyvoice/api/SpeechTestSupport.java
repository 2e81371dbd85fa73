package io.cosyvoice.api;

import io.cosyvoice.audio.AudioDecoder;
import io.cosyvoice.audio.AudioHint;
import io.cosyvoice.audio.DecodedAudio;
import io.cosyvoice.audio.TestAudio;
import io.cosyvoice.support.TestServer;
import io.vertx.core.json.JsonObject;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.OptionalInt;

/** Request bodies, SSE parsing and audio checks shared by the speech API tests. */
final class SpeechTestSupport {

    static final String TEXT = "北京, 你好, 收到好友从远方寄来的生日礼物,那份意外的惊喜与深深的祝福让我心中充满了甜蜜的快乐,笑容如花儿般绽放。";

    private SpeechTestSupport() {
    }

    static String uploadVoice(TestServer server) {
        return server.uploadOk("voice.wav", TestAudio.wav16(2.0, 16000), "希望你以后能够做得比我还好哟").getString("id");
    }

    static JsonObject input(String mode, String text, String voiceId) {
        JsonObject input = new JsonObject().put("mode", mode).put("reference_audio_id", voiceId).put("text", text);
        if ("natural_language_replication".equals(mode)) {
            input.put("instruct", "用四川话说");
        }
        return input;
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
