package io.cosyvoice.storage;

import io.cosyvoice.config.StorageConfig;
import io.cosyvoice.storage.FaultyS3Proxy.Mode;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.function.Supplier;

import static io.cosyvoice.storage.StorageTestSupport.fails;
import static io.cosyvoice.storage.StorageTestSupport.ok;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

@ExtendWith({TestLogging.class, VertxExtension.class})
class S3BlobStoreTest {

    /** Every failure must arrive well inside this, however the far side misbehaves. */
    private static final Duration BOUND = Duration.ofSeconds(30);

    private static S3ProxyServer s3;
    private static FaultyS3Proxy faulty;
    private static BlobStore plain;
    private static BlobStore prefixed;
    private static BlobStore viaProxy;

    @BeforeAll
    static void startServers(Vertx vertx) {
        s3 = S3ProxyServer.start();
        faulty = FaultyS3Proxy.start(s3);
        plain = ok(vertx, () -> s3.openStore(vertx, null));
        prefixed = ok(vertx, () -> s3.openStore(vertx, "tenant/audio"));
        viaProxy = ok(vertx, () -> faulty.openStore(vertx, "faults"));
    }

    @AfterAll
    static void stopServers(Vertx vertx) {
        for (BlobStore store : new BlobStore[] {plain, prefixed, viaProxy}) {
            if (store != null) {
                ok(vertx, store::close);
            }
        }
        if (faulty != null) {
            faulty.close();
        }
        if (s3 != null) {
            s3.close();
        }
    }

    @BeforeEach
    void reset() {
        faulty.mode(Mode.PASS);
        s3.clear();
    }

    @AfterEach
    void pass() {
        faulty.mode(Mode.PASS);
    }

    private static Buffer text(String s) {
        return Buffer.buffer(s.getBytes(StandardCharsets.UTF_8));
    }

