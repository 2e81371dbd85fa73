package io.cosyvoice.api;

import io.cosyvoice.audio.TestAudio;
import io.cosyvoice.support.TestServer;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The out-of-the-box set-up: no database URL (embedded PostgreSQL in the data directory), no
 * storage URL (a folder in the data directory), no token (one is generated). All of it survives
 * a restart.
 */
class PersistenceTest {

    @Test
    void embeddedDatabaseStorageAndGeneratedTokenSurviveARestart() throws Exception {
        Map<String, String> env = new HashMap<>(TestServer.defaults());
        env.remove("COSYVOICE_DATABASE_URL");
        env.remove("COSYVOICE_API_TOKENS");
        Path dataDir = Path.of(env.get("COSYVOICE_DATA_DIR"));

        TestServer first = TestServer.start(env);
        Path tokenFile = dataDir.resolve("api-token");
        String token = Files.readString(tokenFile).strip();
        assertTrue(token.length() >= 32, "a strong token was generated");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(tokenFile)));
        assertTrue(Files.isRegularFile(dataDir.resolve("postgres").resolve("PG_VERSION")), "database files in the data directory");

        // the configured test token is not accepted: only the generated one is
        assertEquals(401, first.get("/api/v1/audio/reference_audio").statusCode());
        String id = upload(first, token).getString("id");
        first.close();

        TestServer second = TestServer.start(env);
        try {
            assertEquals(token, Files.readString(tokenFile).strip(), "the token is kept, not regenerated");
            HttpResponse<Buffer> got = WebClient.create(second.vertxForClient()).get(second.port(), "127.0.0.1",
                    "/api/v1/audio/reference_audio/" + id).putHeader("Authorization", "Bearer " + token).send().await();
            assertEquals(200, got.statusCode(), got.bodyAsString());
            assertEquals("persisted", got.bodyAsJsonObject().getString("text"));
            assertTrue(Files.isRegularFile(dataDir.resolve("audio").resolve("reference-audio").resolve(id + ".wav")));
        } finally {
            second.close();
        }
    }

    private static JsonObject upload(TestServer server, String token) {
        var form = io.vertx.ext.web.multipart.MultipartForm.create().attribute("text", "persisted")
                .binaryFileUpload("file", "p.wav", Buffer.buffer(TestAudio.wav16(1.5, 22050)), "audio/wav");
        HttpResponse<Buffer> response = server.client().post("/api/v1/audio/reference_audio")
                .putHeader("Authorization", "Bearer " + token).sendMultipartForm(form).await();
        assertEquals(200, response.statusCode(), response.bodyAsString());
        return response.bodyAsJsonObject();
    }
}
