package io.cosyvoice.api;

import io.cosyvoice.support.PrometheusText;
import io.cosyvoice.support.TestServer;
import io.cosyvoice.synthesis.FakeSynthesisBackend;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static io.cosyvoice.api.SpeechTestSupport.body;
import static io.cosyvoice.api.SpeechTestSupport.events;
import static io.cosyvoice.api.SpeechTestSupport.expectedSeconds;
import static io.cosyvoice.api.SpeechTestSupport.input;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code GET /metrics} on the real server with the test backend: the Prometheus text format, the
 * synthesis metrics moving as requests of every kind and outcome go through, Vert.x's and the JVM's
 * metrics beside them, and the settings (disabled: 404; a token when required).
 */
class MetricsApiTest {

    private static TestServer server;
    private static String voice;
    private static Vertx vertx;

    @BeforeAll
    static void start() {
        server = TestServer.start();
        voice = SpeechTestSupport.uploadVoice(server);
        vertx = Vertx.vertx();
    }

    @AfterAll
    static void stop() {
        vertx.close().await();
        server.close();
    }

    static PrometheusText scrape(TestServer server) {
        HttpResponse<Buffer> response = server.client().get("/metrics").send().await();
        assertEquals(200, response.statusCode(), response.bodyAsString());
        assertEquals("text/plain; version=0.0.4; charset=utf-8", response.getHeader("Content-Type"));
        return PrometheusText.parse(response.bodyAsString());
    }

    /** Scrapes until the condition holds: outcomes of closed connections are recorded asynchronously. */
    static PrometheusText scrapeUntil(TestServer server, Predicate<PrometheusText> condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        PrometheusText metrics = scrape(server);
        while (!condition.test(metrics) && System.nanoTime() < deadline) {
            Thread.sleep(50);
            metrics = scrape(server);
        }
        return metrics;
    }

    static double requests(PrometheusText metrics, String api, String outcome) {
        return metrics.value("cosyvoice_synthesis_requests_total", "api", api, "outcome", outcome);
    }

    static double count(PrometheusText metrics, String histogram, String... labels) {
        return metrics.value(histogram + "_count", labels);
    }

    static double sum(PrometheusText metrics, String histogram, String... labels) {
        return metrics.value(histogram + "_sum", labels);
    }

    @Test
    void theScrapeIsPrometheusTextWithEveryMetricAndNeedsNoTokenByDefault() {
        PrometheusText metrics = scrape(server);
        Map<String, String> families = Map.ofEntries(
                Map.entry("cosyvoice_synthesis_requests_total", "counter"),
                Map.entry("cosyvoice_synthesis_requests_active", "gauge"),
                Map.entry("cosyvoice_synthesis_first_chunk_seconds", "histogram"),
                Map.entry("cosyvoice_synthesis_real_time_factor", "histogram"),
                Map.entry("cosyvoice_synthesis_audio_seconds_total", "counter"),
                Map.entry("cosyvoice_synthesis_queue_length", "gauge"),
                Map.entry("cosyvoice_synthesis_queue_wait_seconds", "histogram"),
                Map.entry("cosyvoice_llm_slots_in_use", "gauge"),
                Map.entry("cosyvoice_llm_batch_size", "histogram"),
                Map.entry("cosyvoice_llm_step_seconds", "histogram"),
                Map.entry("cosyvoice_llm_tokens_total", "counter"),
                Map.entry("cosyvoice_llm_kv_copied_bytes_total", "counter"),
                Map.entry("vertx_http_server_requests_total", "counter"),
                Map.entry("jvm_memory_used_bytes", "gauge"));
        families.forEach((family, type) -> assertEquals(type, metrics.type(family).orElse("missing"), family));
        // every api and outcome has its series from the start, at zero or more
        for (String api : List.of("http", "sse", "websocket")) {
            for (String outcome : List.of("ok", "client_error", "rejected", "server_error", "cancelled")) {
                assertTrue(requests(metrics, api, outcome) >= 0);
            }
            assertEquals(1, metrics.samples("cosyvoice_synthesis_first_chunk_seconds_bucket").stream()
                    .filter(s -> s.labels().get("api").equals(api) && s.labels().get("le").equals("+Inf")).count());
        }
        // no engine in this process: its metrics are there, at zero
        assertEquals(0, metrics.sum("cosyvoice_llm_tokens_total"));
        assertEquals(0, metrics.value("cosyvoice_llm_slots_in_use"));
        // not a frontend of a cluster: no cluster series
        assertFalse(metrics.has("cosyvoice_cluster_backends"));
    }

