package io.cosyvoice.storage;

import io.cosyvoice.config.StorageConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static io.cosyvoice.storage.StorageTestSupport.fails;
import static io.cosyvoice.storage.StorageTestSupport.ok;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

@ExtendWith({TestLogging.class, VertxExtension.class})
class FileBlobStoreTest {

    @TempDir
    Path temp;

    private Path root;

    @BeforeEach
    void setUp() {
        root = temp.resolve("audio");
    }

    private BlobStore open(Vertx vertx) {
        return ok(vertx, () -> BlobStore.open(vertx, StorageConfig.directory(root)));
    }

    private static Buffer text(String s) {
        return Buffer.buffer(s.getBytes(StandardCharsets.UTF_8));
    }

    private List<String> tmpEntries() throws IOException {
        Path tmp = root.resolve(FileBlobStore.TMP_DIR);
        if (!Files.isDirectory(tmp)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(tmp)) {
            return entries.map(p -> p.getFileName().toString()).toList();
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    @Test
    void opensCreatingTheDirectory(Vertx vertx) {
        BlobStore store = open(vertx);
        assertTrue(Files.isDirectory(root));
        assertTrue(Files.isDirectory(root.resolve(".tmp")));
        assertEquals(root.toUri().toString(), store.describe());
        assertInstanceOf(FileBlobStore.class, store);
        ok(vertx, store::check);
    }

    @Test
    void roundTrip(Vertx vertx) throws IOException {
        BlobStore store = open(vertx);
        ok(vertx, () -> store.put("voices/v1/prompt.wav", text("RIFF-one"), "audio/wav"));

        assertTrue(ok(vertx, () -> store.exists("voices/v1/prompt.wav")));
        assertEquals("RIFF-one", ok(vertx, () -> store.get("voices/v1/prompt.wav")).toString(StandardCharsets.UTF_8));
        assertEquals("RIFF-one", Files.readString(root.resolve("voices/v1/prompt.wav")));
        assertEquals(List.of("voices/v1/prompt.wav"), ok(vertx, () -> store.list("")));
        assertEquals(List.of("voices/v1/prompt.wav"), ok(vertx, () -> store.list("voices/")));
        assertEquals(List.of("voices/v1/prompt.wav"), ok(vertx, () -> store.list("voices/v")));
        assertEquals(List.of(), ok(vertx, () -> store.list("voices/v2")));
        assertEquals(List.of(), ok(vertx, () -> store.list("other/")));

        ok(vertx, () -> store.delete("voices/v1/prompt.wav"));
        assertFalse(ok(vertx, () -> store.exists("voices/v1/prompt.wav")));
        assertEquals(List.of(), ok(vertx, () -> store.list("")));
        assertFalse(Files.exists(root.resolve("voices")), "empty directories are pruned after a delete");
        assertEquals(List.of(), tmpEntries());
        ok(vertx, store::close);
    }

    @Test
    void emptyObjectAndBinaryContent(Vertx vertx) {
        BlobStore store = open(vertx);
        byte[] bytes = new byte[256];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) i;
        }
        ok(vertx, () -> store.put("bin", Buffer.buffer(bytes), null));
        ok(vertx, () -> store.put("empty", Buffer.buffer(), "application/octet-stream"));
        assertArrayEquals(bytes, ok(vertx, () -> store.get("bin")).getBytes());
        assertEquals(0, ok(vertx, () -> store.get("empty")).length());
    }

    @Test
    void overwriteReplacesTheObject(Vertx vertx) throws IOException {
        BlobStore store = open(vertx);
        ok(vertx, () -> store.put("a/b", text("first, longer content"), "text/plain"));
        ok(vertx, () -> store.put("a/b", text("second"), "text/plain"));
        assertEquals("second", ok(vertx, () -> store.get("a/b")).toString(StandardCharsets.UTF_8));
        assertEquals(List.of("a/b"), ok(vertx, () -> store.list("")));
        assertEquals(List.of(), tmpEntries());
    }

    @Test
    void concurrentPutsOfOneKeyLeaveOneWholeObject(Vertx vertx) throws IOException {
        BlobStore store = open(vertx);
        Set<String> written = new HashSet<>();
        for (int i = 0; i < 16; i++) {
            written.add(("writer-" + i + "-").repeat(1000));
        }
        ok(vertx, () -> Future.all(written.stream().map(content -> store.put("same/key", text(content), "text/plain")).toList()));
        assertTrue(written.contains(ok(vertx, () -> store.get("same/key")).toString(StandardCharsets.UTF_8)));
        assertEquals(List.of(), tmpEntries());
    }

