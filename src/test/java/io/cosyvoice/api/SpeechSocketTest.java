package io.cosyvoice.api;

import io.cosyvoice.audio.DecodedAudio;
import io.cosyvoice.support.TestServer;
import io.vertx.core.Vertx;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static io.cosyvoice.api.SpeechTestSupport.TEXT;
import static io.cosyvoice.api.SpeechTestSupport.decode;
import static io.cosyvoice.api.SpeechTestSupport.expectedSeconds;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The duplex WebSocket task protocol against the test backend. */
class SpeechSocketTest {

    private static TestServer server;
    private static String voice;
    private static Vertx vertx;
    private static WebSocketClient client;

    @BeforeAll
    static void start() {
        Map<String, String> env = new HashMap<>(TestServer.defaults());
        // short, for idleConnectionsClose; long enough that a loaded machine never closes a connection in use
        env.put("COSYVOICE_WEBSOCKET_IDLE_TIMEOUT", "3s");
        server = TestServer.start(env);
        voice = SpeechTestSupport.uploadVoice(server);
        vertx = Vertx.vertx();
        client = vertx.createWebSocketClient();
    }

    @AfterAll
    static void stop() {
        client.close();
        vertx.close();
        server.close();
    }

    /** A connected client that queues every text message it receives. */
    static final class Conn {
        final WebSocket socket;
        final LinkedBlockingQueue<JsonObject> received = new LinkedBlockingQueue<>();
        final CompletableFuture<Short> closed = new CompletableFuture<>();

        Conn(WebSocket socket) {
            this.socket = socket;
            socket.textMessageHandler(text -> received.add(new JsonObject(text)));
            socket.closeHandler(v -> closed.complete(socket.closeStatusCode()));
        }

        void send(JsonObject message) {
            socket.writeTextMessage(message.encode()).await();
        }

        JsonObject next() throws InterruptedException {
            JsonObject message = received.poll(20, TimeUnit.SECONDS);
            assertNotNull(message, "a message arrived");
            return message;
        }

        /** Messages up to and including the first with one of the events. */
        List<JsonObject> until(String... events) throws InterruptedException {
            List<JsonObject> messages = new ArrayList<>();
            while (true) {
                JsonObject message = next();
                messages.add(message);
                if (List.of(events).contains(event(message))) {
                    return messages;
                }
            }
        }
    }

    static Conn connect(String authorization, String subprotocol) {
        WebSocketConnectOptions options = new WebSocketConnectOptions().setHost("127.0.0.1").setPort(server.port())
                .setURI("/api-ws/v1/audio/speech");
        if (authorization != null) {
            options.addHeader("Authorization", authorization);
        }
        if (subprotocol != null) {
            options.addSubProtocol(subprotocol);
        }
        return new Conn(client.connect(options).await());
    }

    static Conn connect() {
        return connect("Bearer " + TestServer.TOKEN, null);
    }

    static String event(JsonObject message) {
        return message.getJsonObject("header").getString("event");
    }

    static JsonObject runTask(String taskId, JsonObject parameters) {
        return new JsonObject()
                .put("header", new JsonObject().put("action", "run-task").put("task_id", taskId).put("streaming", "duplex"))
                .put("payload", new JsonObject().put("task_group", "audio").put("task", "tts").put("function", "SpeechSynthesizer")
                        .put("model", "cosyvoice-v2").put("parameters", parameters).put("input", new JsonObject()));
    }

    static JsonObject parameters(String format) {
        return new JsonObject().put("mode", "fast_replication").put("reference_audio_id", voice)
                .put("output_format", format).put("sample_rate", 24000).put("instruct", "").put("speed", 1.0).put("debug", true);
    }

    static JsonObject continueTask(String taskId, String text) {
        return new JsonObject()
                .put("header", new JsonObject().put("action", "continue-task").put("task_id", taskId).put("streaming", "duplex"))
                .put("payload", new JsonObject().put("input", new JsonObject().put("text", text)));
    }

    static JsonObject finishTask(String taskId) {
        return new JsonObject()
                .put("header", new JsonObject().put("action", "finish-task").put("task_id", taskId).put("streaming", "duplex"))
                .put("payload", new JsonObject().put("input", new JsonObject()));
    }

