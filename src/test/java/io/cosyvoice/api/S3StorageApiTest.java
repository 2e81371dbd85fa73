package io.cosyvoice.api;

import io.cosyvoice.audio.TestAudio;
import io.cosyvoice.storage.FaultyS3Proxy;
import io.cosyvoice.storage.S3ProxyServer;
import io.cosyvoice.support.TestServer;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static io.cosyvoice.api.ReferenceAudioApiTest.assertError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The server on S3 storage (S3Proxy in-process, reached through a fault-injecting proxy),
 * configured as a user would: an s3:// URL, an endpoint, path style, and credentials from the
 * AWS SDK's standard chain (here its system properties).
 */
class S3StorageApiTest {

    private static final String PREFIX = "voices/test";
    private static S3ProxyServer s3;
    private static FaultyS3Proxy faulty;
    private static TestServer server;

    @BeforeAll
    static void start() {
        s3 = S3ProxyServer.start();
        faulty = FaultyS3Proxy.start(s3);
        System.setProperty("aws.accessKeyId", S3ProxyServer.ACCESS_KEY);
        System.setProperty("aws.secretAccessKey", S3ProxyServer.SECRET_KEY);
        Map<String, String> env = new HashMap<>(TestServer.defaults());
        env.put("COSYVOICE_STORAGE_URL", "s3://" + s3.bucket() + "/" + PREFIX);
        env.put("COSYVOICE_S3_ENDPOINT", faulty.endpoint().toString());
        env.put("COSYVOICE_S3_REGION", S3ProxyServer.REGION);
        env.put("COSYVOICE_S3_PATH_STYLE", "true");
        server = TestServer.start(env);
    }

    @AfterAll
    static void stop() {
        server.close();
        faulty.close();
        s3.close();
    }

    @AfterEach
    void heal() {
        faulty.mode(FaultyS3Proxy.Mode.PASS);
    }

    @Test
    void uploadGetDeleteKeepOneObjectPerRecord() {
        byte[] mp3 = TestAudio.mp3(2.0, 24000, 1, 64);
        JsonObject body = server.uploadOk("prompt.mp3", mp3, "s3 prompt");
        String id = body.getString("id");
        String key = PREFIX + "/reference-audio/" + id + ".mp3";
        assertTrue(s3.keys().contains(key), s3.keys().toString());
        assertEquals(200, server.get("/api/v1/audio/reference_audio/" + id).statusCode());

        assertEquals(200, server.delete("/api/v1/audio/reference_audio/" + id).statusCode());
        assertTrue(!s3.keys().contains(key), "object deleted");
        assertConsistent();
    }

    @ParameterizedTest
    @EnumSource(value = FaultyS3Proxy.Mode.class, names = {"REFUSE_WRITES", "DROP_WRITES_MID_BODY", "DOWN"})
    void storageFailureMidUploadLeavesNoRowAndNoObject(FaultyS3Proxy.Mode mode) {
        String kept = server.uploadOk("kept.wav", TestAudio.wav16(1.5, 16000), "kept").getString("id");
        List<String> rowsBefore = server.rowIds();
        List<String> objectsBefore = s3.keys();

        faulty.mode(mode);
        long start = System.nanoTime();
        HttpResponse<Buffer> response = server.upload("lost.wav", TestAudio.wav16(4, 16000), "audio/wav", "lost");
        assertError(response, 503, "ServiceUnavailable", "storage");
        assertTrue(System.nanoTime() - start < 45_000_000_000L, "bounded: no hang");
        assertEquals(rowsBefore, server.rowIds(), "no row, pending or visible, is left");
        assertEquals(objectsBefore, s3.keys(), "no orphan object");
        if (mode != FaultyS3Proxy.Mode.DOWN) {
            assertEquals(200, server.get("/api/v1/audio/reference_audio/" + kept).statusCode(), "metadata reads still work");
        }

        faulty.mode(FaultyS3Proxy.Mode.PASS);
        server.uploadOk("after.wav", TestAudio.wav16(1.5, 16000), "after");
        assertConsistent();
    }

    @Test
    void deleteDuringAnOutageKeepsBothAndSucceedsLater() {
        String id = server.uploadOk("d.wav", TestAudio.wav16(1.5, 16000), "d").getString("id");
        faulty.mode(FaultyS3Proxy.Mode.DOWN);
        assertError(server.delete("/api/v1/audio/reference_audio/" + id), 503, "ServiceUnavailable", "storage");
        HttpResponse<Buffer> ready = server.client().get("/health/ready").send().await();
        assertEquals(503, ready.statusCode());
        assertEquals("DOWN", ready.bodyAsJsonObject().getJsonObject("components").getJsonObject("storage").getString("status"));

        faulty.mode(FaultyS3Proxy.Mode.PASS);
        assertEquals(200, server.get("/api/v1/audio/reference_audio/" + id).statusCode(), "row kept with its object");
        assertConsistent();
        assertEquals(200, server.delete("/api/v1/audio/reference_audio/" + id).statusCode());
        assertEquals(200, server.client().get("/health/ready").send().await().statusCode());
        assertConsistent();
    }

    /** Every row has its object and every object its row. */
    private static void assertConsistent() {
        List<String> fromRows = server.rowIds().stream().sorted().toList();
        List<String> fromObjects = s3.keys().stream()
                .map(k -> k.substring(k.lastIndexOf('/') + 1, k.lastIndexOf('.')))
                .sorted().toList();
        assertEquals(fromRows, fromObjects);
    }
}
