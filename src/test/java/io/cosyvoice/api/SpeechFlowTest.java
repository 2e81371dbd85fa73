package io.cosyvoice.api;

import io.cosyvoice.audio.DecodedAudio;
import io.cosyvoice.support.TestServer;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.cosyvoice.api.SpeechSocketTest.waitUntil;
import static io.cosyvoice.api.SpeechTestSupport.TEXT;
import static io.cosyvoice.api.SpeechTestSupport.body;
import static io.cosyvoice.api.SpeechTestSupport.decode;
import static io.cosyvoice.api.SpeechTestSupport.events;
import static io.cosyvoice.api.SpeechTestSupport.expectedSeconds;
import static io.cosyvoice.api.SpeechTestSupport.input;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Backpressure, cancellation, concurrency and a missing backend. */
class SpeechFlowTest {

    private static TestServer server;
    private static String voice;

    @BeforeAll
    static void start() {
        server = TestServer.start();
        voice = SpeechTestSupport.uploadVoice(server);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void aClientThatStopsReadingPausesTheBackend() throws Exception {
        String text = TEXT.repeat(20);
        long totalChunks = io.cosyvoice.synthesis.FakeSynthesisBackend.chunksFor(TextPreparation.sentences(text, "text"));
        byte[] request = body(input("fast_replication", text, voice).put("sample_rate", 48000), true).encode()
                .getBytes(StandardCharsets.UTF_8);
        long before = server.backend().chunksSent.get();
        try (Socket socket = new Socket()) {
            socket.setReceiveBufferSize(16 * 1024);
            socket.connect(new InetSocketAddress("127.0.0.1", server.port()));
            OutputStream out = socket.getOutputStream();
            out.write(("POST /api/v1/audio/speech HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + TestServer.TOKEN
                    + "\r\nContent-Type: application/json\r\nContent-Length: " + request.length + "\r\n\r\n").getBytes(StandardCharsets.UTF_8));
            out.write(request);
            out.flush();
            InputStream in = socket.getInputStream();
            in.read(new byte[1024]);
            Thread.sleep(2000); // the client stops reading
            long sentWhilePaused = server.backend().chunksSent.get() - before;
            assertTrue(sentWhilePaused < totalChunks / 2,
                    "backend paused: " + sentWhilePaused + " of " + totalChunks + " chunks sent while the client did not read");
            // the client reads again: the stream completes
            byte[] buffer = new byte[64 * 1024];
            StringBuilder tail = new StringBuilder();
            int n;
            while ((n = in.read(buffer)) > 0) {
                tail.append(new String(buffer, 0, n, StandardCharsets.ISO_8859_1));
                if (tail.length() > 200_000) {
                    tail.delete(0, tail.length() - 200_000);
                }
                if (tail.indexOf("\r\n0\r\n\r\n") >= 0) {
                    break;
                }
            }
            String lastEvent = tail.substring(tail.lastIndexOf("data: "));
            assertTrue(lastEvent.contains("\"finish_reason\":\"stop\""), "ended with finish_reason stop: " + lastEvent);
        }
        assertEquals(totalChunks, server.backend().chunksSent.get() - before);
    }

    @Test
    void aClientThatDisconnectsMidStreamCancelsTheJob() throws Exception {
        server.backend().chunkDelayMs = 50;
        try {
            int cancelledBefore = server.backend().cancelled.get();
            byte[] request = body(input("fast_replication", TEXT.repeat(5), voice), true).encode().getBytes(StandardCharsets.UTF_8);
            try (Socket socket = new Socket("127.0.0.1", server.port())) {
                OutputStream out = socket.getOutputStream();
                out.write(("POST /api/v1/audio/speech HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + TestServer.TOKEN
                        + "\r\nContent-Type: application/json\r\nContent-Length: " + request.length + "\r\n\r\n").getBytes(StandardCharsets.UTF_8));
                out.write(request);
                out.flush();
                String head = new String(socket.getInputStream().readNBytes(200), StandardCharsets.ISO_8859_1);
                assertTrue(head.startsWith("HTTP/1.1 200"), head);
            }
            waitUntil(() -> server.backend().cancelled.get() > cancelledBefore);
        } finally {
            server.backend().chunkDelayMs = 0;
        }
    }

    @Test
    void twoHundredConcurrentSseStreamsAllCompleteCorrectly() throws Exception {
        Vertx vertx = Vertx.vertx();
        WebClient client = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1")
                .setDefaultPort(server.port()), new io.vertx.core.http.PoolOptions().setHttp1MaxSize(200));
        try {
            List<Future<HttpResponse<Buffer>>> responses = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                String text = "第" + i + "句话。";
                responses.add(client.post("/api/v1/audio/speech").putHeader("Authorization", "Bearer " + TestServer.TOKEN)
                        .timeout(120_000).sendJsonObject(body(input("fast_replication", text, voice), true)));
            }
            Future.all(responses).await(180, TimeUnit.SECONDS);
            for (int i = 0; i < 200; i++) {
                HttpResponse<Buffer> response = responses.get(i).result();
                assertEquals(200, response.statusCode());
                List<JsonObject> events = events(response.bodyAsString());
                assertEquals("stop", events.getLast().getJsonObject("output").getString("finish_reason"));
                DecodedAudio audio = decode(SpeechTestSupport.audio(events), "wav", 24000);
                assertEquals(expectedSeconds("第" + i + "句话。"), audio.durationSeconds(), 0.01, "stream " + i);
            }
        } finally {
            client.close();
            vertx.close();
        }
    }

    @Test
    void twoHundredConcurrentWebSocketTasksAllCompleteCorrectly() throws Exception {
        Vertx vertx = Vertx.vertx();
        var client = vertx.createWebSocketClient(new WebSocketClientOptions().setMaxConnections(200));
        try {
            List<Future<byte[]>> results = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                String taskId = "task-" + i;
                String text = "第" + i + "个任务。";
                var promise = io.vertx.core.Promise.<byte[]>promise();
                results.add(promise.future());
                client.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(server.port())
                                .setURI("/api-ws/v1/audio/speech").addHeader("Authorization", "Bearer " + TestServer.TOKEN))
                        .onFailure(promise::tryFail)
                        .onSuccess(ws -> {
                            java.io.ByteArrayOutputStream audio = new java.io.ByteArrayOutputStream();
                            ws.textMessageHandler(message -> {
                                JsonObject json = new JsonObject(message);
                                switch (json.getJsonObject("header").getString("event")) {
                                    case "task-started" -> {
                                        ws.writeTextMessage(SpeechSocketTest.continueTask(taskId, text).encode());
                                        ws.writeTextMessage(SpeechSocketTest.finishTask(taskId).encode());
                                    }
                                    case "result-generated" -> audio.writeBytes(Base64.getDecoder().decode(json.getJsonObject("payload")
                                            .getJsonObject("output").getJsonObject("audio").getString("data")));
                                    case "task-finished" -> {
                                        promise.tryComplete(audio.toByteArray());
                                        ws.close();
                                    }
                                    default -> promise.tryFail(json.encode());
                                }
                            });
                            ws.writeTextMessage(SpeechSocketTest.runTask(taskId, new JsonObject().put("mode", "fast_replication")
                                    .put("reference_audio_id", voice).put("output_format", "wav")).encode());
                        });
            }
            Future.all(results).await(180, TimeUnit.SECONDS);
            for (int i = 0; i < 200; i++) {
                DecodedAudio audio = decode(results.get(i).result(), "wav", 24000);
                assertEquals(expectedSeconds("第" + i + "个任务。"), audio.durationSeconds(), 0.01, "task " + i);
            }
        } finally {
            client.close();
            vertx.close();
        }
    }

    @Test
    void withoutABackendSynthesisIs503() {
        var env = TestServer.defaults();
        try (TestServer bare = TestServer.start(env, false)) {
            String id = SpeechTestSupport.uploadVoice(bare);
            ReferenceAudioApiTest.assertError(bare.speech(body(input("fast_replication", "你好。", id), true)),
                    503, "ServiceUnavailable", "backend");
        }
    }
}
