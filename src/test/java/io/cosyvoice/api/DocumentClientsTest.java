package io.cosyvoice.api;

import io.cosyvoice.audio.AudioDecoder;
import io.cosyvoice.audio.AudioHint;
import io.cosyvoice.audio.DecodedAudio;
import io.cosyvoice.audio.TestAudio;
import io.cosyvoice.support.DocumentClients;
import io.cosyvoice.support.TestServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The PAI-EAS document's own cURL and Python clients, run verbatim (placeholders substituted)
 * against the server. Needs {@code curl} and {@code python3} with {@code requests}, {@code packaging} and
 * {@code websocket-client}, which
 * {@code .ci/run} installs when missing.
 */
class DocumentClientsTest {

    private static TestServer server;
    private static Path workDir;

    @BeforeAll
    static void start() throws IOException {
        server = TestServer.start();
        workDir = TestServer.tempDir("cosyvoice-doc-clients");
        Files.write(workDir.resolve("zero_shot_prompt.wav"), TestAudio.wav16(3.5, 16000));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void curlSnippets() throws Exception {
        JsonObject uploaded = new JsonObject(run("bash", "upload.sh", null));
        assertUploaded(uploaded);
        String id = uploaded.getString("id");

        JsonArray listed = new JsonArray(run("bash", "list.sh", id));
        assertTrue(listed.size() <= 10);
        assertEquals(id, listed.getJsonObject(0).getString("id"), "newest first");

        assertEquals(uploaded, new JsonObject(run("bash", "get.sh", id)));
        assertDeleted(new JsonObject(run("bash", "delete.sh", id)), id);
    }

    @Test
    void pythonSnippets() throws Exception {
        JsonObject uploaded = new JsonObject(run("python3", "upload.py", null));
        assertUploaded(uploaded);
        String id = uploaded.getString("id");

        JsonArray listed = new JsonArray(run("python3", "list.py", id));
        assertTrue(listed.stream().anyMatch(o -> ((JsonObject) o).getString("id").equals(id)));

        assertEquals(uploaded, new JsonObject(run("python3", "get.py", id)));
        assertDeleted(new JsonObject(run("python3", "delete.py", id)), id);
        assertEquals("NotFound", new JsonObject(run("python3", "get.py", id)).getString("code"));
    }

    @Test
    void pythonNonStreamingSpeech() throws Exception {
        String id = freshVoice();
        Files.deleteIfExists(workDir.resolve("http_non_stream.wav"));
        run("python3", "speech_non_stream.py", id);
        DecodedAudio audio = AudioDecoder.decode(Files.readAllBytes(workDir.resolve("http_non_stream.wav")), AudioHint.none());
        assertEquals(24000, audio.sampleRate());
        assertTrue(audio.durationSeconds() > 1, "the document's text became audio: " + audio.durationSeconds());
    }

    @Test
    void pythonWebSocketTtsClient() throws Exception {
        String id = freshVoice();
        Files.deleteIfExists(workDir.resolve("websocket_stream.wav"));
        String log = run("python3", "tts_client.py", id);
        assertTrue(log.contains("任务已完成"), "the client saw task-finished: " + log);
        DecodedAudio audio = AudioDecoder.decode(Files.readAllBytes(workDir.resolve("websocket_stream.wav")), AudioHint.none());
        assertEquals(24000, audio.sampleRate());
        assertTrue(audio.durationSeconds() > 1, "the document's text became audio: " + audio.durationSeconds());
    }

    /**
     * The document's streaming Python example needs sseclient-py, which this machine's package
     * mirror lacks: replay its exact request and its event loop (stop at the first non-null error,
     * append every chunk) in Java.
     */
    @Test
    void streamingSpeechAsTheDocumentsClientReadsIt() throws Exception {
        String id = freshVoice();
        JsonObject input = new JsonObject().put("mode", "natural_language_replication").put("reference_audio_id", id)
                .put("text", "北京, 你好, 收到好友从远方寄来的生日礼物,那份意外的惊喜与深深的祝福让我心中充满了甜蜜的快乐,笑容如花儿般绽放。")
                .put("output_format", "wav").put("sample_rate", 24000).put("speed", 1.0).put("instruct", "用四川话说或者用广东话说");
        var response = server.speech(new JsonObject().put("model", "CosyVoice2-0.5B").put("input", input).put("stream", true));
        assertEquals(200, response.statusCode());
        ByteArrayOutputStream file = new ByteArrayOutputStream();
        for (JsonObject data : SpeechTestSupport.events(response.bodyAsString())) {
            if (data.getValue("error") != null) {
                throw new AssertionError("error event: " + data.encode());
            }
            file.writeBytes(Base64.getDecoder().decode(data.getJsonObject("output").getJsonObject("audio").getString("data")));
        }
        DecodedAudio audio = AudioDecoder.decode(file.toByteArray(), AudioHint.none());
        assertTrue(audio.durationSeconds() > 1);
    }

    private static String freshVoice() throws IOException {
        return server.uploadOk("zero_shot_prompt.wav", Files.readAllBytes(workDir.resolve("zero_shot_prompt.wav")),
                "希望你以后能够做得比我还好哟").getString("id");
    }

    private static void assertUploaded(JsonObject uploaded) throws IOException {
        assertEquals("zero_shot_prompt.wav", uploaded.getString("filename"));
        assertEquals(Files.size(workDir.resolve("zero_shot_prompt.wav")), uploaded.getLong("bytes"));
        assertEquals("希望你以后能够做得比我还好哟", uploaded.getString("text"));
    }

    private static void assertDeleted(JsonObject deleted, String id) {
        assertEquals(new JsonObject().put("code", "OK").put("message", "reference audio: " + id + " deleted.")
                .put("data", new JsonObject()), deleted);
    }

    /** Runs a document snippet against the server; returns what it printed. */
    private static String run(String interpreter, String snippet, String id) throws Exception {
        return new DocumentClients(server.baseUrl(), workDir).run(interpreter, snippet, id);
    }
}
