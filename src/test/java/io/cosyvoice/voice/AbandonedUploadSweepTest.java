package io.cosyvoice.voice;

import io.cosyvoice.audio.TestAudio;
import io.cosyvoice.config.DatabaseConfig;
import io.cosyvoice.config.StorageConfig;
import io.cosyvoice.database.Database;
import io.cosyvoice.storage.BlobStore;
import io.cosyvoice.support.Db;
import io.cosyvoice.support.SharedPostgres;
import io.cosyvoice.support.TestServer;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A process that dies between writing an upload's object and making its row visible leaves a
 * pending row and its object. The sweep removes both; visible uploads and young pending ones
 * (still in flight on another server) are left alone.
 */
class AbandonedUploadSweepTest {

    private Vertx vertx;
    private Database database;
    private BlobStore blobs;
    private String url;

    @BeforeEach
    void open() throws Exception {
        vertx = Vertx.vertx();
        url = SharedPostgres.newDatabaseUrl();
        database = Database.open(vertx, new DatabaseConfig(Optional.of(url), 2, 0), Path.of("unused")).await(60, TimeUnit.SECONDS);
        blobs = BlobStore.open(vertx, StorageConfig.directory(TestServer.tempDir("sweep-store"))).await(10, TimeUnit.SECONDS);
    }

    @AfterEach
    void close() throws Exception {
        blobs.close().await(10, TimeUnit.SECONDS);
        database.close().await(10, TimeUnit.SECONDS);
        vertx.close().await(10, TimeUnit.SECONDS);
    }

    @Test
    void sweepRemovesOnlyOldPendingUploadsWithTheirObjects() throws Exception {
        VoiceLibrary library = new VoiceLibrary(vertx, database.pool(), blobs, Duration.ofMinutes(15));
        ReferenceAudio visible = library.upload(new NewReferenceAudio("v.wav", "audio/wav",
                Buffer.buffer(TestAudio.wav16(1.5, 16000)), "visible", java.util.OptionalInt.empty())).await(30, TimeUnit.SECONDS);

        UUID crashed = pendingUpload("20 minutes");
        UUID inFlight = pendingUpload("1 minute");

        assertEquals(1, library.sweepAbandonedUploads().await(30, TimeUnit.SECONDS));

        List<String> rows = Db.column(url, "SELECT id::text FROM reference_audio ORDER BY id");
        assertEquals(List.of(visible.id().toString(), inFlight.toString()).stream().sorted().toList(), rows);
        assertFalse(exists("reference-audio/" + crashed + ".wav"), "abandoned object removed");
        assertTrue(exists("reference-audio/" + inFlight + ".wav"), "in-flight upload untouched");
        assertTrue(exists(visible.storageKey()));
        assertEquals(visible, library.get(visible.id()).await(10, TimeUnit.SECONDS));
    }

    /** What a crash leaves: the object written, its row still pending, created some time ago. */
    private UUID pendingUpload(String age) throws Exception {
        UUID id = UUID.randomUUID();
        String key = "reference-audio/" + id + ".wav";
        blobs.put(key, Buffer.buffer(TestAudio.wav16(1.2, 16000)), "audio/wav").await(10, TimeUnit.SECONDS);
        Db.execute(url, "INSERT INTO reference_audio (id, state, filename, bytes, created_at, text, format, encoding, "
                + "sample_rate, channels, duration_seconds, checksum, storage_key) VALUES ('" + id + "', 'pending', 'p.wav', "
                + "38444, now() - interval '" + age + "', 'p', 'wav', 'pcm_s16le', 16000, 1, 1.2, 'x', '" + key + "')");
        return id;
    }

    private boolean exists(String key) throws Exception {
        return blobs.exists(key).await(10, TimeUnit.SECONDS);
    }
}
