package io.cosyvoice.api;

import static io.cosyvoice.api.SpeechTestSupport.audio;
import static io.cosyvoice.api.SpeechTestSupport.body;
import static io.cosyvoice.api.SpeechTestSupport.decode;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cosyvoice.audio.DecodedAudio;
import io.cosyvoice.engine.NpyFile;
import io.cosyvoice.support.TestServer;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The server with {@code COSYVOICE_ENGINE_KV_BINDING=iobinding} (the batcher's KV cache in the C
 * API session's memory): it speaks the reference pipeline's golden audio, and concurrent requests
 * that share LLM steps sound as they do alone.
 */
class IoBindingEngineApiTest {

    private static TestServer server;
    private static String voice;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.withEngine(Map.of("COSYVOICE_ENGINE_KV_BINDING", "iobinding"));
        voice = server.uploadOk("prompt.wav", Files.readAllBytes(Path.of("models/reference/prompt.wav")), EngineApiTest.PROMPT_TEXT)
                .getString("id");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static JsonObject input(String text, long seed) {
        return new JsonObject().put("mode", "fast_replication").put("reference_audio_id", voice).put("text", text)
                .put("seed", seed).put("output_format", "wav");
    }

    @Test
    void zeroShotReproducesTheGoldenAudio() throws Exception {
        JsonObject inputs = new JsonObject(Files.readString(EngineApiTest.GOLDEN.resolve("zero_shot/case.json"))).getJsonObject("inputs");
        HttpResponse<Buffer> response = server.speech(body(input(inputs.getString("text"), inputs.getLong("seed")), false));
        assertEquals(200, response.statusCode(), response.bodyAsString());
        DecodedAudio audio = decode(audio(List.of(response.bodyAsJsonObject())), "wav", 24000);
        float[] expected = NpyFile.map(EngineApiTest.GOLDEN.resolve("zero_shot/audio.npy")).toArray();
        assertEquals(expected.length, audio.samples().length, "sample count");
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(expected[i] - audio.samples()[i]));
        }
        // the goldens' 5e-3, plus 16-bit quantisation of the WAV
        assertTrue(worst < 5e-3 + 2.0 / 32768, "max abs difference " + worst);
    }

    @Test
    void concurrentRequestsSoundAsTheyDoAlone() throws Exception {
        String text = "今天天气很好，我们一起去公园散步吧。";
        int n = 4;
        List<String> alone = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            alone.add(data(server.speech(body(input(text, 200 + i), false))));
        }
        List<Future<HttpResponse<Buffer>>> together = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            together.add(server.request(HttpMethod.POST, "/api/v1/audio/speech").sendJsonObject(body(input(text, 200 + i), false)));
        }
        for (int i = 0; i < n; i++) {
            assertArrayEquals(alone.get(i).getBytes(), data(together.get(i).await()).getBytes(), "request " + i);
        }
    }

    private static String data(HttpResponse<Buffer> response) {
        assertEquals(200, response.statusCode(), response.bodyAsString());
        return response.bodyAsJsonObject().getJsonObject("output").getJsonObject("audio").getString("data");
    }
}