    @Test
    void synthesisRequestsMoveTheCountersAndHistograms() throws Exception {
        PrometheusText before = scrape(server);
        List<String> texts = List.of("你好。", "今天天气很好，我们一起去公园散步吧。", "欢迎使用语音合成服务。");
        double okSeconds = 0;
        for (String text : texts) {
            assertEquals(200, server.speech(body(input("fast_replication", text, voice), false)).statusCode());
            okSeconds += expectedSeconds(text);
        }
        for (String text : texts.subList(0, 2)) {
            HttpResponse<Buffer> sse = server.speech(body(input("fast_replication", text, voice), true));
            assertEquals("stop", events(sse.bodyAsString()).getLast().getJsonObject("output").getString("finish_reason"));
            okSeconds += expectedSeconds(text);
        }
        // client errors: an invalid body and an unknown voice
        assertEquals(400, server.speech(body(input("fast_replication", "", voice), false)).statusCode());
        assertEquals(404, server.speech(body(input("fast_replication", "你好。", UUID.randomUUID().toString()), true)).statusCode());
        // backend failures after the first chunk: a 500 for JSON, an error event for SSE (whose first audio was written)
        String failing = "这句会失败 " + FakeSynthesisBackend.FAIL_WORD + "。";
        assertEquals(500, server.speech(body(input("fast_replication", failing, voice), false)).statusCode());
        HttpResponse<Buffer> failedSse = server.speech(body(input("fast_replication", failing, voice), true));
        assertNotNull(events(failedSse.bodyAsString()).getLast().getJsonObject("error"));
        // one WebSocket task
        Conn conn = connect();
        String taskId = UUID.randomUUID().toString();
        conn.send(runTask(taskId));
        assertEquals("task-started", event(conn.next()));
        conn.send(continueTask(taskId, "床前明月光，疑是地上霜。"));
        conn.send(finishTask(taskId));
        while (!event(conn.next()).equals("task-finished")) {
            // audio
        }
        conn.socket.close().await();
        okSeconds += expectedSeconds("床前明月光，疑是地上霜。");

        PrometheusText after = scrapeUntil(server, m -> requests(m, "websocket", "ok") > requests(before, "websocket", "ok"));
        Delta delta = new Delta(before, after);
        assertEquals(3, delta.requests("http", "ok"));
        assertEquals(1, delta.requests("http", "client_error"));
        assertEquals(1, delta.requests("http", "server_error"));
        assertEquals(2, delta.requests("sse", "ok"));
        assertEquals(1, delta.requests("sse", "client_error"));
        assertEquals(1, delta.requests("sse", "server_error"));
        assertEquals(1, delta.requests("websocket", "ok"));
        assertEquals(0, delta.total("cosyvoice_synthesis_requests_total", "outcome", "cancelled"));
        assertEquals(0, delta.total("cosyvoice_synthesis_requests_total", "outcome", "rejected"));

        // the time to first chunk: once per request that wrote audio
        assertEquals(3, delta.histogramCount("cosyvoice_synthesis_first_chunk_seconds", "api", "http"));
        assertEquals(3, delta.histogramCount("cosyvoice_synthesis_first_chunk_seconds", "api", "sse"));
        assertEquals(1, delta.histogramCount("cosyvoice_synthesis_first_chunk_seconds", "api", "websocket"));
        double firstChunkSeconds = delta.histogramSum("cosyvoice_synthesis_first_chunk_seconds", "api", "http");
        assertTrue(firstChunkSeconds > 0 && firstChunkSeconds < 30, firstChunkSeconds + " s");

        // the real-time factor of each successful request: the test backend computes 0.01 s per chunk of at most 0.2 s
        assertEquals(3, delta.histogramCount("cosyvoice_synthesis_real_time_factor", "api", "http"));
        assertEquals(2, delta.histogramCount("cosyvoice_synthesis_real_time_factor", "api", "sse"));
        assertEquals(1, delta.histogramCount("cosyvoice_synthesis_real_time_factor", "api", "websocket"));
        double meanRtf = delta.histogramSum("cosyvoice_synthesis_real_time_factor", "api", "http") / 3;
        assertTrue(meanRtf >= 0.05 - 1e-9 && meanRtf < 0.1, "mean real-time factor " + meanRtf);

        // audio: all the successful requests' and a chunk of each failed one
        double audio = delta.total("cosyvoice_synthesis_audio_seconds_total");
        assertTrue(audio >= okSeconds - 1e-6 && audio <= okSeconds + 0.4 + 1e-6, audio + " s, expected " + okSeconds + " + 0.4");

        for (String api : List.of("http", "sse", "websocket")) {
            assertEquals(0, after.value("cosyvoice_synthesis_requests_active", "api", api), api);
        }
        // Vert.x's own HTTP metrics, by route and status
        assertTrue(delta.total("vertx_http_server_requests_total", "code", "200", "route", "/api/>" + SpeechRoutes.PATH) >= 5);
    }

