package io.cosyvoice.api;

import io.cosyvoice.support.TestServer;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static io.cosyvoice.api.ReferenceAudioApiTest.assertError;
import static io.cosyvoice.api.SpeechSocketTest.waitUntil;
import static io.cosyvoice.api.SpeechTestSupport.body;
import static io.cosyvoice.api.SpeechTestSupport.events;
import static io.cosyvoice.api.SpeechTestSupport.input;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A backend that accepts a job and then falls silent: the client gets a clear error, never a hang. */
class BackendStallTest {

    private static TestServer server;
    private static String voice;

    @BeforeAll
    static void start() {
        Map<String, String> env = new HashMap<>(TestServer.defaults());
        env.put("COSYVOICE_SYNTHESIS_STALL_TIMEOUT", "1s");
        server = TestServer.start(env);
        voice = SpeechTestSupport.uploadVoice(server);
        server.backend().stall = true;
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void nonStreamingFailsWith503AndCancelsTheJob() throws Exception {
        int cancelled = server.backend().cancelled.get();
        long start = System.nanoTime();
        HttpResponse<Buffer> response = server.speech(body(input("fast_replication", "你好。", voice), false));
        assertError(response, 503, "ServiceUnavailable", "stopped responding");
        assertTrue(System.nanoTime() - start < 10_000_000_000L, "bounded by the stall timeout");
        waitUntil(() -> server.backend().cancelled.get() > cancelled);
    }

    @Test
    void streamingEndsWithAnErrorEvent() {
        HttpResponse<Buffer> response = server.speech(body(input("fast_replication", "你好。", voice), true));
        assertEquals(200, response.statusCode());
        List<JsonObject> events = events(response.bodyAsString());
        JsonObject last = events.getLast();
        assertEquals("error", last.getJsonObject("output").getString("finish_reason"));
        assertEquals("ServiceUnavailable", last.getJsonObject("error").getString("code"));
    }
}
