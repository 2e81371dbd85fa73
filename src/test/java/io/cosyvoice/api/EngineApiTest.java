package io.cosyvoice.api;

import io.cosyvoice.audio.DecodedAudio;
import io.cosyvoice.support.Db;
import io.cosyvoice.support.TestServer;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static io.cosyvoice.api.SpeechTestSupport.audio;
import static io.cosyvoice.api.SpeechTestSupport.body;
import static io.cosyvoice.api.SpeechTestSupport.decode;
import static io.cosyvoice.api.SpeechTestSupport.events;
import static io.cosyvoice.api.SpeechTestSupport.rms;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole path with the real engine on the committed tiny twin: upload (prompt features computed
 * and kept), then HTTP JSON, SSE and WebSocket synthesis in every mode, with the golden files of the
 * reference pipeline as the yardstick where the API adds nothing (WAV at 24 kHz, volume 1).
 */
class EngineApiTest {

    static final Path GOLDEN = SpeechTestSupport.GOLDEN;
    static final String PROMPT_TEXT = SpeechTestSupport.PROMPT_TEXT;

    private static TestServer server;
    private static String voice;
    private static Vertx vertx;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.withEngine(Map.of());
        voice = SpeechTestSupport.uploadPromptVoice(server);
        vertx = Vertx.vertx();
    }

    @AfterAll
    static void stop() {
        vertx.close().await();
        server.close();
    }

    private static JsonObject input(String mode, String text) {
        JsonObject input = new JsonObject().put("mode", mode).put("reference_audio_id", voice).put("text", text);
        if (mode.equals("natural_language_replication")) {
            input.put("instruct", "用四川话说");
        }
        return input;
    }

    private static DecodedAudio speak(JsonObject input, String format) throws Exception {
        HttpResponse<Buffer> response = server.speech(body(input.copy().put("output_format", format), false));
        assertEquals(200, response.statusCode(), response.bodyAsString());
        return decode(audio(List.of(response.bodyAsJsonObject())), format, input.getInteger("sample_rate", 24000));
    }

    @Test
    void uploadKeepsTheVoicesPromptFeaturesForTheRunningModel() throws Exception {
        String version = new JsonObject(Files.readString(Path.of("models/random/tiny/model.json")))
                .getJsonObject("model").getString("version");
        List<String> rows = Db.column(server.databaseUrl().orElseThrow(),
                "SELECT model_version || ':' || array_to_string(speech_tokens, ',') FROM prompt_features WHERE reference_audio_id = '"
                        + voice + "'");
        assertEquals(1, rows.size(), rows.toString());
        String[] parts = rows.getFirst().split(":");
        assertEquals(version, parts[0]);
        // the Java features and graphs give the reference pipeline's speech tokens exactly
        JsonArray golden = new JsonObject(Files.readString(GOLDEN.resolve("prompt/speech_tokens.json"))).getJsonArray("speech_tokens");
        String expected = String.join(",", golden.stream().map(Object::toString).toList());
        assertTrue(expected.startsWith(parts[1]) && parts[1].split(",").length >= golden.size() - 1,
                "stored " + parts[1] + "\ngolden " + expected);
    }

    @Test
    void nonStreamingZeroShotReproducesTheGoldenAudio() throws Exception {
        SpeechTestSupport.assertSpeaksTheZeroShotGolden(server, voice);
    }

    @ParameterizedTest
    @CsvSource({
            "fast_replication, wav", "fast_replication, mp3", "fast_replication, pcm",
            "cross_lingual_replication, wav", "cross_lingual_replication, mp3", "cross_lingual_replication, pcm",
            "natural_language_replication, wav", "natural_language_replication, mp3", "natural_language_replication, pcm"})
    void everyModeAndFormatGivesAudio(String mode, String format) throws Exception {
        DecodedAudio audio = speak(input(mode, "今天天气很好，我们一起去公园散步吧。").put("seed", 11).put("sample_rate", 16000), format);
        assertEquals(16000, audio.sampleRate());
        assertTrue(audio.durationSeconds() > 0.5, audio.durationSeconds() + " s");
        assertTrue(rms(audio.samples()) > 0.005, "not silent");
    }

    @Test
    void aSeedMakesARequestReproducibleAndLongerTextGivesLongerAudio() throws Exception {
        DecodedAudio first = speak(input("fast_replication", "你好，欢迎使用。").put("seed", 7), "wav");
        DecodedAudio again = speak(input("fast_replication", "你好，欢迎使用。").put("seed", 7), "wav");
        DecodedAudio other = speak(input("fast_replication", "你好，欢迎使用。").put("seed", 8), "wav");
        assertArrayEquals(first.samples(), again.samples());
        assertFalse(java.util.Arrays.equals(first.samples(), other.samples()));
        DecodedAudio longer = speak(input("fast_replication",
                "你好，欢迎使用。这是一段更长的文字，用来检查更长的文本会得到更长的语音输出。").put("seed", 7), "wav");
        assertTrue(longer.durationSeconds() > 1.5 * first.durationSeconds(),
                longer.durationSeconds() + " s vs " + first.durationSeconds() + " s");
    }

    @Test
    void sseStreamsTheAudioInSeveralChunks() throws Exception {
        String text = "这是一段更长的文字，用来检查流式输出会分成好几个音频块，而不是最后才一次性返回全部的声音。";
        HttpResponse<Buffer> response = server.speech(body(input("fast_replication", text).put("seed", 3), true));
        assertEquals(200, response.statusCode(), response.bodyAsString());
        List<JsonObject> events = events(response.bodyAsString());
        long audioEvents = events.stream().filter(e -> e.getJsonObject("output").getJsonObject("audio") != null).count();
        assertTrue(audioEvents >= 2, events.size() + " events");
        DecodedAudio audio = decode(audio(events), "wav", 24000);
        assertTrue(audio.durationSeconds() > 1.0, audio.durationSeconds() + " s");
    }

    @ParameterizedTest
    @CsvSource({"fast_replication", "cross_lingual_replication", "natural_language_replication"})
    void aWebSocketTaskSpeaksInEveryMode(String mode) throws Exception {
        WebSocketClient client = vertx.createWebSocketClient();
        WebSocket socket = client.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(server.port())
                .setURI("/api-ws/v1/audio/speech").addHeader("Authorization", "Bearer " + TestServer.TOKEN)).await();
        LinkedBlockingQueue<JsonObject> received = new LinkedBlockingQueue<>();
        socket.textMessageHandler(text -> received.add(new JsonObject(text)));
        String taskId = UUID.randomUUID().toString();
        JsonObject parameters = new JsonObject().put("mode", mode).put("reference_audio_id", voice).put("output_format", "wav")
                .put("sample_rate", 24000).put("speed", 1.0).put("seed", 5)
                .put("instruct", mode.equals("natural_language_replication") ? "用开心的语气说" : "");
        socket.writeTextMessage(action("run-task", taskId, new JsonObject().put("task_group", "audio").put("task", "tts")
                .put("function", "SpeechSynthesizer").put("model", "cosyvoice-v2").put("parameters", parameters)
                .put("input", new JsonObject()))).await();
        assertEquals("task-started", event(next(received)));
        socket.writeTextMessage(action("continue-task", taskId, new JsonObject().put("input", new JsonObject().put("text", "床前明月光，")))).await();
        socket.writeTextMessage(action("continue-task", taskId, new JsonObject().put("input", new JsonObject().put("text", "疑是地上霜。")))).await();
        socket.writeTextMessage(action("finish-task", taskId, new JsonObject().put("input", new JsonObject()))).await();
        ByteArrayOutputStream audio = new ByteArrayOutputStream();
        List<String> seen = new ArrayList<>();
        while (true) {
            JsonObject message = next(received);
            seen.add(event(message));
            if (event(message).equals("result-generated")) {
                JsonObject output = message.getJsonObject("payload").getJsonObject("output");
                if (output != null && output.getJsonObject("audio") != null) {
                    audio.writeBytes(Base64.getDecoder().decode(output.getJsonObject("audio").getString("data")));
                }
            } else {
                assertEquals("task-finished", event(message), message.encode());
                break;
            }
        }
        socket.close().await();
        DecodedAudio decoded = decode(audio.toByteArray(), "wav", 24000);
        assertTrue(decoded.durationSeconds() > 0.5, decoded.durationSeconds() + " s; events " + seen);
    }

    @Test
    void readinessNamesTheModel() {
        JsonObject ready = server.get("/health/ready").bodyAsJsonObject();
        JsonObject model = ready.getJsonObject("components").getJsonObject("model");
        assertNotNull(model, ready.encode());
        assertEquals("UP", model.getString("status"), ready.encode());
        assertTrue(model.getString("description").startsWith("random-tiny "), ready.encode());
    }

    @Test
    void speedIsAppliedByTheModel() throws Exception {
        String text = "这是一段用来检查语速的文字，不快也不慢。";
        double normal = speak(input("fast_replication", text).put("seed", 9), "wav").durationSeconds();
        double fast = speak(input("fast_replication", text).put("seed", 9).put("speed", 1.5), "wav").durationSeconds();
        double slow = speak(input("fast_replication", text).put("seed", 9).put("speed", 0.5), "wav").durationSeconds();
        assertEquals(normal / 1.5, fast, 0.05 * normal);
        assertEquals(normal / 0.5, slow, 0.05 * normal / 0.5);
    }

    @Test
    void anUploadTheModelCannotUseIsRefusedAndNothingIsStored() {
        List<String> before = Db.column(server.databaseUrl().orElseThrow(), "SELECT id::text FROM reference_audio");
        byte[] narrowband = io.cosyvoice.audio.TestAudio.wav(io.cosyvoice.audio.TestAudio.tone(8000, 2.0, 220), 8000, 1, 16, false);
        HttpResponse<Buffer> response = server.upload("phone.wav", narrowband, "audio/wav", "电话录音");
        assertEquals(400, response.statusCode(), response.bodyAsString());
        JsonObject body = response.bodyAsJsonObject();
        assertEquals("InvalidParameter", body.getString("code"));
        assertTrue(body.getString("message").contains("file") && body.getString("message").contains("16000 Hz"),
                body.getString("message"));
        assertEquals(before, Db.column(server.databaseUrl().orElseThrow(), "SELECT id::text FROM reference_audio"));
    }

    @Test
    void aVoicesFeaturesAreKeptInMemoryAndWithoutTheCacheComputedAgainWhenTheirRowIsGone() throws Exception {
        String fresh = SpeechTestSupport.uploadPromptVoice(server);
        String rows = "SELECT count(*)::text FROM prompt_features WHERE reference_audio_id = '" + fresh + "'";
        assertEquals(List.of("1"), Db.column(server.databaseUrl().orElseThrow(), rows));
        Db.execute(server.databaseUrl().orElseThrow(), "DELETE FROM prompt_features WHERE reference_audio_id = '" + fresh + "'");
        JsonObject input = input("fast_replication", "你好。").put("reference_audio_id", fresh).put("seed", 1);
        HttpResponse<Buffer> cached = server.speech(body(input, false));
        assertEquals(200, cached.statusCode(), cached.bodyAsString());
        // served from memory: nothing was read, so nothing was found missing and computed again
        assertEquals(List.of("0"), Db.column(server.databaseUrl().orElseThrow(), rows));

        Map<String, String> env = new java.util.HashMap<>(server.env());
        env.put("COSYVOICE_DATABASE_PROMPT_CACHE_BYTES", "0");
        try (TestServer uncached = TestServer.start(env, false)) {
            HttpResponse<Buffer> computed = uncached.speech(body(input, false));
            assertEquals(200, computed.statusCode(), computed.bodyAsString());
            assertEquals(List.of("1"), Db.column(server.databaseUrl().orElseThrow(), rows));
            // the same features either way: the same seeded audio
            assertArrayEquals(audio(List.of(cached.bodyAsJsonObject())), audio(List.of(computed.bodyAsJsonObject())));
        }
    }

    @Test
    void anotherModelVersionComputesTheVoicesFeaturesAgain(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        // a copy of the twin that calls itself another version: what an upgraded model looks like to the server
        Path copy = dir.resolve("model");
        Files.createDirectories(copy);
        try (var files = Files.list(Path.of("models/random/tiny"))) {
            for (Path f : files.toList()) {
                Files.copy(f, copy.resolve(f.getFileName()));
            }
        }
        JsonObject config = new JsonObject(Files.readString(copy.resolve("model.json")));
        config.getJsonObject("model").put("version", "0123456789abcdef");
        Files.writeString(copy.resolve("model.json"), config.encodePrettily());
        Map<String, String> env = new java.util.HashMap<>(server.env());
        env.put("COSYVOICE_MODEL_DIR", copy.toString());
        try (TestServer upgraded = TestServer.start(env, false)) {
            HttpResponse<Buffer> response = upgraded.speech(body(input("fast_replication", "你好。").put("seed", 1), false));
            assertEquals(200, response.statusCode(), response.bodyAsString());
            List<String> versions = Db.column(server.databaseUrl().orElseThrow(),
                    "SELECT model_version FROM prompt_features WHERE reference_audio_id = '" + voice + "' ORDER BY model_version");
            assertTrue(versions.contains("0123456789abcdef") && versions.size() == 2, versions.toString());
        }
    }

    @Test
    void aFullEngineAnswers429AndAClosedClientFreesItsWorker() throws Exception {
        try (TestServer small = TestServer.withEngine(Map.of("COSYVOICE_ENGINE_WORKERS", "1",
                "COSYVOICE_ENGINE_QUEUE_SIZE", "0"))) {
            String id = SpeechTestSupport.uploadPromptVoice(small);
            // a duplex task whose text never ends holds the only worker
            WebSocketClient client = vertx.createWebSocketClient();
            WebSocket socket = client.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(small.port())
                    .setURI("/api-ws/v1/audio/speech").addHeader("Authorization", "Bearer " + TestServer.TOKEN)).await();
            LinkedBlockingQueue<JsonObject> received = new LinkedBlockingQueue<>();
            socket.textMessageHandler(text -> received.add(new JsonObject(text)));
            JsonObject parameters = new JsonObject().put("mode", "fast_replication").put("reference_audio_id", id)
                    .put("output_format", "wav").put("sample_rate", 24000).put("speed", 1.0).put("instruct", "");
            socket.writeTextMessage(action("run-task", "holder", new JsonObject().put("task_group", "audio").put("task", "tts")
                    .put("function", "SpeechSynthesizer").put("model", "cosyvoice-v2").put("parameters", parameters)
                    .put("input", new JsonObject()))).await();
            assertEquals("task-started", event(next(received)));

            JsonObject request = body(new JsonObject().put("mode", "fast_replication").put("reference_audio_id", id)
                    .put("text", "你好。"), false);
            HttpResponse<Buffer> busy = small.speech(request);
            assertEquals(429, busy.statusCode(), busy.bodyAsString());
            assertEquals("TooManyRequests", busy.bodyAsJsonObject().getString("code"));

            socket.close().await();
            HttpResponse<Buffer> after = null;
            for (int attempt = 0; attempt < 50; attempt++) {
                after = small.speech(request);
                if (after.statusCode() != 429) {
                    break;
                }
                Thread.sleep(100);
            }
            assertEquals(200, after.statusCode(), "the closed task's worker was freed: " + after.bodyAsString());
        }
    }

    @Test
    void concurrentRequestsShareLlmStepsAndSoundAsTheyDoAlone() throws Exception {
        String text = "今天天气很好，我们一起去公园散步吧，顺便买一些新鲜的水果回家。";
        int n = 8;
        List<float[]> alone = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            alone.add(speak(input("fast_replication", text).put("seed", 100 + i), "wav").samples());
        }
        String before = server.get("/metrics").bodyAsString();
        List<io.vertx.core.Future<HttpResponse<Buffer>>> together = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            together.add(server.request(io.vertx.core.http.HttpMethod.POST, "/api/v1/audio/speech")
                    .sendJsonObject(body(input("fast_replication", text).put("seed", 100 + i).put("output_format", "wav"), false)));
        }
        for (int i = 0; i < n; i++) {
            HttpResponse<Buffer> response = together.get(i).await();
            assertEquals(200, response.statusCode(), response.bodyAsString());
            // batched decoding changes nothing: the same seed gives the same tokens, so the same mel and audio as
            // alone; batched HiFT calls (vocoder batching, on by default) may round the odd sample a float32 ulp
            // apart, which 16-bit PCM shows as at most one step
            float[] samples = decode(audio(List.of(response.bodyAsJsonObject())), "wav", 24000).samples();
            assertEquals(alone.get(i).length, samples.length, "request " + i);
            for (int k = 0; k < samples.length; k++) {
                assertTrue(Math.abs(samples[k] - alone.get(i)[k]) <= 1.0 / 32768 + 1e-6, "request " + i + ", sample " + k);
            }
        }
        String after = server.get("/metrics").bodyAsString();
        double steps = metric(after, "cosyvoice_llm_batch_size_count") - metric(before, "cosyvoice_llm_batch_size_count");
        double rows = metric(after, "cosyvoice_llm_batch_size_sum") - metric(before, "cosyvoice_llm_batch_size_sum");
        assertTrue(rows > steps, "some LLM steps carried several sequences: " + rows + " rows in " + steps + " steps");
    }

    @Test
    void withVocoderBatchingConcurrentStreamsSoundAsTheyDoAlone() throws Exception {
        String[] texts = {"这是一段更长的文字，用来检查流式输出会分成好几个音频块。", "今天天气很好，我们一起去公园散步吧。",
                "你好，欢迎使用。", "这是一段更长的文字，用来检查流式输出会分成好几个音频块，而不是最后才一次性返回全部的声音。"};
        List<float[]> alone = new ArrayList<>();
        for (int i = 0; i < texts.length; i++) {
            HttpResponse<Buffer> response = server.speech(body(input("fast_replication", texts[i]).put("seed", 300 + i), true));
            assertEquals(200, response.statusCode(), response.bodyAsString());
            alone.add(decode(audio(events(response.bodyAsString())), "wav", 24000).samples());
        }
        try (TestServer batched = TestServer.withEngine(Map.of("COSYVOICE_ENGINE_VOCODER_BATCHING", "true"))) {
            String batchedVoice = SpeechTestSupport.uploadPromptVoice(batched);
            for (int round = 0; round < 2; round++) {
                List<io.vertx.core.Future<HttpResponse<Buffer>>> together = new ArrayList<>();
                for (int i = 0; i < texts.length; i++) {
                    together.add(batched.request(io.vertx.core.http.HttpMethod.POST, "/api/v1/audio/speech")
                            .sendJsonObject(body(new JsonObject().put("mode", "fast_replication").put("reference_audio_id", batchedVoice)
                                    .put("text", texts[i]).put("seed", 300 + i), true)));
                }
                for (int i = 0; i < texts.length; i++) {
                    HttpResponse<Buffer> response = together.get(i).await();
                    assertEquals(200, response.statusCode(), response.bodyAsString());
                    float[] samples = decode(audio(events(response.bodyAsString())), "wav", 24000).samples();
                    assertEquals(alone.get(i).length, samples.length, "request " + i);
                    double worst = 0;
                    for (int k = 0; k < samples.length; k++) {
                        worst = Math.max(worst, Math.abs(samples[k] - alone.get(i)[k]));
                    }
                    // the same mel; HiFT may round the odd sample an ulp apart, which 16-bit PCM shows as at most one step
                    assertTrue(worst <= 1.0 / 32768 + 1e-6, "request " + i + ": max abs difference " + worst);
                }
            }
        }
    }

    private static double metric(String scrape, String name) {
        return scrape.lines().filter(l -> l.startsWith(name + " ") || l.startsWith(name + "{"))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    private static String action(String action, String taskId, JsonObject payload) {
        return new JsonObject().put("header", new JsonObject().put("action", action).put("task_id", taskId)
                .put("streaming", "duplex")).put("payload", payload).encode();
    }

    private static JsonObject next(LinkedBlockingQueue<JsonObject> queue) throws InterruptedException {
        JsonObject message = queue.poll(60, TimeUnit.SECONDS);
        assertNotNull(message, "a message arrived");
        return message;
    }

    private static String event(JsonObject message) {
        return message.getJsonObject("header").getString("event");
    }
}