    private static byte[] random(int size, long seed) {
        byte[] bytes = new byte[size];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    /** Runs a call that must fail with a StorageException within {@link #BOUND}. */
    private static StorageException failsInTime(Vertx vertx, Supplier<? extends Future<?>> call) {
        long start = System.nanoTime();
        StorageException e = fails(StorageException.class, vertx, call);
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        assertTrue(took.compareTo(BOUND) < 0, "failed only after " + took);
        assertFalse(e.getMessage().contains(s3.secretKey()), "no secret in " + e.getMessage());
        return e;
    }

    @Test
    void roundTripWithoutPrefix(Vertx vertx) {
        assertEquals("s3://" + s3.bucket() + " at " + s3.endpoint(), plain.describe());
        ok(vertx, () -> plain.put("voices/v1/prompt.wav", text("RIFF-one"), "audio/wav"));

        assertEquals(List.of("voices/v1/prompt.wav"), s3.keys());
        assertTrue(ok(vertx, () -> plain.exists("voices/v1/prompt.wav")));
        assertEquals("RIFF-one", ok(vertx, () -> plain.get("voices/v1/prompt.wav")).toString(StandardCharsets.UTF_8));
        assertEquals(List.of("voices/v1/prompt.wav"), ok(vertx, () -> plain.list("")));
        assertEquals(List.of("voices/v1/prompt.wav"), ok(vertx, () -> plain.list("voices/")));
        assertEquals(List.of(), ok(vertx, () -> plain.list("other/")));

        ok(vertx, () -> plain.put("voices/v1/prompt.wav", text("RIFF-two"), "audio/wav"));
        assertEquals("RIFF-two", ok(vertx, () -> plain.get("voices/v1/prompt.wav")).toString(StandardCharsets.UTF_8));

        ok(vertx, () -> plain.delete("voices/v1/prompt.wav"));
        assertFalse(ok(vertx, () -> plain.exists("voices/v1/prompt.wav")));
        assertEquals(List.of(), s3.keys());
        ok(vertx, () -> plain.delete("voices/v1/prompt.wav")); // idempotent
    }

    @Test
    void roundTripWithPrefix(Vertx vertx) {
        assertEquals("s3://" + s3.bucket() + "/tenant/audio at " + s3.endpoint(), prefixed.describe());
        ok(vertx, () -> prefixed.put("voices/a.wav", text("A"), "audio/wav"));
        ok(vertx, () -> prefixed.put("b.wav", text("B"), "audio/wav"));
        ok(vertx, () -> plain.put("voices/unprefixed.wav", text("U"), "audio/wav"));

        assertEquals(Set.of("tenant/audio/voices/a.wav", "tenant/audio/b.wav", "voices/unprefixed.wav"),
                Set.copyOf(s3.keys()));
        assertEquals(Set.of("voices/a.wav", "b.wav"), Set.copyOf(ok(vertx, () -> prefixed.list(""))));
        assertEquals(List.of("voices/a.wav"), ok(vertx, () -> prefixed.list("voices/")));
        assertEquals("A", ok(vertx, () -> prefixed.get("voices/a.wav")).toString(StandardCharsets.UTF_8));
        assertFalse(ok(vertx, () -> prefixed.exists("voices/unprefixed.wav")));
        fails(BlobNotFoundException.class, vertx, () -> prefixed.get("voices/unprefixed.wav"));

        ok(vertx, () -> prefixed.delete("voices/a.wav"));
        assertEquals(Set.of("tenant/audio/b.wav", "voices/unprefixed.wav"), Set.copyOf(s3.keys()));
    }

    @Test
    void contentIsPreservedByteForByte(Vertx vertx) {
        byte[] megabyte = random(1024 * 1024, 42);
        ok(vertx, () -> plain.put("big/random.bin", Buffer.buffer(megabyte), "application/octet-stream"));
        assertArrayEquals(megabyte, ok(vertx, () -> plain.get("big/random.bin")).getBytes());

        byte[] small = random(1000, 7);
        ok(vertx, () -> prefixed.put("small.bin", Buffer.buffer(small), null));
        assertArrayEquals(small, ok(vertx, () -> prefixed.get("small.bin")).getBytes());

        ok(vertx, () -> plain.put("empty", Buffer.buffer(), "application/octet-stream"));
        assertEquals(0, ok(vertx, () -> plain.get("empty")).length());
    }

    @Test
    void listFollowsContinuationPages(Vertx vertx) {
        BlobStore paged = ok(vertx, () -> S3BlobStore.open(vertx, s3.storageConfig("paged"), s3.credentialsProvider())
                .map(store -> store.listPageSize(7)));
        try {
            ok(vertx, () -> {
                List<Future<Void>> puts = new ArrayList<>();
                for (int i = 0; i < 23; i++) {
                    puts.add(paged.put("page/key-" + i, text("v" + i), "text/plain"));
                }
                puts.add(paged.put("elsewhere/key", text("x"), "text/plain"));
                return Future.all(puts);
            });

            List<String> listed = ok(vertx, () -> paged.list("page/"));
            assertEquals(23, listed.size(), listed.toString());
            assertEquals(23, Set.copyOf(listed).size());
            assertTrue(listed.stream().allMatch(k -> k.startsWith("page/key-")), listed.toString());
            assertEquals(24, ok(vertx, () -> paged.list("")).size());
            assertEquals(List.of(), ok(vertx, () -> paged.list("nothing/")));
        } finally {
            ok(vertx, paged::close);
        }
    }

    @Test
    void missingObjects(Vertx vertx) {
        BlobNotFoundException e = fails(BlobNotFoundException.class, vertx, () -> plain.get("no/such/key"));
        assertTrue(e.getMessage().contains("no/such/key"), e.getMessage());
        assertFalse(ok(vertx, () -> plain.exists("no/such/key")));
        ok(vertx, () -> plain.delete("no/such/key"));
    }

    @Test
    void invalidKeysAreRefused(Vertx vertx) {
        for (String key : List.of("../x", "/abs", "a//b", "A", "", "x/../y")) {
            fails(IllegalArgumentException.class, vertx, () -> plain.put(key, text("x"), "text/plain"));
            fails(IllegalArgumentException.class, vertx, () -> plain.get(key));
        }
        fails(IllegalArgumentException.class, vertx, () -> plain.list("../"));
        assertEquals(List.of(), s3.keys());
    }

    @Test
    void checkSucceedsAndFailsForAMissingBucket(Vertx vertx) {
        ok(vertx, plain::check);
        ok(vertx, viaProxy::check);
        BlobStore wrongBucket = ok(vertx, () -> S3BlobStore.open(vertx,
                new StorageConfig(URI.create("s3://no-such-bucket"), Optional.of(s3.endpoint()), Optional.of(s3.region()), true),
                s3.credentialsProvider()).map(store -> store));
        try {
            StorageException e = failsInTime(vertx, wrongBucket::check);
            assertTrue(e.getMessage().startsWith("s3 store s3://no-such-bucket at " + s3.endpoint() + ": check failed: "),
                    e.getMessage());
            assertTrue(e.getMessage().contains("404"), e.getMessage());
            StorageException get = failsInTime(vertx, () -> wrongBucket.get("k"));
            assertFalse(get instanceof BlobNotFoundException, "a missing bucket is not a missing object: " + get);
        } finally {
            ok(vertx, wrongBucket::close);
        }
    }

    @Test
    void wrongCredentialsFailWithoutLeakingThem(Vertx vertx) {
        var wrong = StaticCredentialsProvider.create(AwsBasicCredentials.create(s3.accessKey(), "not-the-secret"));
        BlobStore store = ok(vertx, () -> S3BlobStore.open(vertx, s3.storageConfig(null), wrong).map(s -> s));
        try {
            StorageException e = failsInTime(vertx, () -> store.put("k", text("x"), "text/plain"));
            assertTrue(e.getMessage().contains("HTTP 403"), e.getMessage());
            assertFalse(e.getMessage().contains("not-the-secret"), e.getMessage());
            assertEquals(List.of(), s3.keys());
        } finally {
            ok(vertx, store::close);
        }
    }

    @Test
    void proxyInPassModeIsTransparent(Vertx vertx) {
        byte[] bytes = random(300_000, 3);
        ok(vertx, () -> viaProxy.put("voices/p.wav", Buffer.buffer(bytes), "audio/wav"));
        assertEquals(List.of("faults/voices/p.wav"), s3.keys());
        assertArrayEquals(bytes, ok(vertx, () -> viaProxy.get("voices/p.wav")).getBytes());
        assertTrue(ok(vertx, () -> viaProxy.exists("voices/p.wav")));
        assertEquals(List.of("voices/p.wav"), ok(vertx, () -> viaProxy.list("")));
        ok(vertx, () -> viaProxy.delete("voices/p.wav"));
        assertEquals(List.of(), s3.keys());
    }

    @Test
    void refusedWritesFailInBoundedTimeWhileReadsWork(Vertx vertx) {
        ok(vertx, () -> viaProxy.put("existing", text("still readable"), "text/plain"));
        faulty.mode(Mode.REFUSE_WRITES);

        StorageException e = failsInTime(vertx, () -> viaProxy.put("refused", text("payload"), "text/plain"));
        assertTrue(e.getMessage().startsWith("s3 store s3://" + s3.bucket() + "/faults at " + faulty.endpoint()
                + ": put refused failed: "), e.getMessage());
        assertTrue(e.getMessage().contains("503"), e.getMessage());
        assertNotNull(e.getCause());
        assertTrue(faulty.faults(Mode.REFUSE_WRITES) >= 1);

        assertEquals("still readable", ok(vertx, () -> viaProxy.get("existing")).toString(StandardCharsets.UTF_8));
        assertTrue(ok(vertx, () -> viaProxy.exists("existing")));
        assertEquals(List.of("existing"), ok(vertx, () -> viaProxy.list("")));
        assertEquals(List.of("faults/existing"), s3.keys(), "no object from the refused write");

        faulty.mode(Mode.PASS);
        ok(vertx, () -> viaProxy.put("refused", text("payload"), "text/plain"));
        assertEquals("payload", ok(vertx, () -> viaProxy.get("refused")).toString(StandardCharsets.UTF_8));
    }

    @Test
    void writesDroppedMidBodyFailAndLeaveNoObject(Vertx vertx) {
        byte[] bytes = random(1024 * 1024, 11);
        faulty.mode(Mode.DROP_WRITES_MID_BODY);

        StorageException e = failsInTime(vertx, () -> viaProxy.put("dropped", Buffer.buffer(bytes), "audio/wav"));
        assertTrue(e.getMessage().contains("put dropped failed"), e.getMessage());
        assertTrue(faulty.faults(Mode.DROP_WRITES_MID_BODY) >= 1);
        assertEquals(List.of(), s3.keys(), "no half object");

        faulty.mode(Mode.PASS);
        ok(vertx, () -> viaProxy.put("dropped", Buffer.buffer(bytes), "audio/wav"));
        assertArrayEquals(bytes, ok(vertx, () -> viaProxy.get("dropped")).getBytes());
    }

    @Test
    void storageDownFailsEverythingInBoundedTimeThenRecovers(Vertx vertx) {
        ok(vertx, () -> viaProxy.put("before", text("x"), "text/plain"));
        faulty.mode(Mode.DOWN);

        StorageException check = failsInTime(vertx, viaProxy::check);
        assertTrue(check.getMessage().contains("check failed"), check.getMessage());
        failsInTime(vertx, () -> viaProxy.put("during", text("x"), "text/plain"));
        StorageException get = failsInTime(vertx, () -> viaProxy.get("before"));
        assertFalse(get instanceof BlobNotFoundException, "an outage is not a missing object");
        failsInTime(vertx, () -> viaProxy.exists("before"));
        failsInTime(vertx, () -> viaProxy.list(""));
        failsInTime(vertx, () -> viaProxy.delete("before"));
        assertTrue(faulty.faults(Mode.DOWN) >= 1);
        assertEquals(List.of("faults/before"), s3.keys());

        faulty.mode(Mode.PASS);
        ok(vertx, viaProxy::check);
        ok(vertx, () -> viaProxy.put("during", text("y"), "text/plain"));
        assertEquals(Set.of("faults/before", "faults/during"), Set.copyOf(s3.keys()));
    }

    @Test
    void productionPathUsesTheDefaultCredentialChain(Vertx vertx) {
        String oldKey = System.getProperty("aws.accessKeyId");
        String oldSecret = System.getProperty("aws.secretAccessKey");
        System.setProperty("aws.accessKeyId", s3.accessKey());
        System.setProperty("aws.secretAccessKey", s3.secretKey());
        // The chain reads the properties on every request, so they stay set for the whole test.
        try {
            BlobStore store = ok(vertx, () -> BlobStore.open(vertx, s3.storageConfig("chain")));
            assertTrue(store instanceof S3BlobStore, store.getClass().toString());
            try {
                ok(vertx, () -> store.put("k", text("v"), "text/plain"));
                assertEquals(List.of("chain/k"), s3.keys());
                ok(vertx, store::check);
            } finally {
                ok(vertx, store::close);
            }
        } finally {
            restore("aws.accessKeyId", oldKey);
            restore("aws.secretAccessKey", oldSecret);
        }
    }

    @Test
    void openFailsFastWithoutCredentials(Vertx vertx, @TempDir Path empty) {
        for (String variable : List.of("AWS_ACCESS_KEY_ID", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                "AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
            Assumptions.assumeTrue(System.getenv(variable) == null, variable + " is set in this environment");
        }
        Map<String, String> properties = Map.of(
                "aws.disableEc2Metadata", "true",
                "aws.sharedCredentialsFile", empty.resolve("credentials").toString(),
                "aws.configFile", empty.resolve("config").toString());
        Map<String, String> old = new HashMap<>();
        for (String property : List.of("aws.disableEc2Metadata", "aws.sharedCredentialsFile", "aws.configFile",
                "aws.accessKeyId", "aws.secretAccessKey")) {
            old.put(property, System.getProperty(property));
            System.clearProperty(property);
        }
        properties.forEach(System::setProperty);
        try {
            long start = System.nanoTime();
            StorageException e = fails(StorageException.class, vertx, () -> BlobStore.open(vertx, s3.storageConfig("x")));
            assertTrue(Duration.ofNanos(System.nanoTime() - start).compareTo(BOUND) < 0);
            assertTrue(e.getMessage().startsWith("s3 store s3://" + s3.bucket() + "/x at " + s3.endpoint()
                    + ": open failed: no usable AWS credentials: "), e.getMessage());
        } finally {
            old.forEach(S3BlobStoreTest::restore);
        }
    }

    private static void restore(String property, String value) {
        if (value == null) {
            System.clearProperty(property);
        } else {
            System.setProperty(property, value);
        }
    }

    @Test
    void closedStoreRefusesCalls(Vertx vertx) {
        BlobStore store = ok(vertx, () -> s3.openStore(vertx, "closing"));
        ok(vertx, store::close);
        ok(vertx, store::close); // twice is fine
        StorageException e = fails(StorageException.class, vertx, () -> store.put("k", text("x"), "text/plain"));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }
}
