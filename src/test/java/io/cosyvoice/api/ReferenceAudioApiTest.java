package io.cosyvoice.api;

import io.cosyvoice.audio.TestAudio;
import io.cosyvoice.support.TestServer;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The four reference-audio calls over real HTTP, against real PostgreSQL and file storage. */
@ExtendWith(VertxExtension.class)
class ReferenceAudioApiTest {

    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void uploadReturnsTheObjectAndKeepsTheBytesUnchanged() throws Exception {
        byte[] wav = TestAudio.wav16(2.5, 24000);
        long before = Instant.now().getEpochSecond();
        JsonObject body = server.uploadOk("zero_shot_prompt.wav", wav, "希望你以后能够做得比我还好哟");

        assertEquals(List.of("id", "filename", "bytes", "created_at", "text"), List.copyOf(body.fieldNames()));
        UUID id = UUID.fromString(body.getString("id"));
        assertEquals("zero_shot_prompt.wav", body.getString("filename"));
        assertEquals(wav.length, body.getLong("bytes"));
        assertEquals("希望你以后能够做得比我还好哟", body.getString("text"));
        long created = body.getLong("created_at");
        assertTrue(created >= before && created <= Instant.now().getEpochSecond() + 1, "created_at is now: " + created);

        // the stored object is the uploaded file, byte for byte, and the row describes it
        String key = "reference-audio/" + id + ".wav";
        assertTrue(server.storedFiles().contains(key), server.storedFiles().toString());
        byte[] stored = java.nio.file.Files.readAllBytes(server.config().dataDir().resolve("audio").resolve(key));
        assertTrue(Arrays.equals(wav, stored));
        List<String> row = io.cosyvoice.support.Db.column(server.databaseUrl().orElseThrow(),
                "SELECT concat_ws('|', state, format, sample_rate, channels, round(duration_seconds::numeric, 2), checksum) "
                        + "FROM reference_audio WHERE id = '" + id + "'");
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(wav));
        assertEquals(List.of("ready|wav|24000|1|2.50|" + sha), row);
    }

    @Test
    void mp3AndRawPcmUploadsAreAccepted() {
        JsonObject mp3 = server.uploadOk("prompt.mp3", TestAudio.mp3(3.0, 24000, 1, 64), "mp3 prompt");
        assertEquals("prompt.mp3", mp3.getString("filename"));
        HttpResponse<Buffer> pcm = server.upload("prompt.pcm", TestAudio.pcm16(2.0, 16000), "application/octet-stream", "pcm prompt");
        assertEquals(200, pcm.statusCode(), pcm.bodyAsString());
        assertEquals(64000, pcm.bodyAsJsonObject().getLong("bytes"));
    }

    @Test
    void getListAndDeleteRoundTrip() {
        JsonObject first = server.uploadOk("a.wav", TestAudio.wav16(1.5, 16000), "first");
        JsonObject second = server.uploadOk("b.wav", TestAudio.wav16(1.5, 16000), "second");
        String firstId = first.getString("id");
        String secondId = second.getString("id");

        HttpResponse<Buffer> got = server.get("/api/v1/audio/reference_audio/" + firstId);
        assertEquals(200, got.statusCode());
        assertEquals(first, got.bodyAsJsonObject());

        JsonArray desc = server.get("/api/v1/audio/reference_audio?limit=1000").bodyAsJsonArray();
        List<String> descIds = desc.stream().map(o -> ((JsonObject) o).getString("id")).toList();
        assertTrue(descIds.indexOf(secondId) < descIds.indexOf(firstId), "newest first by default");
        JsonArray asc = server.get("/api/v1/audio/reference_audio?limit=1000&order=asc").bodyAsJsonArray();
        List<String> ascIds = asc.stream().map(o -> ((JsonObject) o).getString("id")).toList();
        assertEquals(descIds.reversed(), ascIds);
        assertEquals(1, server.get("/api/v1/audio/reference_audio?limit=1&order=asc").bodyAsJsonArray().size());

        HttpResponse<Buffer> deleted = server.delete("/api/v1/audio/reference_audio/" + firstId);
        assertEquals(200, deleted.statusCode());
        assertEquals(new JsonObject().put("code", "OK").put("message", "reference audio: " + firstId + " deleted.")
                .put("data", new JsonObject()), deleted.bodyAsJsonObject());
        assertEquals(404, server.get("/api/v1/audio/reference_audio/" + firstId).statusCode());
        assertTrue(server.storedFiles().stream().noneMatch(f -> f.contains(firstId)), "object deleted");
        assertTrue(!server.rowIds().contains(firstId), "row deleted");

        // double delete
        assertError(server.delete("/api/v1/audio/reference_audio/" + firstId), 404, "NotFound", "reference_audio_id");
    }

    @Test
    void listDefaultsToAHundredNewestFirst() {
        for (int i = 0; i < 3; i++) {
            server.uploadOk("x" + i + ".wav", TestAudio.wav16(1.1, 8000), "x" + i);
        }
        JsonArray all = server.get("/api/v1/audio/reference_audio").bodyAsJsonArray();
        assertTrue(all.size() >= 3 && all.size() <= 100);
        long previous = Long.MAX_VALUE;
        for (Object o : all) {
            long created = ((JsonObject) o).getLong("created_at");
            assertTrue(created <= previous, "descending created_at");
            previous = created;
        }
    }

    // ---- bad input: each gives the documented status and body, and writes nothing ----

    @Test
    void noTokenAndWrongTokenAre401() {
        for (String header : new String[]{null, "Bearer wrong-token", "Basic " + TestServer.TOKEN, "Bearer"}) {
            var request = server.client().get("/api/v1/audio/reference_audio");
            if (header != null) {
                request.putHeader("Authorization", header);
            }
            HttpResponse<Buffer> response = request.send().await();
            assertError(response, 401, "Unauthorized", "Authorization");
            assertEquals("Bearer", response.getHeader("WWW-Authenticate"));
        }
        Consistency before = Consistency.of(server);
        var form = io.vertx.ext.web.multipart.MultipartForm.create().attribute("text", "t")
                .binaryFileUpload("file", "a.wav", Buffer.buffer(TestAudio.wav16(2, 16000)), "audio/wav");
        assertError(server.client().post("/api/v1/audio/reference_audio").sendMultipartForm(form).await(),
                401, "Unauthorized", "Authorization");
        before.assertUnchanged(server);
    }

    @Test
    void missingFileIs400() {
        assertRejected(() -> server.upload(null, null, null, "text"), 400, "InvalidParameter", "file");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "   ", "\n"})
    void emptyTextIs400(String text) {
        assertRejected(() -> server.upload("a.wav", TestAudio.wav16(2, 16000), "audio/wav", text), 400, "InvalidParameter", "text");
    }

    @Test
    void missingTextIs400() {
        assertRejected(() -> server.upload("a.wav", TestAudio.wav16(2, 16000), "audio/wav", null), 400, "InvalidParameter", "text");
    }

    @Test
    void notAudioIs415() {
        byte[] text = "this is not audio at all, just a text file\n".repeat(200).getBytes(StandardCharsets.UTF_8);
        assertRejected(() -> server.upload("notes.txt", text, "text/plain", "t"), 415, "UnsupportedMediaType", "file");
        assertRejected(() -> server.upload("notes.wav", text, "audio/wav", "t"), 415, "UnsupportedMediaType", "file");
        byte[] random = new byte[50_000];
        new java.util.Random(7).nextBytes(random);
        assertRejected(() -> server.upload("noise.bin", random, "application/octet-stream", "t"), 415, "UnsupportedMediaType", "file");
    }

    @Test
    void emptyFileIs400() {
        assertRejected(() -> server.upload("a.wav", new byte[0], "audio/wav", "t"), 400, "InvalidParameter", "file");
    }

    @Test
    void audioUnderOneSecondOrOverThirtyIs400() {
        HttpResponse<Buffer> shortOne = assertRejected(() -> server.upload("short.wav", TestAudio.wav16(0.5, 16000), "audio/wav", "t"),
                400, "InvalidParameter", "file");
        assertTrue(shortOne.bodyAsJsonObject().getString("message").contains("0.50 s"));
        assertRejected(() -> server.upload("long.wav", TestAudio.wav16(31, 16000), "audio/wav", "t"), 400, "InvalidParameter", "file");
        assertRejected(() -> server.upload("long.mp3", TestAudio.mp3(31, 16000, 1, 32), "audio/mpeg", "t"), 400, "InvalidParameter", "file");
    }

    @Test
    void truncatedWavAndMp3Are400() {
        byte[] wav = TestAudio.wav16(3, 16000);
        assertRejected(() -> server.upload("cut.wav", Arrays.copyOf(wav, wav.length - 1001), "audio/wav", "t"), 400, "InvalidParameter", "file");
        byte[] mp3 = TestAudio.mp3(3, 24000, 1, 64);
        assertRejected(() -> server.upload("cut.mp3", Arrays.copyOf(mp3, mp3.length - 77), "audio/mpeg", "t"), 400, "InvalidParameter", "file");
    }

    @Test
    void oversizedUploadIs413() {
        long limit = server.config().maxUploadBytes();
        byte[] big = new byte[(int) limit + 1];
        System.arraycopy(TestAudio.wav16(2, 16000), 0, big, 0, 44);
        assertRejected(() -> server.upload("big.wav", big, "audio/wav", "t"), 413, "PayloadTooLarge", "file");
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "1001", "abc", "-1", "1.5"})
    void badLimitIs400(String limit) {
        assertError(server.get("/api/v1/audio/reference_audio?limit=" + limit), 400, "InvalidParameter", "limit");
    }

    @Test
    void badOrderIs400() {
        assertError(server.get("/api/v1/audio/reference_audio?order=sideways"), 400, "InvalidParameter", "order");
    }

    @ParameterizedTest
    @ValueSource(strings = {"not-a-uuid", "123", "50a5fdb9-c3ad-445a-adbb-3be32750zzzz", "50a5fdb9c3ad445aadbb3be327501234"})
    void malformedIdIs400(String id) {
        assertError(server.get("/api/v1/audio/reference_audio/" + id), 400, "InvalidParameter", "reference_audio_id");
        assertError(server.delete("/api/v1/audio/reference_audio/" + id), 400, "InvalidParameter", "reference_audio_id");
    }

    @Test
    void unknownIdIs404() {
        String id = UUID.randomUUID().toString();
        assertError(server.get("/api/v1/audio/reference_audio/" + id), 404, "NotFound", "reference_audio_id");
        assertError(server.delete("/api/v1/audio/reference_audio/" + id), 404, "NotFound", "reference_audio_id");
    }

    @Test
    void unknownRouteAndMethodGetJsonErrors() {
        assertError(server.get("/api/v1/nothing-here"), 404, "NotFound", "/api/v1/nothing-here");
        HttpResponse<Buffer> put = server.request(HttpMethod.PUT, "/api/v1/audio/reference_audio").send().await();
        assertError(put, 405, "MethodNotAllowed", "PUT");
    }

    @Test
    void clientFilenamesNeverBecomePaths() {
        JsonObject body = server.uploadOk("../../etc/passwd.wav", TestAudio.wav16(1.2, 16000), "t");
        assertEquals("passwd.wav", body.getString("filename"));
        assertTrue(server.storedFiles().stream().allMatch(f -> f.startsWith("reference-audio/")), server.storedFiles().toString());
    }

    @Test
    void healthNeedsNoToken() {
        HttpResponse<Buffer> live = server.client().get("/health/live").send().await();
        assertEquals(200, live.statusCode());
        HttpResponse<Buffer> ready = server.client().get("/health/ready").send().await();
        assertEquals(200, ready.statusCode(), ready.bodyAsString());
        JsonObject components = ready.bodyAsJsonObject().getJsonObject("components");
        assertEquals("UP", components.getJsonObject("database").getString("status"));
        assertEquals("UP", components.getJsonObject("storage").getString("status"));
        // outside a cluster the document keeps its shape: only a frontend's synthesis component has a detail
        for (String name : components.fieldNames()) {
            assertEquals(java.util.Set.of("status", "description", "latency_ms", "error"),
                    components.getJsonObject(name).fieldNames(), name);
        }
    }

    /** An error response with the documented body that names the offending field. */
    static void assertError(HttpResponse<Buffer> response, int status, String code, String mentions) {
        assertEquals(status, response.statusCode(), response.bodyAsString());
        JsonObject body = response.bodyAsJsonObject();
        assertEquals(code, body.getString("code"), body.encode());
        assertTrue(body.getString("message").contains(mentions), "message names " + mentions + ": " + body.getString("message"));
        assertNotNull(UUID.fromString(body.getString("request_id")));
        assertEquals(new JsonObject(), body.getJsonObject("data"));
        assertEquals(body.getString("request_id"), response.getHeader("X-Request-Id"));
    }

    /** A refused upload: the error, and neither a row nor an object was added. */
    private static HttpResponse<Buffer> assertRejected(java.util.function.Supplier<HttpResponse<Buffer>> request,
                                                       int status, String code, String field) {
        Consistency before = Consistency.of(server);
        HttpResponse<Buffer> response = request.get();
        assertError(response, status, code, field);
        before.assertUnchanged(server);
        return response;
    }

    /** What is in the database and the store, to check that a refused request changed nothing. */
    record Consistency(List<String> rows, List<String> files) {
        static Consistency of(TestServer server) {
            return new Consistency(server.rowIds(), server.storedFiles());
        }

        void assertUnchanged(TestServer server) {
            assertEquals(rows, server.rowIds(), "database rows");
            assertEquals(files, server.storedFiles(), "stored objects");
            assertEquals(rows.size(), files.size(), "one object per row");
        }
    }
}
