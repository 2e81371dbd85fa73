package io.cosyvoice.api;

import io.cosyvoice.audio.DecodedAudio;
import io.cosyvoice.support.TestServer;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static io.cosyvoice.api.SpeechTestSupport.audio;
import static io.cosyvoice.api.SpeechTestSupport.body;
import static io.cosyvoice.api.SpeechTestSupport.decode;
import static io.cosyvoice.api.SpeechTestSupport.events;
import static io.cosyvoice.api.SpeechTestSupport.rms;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The real engine on the committed quantised tiny twin ({@code models/random/tiny-int4}, written by
 * models/quantize.py): ONNX Runtime runs its MatMulNBits LLM, and a request speaks, streamed or not.
 */
class QuantizedEngineApiTest {

    static final Path TINY_INT4 = Path.of("models/random/tiny-int4");

    private static TestServer server;
    private static String voice;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.withEngine(Map.of("COSYVOICE_MODEL_DIR", TINY_INT4.toString()));
        voice = SpeechTestSupport.uploadPromptVoice(server);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static JsonObject input(String text, long seed) {
        return SpeechTestSupport.seededWav(voice, text, seed);
    }

    @Test
    void readinessNamesTheQuantisedModel() throws Exception {
        JsonObject model = server.get("/health/ready").bodyAsJsonObject().getJsonObject("components").getJsonObject("model");
        String version = new JsonObject(Files.readString(TINY_INT4.resolve("model.json"))).getJsonObject("model").getString("version");
        assertEquals("UP", model.getString("status"), model.encode());
        assertEquals("random-tiny llm-int4 " + version, model.getString("description"));
    }

    @Test
    void aRequestSpeaksAndLongerTextGivesLongerAudio() throws Exception {
        HttpResponse<Buffer> shortResponse = server.speech(body(input("你好，欢迎使用。", 7), false));
        assertEquals(200, shortResponse.statusCode(), shortResponse.bodyAsString());
        DecodedAudio shortAudio = decode(audio(List.of(shortResponse.bodyAsJsonObject())), "wav", 24000);
        assertTrue(shortAudio.durationSeconds() > 0.5, shortAudio.durationSeconds() + " s");
        assertTrue(rms(shortAudio.samples()) > 0.005, "not silent");

        HttpResponse<Buffer> longResponse = server.speech(body(input(
                "你好，欢迎使用。这是一段更长的文字，用来检查更长的文本会得到更长的语音输出。", 7), true));
        assertEquals(200, longResponse.statusCode(), longResponse.bodyAsString());
        List<JsonObject> chunks = events(longResponse.bodyAsString());
        assertTrue(chunks.stream().filter(e -> e.getJsonObject("output").getJsonObject("audio") != null).count() >= 2,
                chunks.size() + " events");
        DecodedAudio longAudio = decode(audio(chunks), "wav", 24000);
        assertTrue(longAudio.durationSeconds() > 1.5 * shortAudio.durationSeconds(),
                longAudio.durationSeconds() + " s vs " + shortAudio.durationSeconds() + " s");
        assertTrue(rms(longAudio.samples()) > 0.005, "not silent");
    }
}