    @Test
    void writesAndDeletesInOneDirectoryDoNotTripOverItsPruning(Vertx vertx) {
        // a delete that empties a directory removes it; a write into it at that moment must still land
        BlobStore store = open(vertx);
        int lanes = 4;
        int rounds = 400;
        ok(vertx, () -> {
            List<Future<Void>> all = new java.util.ArrayList<>();
            for (int lane = 0; lane < lanes; lane++) {
                Future<Void> chain = Future.succeededFuture();
                for (int i = 0; i < rounds; i++) {
                    String key = "voices/" + lane + "-" + i + ".wav";
                    chain = chain.compose(v -> store.put(key, text(key), "audio/wav"))
                            .compose(v -> store.get(key))
                            .compose(read -> read.toString(StandardCharsets.UTF_8).equals(key) ? store.delete(key)
                                    : Future.failedFuture("read back " + read + " for " + key));
                }
                all.add(chain);
            }
            return Future.all(all);
        });
        assertFalse(Files.exists(root.resolve("voices")), "the last delete prunes the directory");
    }

    @Test
    void deleteIsIdempotent(Vertx vertx) {
        BlobStore store = open(vertx);
        ok(vertx, () -> store.delete("never/written"));
        ok(vertx, () -> store.put("k", text("x"), "text/plain"));
        ok(vertx, () -> store.delete("k"));
        ok(vertx, () -> store.delete("k"));
        assertFalse(ok(vertx, () -> store.exists("k")));
    }

    @Test
    void getOfMissingKeyIsNotFound(Vertx vertx) {
        BlobStore store = open(vertx);
        BlobNotFoundException e = fails(BlobNotFoundException.class, vertx, () -> store.get("missing/key"));
        assertTrue(e.getMessage().contains("missing/key"), e.getMessage());
        assertInstanceOf(StorageException.class, e);

        // A "directory" of other keys is not an object either, nor is a path through an object.
        ok(vertx, () -> store.put("dir/child", text("x"), "text/plain"));
        fails(BlobNotFoundException.class, vertx, () -> store.get("dir"));
        assertFalse(ok(vertx, () -> store.exists("dir")));
        fails(BlobNotFoundException.class, vertx, () -> store.get("dir/child/grandchild"));
        assertFalse(ok(vertx, () -> store.exists("dir/child/grandchild")));
        ok(vertx, () -> store.delete("dir"));
        assertTrue(ok(vertx, () -> store.exists("dir/child")));
    }

    @ParameterizedTest
    @ValueSource(strings = {"../x", "/abs", "a//b", "A", "", "x/../y", "./x", "a/", ".tmp/x", "a/.hidden",
        "a b", "a\\b", "ä", "x/..", "..", "a\u0000b"})
    void invalidKeysAreRefusedBeforeAnyIo(String key, Vertx vertx) throws IOException {
        BlobStore store = open(vertx);
        assertInstanceOf(IllegalArgumentException.class,
                fails(IllegalArgumentException.class, vertx, () -> store.put(key, text("x"), "text/plain")));
        fails(IllegalArgumentException.class, vertx, () -> store.get(key));
        fails(IllegalArgumentException.class, vertx, () -> store.exists(key));
        fails(IllegalArgumentException.class, vertx, () -> store.delete(key));
        try (Stream<Path> all = Files.walk(temp)) {
            assertEquals(List.of(), all.filter(Files::isRegularFile).toList(), "nothing was written anywhere");
        }
    }

    @Test
    void overlongKeysAndBadPrefixesAreRefused(Vertx vertx) {
        BlobStore store = open(vertx);
        fails(IllegalArgumentException.class, vertx, () -> store.put("a".repeat(256), text("x"), null));
        fails(IllegalArgumentException.class, vertx, () -> store.put("a/".repeat(600) + "b", text("x"), null));
        fails(IllegalArgumentException.class, vertx, () -> store.put(null, text("x"), null));
        for (String prefix : new String[] {"../", "/", "a//", "..", "A/", ".tmp/"}) {
            fails(IllegalArgumentException.class, vertx, () -> store.list(prefix));
        }
        fails(IllegalArgumentException.class, vertx, () -> store.list(null));
    }

    @Test
    void listWalksTheTreeAndSkipsTemporaryAndForeignFiles(Vertx vertx) throws IOException {
        BlobStore store = open(vertx);
        for (String key : List.of("voices/abc/prompt.wav", "voices/abd/prompt.wav", "voices/x.wav", "top")) {
            ok(vertx, () -> store.put(key, text(key), "text/plain"));
        }
        Files.writeString(root.resolve(".tmp/put-leftover.part"), "half");
        Files.writeString(root.resolve("voices/README.TXT"), "not a key");
        Files.createDirectories(root.resolve(".hidden"));
        Files.writeString(root.resolve(".hidden/file"), "not a key");

        assertEquals(Set.of("voices/abc/prompt.wav", "voices/abd/prompt.wav", "voices/x.wav", "top"),
                Set.copyOf(ok(vertx, () -> store.list(""))));
        assertEquals(Set.of("voices/abc/prompt.wav", "voices/abd/prompt.wav", "voices/x.wav"),
                Set.copyOf(ok(vertx, () -> store.list("voices/"))));
        assertEquals(Set.of("voices/abc/prompt.wav", "voices/abd/prompt.wav"),
                Set.copyOf(ok(vertx, () -> store.list("voices/ab"))));
        assertEquals(List.of("voices/abc/prompt.wav"), ok(vertx, () -> store.list("voices/abc/")));
        assertEquals(List.of(), ok(vertx, () -> store.list("nothing/here/")));
    }

