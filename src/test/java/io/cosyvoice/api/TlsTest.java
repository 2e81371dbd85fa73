package io.cosyvoice.api;

import io.cosyvoice.audio.DecodedAudio;
import io.cosyvoice.config.ConfigException;
import io.cosyvoice.config.ConfigLoader;
import io.cosyvoice.support.PrometheusText;
import io.cosyvoice.support.TestCertificates;
import io.cosyvoice.support.TestServer;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.ext.web.multipart.MultipartForm;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static io.cosyvoice.api.SpeechTestSupport.TEXT;
import static io.cosyvoice.api.SpeechTestSupport.body;
import static io.cosyvoice.api.SpeechTestSupport.decode;
import static io.cosyvoice.api.SpeechTestSupport.events;
import static io.cosyvoice.api.SpeechTestSupport.expectedSeconds;
import static io.cosyvoice.api.SpeechTestSupport.input;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * HTTPS with a certificate generated at test time: OpenSSL serves the handshakes, ALPN picks
 * HTTP/2 for clients that offer it and HTTP/1.1 for the others, the WebSocket API works as wss://,
 * and a wrong certificate or key stops start-up with a message naming the setting.
 */
class TlsTest {

    private static TestCertificates certificates;
    private static TestServer server;
    private static Vertx vertx;
    private static WebClient h2;
    private static WebClient http11;
    private static String voice;

    @BeforeAll
    static void start() {
        certificates = TestCertificates.generate();
        server = TestServer.start(tlsEnv(certificates.certFile(), certificates.keyFile()));
        vertx = Vertx.vertx();
        h2 = WebClient.create(vertx, clientOptions().setProtocolVersion(HttpVersion.HTTP_2));
        http11 = WebClient.create(vertx, clientOptions().setProtocolVersion(HttpVersion.HTTP_1_1));
        MultipartForm form = MultipartForm.create().attribute("text", "希望你以后能够做得比我还好哟")
                .binaryFileUpload("file", "voice.wav", Buffer.buffer(io.cosyvoice.audio.TestAudio.wav16(2.0, 16000)), "audio/wav");
        HttpResponse<Buffer> uploaded = authorized(h2, HttpMethod.POST, "/api/v1/audio/reference_audio").sendMultipartForm(form).await();
        assertEquals(200, uploaded.statusCode(), uploaded.bodyAsString());
        assertEquals(HttpVersion.HTTP_2, uploaded.version());
        voice = uploaded.bodyAsJsonObject().getString("id");
    }

    @AfterAll
    static void stop() {
        if (vertx != null) {
            vertx.close();
        }
        if (server != null) {
            server.close();
        }
    }

    private static Map<String, String> tlsEnv(Path cert, Path key) {
        Map<String, String> env = new HashMap<>(TestServer.defaults());
        env.put("COSYVOICE_HTTP_TLS_CERT", cert.toString());
        env.put("COSYVOICE_HTTP_TLS_KEY", key.toString());
        return env;
    }

    private static WebClientOptions clientOptions() {
        return new WebClientOptions().setSsl(true).setUseAlpn(true)
                .setTrustOptions(new PemTrustOptions().addCertPath(certificates.certFile().toString()))
                .setDefaultHost("127.0.0.1").setDefaultPort(server.port());
    }

    private static io.vertx.ext.web.client.HttpRequest<Buffer> authorized(WebClient client, HttpMethod method, String path) {
        return client.request(method, path).timeout(60_000).putHeader("Authorization", "Bearer " + TestServer.TOKEN);
    }

