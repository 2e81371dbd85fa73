package io.cosyvoice.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Every setting of the server, immutable, validated. Built by {@link ConfigLoader} from
 * {@code conf/application.yaml} and {@code COSYVOICE_*} environment variables.
 *
 * @param apiTokens      accepted bearer tokens; empty means "generate one in the data directory"
 * @param dataDir        the server's own files: generated token, embedded database, default audio store
 * @param modelDir       the model directory; empty means the built-in default
 * @param maxUploadBytes the largest reference-audio file accepted
 */
public record ServerConfig(
        HttpConfig http,
        List<String> apiTokens,
        Path dataDir,
        DatabaseConfig database,
        StorageConfig storage,
        Optional<Path> modelDir,
        long maxUploadBytes,
        LogConfig log) {

    public static final long DEFAULT_MAX_UPLOAD_BYTES = 20L * 1024 * 1024;

    public ServerConfig {
        apiTokens = List.copyOf(apiTokens);
    }
}
