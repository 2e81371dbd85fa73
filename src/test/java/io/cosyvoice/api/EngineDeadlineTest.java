package io.cosyvoice.api;

import io.cosyvoice.support.PrometheusText;
import io.cosyvoice.support.TestServer;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.cosyvoice.api.MetricsApiTest.scrapeUntil;
import static io.cosyvoice.api.ReferenceAudioApiTest.assertError;
import static io.cosyvoice.api.SpeechTestSupport.body;
import static io.cosyvoice.api.SpeechTestSupport.events;
import static io.cosyvoice.api.SpeechTestSupport.input;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code engine.deadline} on the real engine: a sentence that runs past it fails with 504
 * {@code DeadlineExceeded} (an error event on SSE), its batch slot and its worker are given back,
 * and the next request is served, not refused as if the engine were still busy.
 */
class EngineDeadlineTest {

    private TestServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    private String start(String deadline) throws Exception {
        // one worker and no queue: a job that kept its place after the deadline would make the next one 429
        server = TestServer.withEngine(Map.of("COSYVOICE_ENGINE_DEADLINE", deadline,
                "COSYVOICE_ENGINE_WORKERS", "1", "COSYVOICE_ENGINE_QUEUE_SIZE", "0"));
        return SpeechTestSupport.uploadPromptVoice(server);
    }

    @Test
    void aSentencePastTheDeadlineFailsWith504AndFreesItsPlace() throws Exception {
        String voice = start("1ms");
        for (int attempt = 0; attempt < 3; attempt++) {
            HttpResponse<Buffer> response = server.speech(body(input("fast_replication", "你好，欢迎使用。", voice), false));
            assertError(response, 504, "DeadlineExceeded", "engine.deadline");
        }
        PrometheusText idle = scrapeUntil(server, m -> m.value("cosyvoice_llm_slots_in_use") == 0);
        assertEquals(0, idle.value("cosyvoice_synthesis_queue_length"));
    }

    @Test
    void aStreamCutByTheDeadlineEndsWithAnErrorEventInBoundedTime() throws Exception {
        // instruct mode on the twin runs every sentence to its length limit: far longer than 1 s, which still
        // leaves a loaded machine time for the first chunk (a deadline before it is a 504, not a stream)
        String voice = start("1s");
        JsonObject request = input("natural_language_replication",
                "这是一段很长的文字，用来检查截止时间是否能够及时停止正在进行的合成，而不会让客户端一直等待下去。", voice)
                .put("instruct", "用四川话说");
        long started = System.nanoTime();
        HttpResponse<Buffer> response = server.speech(body(request, true));
        double seconds = (System.nanoTime() - started) / 1e9;
        assertEquals(200, response.statusCode(), response.bodyAsString());
        List<JsonObject> events = events(response.bodyAsString());
        JsonObject last = events.getLast();
        assertEquals("error", last.getJsonObject("output").getString("finish_reason"), last.encode());
        assertEquals("DeadlineExceeded", last.getJsonObject("error").getString("code"));
        assertTrue(seconds < 5, "the stream ended " + seconds + " s after it began");
        scrapeUntil(server, m -> m.value("cosyvoice_llm_slots_in_use") == 0);

        // the only worker is free again: the next request runs (whether it fits in 1 s depends on the machine)
        HttpResponse<Buffer> next = server.speech(body(input("cross_lingual_replication", "好。", voice), false));
        assertNotEquals(429, next.statusCode(), next.bodyAsString());
    }
}
