package io.cosyvoice.storage;

import io.cosyvoice.config.StorageConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;

import java.util.List;

/**
 * Object storage for uploaded audio: a local directory or an S3-compatible bucket.
 *
 * <p>Keys are chosen by the server (never taken from a client) and match {@link #KEY_PATTERN}.
 * Every failure of the store itself completes the future with a {@link StorageException}; a
 * missing object on {@link #get} with {@link BlobNotFoundException}.
 */
public interface BlobStore {

    /** Keys: lower-case letters, digits, '-', '_', '.', separated by single '/'; no leading dot. */
    String KEY_PATTERN = "[a-z0-9_-][a-z0-9._-]*(/[a-z0-9_-][a-z0-9._-]*)*";

    /** Stores {@code data} under {@code key}, replacing any object there. Visible whole or not at all. */
    Future<Void> put(String key, Buffer data, String contentType);

    Future<Buffer> get(String key);

    /** Deletes the object; deleting a missing object succeeds. */
    Future<Void> delete(String key);

    Future<Boolean> exists(String key);

    /** Keys under a prefix (for consistency checks and sweeps), in no particular order. */
    Future<List<String>> list(String prefix);

    /** Answers whether the store is reachable and writable enough to serve; used by readiness. */
    Future<Void> check();

    /** A short description for logs and health, without credentials, e.g. {@code s3://bucket/prefix}. */
    String describe();

    Future<Void> close();

    /** Opens the store named by the configuration. */
    static Future<BlobStore> open(Vertx vertx, StorageConfig config) {
        return BlobStores.open(vertx, config);
    }
}
