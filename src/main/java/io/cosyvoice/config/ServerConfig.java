package io.cosyvoice.config;

import java.nio.file.Path;
import java.util.List;

/**
 * Every setting of the server, immutable, validated. Built by {@link ConfigLoader} from
 * {@code conf/application.yaml} and {@code COSYVOICE_*} environment variables.
 *
 * @param apiTokens      accepted bearer tokens; empty means "generate one in the data directory"
 * @param dataDir        the server's own files: generated token, embedded database, default audio store
 * @param engine         the synthesis engine of this process
 * @param maxUploadBytes the largest reference-audio file accepted
 * @param metrics        Prometheus metrics on the API port
 * @param cluster        this process's role and how it finds the other processes of a split deployment
 */
public record ServerConfig(
        HttpConfig http,
        List<String> apiTokens,
        Path dataDir,
        DatabaseConfig database,
        StorageConfig storage,
        EngineConfig engine,
        long maxUploadBytes,
        LogConfig log,
        MetricsConfig metrics,
        ClusterConfig cluster) {

    public static final long DEFAULT_MAX_UPLOAD_BYTES = 20L * 1024 * 1024;

    public ServerConfig {
        apiTokens = List.copyOf(apiTokens);
    }
}