    @Test
    void aClientThatLeavesIsCountedAsCancelled() throws Exception {
        PrometheusText before = scrape(server);
        server.backend().chunkDelayMs = 100;
        try {
            // SSE: the connection closes after the first event
            HttpClient http = vertx.createHttpClient();
            CompletableFuture<Void> firstEvent = new CompletableFuture<>();
            http.request(new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1").setPort(server.port())
                            .setURI(SpeechRoutes.PATH).addHeader("Authorization", "Bearer " + TestServer.TOKEN)
                            .addHeader("Content-Type", "application/json"))
                    .compose(request -> request.send(body(input("fast_replication", SpeechTestSupport.TEXT, voice), true).toBuffer()))
                    .onSuccess((HttpClientResponse response) -> response.handler(chunk -> {
                        if (firstEvent.complete(null)) {
                            response.request().connection().close();
                        }
                    }));
            firstEvent.get(20, TimeUnit.SECONDS);
            // WebSocket: closed while the task speaks
            Conn conn = connect();
            String taskId = UUID.randomUUID().toString();
            conn.send(runTask(taskId));
            assertEquals("task-started", event(conn.next()));
            // a sentence is complete once text after it arrives
            conn.send(continueTask(taskId, SpeechTestSupport.TEXT + SpeechTestSupport.TEXT));
            assertEquals("result-generated", event(conn.next()));
            conn.socket.close().await();

            PrometheusText after = scrapeUntil(server, m -> requests(m, "sse", "cancelled") > requests(before, "sse", "cancelled")
                    && requests(m, "websocket", "cancelled") > requests(before, "websocket", "cancelled"));
            Delta delta = new Delta(before, after);
            assertEquals(1, delta.requests("sse", "cancelled"));
            assertEquals(1, delta.requests("websocket", "cancelled"));
            assertEquals(0, delta.total("cosyvoice_synthesis_requests_total", "outcome", "ok"));
            // a cancelled request wrote audio (first chunk) but has no real-time factor
            assertEquals(1, delta.histogramCount("cosyvoice_synthesis_first_chunk_seconds", "api", "sse"));
            assertEquals(0, delta.histogramCount("cosyvoice_synthesis_real_time_factor", "api", "sse"));
            assertEquals(0, after.value("cosyvoice_synthesis_requests_active", "api", "sse"));
            assertEquals(0, after.value("cosyvoice_synthesis_requests_active", "api", "websocket"));
            http.close().await();
        } finally {
            server.backend().chunkDelayMs = 0;
        }
    }

    @Test
    void disabledMetricsHaveNoRoute() {
        Map<String, String> env = new HashMap<>(TestServer.defaults());
        env.put("COSYVOICE_METRICS_ENABLED", "false");
        try (TestServer off = TestServer.start(env)) {
            HttpResponse<Buffer> response = off.client().get("/metrics").send().await();
            assertEquals(404, response.statusCode());
            assertEquals("NotFound", response.bodyAsJsonObject().getString("code"));
            assertEquals(404, off.get("/metrics").statusCode());
            // synthesis still works, recording nothing
            String offVoice = SpeechTestSupport.uploadVoice(off);
            assertEquals(200, off.speech(body(input("fast_replication", "你好。", offVoice), false)).statusCode());
        }
    }

