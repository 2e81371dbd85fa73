package io.cosyvoice.storage;

import io.cosyvoice.config.StorageConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

import java.net.URI;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;

/** Chooses the store implementation from the scheme of {@code storage.url}. */
final class BlobStores {

    static final String URL_SETTING = "storage.url";

    private BlobStores() {
    }

    static Future<BlobStore> open(Vertx vertx, StorageConfig config) {
        Objects.requireNonNull(vertx, "vertx");
        Objects.requireNonNull(config, "config");
        String scheme = config.url().getScheme().toLowerCase(Locale.ROOT);
        try {
            return switch (scheme) {
                case "file" -> FileBlobStore.open(vertx, fileRoot(config.url()));
                case "s3" -> S3BlobStore.open(vertx, config).map(store -> store);
                // Only the scheme is echoed: the rest of an unknown URL might carry a password.
                default -> Future.failedFuture(new IllegalArgumentException(URL_SETTING + ": unsupported scheme '"
                        + scheme + "', expected file:///absolute/dir or s3://bucket/optional/prefix"));
            };
        } catch (IllegalArgumentException e) {
            return Future.failedFuture(e);
        }
    }

    /** The directory of a {@code file:} URL; only absolute, local paths are accepted. */
    static Path fileRoot(URI url) {
        if (url.isOpaque() || url.getPath() == null || !url.getPath().startsWith("/")) {
            throw new IllegalArgumentException(URL_SETTING
                    + ": a file URL must name an absolute directory, like file:///var/lib/cosyvoice/audio");
        }
        if (url.getRawAuthority() != null && !url.getRawAuthority().isEmpty()) {
            throw new IllegalArgumentException(URL_SETTING
                    + ": a file URL must not name a host; use file:///absolute/dir");
        }
        if (url.getRawQuery() != null || url.getRawFragment() != null) {
            throw new IllegalArgumentException(URL_SETTING + ": a file URL must not have a query or fragment");
        }
        try {
            return Path.of(url).toAbsolutePath().normalize();
        } catch (IllegalArgumentException | java.nio.file.FileSystemNotFoundException e) {
            throw new IllegalArgumentException(URL_SETTING + ": not a usable directory URL: " + e.getMessage(), e);
        }
    }
}
