package io.cosyvoice.api;

import io.cosyvoice.audio.TestAudio;
import io.cosyvoice.support.TestServer;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;

import static io.cosyvoice.api.ReferenceAudioApiTest.assertError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The database goes away under a running server: requests fail fast with 503, nothing is written
 * to storage, readiness reports the database, and service resumes when it is back.
 */
class DatabaseOutageTest {

    @Test
    void uploadsFailCleanlyWhileTheDatabaseIsDownAndRecoverAfter() throws Exception {
        Path pgDir = TestServer.tempDir("cosyvoice-outage-pg");
        int pgPort = io.cosyvoice.support.FreePorts.next(); // the database comes back on it
        EmbeddedPostgres postgres = startPostgres(pgDir, pgPort);
        Map<String, String> env = new java.util.HashMap<>(TestServer.defaults());
        env.put("COSYVOICE_DATABASE_URL", "postgresql://postgres:postgres@127.0.0.1:" + pgPort + "/postgres");
        TestServer server = TestServer.start(env);
        try {
            String kept = server.uploadOk("kept.wav", TestAudio.wav16(1.5, 16000), "kept").getString("id");
            postgres.close();

            long start = System.nanoTime();
            HttpResponse<Buffer> upload = server.upload("lost.wav", TestAudio.wav16(1.5, 16000), "audio/wav", "lost");
            assertError(upload, 503, "ServiceUnavailable", "database");
            assertTrue(System.nanoTime() - start < 30_000_000_000L, "fails fast, no hang");
            assertEquals(1, server.storedFiles().size(), "no object written for the failed upload: " + server.storedFiles());
            assertError(server.get("/api/v1/audio/reference_audio"), 503, "ServiceUnavailable", "database");

            HttpResponse<Buffer> ready = server.client().get("/health/ready").send().await();
            assertEquals(503, ready.statusCode());
            JsonObject components = ready.bodyAsJsonObject().getJsonObject("components");
            assertEquals("DOWN", components.getJsonObject("database").getString("status"));
            assertEquals("UP", components.getJsonObject("storage").getString("status"));
            assertEquals(200, server.client().get("/health/live").send().await().statusCode());

            postgres = startPostgres(pgDir, pgPort);
            assertEquals(200, server.get("/api/v1/audio/reference_audio/" + kept).statusCode());
            String after = server.uploadOk("after.wav", TestAudio.wav16(1.5, 16000), "after").getString("id");
            assertEquals(java.util.List.of(after, kept).stream().sorted().toList(), server.rowIds());
            assertEquals(2, server.storedFiles().size());
            assertEquals(200, server.client().get("/health/ready").send().await().statusCode());
        } finally {
            server.close();
            postgres.close();
        }
    }

    private static EmbeddedPostgres startPostgres(Path dir, int port) throws Exception {
        return EmbeddedPostgres.builder().setDataDirectory(dir).setCleanDataDirectory(false).setPort(port).start();
    }
}
