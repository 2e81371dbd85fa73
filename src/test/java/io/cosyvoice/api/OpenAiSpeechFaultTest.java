package io.cosyvoice.api;

import io.cosyvoice.support.TestServer;
import io.cosyvoice.synthesis.FakeSynthesisBackend;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The OpenAI route when things go wrong, against the test backend: a failure after audio has gone
 * out ends an SSE stream with an OpenAI error event and cuts a raw stream short; a backend that
 * stays silent is a 503 in OpenAI's shape; a client that leaves cancels its job. Also the whole
 * speed done by the frontend, for a backend that applies none.
 */
class OpenAiSpeechFaultTest {

    private static TestServer server;
    private static String voice;

    @BeforeAll
    static void start() {
        Map<String, String> env = TestServer.defaults();
        env.put("COSYVOICE_SYNTHESIS_STALL_TIMEOUT", "1s");
        server = TestServer.start(env);
        voice = SpeechTestSupport.uploadVoice(server);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static JsonObject body(String input) {
        return new JsonObject().put("model", "tts-1").put("input", input).put("voice", voice).put("response_format", "pcm");
    }

    private static HttpResponse<Buffer> speech(JsonObject body) {
        return server.request(HttpMethod.POST, "/v1/audio/speech").sendJsonObject(body).await();
    }

    @Test
    void aFailureAfterAudioEndsAnSseStreamWithAnOpenAiErrorEvent() {
        HttpResponse<Buffer> response = speech(body("第一句很正常。" + FakeSynthesisBackend.FAIL_WORD + "。")
                .put("stream_format", "sse"));
        assertEquals(200, response.statusCode());
        List<JsonObject> events = SpeechTestSupport.events(response.bodyAsString());
        events.subList(0, events.size() - 1).forEach(e -> assertEquals("speech.audio.delta", e.getString("type")));
        JsonObject last = events.getLast();
        assertEquals("error", last.getString("type"), last.encode());
        JsonObject error = last.getJsonObject("error");
        assertEquals("server_error", error.getString("type"));
        assertEquals("internal_error", error.getString("code"));
        assertTrue(error.getString("message").contains("synthesis failed"), error.encode());
    }

    @Test
    void aFailureAfterAudioCutsARawStreamShortSoTheClientSeesAnError() {
        assertThrows(Exception.class, () -> speech(body("第一句很正常。" + FakeSynthesisBackend.FAIL_WORD + "。")),
                "an incomplete chunked body, not a short file that looks whole");
    }

    @Test
    void aSilentBackendIsA503InOpenAisShape() {
        server.backend().stall = true;
        try {
            HttpResponse<Buffer> response = speech(body("你好。"));
            OpenAiSpeechSdkTest.assertOpenAiError(response, 503, "server_error", null);
            assertEquals("service_unavailable", response.bodyAsJsonObject().getJsonObject("error").getString("code"));
        } finally {
            server.backend().stall = false;
        }
    }

    @Test
    void aClientThatLeavesMidStreamCancelsItsJob() throws Exception {
        server.backend().chunkDelayMs = 100;
        HttpClient client = server.vertxForClient().createHttpClient();
        try {
            int cancelled = server.backend().cancelled.get();
            CompletableFuture<Void> firstBytes = new CompletableFuture<>();
            client.request(new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1").setPort(server.port())
                            .setURI("/v1/audio/speech").putHeader("Authorization", "Bearer " + TestServer.TOKEN)
                            .putHeader("Content-Type", "application/json"))
                    .compose(request -> request.send(body(SpeechTestSupport.TEXT).encode()))
                    .onSuccess((HttpClientResponse response) -> response.handler(chunk -> {
                        if (firstBytes.complete(null)) {
                            response.request().connection().close();
                        }
                    }))
                    .onFailure(firstBytes::completeExceptionally);
            firstBytes.get(30, TimeUnit.SECONDS);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (server.backend().cancelled.get() == cancelled && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals(cancelled + 1, server.backend().cancelled.get(), "the job was cancelled");
        } finally {
            server.backend().chunkDelayMs = 0;
            client.close().await();
        }
    }

    @Test
    void theWholeSpeedIsAppliedHereForABackendThatAppliesNone() {
        String text = "今天天气很好，我们一起去公园散步吧。";
        double seconds = SpeechTestSupport.expectedSeconds(text);
        for (double speed : new double[]{0.25, 1.0, 4.0}) {
            HttpResponse<Buffer> response = speech(body(text).put("speed", speed));
            assertEquals(200, response.statusCode(), response.bodyAsString());
            double got = response.body().length() / 2.0 / 24000;
            assertEquals(seconds / speed, got, seconds / speed * 0.01 + 0.002, "speed " + speed);
        }
    }
}