    static byte[] audio(List<JsonObject> messages) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (JsonObject m : messages) {
            if ("result-generated".equals(event(m))) {
                out.writeBytes(Base64.getDecoder().decode(m.getJsonObject("payload").getJsonObject("output").getJsonObject("audio").getString("data")));
            }
        }
        return out.toByteArray();
    }

    @Test
    void aTaskStreamsSentencesAsTheyCompleteWithMetrics() throws Exception {
        Conn conn = connect();
        String taskId = UUID.randomUUID().toString();
        conn.send(runTask(taskId, parameters("wav")));
        assertEquals("task-started", event(conn.next()));

        conn.send(continueTask(taskId, "床前明月光，疑是地上霜。举头望"));
        // the first sentence is complete: its audio comes before finish-task is sent
        JsonObject first = conn.next();
        assertEquals("result-generated", event(first), first.encode());
        JsonObject metrics = first.getJsonObject("payload").getJsonObject("metrics");
        assertTrue(metrics.getDouble("speech_len") > 0);
        assertTrue(metrics.containsKey("first_package_time"));
        assertTrue(metrics.containsKey("server_cost_time") && metrics.containsKey("generate_time"));

        conn.send(continueTask(taskId, "明月，低头思故乡。"));
        conn.send(finishTask(taskId));
        List<JsonObject> messages = new ArrayList<>(List.of(first));
        messages.addAll(conn.until("task-finished", "task-failed"));
        JsonObject finished = messages.getLast();
        assertEquals("task-finished", event(finished));
        assertEquals(taskId, finished.getJsonObject("header").getString("task_id"));
        assertEquals("床前明月光，疑是地上霜。举头望明月，低头思故乡。".length(),
                finished.getJsonObject("payload").getJsonObject("usage").getLong("characters"));
        for (JsonObject m : messages.subList(0, messages.size() - 1)) {
            assertEquals("result-generated", event(m));
            assertNotNull(m.getJsonObject("payload").getJsonObject("metrics").getDouble("speech_len"));
        }
        DecodedAudio decoded = decode(audio(messages), "wav", 24000);
        assertEquals(expectedSeconds("床前明月光，疑是地上霜。举头望明月，低头思故乡。"), decoded.durationSeconds(), 0.05);

        // the same connection runs another task
        String second = UUID.randomUUID().toString();
        conn.send(runTask(second, parameters("mp3")));
        assertEquals("task-started", event(conn.next()));
        conn.send(continueTask(second, "你好。"));
        conn.send(finishTask(second));
        List<JsonObject> more = conn.until("task-finished", "task-failed");
        assertEquals("task-finished", event(more.getLast()));
        assertEquals(24000, decode(audio(more), "mp3", 24000).sampleRate());
        conn.socket.close().await();
    }

    @Test
    void invalidRunTaskIsTaskFailedAndTheConnectionStaysUsable() throws Exception {
        Conn conn = connect();
        List<JsonObject[]> cases = List.of(
                new JsonObject[]{runTask("t1", parameters("ogg")), new JsonObject().put("field", "output_format")},
                new JsonObject[]{runTask("t2", parameters("wav").put("mode", "karaoke")), new JsonObject().put("field", "mode")},
                new JsonObject[]{runTask("t3", parameters("wav").put("speed", 3)), new JsonObject().put("field", "speed")},
                new JsonObject[]{runTask("t4", parameters("wav").put("mode", "natural_language_replication")), new JsonObject().put("field", "instruct")},
                new JsonObject[]{runTask("t5", parameters("wav").put("reference_audio_id", "bad")), new JsonObject().put("field", "reference_audio_id")},
                new JsonObject[]{runTask("t6", parameters("wav").put("sample_rate", 1)), new JsonObject().put("field", "sample_rate")},
                new JsonObject[]{runTask("t7", parameters("wav").put("bit_rate", "1k")), new JsonObject().put("field", "bit_rate")},
                new JsonObject[]{runTask("t8", parameters("wav").put("volume", -1)), new JsonObject().put("field", "volume")},
                new JsonObject[]{runTask("t9", parameters("wav")).put("payload", new JsonObject().put("model", "x").put("parameters", parameters("wav"))),
                        new JsonObject().put("field", "model")});
        for (JsonObject[] c : cases) {
            conn.send(c[0]);
            JsonObject failed = conn.next();
            assertEquals("task-failed", event(failed));
            assertEquals(c[0].getJsonObject("header").getString("task_id"), failed.getJsonObject("header").getString("task_id"));
            assertEquals("InvalidParameter", failed.getJsonObject("header").getString("error_code"));
            assertTrue(failed.getJsonObject("header").getString("error_message").contains(c[1].getString("field")),
                    failed.encode());
        }
        conn.send(runTask("t10", parameters("wav").put("reference_audio_id", UUID.randomUUID().toString())));
        JsonObject unknown = conn.next();
        assertEquals("NotFound", unknown.getJsonObject("header").getString("error_code"));
        conn.socket.writeTextMessage("this is not json").await();
        assertEquals("task-failed", event(conn.next()));
        conn.send(continueTask("nobody", "你好。"));
        assertEquals("task-failed", event(conn.next()));

        conn.send(runTask("ok", parameters("pcm")));
        assertEquals("task-started", event(conn.next()));
        conn.send(continueTask("ok", "好的。"));
        conn.send(finishTask("ok"));
        assertEquals("task-finished", event(conn.until("task-finished", "task-failed").getLast()));
        conn.socket.close().await();
    }

    @Test
    void aSecondRunTaskCancelsTheFirst() throws Exception {
        server.backend().chunkDelayMs = 50;
        try {
            Conn conn = connect();
            int cancelledBefore = server.backend().cancelled.get();
            conn.send(runTask("first", parameters("wav")));
            assertEquals("task-started", event(conn.next()));
            conn.send(continueTask("first", TEXT + TEXT + TEXT));
            conn.send(finishTask("first"));
            assertEquals("result-generated", event(conn.next()));
            conn.send(runTask("second", parameters("wav")));
            List<JsonObject> messages = conn.until("task-started");
            JsonObject failed = messages.stream().filter(m -> "task-failed".equals(event(m))).findFirst().orElseThrow();
            assertEquals("first", failed.getJsonObject("header").getString("task_id"));
            waitUntil(() -> server.backend().cancelled.get() > cancelledBefore);
            conn.send(continueTask("second", "你好。"));
            conn.send(finishTask("second"));
            List<JsonObject> rest = conn.until("task-finished", "task-failed");
            assertEquals("task-finished", event(rest.getLast()));
            assertEquals("second", rest.getLast().getJsonObject("header").getString("task_id"));
            assertTrue(rest.stream().noneMatch(m -> "first".equals(m.getJsonObject("header").getString("task_id"))));
            conn.socket.close().await();
        } finally {
            server.backend().chunkDelayMs = 0;
        }
    }

    @Test
    void disconnectMidStreamCancelsTheBackendJob() throws Exception {
        server.backend().chunkDelayMs = 50;
        try {
            Conn conn = connect();
            int cancelledBefore = server.backend().cancelled.get();
            conn.send(runTask("gone", parameters("wav")));
            assertEquals("task-started", event(conn.next()));
            conn.send(continueTask("gone", TEXT + TEXT));
            conn.send(finishTask("gone"));
            assertEquals("result-generated", event(conn.next()));
            conn.socket.close().await();
            waitUntil(() -> server.backend().cancelled.get() > cancelledBefore);
        } finally {
            server.backend().chunkDelayMs = 0;
        }
    }

    @Test
    void idleConnectionsClose() throws Exception {
        Conn conn = connect();
        assertEquals((short) 1000, conn.closed.get(10, TimeUnit.SECONDS));
    }

    @Test
    void handshakeNeedsAToken() {
        UpgradeRejectedException none = assertThrows(UpgradeRejectedException.class, () -> connect(null, null));
        assertEquals(401, none.getStatus());
        UpgradeRejectedException wrong = assertThrows(UpgradeRejectedException.class, () -> connect("Bearer nope", null));
        assertEquals(401, wrong.getStatus());
        assertThrows(UpgradeRejectedException.class, () -> connect(null, "bearer.nope"));
    }

    @Test
    void browsersAuthenticateWithTheBearerSubprotocol() throws Exception {
        Conn conn = connect(null, "bearer." + TestServer.TOKEN);
        assertEquals("bearer." + TestServer.TOKEN, conn.socket.subProtocol());
        conn.send(runTask("sp", parameters("wav")));
        assertEquals("task-started", event(conn.next()));
        conn.socket.close().await();
    }

    static void waitUntil(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "condition met within 10 s");
            Thread.sleep(20);
        }
    }
}
