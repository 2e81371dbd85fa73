package io.cosyvoice.api;

import static io.cosyvoice.api.SpeechTestSupport.audio;
import static io.cosyvoice.api.SpeechTestSupport.body;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.cosyvoice.support.TestServer;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
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
    void zeroShotReproducesTheGoldenAudio() throws Exception {
        SpeechTestSupport.assertSpeaksTheZeroShotGolden(server, voice);
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
