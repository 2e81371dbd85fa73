package io.cosyvoice.api;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.HttpResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.RateLimitException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.audio.speech.SpeechCreateParams;
import io.cosyvoice.audio.AudioDecoder;
import io.cosyvoice.audio.AudioFormat;
import io.cosyvoice.audio.AudioHint;
import io.cosyvoice.audio.DecodedAudio;
import io.cosyvoice.support.TestServer;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.UUID;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The OpenAI-compatible speech API through the official OpenAI Java SDK, pointed at the real server
 * running the real engine on the committed tiny twin: every response format with both stream
 * formats, voices by id, name and custom-voice object, instructions, speeds beyond the model's
 * range, and every bad input answered in OpenAI's error shape with the right {@code param}.
 */
class OpenAiSpeechSdkTest {

    private static final String VOICE_NAME = "Narrator";
    private static final String TEXT = "你好，世界。";

    private static TestServer server;
    private static OpenAIClient client;
    private static String voiceId;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.withEngine(Map.of());
        var uploaded = server.uploadNamed("prompt.wav", Files.readAllBytes(Path.of("models/reference/prompt.wav")),
                EngineApiTest.PROMPT_TEXT, VOICE_NAME);
        assertEquals(200, uploaded.statusCode(), uploaded.bodyAsString());
        voiceId = uploaded.bodyAsJsonObject().getString("id");
        client = sdk(server, TestServer.TOKEN);
    }

    @AfterAll
    static void stop() {
        client.close();
        server.close();
    }

    private static OpenAIClient sdk(TestServer target, String token) {
        return OpenAIOkHttpClient.builder().baseUrl(target.baseUrl() + "/v1").apiKey(token).maxRetries(0)
                .timeout(java.time.Duration.ofSeconds(60)).build();
    }

    private static SpeechCreateParams.Builder params(String format, String stream) {
        return SpeechCreateParams.builder().model("tts-1").input(TEXT).voice(VOICE_NAME)
                .responseFormat(SpeechCreateParams.ResponseFormat.of(format))
                .streamFormat(SpeechCreateParams.StreamFormat.of(stream))
                .putAdditionalBodyProperty("seed", JsonValue.from(7));
    }

    private record Received(int status, String contentType, byte[] body) {
    }

    private static Received call(SpeechCreateParams params) throws Exception {
        try (HttpResponse response = client.audio().speech().create(params)) {
            return new Received(response.statusCode(), response.headers().values("Content-Type").getFirst(),
                    response.body().readAllBytes());
        }
    }

    private static DecodedAudio decode(byte[] bytes, String format) throws Exception {
        AudioHint hint = format.equals("pcm") ? new AudioHint("out.pcm", "audio/pcm", OptionalInt.of(24000)) : AudioHint.none();
        return AudioDecoder.decode(bytes, hint);
    }

    /** The SSE events of a body, each one {@code data: <json>} block. */
    private static List<JsonObject> events(byte[] body) {
        List<JsonObject> events = new ArrayList<>();
        for (String block : new String(body, StandardCharsets.UTF_8).split("\n\n")) {
            if (block.isBlank()) {
                continue;
            }
            assertTrue(block.startsWith("data: "), "an SSE data event: " + block);
            events.add(new JsonObject(block.substring(6)));
        }
        return events;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"mp3", "wav", "pcm"})
    void everyFormatStreamsAsRawAudioAndAsServerSentEventsWithTheSameBytes(String format) throws Exception {
        Received raw = call(params(format, "audio").build());
        assertEquals(200, raw.status());
        assertEquals(Map.of("mp3", "audio/mpeg", "wav", "audio/wav", "pcm", "audio/pcm").get(format), raw.contentType());
        assertTrue(raw.body().length > 0);
        DecodedAudio audio = decode(raw.body(), format);
        assertEquals(Map.of("mp3", AudioFormat.MP3, "wav", AudioFormat.WAV, "pcm", AudioFormat.PCM).get(format), audio.format());
        assertEquals(24000, audio.sampleRate());
        assertEquals(1, audio.channels());
        assertTrue(audio.durationSeconds() > 0.1, audio.durationSeconds() + " s");
        if (format.equals("wav")) {
            assertEquals("RIFF", new String(raw.body(), 0, 4, StandardCharsets.US_ASCII));
        }
        if (format.equals("mp3")) {
            assertEquals(0xFF, raw.body()[0] & 0xFF, "starts with an MPEG frame sync");
        }

        Received sse = call(params(format, "sse").build());
        assertEquals(200, sse.status());
        assertTrue(sse.contentType().startsWith("text/event-stream"), sse.contentType());
        List<JsonObject> events = events(sse.body());
        assertTrue(events.size() >= 2, events.size() + " events");
        ByteArrayOutputStream joined = new ByteArrayOutputStream();
        for (JsonObject delta : events.subList(0, events.size() - 1)) {
            assertEquals("speech.audio.delta", delta.getString("type"), delta.encode());
            assertEquals(java.util.Set.of("type", "audio"), delta.fieldNames());
            joined.writeBytes(Base64.getDecoder().decode(delta.getString("audio")));
        }
        JsonObject done = events.getLast();
        assertEquals("speech.audio.done", done.getString("type"), done.encode());
        JsonObject usage = done.getJsonObject("usage");
        assertEquals(TEXT.length(), usage.getInteger("input_tokens"));
        // 25 speech tokens a second of model audio
        double modelSeconds = format.equals("pcm") ? raw.body().length / 2.0 / 24000 : audio.durationSeconds();
        assertEquals(modelSeconds * 25, usage.getInteger("output_tokens"), 5); // an MP3 decodes a little longer
        assertEquals(usage.getInteger("input_tokens") + usage.getInteger("output_tokens"), usage.getInteger("total_tokens"));
        // the same seed: the events carry exactly the bytes of the raw stream
        assertArrayEquals(raw.body(), joined.toByteArray());
    }

    @Test
    void pcmIsTheRawSamplesOfTheWav() throws Exception {
        byte[] wav = call(params("wav", "audio").build()).body();
        byte[] pcm = call(params("pcm", "audio").build()).body();
        assertArrayEquals(Arrays.copyOfRange(wav, 44, wav.length), pcm, "pcm: 24 kHz 16-bit little-endian mono");
    }

    @Test
    void rawAudioArrivesWhileTheRestIsStillBeingMade() throws Exception {
        String text = "今天天气很好，我们一起去公园散步吧。顺便买一些新鲜的水果回家。晚上我们一起做饭，然后看一部电影。"
                + "明天早上还要早起去上班，所以不要睡得太晚。";
        SpeechCreateParams request = params("pcm", "audio").input(text).build();
        long start = System.nanoTime();
        long firstBytes = -1;
        int reads = 0;
        long total = 0;
        try (HttpResponse response = client.audio().speech().create(request); InputStream body = response.body()) {
            byte[] buffer = new byte[8192];
            int n;
            while ((n = body.read(buffer)) >= 0) {
                if (n > 0 && firstBytes < 0) {
                    firstBytes = System.nanoTime();
                }
                reads++;
                total += n;
            }
        }
        long end = System.nanoTime();
        assertTrue(total > 24000 * 2, total + " bytes");
        assertTrue(reads > 2, reads + " reads");
        long firstMs = TimeUnit.NANOSECONDS.toMillis(firstBytes - start);
        long endMs = TimeUnit.NANOSECONDS.toMillis(end - start);
        // four sentences are made one after another: the first audio comes well before the last (a
        // response sent whole would have its first and last bytes a few milliseconds apart)
        assertTrue(endMs - firstMs >= Math.max(100, endMs / 5), "first bytes at " + firstMs + " ms, end at " + endMs + " ms");
    }

    @Test
    void theVoiceIsFoundByIdByNameInAnyCaseAndAsACustomVoiceObject() throws Exception {
        byte[] byName = call(params("pcm", "audio").build()).body();
        byte[] byId = call(params("pcm", "audio").voice(voiceId).build()).body();
        byte[] byLowerCase = call(params("pcm", "audio").voice(VOICE_NAME.toLowerCase()).build()).body();
        byte[] byObject = call(params("pcm", "audio")
                .voice(SpeechCreateParams.Voice.Id.builder().id(voiceId).build()).build()).body();
        assertTrue(byName.length > 0);
        assertArrayEquals(byName, byId);
        assertArrayEquals(byName, byLowerCase);
        assertArrayEquals(byName, byObject);
    }

    @Test
    void instructionsSelectTheNaturalLanguageModeAndEveryModelNameIsTheOneEngine() throws Exception {
        byte[] zeroShot = call(params("pcm", "audio").build()).body();
        byte[] instructed = call(params("pcm", "audio").instructions("用四川话说").build()).body();
        assertTrue(instructed.length > 0);
        assertFalse(Arrays.equals(zeroShot, instructed), "instructions change what the model is asked");
        for (String model : List.of("cosyvoice2", "CosyVoice2-0.5B", "cosyvoice-v2", "tts-1-hd", "gpt-4o-mini-tts")) {
            assertArrayEquals(zeroShot, call(params("pcm", "audio").model(model).build()).body(), model);
        }
    }

    @Test
    void speedsBeyondTheModelsRangeAreTimeStretchedAfterSynthesis() throws Exception {
        // the model makes speeds 0.5 and 2.0 itself; 0.25 and 4.0 stretch that audio by 2 more
        double at2 = seconds(call(params("pcm", "audio").speed(2.0).build()).body());
        double at4 = seconds(call(params("pcm", "audio").speed(4.0).build()).body());
        double atHalf = seconds(call(params("pcm", "audio").speed(0.5).build()).body());
        double atQuarter = seconds(call(params("pcm", "audio").speed(0.25).build()).body());
        assertEquals(at2 / 2, at4, 0.01, at2 + " s at 2.0, " + at4 + " s at 4.0");
        assertEquals(atHalf * 2, atQuarter, 0.01, atHalf + " s at 0.5, " + atQuarter + " s at 0.25");
        assertTrue(atQuarter > 7 * at4, atQuarter + " s vs " + at4 + " s");
    }

    private static double seconds(byte[] pcm) {
        return pcm.length / 2.0 / 24000;
    }

    static Stream<Arguments> badInputs() {
        String tooLong = "好".repeat(SpeechParameters.MAX_TEXT_CHARS + 1);
        return Stream.of(
                bad("unknown model", b -> b.model("whisper-1"), "model"),
                bad("model not a string", b -> b.model(JsonValue.from(5)), "model"),
                bad("empty input", b -> b.input(""), "input"),
                bad("blank input", b -> b.input("   "), "input"),
                bad("input too long", b -> b.input(tooLong), "input"),
                bad("input not a string", b -> b.input(JsonValue.from(List.of("a"))), "input"),
                bad("input with nothing to speak", b -> b.input("。。。"), "input"),
                bad("unknown voice name", b -> b.voice("alloy"), "voice"),
                bad("unknown voice id", b -> b.voice(UUID.randomUUID().toString()), "voice"),
                bad("empty voice", b -> b.voice(""), "voice"),
                bad("voice not a string", b -> b.voice(JsonValue.from(3)), "voice"),
                bad("instructions not a string", b -> b.instructions(JsonValue.from(true)), "instructions"),
                bad("opus", b -> b.responseFormat(SpeechCreateParams.ResponseFormat.OPUS), "response_format"),
                bad("aac", b -> b.responseFormat(SpeechCreateParams.ResponseFormat.AAC), "response_format"),
                bad("flac", b -> b.responseFormat(SpeechCreateParams.ResponseFormat.FLAC), "response_format"),
                bad("unknown format", b -> b.responseFormat(SpeechCreateParams.ResponseFormat.of("ogg")), "response_format"),
                bad("speed too slow", b -> b.speed(0.2), "speed"),
                bad("speed too fast", b -> b.speed(4.5), "speed"),
                bad("speed not a number", b -> b.speed(JsonValue.from("fast")), "speed"),
                bad("unknown stream format", b -> b.streamFormat(SpeechCreateParams.StreamFormat.of("chunks")), "stream_format"),
                bad("fractional seed", b -> b.putAdditionalBodyProperty("seed", JsonValue.from(1.5)), "seed"));
    }

    private static Arguments bad(String name, Consumer<SpeechCreateParams.Builder> change, String param) {
        return Arguments.of(name, change, param);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badInputs")
    void everyBadInputIsA400InOpenAisShapeNamingTheParam(String name, Consumer<SpeechCreateParams.Builder> change,
                                                          String param) {
        SpeechCreateParams.Builder builder = params("mp3", "audio");
        change.accept(builder);
        BadRequestException e = assertThrows(BadRequestException.class, () -> call(builder.build()));
        assertEquals(400, e.statusCode());
        assertEquals(param, e.param().orElse(null), e.getMessage());
        assertEquals("invalid_request_error", e.type().orElse(null));
        assertEquals("invalid_value", e.code().orElse(null));
        assertTrue(e.body().toString().contains(param), e.body().toString());
    }

    @Test
    void missingFieldsAndABodyThatIsNotJsonAreOpenAiErrorsToo() {
        JsonObject full = new JsonObject().put("model", "tts-1").put("input", TEXT).put("voice", VOICE_NAME);
        for (String field : List.of("model", "input", "voice")) {
            JsonObject body = full.copy();
            body.remove(field);
            var response = server.request(HttpMethod.POST, "/v1/audio/speech").sendJsonObject(body).await();
            assertOpenAiError(response, 400, "invalid_request_error", field);
        }
        var notJson = server.request(HttpMethod.POST, "/v1/audio/speech").putHeader("Content-Type", "application/json")
                .sendBuffer(Buffer.buffer("{not json")).await();
        assertOpenAiError(notJson, 400, "invalid_request_error", "body");
        var array = server.request(HttpMethod.POST, "/v1/audio/speech").sendBuffer(Buffer.buffer("[1]")).await();
        assertOpenAiError(array, 400, "invalid_request_error", "body");
        var unknownRoute = server.request(HttpMethod.POST, "/v1/audio/transcriptions").send().await();
        assertOpenAiError(unknownRoute, 404, "invalid_request_error", null);
        var wrongMethod = server.request(HttpMethod.GET, "/v1/audio/speech").send().await();
        assertOpenAiError(wrongMethod, 405, "invalid_request_error", null);
    }

    static void assertOpenAiError(io.vertx.ext.web.client.HttpResponse<Buffer> response, int status, String type, String param) {
        assertEquals(status, response.statusCode(), response.bodyAsString());
        assertTrue(response.getHeader("Content-Type").startsWith("application/json"));
        JsonObject body = response.bodyAsJsonObject();
        assertEquals(java.util.Set.of("error"), body.fieldNames(), body.encode());
        JsonObject error = body.getJsonObject("error");
        assertEquals(java.util.Set.of("message", "type", "param", "code"), error.fieldNames(), body.encode());
        assertEquals(type, error.getString("type"));
        assertEquals(param, error.getString("param"), body.encode());
        assertFalse(error.getString("message").isBlank());
        assertNotNull(error.getString("code"));
    }

    @Test
    void aWrongKeyIs401InOpenAisShape() {
        OpenAIClient stranger = sdk(server, "not-the-token");
        try {
            UnauthorizedException e = assertThrows(UnauthorizedException.class, () -> {
                try (HttpResponse ignored = stranger.audio().speech().create(params("mp3", "audio").build())) {
                    // not reached
                }
            });
            assertEquals(401, e.statusCode());
            assertEquals("invalid_api_key", e.code().orElse(null));
            assertEquals("invalid_request_error", e.type().orElse(null));
        } finally {
            stranger.close();
        }
        var noToken = server.client().get("/v1/audio/voices").send().await();
        assertOpenAiError(noToken, 401, "invalid_request_error", null);
    }

    @Test
    void aFullEngineAnswers429InOpenAisShape() throws Exception {
        Vertx vertx = Vertx.vertx();
        try (TestServer small = TestServer.withEngine(Map.of("COSYVOICE_ENGINE_WORKERS", "1", "COSYVOICE_ENGINE_QUEUE_SIZE", "0"))) {
            OpenAIClient smallClient = sdk(small, TestServer.TOKEN);
            String id = SpeechTestSupport.uploadPromptVoice(small);
            // a duplex task whose text never ends holds the only worker
            WebSocketClient ws = vertx.createWebSocketClient();
            WebSocket socket = ws.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(small.port())
                    .setURI("/api-ws/v1/audio/speech").addHeader("Authorization", "Bearer " + TestServer.TOKEN)).await();
            LinkedBlockingQueue<JsonObject> received = new LinkedBlockingQueue<>();
            socket.textMessageHandler(text -> received.add(new JsonObject(text)));
            JsonObject parameters = new JsonObject().put("mode", "fast_replication").put("reference_audio_id", id)
                    .put("output_format", "wav").put("sample_rate", 24000);
            socket.writeTextMessage(new JsonObject()
                    .put("header", new JsonObject().put("action", "run-task").put("task_id", "holder").put("streaming", "duplex"))
                    .put("payload", new JsonObject().put("task_group", "audio").put("task", "tts").put("function", "SpeechSynthesizer")
                            .put("model", "cosyvoice-v2").put("parameters", parameters).put("input", new JsonObject()))
                    .encode()).await();
            JsonObject started = received.poll(30, TimeUnit.SECONDS);
            assertNotNull(started);
            assertEquals("task-started", started.getJsonObject("header").getString("event"), started.encode());

            SpeechCreateParams request = SpeechCreateParams.builder().model("tts-1").input(TEXT).voice(id).build();
            RateLimitException e = assertThrows(RateLimitException.class, () -> {
                try (HttpResponse ignored = smallClient.audio().speech().create(request)) {
                    // not reached
                }
            });
            assertEquals(429, e.statusCode());
            assertEquals("rate_limit_exceeded", e.code().orElse(null));
            assertEquals("requests", e.type().orElse(null));
            socket.close().await();
            smallClient.close();
        } finally {
            vertx.close().await();
        }
    }

    @Test
    void voicesListsTheReferenceAudioWithTheirNames() {
        var response = server.get("/v1/audio/voices");
        assertEquals(200, response.statusCode(), response.bodyAsString());
        JsonObject list = response.bodyAsJsonObject();
        assertEquals("list", list.getString("object"));
        JsonObject voice = list.getJsonArray("data").stream().map(JsonObject.class::cast)
                .filter(v -> v.getString("id").equals(voiceId)).findFirst().orElseThrow();
        assertEquals(VOICE_NAME, voice.getString("name"));
        assertEquals("voice", voice.getString("object"));
        assertEquals(EngineApiTest.PROMPT_TEXT, voice.getString("text"));
        assertTrue(voice.getDouble("duration_seconds") > 1);
    }
}
