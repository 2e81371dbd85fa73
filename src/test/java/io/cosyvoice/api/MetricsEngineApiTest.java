package io.cosyvoice.api;

import io.cosyvoice.support.PrometheusText;
import io.cosyvoice.support.TestServer;
import io.cosyvoice.text.IncrementalSplitter;
import io.cosyvoice.text.SentenceSplitter;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static io.cosyvoice.api.MetricsApiTest.continueTask;
import static io.cosyvoice.api.MetricsApiTest.event;
import static io.cosyvoice.api.MetricsApiTest.finishTask;
import static io.cosyvoice.api.MetricsApiTest.requests;
import static io.cosyvoice.api.MetricsApiTest.runTask;
import static io.cosyvoice.api.MetricsApiTest.scrape;
import static io.cosyvoice.api.MetricsApiTest.scrapeUntil;
import static io.cosyvoice.api.SpeechTestSupport.body;
import static io.cosyvoice.api.SpeechTestSupport.input;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The metrics with the real engine on the tiny twin, one worker and no queue: the engine's LLM
 * steps (batch 1 per job today), tokens, slots and queue, a 429 counted as rejected, and the time
 * to first chunk and real-time factor of real syntheses.
 */
class MetricsEngineApiTest {

    private static TestServer server;
    private static String voice;
    private static Vertx vertx;

    @BeforeAll
    static void start() throws Exception {
        // without the batcher every job is one LLM sequence stepping alone: its accounting is exact
        server = TestServer.withEngine(Map.of("COSYVOICE_ENGINE_WORKERS", "1", "COSYVOICE_ENGINE_QUEUE_SIZE", "0",
                "COSYVOICE_ENGINE_BATCHING", "false"));
        voice = SpeechTestSupport.uploadPromptVoice(server);
        vertx = Vertx.vertx();
    }

    @AfterAll
    static void stop() {
        vertx.close().await();
        server.close();
    }

