package io.cosyvoice.config;

import java.net.URI;
import java.util.Optional;

/**
 * Where uploaded audio is kept.
 *
 * @param url         {@code file:///absolute/dir} or {@code s3://bucket/optional/prefix}
 * @param s3Endpoint  an S3-compatible endpoint (MinIO, S3Proxy, OSS...); empty means AWS itself
 * @param s3Region    the signing region; empty means the AWS SDK's region chain, then us-east-1
 * @param s3PathStyle path-style addressing ({@code endpoint/bucket/key}), needed by most non-AWS servers
 */
public record StorageConfig(URI url, Optional<URI> s3Endpoint, Optional<String> s3Region, boolean s3PathStyle) {

    public StorageConfig {
        if (url == null || url.getScheme() == null) {
            throw new IllegalArgumentException("storage url must have a scheme (file: or s3:)");
        }
    }

    public boolean isS3() {
        return "s3".equals(url.getScheme());
    }

    /** A file store in the given directory, with no S3 settings. */
    public static StorageConfig directory(java.nio.file.Path dir) {
        return new StorageConfig(dir.toAbsolutePath().normalize().toUri(), Optional.empty(), Optional.empty(), false);
    }
}
