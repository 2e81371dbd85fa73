package io.cosyvoice.storage;

import io.cosyvoice.config.StorageConfig;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.URI;
import java.nio.file.Path;
import java.util.Optional;

import static io.cosyvoice.storage.StorageTestSupport.fails;
import static io.cosyvoice.storage.StorageTestSupport.ok;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

@ExtendWith({TestLogging.class, VertxExtension.class})
class BlobStoresTest {

    private static StorageConfig config(String url) {
        return new StorageConfig(URI.create(url), Optional.empty(), Optional.empty(), false);
    }

    @Test
    void fileUrlOpensAFileStore(Vertx vertx, @TempDir Path dir) {
        BlobStore store = ok(vertx, () -> BlobStore.open(vertx, config(dir.resolve("x").toUri().toString())));
        assertInstanceOf(FileBlobStore.class, store);
        assertEquals(dir.resolve("x").toAbsolutePath().normalize(), ((FileBlobStore) store).root());
    }

    @ParameterizedTest
    @ValueSource(strings = {"http://example.com/x", "gs://bucket/x", "ftp://host/dir", "mem:store"})
    void otherSchemesAreRefusedNamingTheSetting(String url, Vertx vertx) {
        IllegalArgumentException e = fails(IllegalArgumentException.class, vertx, () -> BlobStore.open(vertx, config(url)));
        assertTrue(e.getMessage().startsWith("storage.url:"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"file:relative/dir", "file://host/dir", "file:///dir?x=1", "s3:bucket", "s3:///prefix",
        "s3://bucket/Upper/Case", "s3://bucket/a//b", "s3://bucket/../x", "s3://bad%20bucket/x", "s3://bucket?x=1"})
    void malformedUrlsAreRefusedNamingTheSetting(String url, Vertx vertx) {
        IllegalArgumentException e = fails(IllegalArgumentException.class, vertx, () -> BlobStore.open(vertx, config(url)));
        assertTrue(e.getMessage().startsWith("storage.url:"), e.getMessage());
    }

    @Test
    void credentialsInAnS3UrlAreRefusedWithoutEchoingThem(Vertx vertx) {
        IllegalArgumentException e = fails(IllegalArgumentException.class, vertx,
                () -> BlobStore.open(vertx, config("s3://AKIDEXAMPLE:wJalrXUtnFEMI@bucket/prefix")));
        assertTrue(e.getMessage().startsWith("storage.url:"), e.getMessage());
        assertFalse(e.getMessage().contains("wJalrXUtnFEMI"), e.getMessage());
        assertFalse(e.getMessage().contains("AKIDEXAMPLE"), e.getMessage());
    }

    @Test
    void s3UrlsParseIntoBucketAndPrefix() {
        assertEquals(new S3BlobStore.Location("bucket", ""), S3BlobStore.location(URI.create("s3://bucket")));
        assertEquals(new S3BlobStore.Location("bucket", ""), S3BlobStore.location(URI.create("s3://bucket/")));
        assertEquals(new S3BlobStore.Location("my.bucket-1", "a/b"), S3BlobStore.location(URI.create("s3://my.bucket-1/a/b/")));
        assertEquals(new S3BlobStore.Location("legacy_Bucket", "p"), S3BlobStore.location(URI.create("s3://legacy_Bucket/p")));
    }

    @Test
    void badS3EndpointIsRefused(Vertx vertx) {
        StorageConfig config = new StorageConfig(URI.create("s3://bucket"), Optional.of(URI.create("ftp://host")),
                Optional.of("us-east-1"), true);
        IllegalArgumentException e = fails(IllegalArgumentException.class, vertx, () -> BlobStore.open(vertx, config));
        assertTrue(e.getMessage().startsWith("storage.s3Endpoint:"), e.getMessage());
    }
}