    @Test
    void engineStepsTokensSlotsAndRequestsAreCounted() throws Exception {
        PrometheusText before = scrape(server);
        int sentences = 0;

        // a duplex task takes the only engine worker at run-task, and waits there for its text
        MetricsApiTest.Conn conn = MetricsApiTest.connect(server, vertx);
        String taskId = UUID.randomUUID().toString();
        conn.send(runTask(taskId, voice));
        assertEquals("task-started", event(conn.next()));
        PrometheusText busy = scrapeUntil(server, m -> m.value("cosyvoice_llm_slots_in_use") == 1);
        assertEquals(1, busy.value("cosyvoice_llm_slots_in_use"));
        assertEquals(0, busy.value("cosyvoice_synthesis_queue_length"));

        // so another request finds the engine full: 429, counted as rejected
        HttpResponse<Buffer> refused = server.speech(body(input("fast_replication", "你好。", voice), false));
        assertEquals(429, refused.statusCode(), refused.bodyAsString());

        String spoken = "你好，欢迎使用。";
        conn.send(continueTask(taskId, spoken));
        conn.send(finishTask(taskId));
        while (!event(conn.next()).equals("task-finished")) {
            // audio
        }
        conn.socket.close().await();
        IncrementalSplitter splitter = new IncrementalSplitter(SentenceSplitter.DEFAULT_MAX_LENGTH);
        List<String> taskSentences = new ArrayList<>(splitter.push(spoken));
        taskSentences.addAll(splitter.finish());
        sentences += taskSentences.size();

        for (String text : List.of("今天天气很好。", "这是一段更长的文字，用来检查流式输出。")) {
            HttpResponse<Buffer> response = server.speech(body(input("fast_replication", text, voice).put("seed", 3), false));
            assertEquals(200, response.statusCode(), response.bodyAsString());
            sentences += TextPreparation.sentences(text, "text").size();
        }
        String streamed = "床前明月光，疑是地上霜。举头望明月，低头思故乡。";
        HttpResponse<Buffer> sse = server.speech(body(input("fast_replication", streamed, voice).put("seed", 4), true));
        assertEquals(200, sse.statusCode(), sse.bodyAsString());
        sentences += TextPreparation.sentences(streamed, "text").size();

        PrometheusText after = scrapeUntil(server, m -> requests(m, "websocket", "ok") > requests(before, "websocket", "ok")
                && m.value("cosyvoice_llm_slots_in_use") == 0);
        MetricsApiTest.Delta delta = new MetricsApiTest.Delta(before, after);

        assertEquals(1, delta.requests("http", "rejected"));
        assertEquals(2, delta.requests("http", "ok"));
        assertEquals(1, delta.requests("sse", "ok"));
        assertEquals(1, delta.requests("websocket", "ok"));
        assertEquals(2, delta.histogramCount("cosyvoice_synthesis_first_chunk_seconds", "api", "http"));
        assertEquals(1, delta.histogramCount("cosyvoice_synthesis_first_chunk_seconds", "api", "sse"));
        assertEquals(1, delta.histogramCount("cosyvoice_synthesis_first_chunk_seconds", "api", "websocket"));
        assertEquals(2, delta.histogramCount("cosyvoice_synthesis_real_time_factor", "api", "http"));
        double rtf = delta.histogramSum("cosyvoice_synthesis_real_time_factor", "api", "http") / 2;
        assertTrue(rtf > 0 && rtf < 100, "real-time factor " + rtf);
        assertTrue(delta.total("cosyvoice_synthesis_audio_seconds_total") > 1, "audio seconds");

        // the four jobs that ran waited in the queue (not the refused one); all are done
        assertEquals(4, delta.histogramCount("cosyvoice_synthesis_queue_wait_seconds"));
        assertEquals(0, after.value("cosyvoice_synthesis_queue_length"));
        assertEquals(0, after.value("cosyvoice_llm_slots_in_use"));

        // one prefill step per sentence; every step at batch size 1, drawing one token
        double prefills = delta.histogramCount("cosyvoice_llm_step_seconds", "phase", "prefill");
        double decodes = delta.histogramCount("cosyvoice_llm_step_seconds", "phase", "decode");
        assertEquals(sentences, prefills);
        assertTrue(decodes > prefills, decodes + " decode steps");
        assertEquals(prefills + decodes, delta.histogramCount("cosyvoice_llm_batch_size"));
        assertEquals(prefills + decodes, delta.histogramSum("cosyvoice_llm_batch_size"));
        assertEquals(prefills + decodes, delta.total("cosyvoice_llm_batch_size_bucket", "le", "1.0"));
        assertEquals(prefills + decodes, delta.total("cosyvoice_llm_tokens_total", "kind", "generated"));
        assertTrue(delta.total("cosyvoice_llm_tokens_total", "kind", "prefill") > 10 * prefills, "prompt positions");
        assertTrue(delta.histogramSum("cosyvoice_llm_step_seconds", "phase", "decode") > 0);
        // each sequence's KV cache is written in place
        assertEquals(0, delta.total("cosyvoice_llm_kv_copied_bytes_total"));
    }

    @Test
    void theWebSocketMetricsOfAChunkAreItsOwnCompute() throws Exception {
        // generate_time is the compute behind each chunk, not the time since its sentence began:
        // over a task it adds up to no more than the task's wall time
        MetricsApiTest.Conn conn = MetricsApiTest.connect(server, vertx);
        String taskId = UUID.randomUUID().toString();
        long started = System.nanoTime();
        conn.send(runTask(taskId, voice));
        assertEquals("task-started", event(conn.next()));
        conn.send(continueTask(taskId, "这是一段更长的文字，用来检查流式输出会分成好几个音频块，而不是最后才一次性返回全部的声音。"));
        conn.send(finishTask(taskId));
        double generated = 0;
        int chunks = 0;
        while (true) {
            JsonObject message = conn.next();
            if (!event(message).equals("result-generated")) {
                break;
            }
            generated += message.getJsonObject("payload").getJsonObject("metrics").getDouble("generate_time");
            chunks++;
        }
        double wall = (System.nanoTime() - started) / 1e9;
        conn.socket.close().await();
        assertTrue(chunks >= 2, chunks + " chunks");
        assertTrue(generated > 0 && generated <= wall, "generate_time " + generated + " s in " + wall + " s");
    }
}
