package io.cosyvoice.api;

import io.cosyvoice.audio.TestAudio;
import io.cosyvoice.support.TestServer;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.client.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * How the web UI's files are served (no token, security and caching headers, nothing outside
 * {@code webroot/}), and the stored-audio route the page plays voices from.
 */
class WebUiRoutesTest {

    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static HttpResponse<Buffer> anonymous(HttpMethod method, String path) {
        return server.client().request(method, path).send().await();
    }

    @Test
    void thePageIsServedAtTheRootWithoutAToken() {
        HttpResponse<Buffer> page = anonymous(HttpMethod.GET, "/");
        assertEquals(200, page.statusCode());
        assertTrue(page.getHeader("Content-Type").startsWith("text/html"), page.getHeader("Content-Type"));
        assertTrue(page.bodyAsString().contains("<script src=\"app.js\""), "the page loads its script");
        assertEquals(WebUiRoutes.CONTENT_SECURITY_POLICY, page.getHeader("Content-Security-Policy"));
        assertTrue(page.getHeader("Content-Security-Policy").contains("script-src 'self'"));
        assertEquals("nosniff", page.getHeader("X-Content-Type-Options"));
        assertEquals("no-referrer", page.getHeader("Referrer-Policy"));
        assertEquals("no-cache", page.getHeader("Cache-Control"));
        assertEquals(200, anonymous(HttpMethod.GET, "/index.html").statusCode());
        assertEquals(200, anonymous(HttpMethod.HEAD, "/").statusCode());

        assertTrue(anonymous(HttpMethod.GET, "/app.js").getHeader("Content-Type").contains("javascript"));
        assertTrue(anonymous(HttpMethod.GET, "/style.css").getHeader("Content-Type").startsWith("text/css"));
        assertTrue(anonymous(HttpMethod.GET, "/favicon.svg").getHeader("Content-Type").startsWith("image/svg+xml"));
    }

    @Test
    void aReloadIsRevalidatedNotDownloadedAgain() {
        HttpResponse<Buffer> first = anonymous(HttpMethod.GET, "/app.js");
        String lastModified = first.getHeader("Last-Modified");
        assertNotNull(lastModified, "Last-Modified lets the browser revalidate");
        HttpResponse<Buffer> again = server.client().get("/app.js").putHeader("If-Modified-Since", lastModified).send().await();
        assertEquals(304, again.statusCode());
    }

    @Test
    void onlyTheWebUiFilesAreServedAndTheApiStillNeedsItsToken() {
        for (String path : new String[]{"/nope.js", "/logback.xml", "/../logback.xml", "/db/migration", "/webroot/index.html"}) {
            HttpResponse<Buffer> response = anonymous(HttpMethod.GET, path);
            assertEquals(404, response.statusCode(), path);
            assertEquals("NotFound", response.bodyAsJsonObject().getString("code"), path);
        }
        assertEquals(401, anonymous(HttpMethod.GET, "/api/v1/audio/reference_audio").statusCode());
        assertEquals(405, anonymous(HttpMethod.POST, "/").statusCode());
    }

    @Test
    void theStoredAudioIsServedUnchangedForPlayback() {
        byte[] wav = TestAudio.wav16(1.5, 16000);
        String id = server.uploadOk("voice.wav", wav, "hello").getString("id");
        String path = "/api/v1/audio/reference_audio/" + id + "/audio";
        HttpResponse<Buffer> audio = server.get(path);
        assertEquals(200, audio.statusCode());
        assertEquals("audio/wav", audio.getHeader("Content-Type"));
        assertEquals("no-store", audio.getHeader("Cache-Control"));
        assertArrayEquals(wav, audio.body().getBytes());

        assertEquals(401, anonymous(HttpMethod.GET, path).statusCode());
        assertEquals(404, server.get("/api/v1/audio/reference_audio/" + UUID.randomUUID() + "/audio").statusCode());
        HttpResponse<Buffer> malformed = server.get("/api/v1/audio/reference_audio/nope/audio");
        assertEquals(400, malformed.statusCode());
        assertTrue(malformed.bodyAsJsonObject().getString("message").startsWith("reference_audio_id"));
        assertEquals(200, server.delete("/api/v1/audio/reference_audio/" + id).statusCode());
        assertEquals(404, server.get(path).statusCode());
    }

    @Test
    void rawPcmSaysHowToPlayIt() {
        float[] tone = TestAudio.tone(22050, 1.5, 440);
        byte[] pcm = TestAudio.samples(tone, 1, 16, false);
        HttpResponse<Buffer> uploaded = server.request(HttpMethod.POST, "/api/v1/audio/reference_audio")
                .sendMultipartForm(io.vertx.ext.web.multipart.MultipartForm.create()
                        .attribute("text", "a tone")
                        .attribute("sample_rate", "22050")
                        .binaryFileUpload("file", "tone.pcm", Buffer.buffer(pcm), "application/octet-stream"))
                .await();
        assertEquals(200, uploaded.statusCode(), uploaded.bodyAsString());
        HttpResponse<Buffer> audio = server.get("/api/v1/audio/reference_audio/" + uploaded.bodyAsJsonObject().getString("id") + "/audio");
        assertEquals("audio/pcm;rate=22050;channels=1", audio.getHeader("Content-Type"));
        assertArrayEquals(pcm, audio.body().getBytes());
    }
}