    /** The JDK's own HTTP client: an ALPN implementation independent of the server's. */
    private static java.net.http.HttpResponse<String> jdkGet(HttpClient.Version version, String path) throws Exception {
        try (HttpClient client = HttpClient.newBuilder().sslContext(certificates.clientContext()).version(version)
                .connectTimeout(Duration.ofSeconds(10)).build()) {
            return client.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + server.port() + path))
                    .header("Authorization", "Bearer " + TestServer.TOKEN).timeout(Duration.ofSeconds(30)).build(), BodyHandlers.ofString());
        }
    }

    @Test
    void alpnNegotiatesHttp2ForAClientThatOffersIt() throws Exception {
        var ready = jdkGet(HttpClient.Version.HTTP_2, "/health/ready");
        assertEquals(200, ready.statusCode(), ready.body());
        assertEquals(HttpClient.Version.HTTP_2, ready.version(), "ALPN chose h2");
        var list = jdkGet(HttpClient.Version.HTTP_2, "/api/v1/audio/reference_audio");
        assertEquals(200, list.statusCode(), list.body());
        assertEquals(HttpClient.Version.HTTP_2, list.version());
        assertTrue(list.body().contains(voice), list.body());
    }

    @Test
    void http11StillWorksOverTls() throws Exception {
        var ready = jdkGet(HttpClient.Version.HTTP_1_1, "/health/live");
        assertEquals(200, ready.statusCode());
        assertEquals(HttpClient.Version.HTTP_1_1, ready.version());

        HttpResponse<Buffer> speech = authorized(http11, HttpMethod.POST, "/api/v1/audio/speech")
                .sendJsonObject(body(input("fast_replication", TEXT, voice), false)).await();
        assertEquals(200, speech.statusCode(), speech.bodyAsString());
        assertEquals(HttpVersion.HTTP_1_1, speech.version());
        byte[] audio = SpeechTestSupport.audio(List.of(speech.bodyAsJsonObject()));
        assertEquals(expectedSeconds(TEXT), decode(audio, "wav", 24000).durationSeconds(), 0.05);
    }

    @Test
    void serverSentEventsStreamOverHttp2() throws Exception {
        HttpResponse<Buffer> response = authorized(h2, HttpMethod.POST, "/api/v1/audio/speech")
                .sendJsonObject(body(input("fast_replication", TEXT, voice), true)).await();
        assertEquals(200, response.statusCode(), response.bodyAsString());
        assertEquals(HttpVersion.HTTP_2, response.version());
        assertTrue(response.getHeader("Content-Type").startsWith("text/event-stream"));
        List<JsonObject> events = events(response.bodyAsString());
        assertTrue(events.size() > 1, "several events");
        DecodedAudio audio = decode(SpeechTestSupport.audio(events), "wav", 24000);
        assertEquals(expectedSeconds(TEXT), audio.durationSeconds(), 0.05);
    }

    @Test
    void theWebSocketApiWorksOverWss() throws Exception {
        WebSocketClient client = vertx.createWebSocketClient(new WebSocketClientOptions().setSsl(true)
                .setTrustOptions(new PemTrustOptions().addCertPath(certificates.certFile().toString())));
        try {
            WebSocket socket = client.connect(new WebSocketConnectOptions().setSsl(true).setHost("127.0.0.1")
                    .setPort(server.port()).setURI("/api-ws/v1/audio/speech")
                    .addHeader("Authorization", "Bearer " + TestServer.TOKEN)).await();
            assertTrue(socket.isSsl());
            LinkedBlockingQueue<JsonObject> received = new LinkedBlockingQueue<>();
            socket.textMessageHandler(text -> received.add(new JsonObject(text)));
            String taskId = UUID.randomUUID().toString();
            String text = "床前明月光，疑是地上霜。举头望明月，低头思故乡。";
            socket.writeTextMessage(new JsonObject()
                    .put("header", new JsonObject().put("action", "run-task").put("task_id", taskId).put("streaming", "duplex"))
                    .put("payload", new JsonObject().put("task_group", "audio").put("task", "tts").put("function", "SpeechSynthesizer")
                            .put("model", "cosyvoice-v2").put("input", new JsonObject())
                            .put("parameters", new JsonObject().put("mode", "fast_replication").put("reference_audio_id", voice)
                                    .put("output_format", "wav").put("sample_rate", 24000))).encode()).await();
            assertEquals("task-started", event(next(received)));
            socket.writeTextMessage(new JsonObject()
                    .put("header", new JsonObject().put("action", "continue-task").put("task_id", taskId).put("streaming", "duplex"))
                    .put("payload", new JsonObject().put("input", new JsonObject().put("text", text))).encode()).await();
            socket.writeTextMessage(new JsonObject()
                    .put("header", new JsonObject().put("action", "finish-task").put("task_id", taskId).put("streaming", "duplex"))
                    .put("payload", new JsonObject().put("input", new JsonObject())).encode()).await();
            ByteArrayOutputStream audio = new ByteArrayOutputStream();
            List<String> seen = new ArrayList<>();
            while (true) {
                JsonObject message = next(received);
                seen.add(event(message));
                if ("result-generated".equals(event(message))) {
                    audio.writeBytes(Base64.getDecoder().decode(
                            message.getJsonObject("payload").getJsonObject("output").getJsonObject("audio").getString("data")));
                } else {
                    assertEquals("task-finished", event(message), message.encode());
                    break;
                }
            }
            assertTrue(seen.contains("result-generated"), seen.toString());
            assertEquals(expectedSeconds(text), decode(audio.toByteArray(), "wav", 24000).durationSeconds(), 0.05);
            socket.close().await();
        } finally {
            client.close();
        }
    }

    @Test
    void theOpenSslEngineServesTheTlsRequests() throws Exception {
        assertEquals(200, jdkGet(HttpClient.Version.HTTP_2, "/health/live").statusCode());
        assertEquals(200, jdkGet(HttpClient.Version.HTTP_1_1, "/health/live").statusCode());
        HttpResponse<Buffer> scrape = h2.get("/metrics").send().await();
        assertEquals(200, scrape.statusCode());
        PrometheusText metrics = PrometheusText.parse(scrape.bodyAsString());
        assertTrue(metrics.value("cosyvoice_https_requests_total", "engine", "openssl", "protocol", "h2") >= 2);
        assertTrue(metrics.value("cosyvoice_https_requests_total", "engine", "openssl", "protocol", "http/1.1") >= 1);
        assertEquals(0, metrics.sum("cosyvoice_https_requests_total", "engine", "jdk"), "no request on the JDK engine");
    }

    @Test
    void aKeyInOpenSslsTraditionalFormIsAccepted() throws Exception {
        Path sec1 = certificates.writeTraditionalKey();
        assertTrue(Files.readString(sec1).startsWith("-----BEGIN EC PRIVATE KEY-----"));
        try (TestServer other = TestServer.start(tlsEnv(certificates.certFile(), sec1));
             HttpClient client = HttpClient.newBuilder().sslContext(certificates.clientContext()).build()) {
            var response = client.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + other.port() + "/health/live")).build(),
                    BodyHandlers.ofString());
            assertEquals(200, response.statusCode());
            assertEquals(HttpClient.Version.HTTP_2, response.version());
        }
    }

    @Test
    void aMissingFileStopsStartUpNamingTheSetting() {
        ConfigException noCert = assertThrows(ConfigException.class, () -> ConfigLoader.load(
                tlsEnv(Path.of("/no/such/server.crt"), certificates.keyFile()), Optional.empty()));
        assertTrue(noCert.getMessage().contains("COSYVOICE_HTTP_TLS_CERT") && noCert.getMessage().contains("/no/such/server.crt"),
                noCert.getMessage());
        ConfigException noKey = assertThrows(ConfigException.class, () -> ConfigLoader.load(
                tlsEnv(certificates.certFile(), Path.of("/no/such/server.key")), Optional.empty()));
        assertTrue(noKey.getMessage().contains("COSYVOICE_HTTP_TLS_KEY"), noKey.getMessage());

        Map<String, String> certOnly = new HashMap<>(TestServer.defaults());
        certOnly.put("COSYVOICE_HTTP_TLS_CERT", certificates.certFile().toString());
        ConfigException half = assertThrows(ConfigException.class, () -> ConfigLoader.load(certOnly, Optional.empty()));
        assertTrue(half.getMessage().contains("COSYVOICE_HTTP_TLS_KEY"), half.getMessage());
    }

    @Test
    void aBadCertificateOrKeyStopsStartUpNamingTheSetting() throws Exception {
        Path dir = TestServer.tempDir("cosyvoice-bad-tls");
        Path garbage = Files.writeString(dir.resolve("garbage.pem"), "this is not PEM\n");

        String badCert = startFailure(tlsEnv(garbage, certificates.keyFile()));
        assertTrue(badCert.contains("http.tls.cert") && badCert.contains("COSYVOICE_HTTP_TLS_CERT"), badCert);
        // the certificate of the right kind with a broken body
        Path truncated = Files.writeString(dir.resolve("truncated.crt"),
                Files.readString(certificates.certFile()).substring(0, 120) + "\n-----END CERTIFICATE-----\n");
        assertTrue(startFailure(tlsEnv(truncated, certificates.keyFile())).contains("http.tls.cert"));

        String badKey = startFailure(tlsEnv(certificates.certFile(), garbage));
        assertTrue(badKey.contains("http.tls.key") && badKey.contains("COSYVOICE_HTTP_TLS_KEY"), badKey);

        TestCertificates other = TestCertificates.generate();
        String mismatch = startFailure(tlsEnv(certificates.certFile(), other.keyFile()));
        assertTrue(mismatch.contains("http.tls.key") && mismatch.contains("does not belong"), mismatch);
    }

    private static String startFailure(Map<String, String> env) {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> TestServer.start(env).close());
        return e.getMessage();
    }

    private static JsonObject next(LinkedBlockingQueue<JsonObject> received) throws InterruptedException {
        JsonObject message = received.poll(20, TimeUnit.SECONDS);
        assertNotNull(message, "a message arrived");
        return message;
    }

    private static String event(JsonObject message) {
        return message.getJsonObject("header").getString("event");
    }
}