    @Test
    void failedWriteLeavesNoTemporaryFileAndNoHalfObject(Vertx vertx) throws IOException {
        BlobStore store = open(vertx);
        ok(vertx, () -> store.put("a", text("an object"), "text/plain"));
        // "a" is a file, so "a/b" cannot be created under it: the move into place fails.
        StorageException e = fails(StorageException.class, vertx, () -> store.put("a/b", text("payload"), "text/plain"));
        assertTrue(e.getMessage().startsWith("file store " + root + ": write a/b failed: "), e.getMessage());
        assertEquals(List.of(), tmpEntries(), "the temporary file was removed");
        assertEquals("an object", ok(vertx, () -> store.get("a")).toString(StandardCharsets.UTF_8));
        assertFalse(ok(vertx, () -> store.exists("a/b")));
        assertEquals(List.of("a"), ok(vertx, () -> store.list("")));
    }

    @Test
    void rootReplacedByAFileFailsEverythingUntilRestored(Vertx vertx) throws IOException {
        BlobStore store = open(vertx);
        ok(vertx, () -> store.put("kept", text("x"), "text/plain"));

        deleteTree(root);
        Files.writeString(root, "I am not a directory");

        StorageException put = fails(StorageException.class, vertx, () -> store.put("k2", text("payload"), "text/plain"));
        assertTrue(put.getMessage().startsWith("file store " + root + ": write k2 failed: "), put.getMessage());
        StorageException check = fails(StorageException.class, vertx, store::check);
        assertTrue(check.getMessage().startsWith("file store " + root + ": check failed: "), check.getMessage());
        StorageException get = fails(StorageException.class, vertx, () -> store.get("kept"));
        assertFalse(get instanceof BlobNotFoundException, "a broken store is not a missing object");
        fails(StorageException.class, vertx, () -> store.exists("kept"));
        fails(StorageException.class, vertx, () -> store.delete("kept"));
        fails(StorageException.class, vertx, () -> store.list(""));
        assertEquals("I am not a directory", Files.readString(root), "nothing was written over the file");

        Files.delete(root);
        Files.createDirectory(root);
        ok(vertx, store::check);
        assertEquals(List.of(), tmpEntries(), "the probe was removed");
        assertFalse(ok(vertx, () -> store.exists("k2")), "the failed write left nothing");
        ok(vertx, () -> store.put("k2", text("payload"), "text/plain"));
        assertEquals("payload", ok(vertx, () -> store.get("k2")).toString(StandardCharsets.UTF_8));
        assertEquals(List.of(), tmpEntries());
    }

    @Test
    void missingRootFailsCheckAndIsNotRecreatedByWrites(Vertx vertx) throws IOException {
        BlobStore store = open(vertx);
        deleteTree(root);
        StorageException e = fails(StorageException.class, vertx, store::check);
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
        fails(StorageException.class, vertx, () -> store.put("k", text("x"), "text/plain"));
        assertFalse(Files.exists(root), "a vanished root (an unmounted volume?) is not silently re-created");
    }

    @Test
    void openRemovesStaleTemporaryFiles(Vertx vertx) throws IOException {
        ok(vertx, open(vertx)::close);
        Path tmp = root.resolve(".tmp");
        Path stale = Files.writeString(tmp.resolve("put-stale.part"), "half an object");
        Files.setLastModifiedTime(stale, FileTime.from(Instant.now().minus(Duration.ofHours(1))));
        Path fresh = Files.writeString(tmp.resolve("put-fresh.part"), "being written by another process");

        BlobStore store = open(vertx);
        assertFalse(Files.exists(stale), "a stale temporary file is removed at open");
        assertTrue(Files.exists(fresh), "a fresh one may belong to a live writer sharing the directory");
        assertEquals(List.of(), ok(vertx, () -> store.list("")));
    }

    @Test
    void openFailsWhenTheRootCannotBeCreated(Vertx vertx) throws IOException {
        Files.writeString(temp.resolve("file"), "x");
        StorageConfig config = StorageConfig.directory(temp.resolve("file/sub"));
        StorageException e = fails(StorageException.class, vertx, () -> BlobStore.open(vertx, config));
        assertTrue(e.getMessage().contains("open failed"), e.getMessage());
    }

    @Test
    void closedStoreRefusesCalls(Vertx vertx) {
        BlobStore store = open(vertx);
        ok(vertx, store::close);
        StorageException e = fails(StorageException.class, vertx, () -> store.put("k", text("x"), "text/plain"));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }
}
