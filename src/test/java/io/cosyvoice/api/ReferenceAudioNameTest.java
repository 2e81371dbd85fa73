package io.cosyvoice.api;

import io.cosyvoice.audio.TestAudio;
import io.cosyvoice.support.TestServer;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.multipart.MultipartForm;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The optional unique name of a reference audio (the OpenAI API's {@code voice} alias): set at
 * upload or by {@code PATCH}, refused with a 409 naming the field when taken (ignoring case) and
 * then nothing is written, shown by {@code GET /v1/audio/voices} and by {@code PATCH}, never added
 * to the PAI-EAS objects.
 */
class ReferenceAudioNameTest {

    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static HttpResponse<Buffer> upload(String name) {
        return server.uploadNamed("v.wav", TestAudio.wav16(1.5, 16000), "voice", name);
    }

    private static String uploadOk(String name) {
        HttpResponse<Buffer> response = upload(name);
        assertEquals(200, response.statusCode(), response.bodyAsString());
        return response.bodyAsJsonObject().getString("id");
    }

    private static JsonObject voice(String id) {
        return server.get("/v1/audio/voices?limit=1000").bodyAsJsonObject().getJsonArray("data").stream()
                .map(JsonObject.class::cast).filter(v -> v.getString("id").equals(id)).findFirst().orElseThrow();
    }

    private static void assertError(HttpResponse<Buffer> response, int status, String code, String field) {
        assertEquals(status, response.statusCode(), response.bodyAsString());
        JsonObject body = response.bodyAsJsonObject();
        assertEquals(code, body.getString("code"), body.encode());
        assertTrue(body.getString("message").startsWith(field + ":"), body.encode());
    }

    @Test
    void aNameGivenAtUploadIsListedAsAVoiceButThePaiEasObjectsKeepTheirFields() {
        HttpResponse<Buffer> response = upload("  Anchor Woman  ");
        assertEquals(200, response.statusCode(), response.bodyAsString());
        String id = response.bodyAsJsonObject().getString("id");
        Set<String> paiEas = Set.of("id", "filename", "bytes", "created_at", "text");
        assertEquals(paiEas, response.bodyAsJsonObject().fieldNames());
        assertEquals(paiEas, server.get("/api/v1/audio/reference_audio/" + id).bodyAsJsonObject().fieldNames());
        assertEquals("Anchor Woman", voice(id).getString("name"), "stripped");
        assertEquals(null, voice(uploadOk(null)).getString("name"), "no name");
    }

    @Test
    void aTakenNameIsRefusedIgnoringCaseAndNothingIsWritten() {
        uploadOk("Duplicate");
        List<String> rows = server.rowIds();
        List<String> files = server.storedFiles();
        assertError(upload("duplicate"), 409, "Conflict", "name");
        assertError(upload("DUPLICATE"), 409, "Conflict", "name");
        assertEquals(rows, server.rowIds(), "no row written");
        assertEquals(files, server.storedFiles(), "no file written");
    }

    @Test
    void concurrentUploadsOfOneNameLeaveExactlyOne() {
        List<String> rows = server.rowIds();
        List<Future<HttpResponse<Buffer>>> racing = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            MultipartForm form = MultipartForm.create().attribute("text", "voice").attribute("name", "racer")
                    .binaryFileUpload("file", "v.wav", Buffer.buffer(TestAudio.wav16(1.5, 16000)), "audio/wav");
            racing.add(server.request(HttpMethod.POST, "/api/v1/audio/reference_audio").sendMultipartForm(form));
        }
        List<Integer> statuses = racing.stream().map(f -> f.await().statusCode()).sorted().toList();
        assertEquals(List.of(200, 409, 409, 409), statuses);
        assertEquals(rows.size() + 1, server.rowIds().size());
        assertEquals(server.rowIds().size(), server.storedFiles().size(), "one file per row");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "   ", "bad/name", "-leading-dash", "0b3c5f4e-1111-4a2b-9c3d-123456789abc",
        "a-very-long-name-that-goes-on-and-on-beyond-sixty-four-characters-in-all"})
    void aBadNameIsA400NamingTheFieldAndNothingIsWritten(String name) {
        List<String> rows = server.rowIds();
        List<String> files = server.storedFiles();
        assertError(upload(name), 400, "InvalidParameter", "name");
        assertEquals(rows, server.rowIds());
        assertEquals(files, server.storedFiles());
    }

    @Test
    void patchNamesRenamesAndUnnamesAVoice() {
        String id = uploadOk(null);
        HttpResponse<Buffer> named = server.patch(id, new JsonObject().put("name", "Storyteller"));
        assertEquals(200, named.statusCode(), named.bodyAsString());
        assertEquals("Storyteller", named.bodyAsJsonObject().getString("name"));
        assertEquals(id, named.bodyAsJsonObject().getString("id"));
        assertEquals("Storyteller", voice(id).getString("name"));

        String other = uploadOk("Taken");
        assertError(server.patch(id, new JsonObject().put("name", "TAKEN")), 409, "Conflict", "name");
        assertEquals("Storyteller", voice(id).getString("name"), "unchanged after a conflict");

        HttpResponse<Buffer> cleared = server.patch(other, new JsonObject().putNull("name"));
        assertEquals(200, cleared.statusCode(), cleared.bodyAsString());
        assertTrue(cleared.bodyAsJsonObject().containsKey("name") && cleared.bodyAsJsonObject().getString("name") == null);
        assertEquals(200, server.patch(id, new JsonObject().put("name", "taken")).statusCode(), "a freed name can be taken");
        assertEquals("taken", voice(id).getString("name"));
    }

    @Test
    void badPatchesNameTheirField() {
        String id = uploadOk(null);
        assertError(server.patch(UUID.randomUUID().toString(), new JsonObject().put("name", "ghost")), 404, "NotFound",
                "reference_audio_id");
        assertError(server.patch("not-a-uuid", new JsonObject().put("name", "x")), 400, "InvalidParameter", "reference_audio_id");
        assertError(server.patch(id, new JsonObject()), 400, "InvalidParameter", "name");
        assertError(server.patch(id, new JsonObject().put("name", 5)), 400, "InvalidParameter", "name");
        assertError(server.patch(id, new JsonObject().put("name", "no/slash")), 400, "InvalidParameter", "name");
        HttpResponse<Buffer> notJson = server.request(HttpMethod.PATCH, "/api/v1/audio/reference_audio/" + id)
                .putHeader("Content-Type", "application/json").sendBuffer(Buffer.buffer("{oops")).await();
        assertError(notJson, 400, "InvalidParameter", "body");
        HttpResponse<Buffer> noToken = server.client().patch("/api/v1/audio/reference_audio/" + id)
                .sendJsonObject(new JsonObject().put("name", "x")).await();
        assertEquals(401, noToken.statusCode());
        assertEquals(null, voice(id).getString("name"), "nothing changed");
    }

    @Test
    void aDeletedVoiceFreesItsName() {
        String id = uploadOk("Ephemeral");
        assertEquals(200, server.delete("/api/v1/audio/reference_audio/" + id).statusCode());
        uploadOk("ephemeral");
    }
}