    @Test
    void metricsCanRequireTheApiToken() {
        Map<String, String> env = new HashMap<>(TestServer.defaults());
        env.put("COSYVOICE_METRICS_REQUIRE_TOKEN", "true");
        try (TestServer guarded = TestServer.start(env)) {
            HttpResponse<Buffer> anonymous = guarded.client().get("/metrics").send().await();
            assertEquals(401, anonymous.statusCode());
            assertEquals("Bearer", anonymous.getHeader("WWW-Authenticate"));
            HttpResponse<Buffer> wrong = guarded.client().get("/metrics").putHeader("Authorization", "Bearer nope").send().await();
            assertEquals(401, wrong.statusCode());
            HttpResponse<Buffer> authorised = guarded.get("/metrics");
            assertEquals(200, authorised.statusCode());
            assertTrue(PrometheusText.parse(authorised.bodyAsString()).has("cosyvoice_synthesis_requests_total"));
            // the health routes stay open
            assertEquals(200, guarded.client().get("/health/live").send().await().statusCode());
        }
    }

    /** Differences between two scrapes. */
    record Delta(PrometheusText before, PrometheusText after) {
        double requests(String api, String outcome) {
            return MetricsApiTest.requests(after, api, outcome) - MetricsApiTest.requests(before, api, outcome);
        }

        double histogramCount(String histogram, String... labels) {
            return count(after, histogram, labels) - count(before, histogram, labels);
        }

        double histogramSum(String histogram, String... labels) {
            return sum(after, histogram, labels) - sum(before, histogram, labels);
        }

        double total(String name, String... labels) {
            return after.sum(name, labels) - before.sum(name, labels);
        }
    }

    /** A WebSocket client that queues the messages it receives. */
    static final class Conn {
        final WebSocket socket;
        final LinkedBlockingQueue<JsonObject> received = new LinkedBlockingQueue<>();

        Conn(WebSocket socket) {
            this.socket = socket;
            socket.textMessageHandler(text -> received.add(new JsonObject(text)));
        }

        void send(JsonObject message) {
            socket.writeTextMessage(message.encode()).await();
        }

        JsonObject next() throws InterruptedException {
            JsonObject message = received.poll(30, TimeUnit.SECONDS);
            assertNotNull(message, "a message arrived");
            assertFalse("task-failed".equals(event(message)), message.encode());
            return message;
        }
    }

    /**
     * The clients stay referenced: Vert.x closes a client that is garbage-collected, and with it
     * its sockets (a GC during a handshake then closed the connection under the test).
     */
    private static final java.util.List<io.vertx.core.http.WebSocketClient> CLIENTS =
            java.util.Collections.synchronizedList(new java.util.ArrayList<>());

    static Conn connect(TestServer server, Vertx vertx) {
        io.vertx.core.http.WebSocketClient client = vertx.createWebSocketClient();
        CLIENTS.add(client);
        return new Conn(client.connect(new WebSocketConnectOptions().setHost("127.0.0.1")
                .setPort(server.port()).setURI(HttpApiVerticle.SPEECH_SOCKET_PATH)
                .addHeader("Authorization", "Bearer " + TestServer.TOKEN)).await());
    }

    private static Conn connect() {
        return connect(server, vertx);
    }

    static String event(JsonObject message) {
        return message.getJsonObject("header").getString("event");
    }

    static JsonObject runTask(String taskId, String voice) {
        JsonObject parameters = new JsonObject().put("mode", "fast_replication").put("reference_audio_id", voice)
                .put("output_format", "wav").put("sample_rate", 24000).put("speed", 1.0).put("instruct", "");
        return action("run-task", taskId, new JsonObject().put("task_group", "audio").put("task", "tts")
                .put("function", "SpeechSynthesizer").put("model", "cosyvoice-v2").put("parameters", parameters)
                .put("input", new JsonObject()));
    }

    private static JsonObject runTask(String taskId) {
        return runTask(taskId, voice);
    }

    static JsonObject continueTask(String taskId, String text) {
        return action("continue-task", taskId, new JsonObject().put("input", new JsonObject().put("text", text)));
    }

    static JsonObject finishTask(String taskId) {
        return action("finish-task", taskId, new JsonObject().put("input", new JsonObject()));
    }

    private static JsonObject action(String action, String taskId, JsonObject payload) {
        return new JsonObject().put("header", new JsonObject().put("action", action).put("task_id", taskId)
                .put("streaming", "duplex")).put("payload", payload);
    }
}
