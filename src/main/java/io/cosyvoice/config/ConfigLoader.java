package io.cosyvoice.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.vertx.pgclient.PgConnectOptions;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the configuration: the YAML file ({@code conf/application.yaml}, or the file named by
 * {@code COSYVOICE_CONFIG}), then {@code COSYVOICE_*} environment variables, which win. Every
 * setting has a default; an unknown or malformed one stops start-up with a message naming it.
 */
public final class ConfigLoader {

    /** Names another configuration file. */
    public static final String CONFIG_FILE_VARIABLE = "COSYVOICE_CONFIG";
    public static final Path DEFAULT_CONFIG_FILE = Path.of("conf", "application.yaml");
    private static final String ENV_PREFIX = "COSYVOICE_";

    /** Every setting: its key in the YAML file and its environment variable. */
    public enum Setting {
        HTTP_HOST("http.host", "COSYVOICE_HTTP_HOST"),
        HTTP_PORT("http.port", "COSYVOICE_HTTP_PORT"),
        HTTP_SHUTDOWN_TIMEOUT("http.shutdown-timeout", "COSYVOICE_HTTP_SHUTDOWN_TIMEOUT"),
        HTTP_TLS_CERT("http.tls.cert", "COSYVOICE_HTTP_TLS_CERT"),
        HTTP_TLS_KEY("http.tls.key", "COSYVOICE_HTTP_TLS_KEY"),
        WEBSOCKET_IDLE_TIMEOUT("websocket.idle-timeout", "COSYVOICE_WEBSOCKET_IDLE_TIMEOUT"),
        SYNTHESIS_STALL_TIMEOUT("synthesis.stall-timeout", "COSYVOICE_SYNTHESIS_STALL_TIMEOUT"),
        API_TOKENS("api.tokens", "COSYVOICE_API_TOKENS"),
        DATA_DIR("data.dir", "COSYVOICE_DATA_DIR"),
        DATABASE_URL("database.url", "COSYVOICE_DATABASE_URL"),
        DATABASE_POOL_SIZE("database.pool-size", "COSYVOICE_DATABASE_POOL_SIZE"),
        DATABASE_PROMPT_CACHE_BYTES("database.prompt-cache-bytes", "COSYVOICE_DATABASE_PROMPT_CACHE_BYTES"),
        STORAGE_URL("storage.url", "COSYVOICE_STORAGE_URL"),
        S3_ENDPOINT("s3.endpoint", "COSYVOICE_S3_ENDPOINT"),
        S3_REGION("s3.region", "COSYVOICE_S3_REGION"),
        S3_PATH_STYLE("s3.path-style", "COSYVOICE_S3_PATH_STYLE"),
        MODEL_DIR("model.dir", "COSYVOICE_MODEL_DIR"),
        ENGINE_ENABLED("engine.enabled", "COSYVOICE_ENGINE_ENABLED"),
        ENGINE_DEVICE("engine.device", "COSYVOICE_ENGINE_DEVICE"),
        ENGINE_CUDA_DEVICE_ID("engine.cuda-device-id", "COSYVOICE_ENGINE_CUDA_DEVICE_ID"),
        ENGINE_CUDA_MEMORY_LIMIT("engine.cuda-memory-limit", "COSYVOICE_ENGINE_CUDA_MEMORY_LIMIT"),
        ENGINE_THREADS("engine.threads", "COSYVOICE_ENGINE_THREADS"),
        ENGINE_WORKERS("engine.workers", "COSYVOICE_ENGINE_WORKERS"),
        ENGINE_QUEUE_SIZE("engine.queue-size", "COSYVOICE_ENGINE_QUEUE_SIZE"),
        ENGINE_VERIFY_HASHES("engine.verify-hashes", "COSYVOICE_ENGINE_VERIFY_HASHES"),
        ENGINE_BATCHING("engine.batching", "COSYVOICE_ENGINE_BATCHING"),
        ENGINE_MAX_BATCH_SIZE("engine.max-batch-size", "COSYVOICE_ENGINE_MAX_BATCH_SIZE"),
        ENGINE_MAX_TOKENS_PER_STEP("engine.max-tokens-per-step", "COSYVOICE_ENGINE_MAX_TOKENS_PER_STEP"),
        ENGINE_KV_CAPACITY("engine.kv-capacity", "COSYVOICE_ENGINE_KV_CAPACITY"),
        ENGINE_REPLICAS("engine.replicas", "COSYVOICE_ENGINE_REPLICAS"),
        ENGINE_DEADLINE("engine.deadline", "COSYVOICE_ENGINE_DEADLINE"),
        ENGINE_KV_BINDING("engine.kv-binding", "COSYVOICE_ENGINE_KV_BINDING"),
        ENGINE_VOCODER_BATCHING("engine.vocoder-batching", "COSYVOICE_ENGINE_VOCODER_BATCHING"),
        ENGINE_VOCODER_MAX_BATCH("engine.vocoder-max-batch", "COSYVOICE_ENGINE_VOCODER_MAX_BATCH"),
        ENGINE_PROMPT_CACHE_BYTES("engine.prompt-cache-bytes", "COSYVOICE_ENGINE_PROMPT_CACHE_BYTES"),
        MAX_UPLOAD_BYTES("upload.max-bytes", "COSYVOICE_MAX_UPLOAD_BYTES"),
        LOG_FORMAT("log.format", "COSYVOICE_LOG_FORMAT"),
        LOG_LEVEL("log.level", "COSYVOICE_LOG_LEVEL"),
        METRICS_ENABLED("metrics.enabled", "COSYVOICE_METRICS_ENABLED"),
        METRICS_REQUIRE_TOKEN("metrics.require-token", "COSYVOICE_METRICS_REQUIRE_TOKEN"),
        ROLE("role", "COSYVOICE_ROLE"),
        CLUSTER_MEMBERS("cluster.members", "COSYVOICE_CLUSTER_MEMBERS"),
        CLUSTER_KUBERNETES_SERVICE("cluster.kubernetes-service", "COSYVOICE_CLUSTER_KUBERNETES_SERVICE"),
        CLUSTER_HOST("cluster.host", "COSYVOICE_CLUSTER_HOST"),
        CLUSTER_PORT("cluster.port", "COSYVOICE_CLUSTER_PORT"),
        CLUSTER_EVENT_BUS_PORT("cluster.event-bus-port", "COSYVOICE_CLUSTER_EVENT_BUS_PORT");

        public final String key;
        public final String variable;

        Setting(String key, String variable) {
            this.key = key;
            this.variable = variable;
        }

        static Optional<Setting> byKey(String key) {
            return Arrays.stream(values()).filter(s -> s.key.equals(key)).findFirst();
        }

        static Optional<Setting> byVariable(String variable) {
            return Arrays.stream(values()).filter(s -> s.variable.equals(variable)).findFirst();
        }
    }

    private ConfigLoader() {
    }

    /** Loads from the process environment and the configuration file it names (or the default one, if present). */
    public static ServerConfig load(Map<String, String> env) {
        String named = env.get(CONFIG_FILE_VARIABLE);
        if (named != null && !named.isBlank()) {
            Path file = Path.of(named);
            if (!Files.isRegularFile(file)) {
                throw new ConfigException(CONFIG_FILE_VARIABLE + ": no such file: " + file);
            }
            return load(env, Optional.of(file));
        }
        return load(env, Files.isRegularFile(DEFAULT_CONFIG_FILE) ? Optional.of(DEFAULT_CONFIG_FILE) : Optional.empty());
    }

    /** Loads from the given environment and optional YAML file. */
    public static ServerConfig load(Map<String, String> env, Optional<Path> file) {
        Map<Setting, Raw> raw = new EnumMap<>(Setting.class);
        file.ifPresent(f -> readYaml(f, raw));
        for (var entry : env.entrySet()) {
            String name = entry.getKey();
            if (!name.startsWith(ENV_PREFIX) || name.equals(CONFIG_FILE_VARIABLE)) {
                continue;
            }
            Setting setting = Setting.byVariable(name).orElseThrow(() -> new ConfigException(
                    "unknown setting " + name + " in the environment; known: " + knownVariables()));
            raw.put(setting, new Raw(entry.getValue(), name));
        }
        return new Parser(raw).parse();
    }

    private static String knownVariables() {
        return String.join(", ", Arrays.stream(Setting.values()).map(s -> s.variable).toList());
    }

    private static void readYaml(Path file, Map<Setting, Raw> raw) {
        JsonNode root;
        try {
            root = new ObjectMapper(new YAMLFactory()).readTree(file.toFile());
        } catch (IOException e) {
            throw new ConfigException(file + ": not valid YAML: " + firstLine(e.getMessage()));
        }
        if (root == null || root.isMissingNode() || root.isNull()) {
            return;
        }
        if (!root.isObject()) {
            throw new ConfigException(file + ": the top level must be a mapping of settings");
        }
        flatten(file, "", root, raw);
    }

    private static void flatten(Path file, String prefix, JsonNode node, Map<Setting, Raw> raw) {
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            var field = it.next();
            String key = prefix.isEmpty() ? field.getKey() : prefix + "." + field.getKey();
            Optional<Setting> setting = Setting.byKey(key);
            JsonNode value = field.getValue();
            if (setting.isPresent()) {
                String where = "setting '" + key + "' in " + file;
                if (value.isNull()) {
                    continue;
                }
                if (value.isArray()) {
                    List<String> items = new ArrayList<>();
                    value.forEach(item -> items.add(item.asText()));
                    raw.put(setting.get(), new Raw(String.join(",", items), where));
                } else if (value.isValueNode()) {
                    raw.put(setting.get(), new Raw(value.asText(), where));
                } else {
                    throw new ConfigException(where + ": expected a value, found a mapping");
                }
            } else if (value.isObject() && Arrays.stream(Setting.values()).anyMatch(s -> s.key.startsWith(key + "."))) {
                flatten(file, key, value, raw);
            } else {
                throw new ConfigException("unknown setting '" + key + "' in " + file);
            }
        }
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "";
        }
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }

    /** A value as written, with where it came from for error messages. */
    private record Raw(String value, String source) {
    }

    /** Turns raw strings into typed values; each failure names the setting. */
    private static final class Parser {
        private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h)?");
        private final Map<Setting, Raw> raw;

        Parser(Map<Setting, Raw> raw) {
            this.raw = raw;
        }

        ServerConfig parse() {
            var http = new HttpConfig(
                    text(Setting.HTTP_HOST).orElse(HttpConfig.DEFAULTS.host()),
                    integer(Setting.HTTP_PORT, 0, 65535).orElse(HttpConfig.DEFAULTS.port()),
                    duration(Setting.HTTP_SHUTDOWN_TIMEOUT).orElse(HttpConfig.DEFAULTS.shutdownTimeout()),
                    duration(Setting.WEBSOCKET_IDLE_TIMEOUT).orElse(HttpConfig.DEFAULTS.webSocketIdleTimeout()),
                    duration(Setting.SYNTHESIS_STALL_TIMEOUT).orElse(HttpConfig.DEFAULTS.synthesisStallTimeout()),
                    tls());
            Path dataDir = path(Setting.DATA_DIR).orElse(Path.of("data")).toAbsolutePath().normalize();
            var database = new DatabaseConfig(databaseUrl(),
                    integer(Setting.DATABASE_POOL_SIZE, 1, 1000).orElse(DatabaseConfig.DEFAULTS.poolSize()),
                    longInteger(Setting.DATABASE_PROMPT_CACHE_BYTES, 0, 1L << 40).orElse(DatabaseConfig.DEFAULTS.promptCacheBytes()));
            var storage = new StorageConfig(storageUrl(dataDir), s3Endpoint(), text(Setting.S3_REGION),
                    bool(Setting.S3_PATH_STYLE).orElse(false));
            Optional<Path> modelDir = path(Setting.MODEL_DIR).map(p -> p.toAbsolutePath().normalize());
            modelDir.ifPresent(dir -> {
                if (!Files.isDirectory(dir)) {
                    throw fail(Setting.MODEL_DIR, "not a directory: " + dir);
                }
            });
            long maxUpload = longInteger(Setting.MAX_UPLOAD_BYTES, 1024, 1L << 31)
                    .orElse(ServerConfig.DEFAULT_MAX_UPLOAD_BYTES);
            var log = new LogConfig(
                    choice(Setting.LOG_FORMAT, LogConfig.Format.class).orElse(LogConfig.DEFAULTS.format()),
                    logLevel().orElse(LogConfig.DEFAULTS.level()));
            String device = text(Setting.ENGINE_DEVICE).map(v -> v.toLowerCase(Locale.ROOT)).orElse(EngineConfig.DEFAULTS.device());
            if (!device.equals("auto") && !device.equals("cpu") && !device.equals("cuda")) {
                throw fail(Setting.ENGINE_DEVICE, "expected auto, cpu or cuda, got '" + device + "'");
            }
            String kvBinding = text(Setting.ENGINE_KV_BINDING).map(v -> v.toLowerCase(Locale.ROOT))
                    .orElse(EngineConfig.DEFAULTS.kvBinding());
            if (!kvBinding.equals("auto") && !kvBinding.equals("java") && !kvBinding.equals("iobinding")) {
                throw fail(Setting.ENGINE_KV_BINDING, "expected auto, java or iobinding, got '" + kvBinding + "'");
            }
            var engine = new EngineConfig(
                    bool(Setting.ENGINE_ENABLED).orElse(EngineConfig.DEFAULTS.enabled()), modelDir, device,
                    integer(Setting.ENGINE_CUDA_DEVICE_ID, 0, 64).orElse(EngineConfig.DEFAULTS.cudaDeviceId()),
                    longInteger(Setting.ENGINE_CUDA_MEMORY_LIMIT, 0, Long.MAX_VALUE).orElse(EngineConfig.DEFAULTS.cudaMemoryLimit()),
                    integer(Setting.ENGINE_THREADS, 0, 1024).orElse(EngineConfig.DEFAULTS.threads()),
                    integer(Setting.ENGINE_WORKERS, 1, 1024).orElse(EngineConfig.DEFAULTS.workers()),
                    integer(Setting.ENGINE_QUEUE_SIZE, 0, 100_000).orElse(EngineConfig.DEFAULTS.queueSize()),
                    bool(Setting.ENGINE_VERIFY_HASHES).orElse(EngineConfig.DEFAULTS.verifyHashes()),
                    bool(Setting.ENGINE_BATCHING).orElse(EngineConfig.DEFAULTS.batching()),
                    integer(Setting.ENGINE_MAX_BATCH_SIZE, 1, 1024).orElse(EngineConfig.DEFAULTS.maxBatchSize()),
                    integer(Setting.ENGINE_MAX_TOKENS_PER_STEP, 1, 1 << 20).orElse(EngineConfig.DEFAULTS.maxTokensPerStep()),
                    integer(Setting.ENGINE_KV_CAPACITY, 16, 1 << 20).orElse(EngineConfig.DEFAULTS.kvCapacity()),
                    integer(Setting.ENGINE_REPLICAS, 1, 64).orElse(EngineConfig.DEFAULTS.replicas()),
                    duration(Setting.ENGINE_DEADLINE).orElse(EngineConfig.DEFAULTS.deadline()),
                    kvBinding,

                    bool(Setting.ENGINE_VOCODER_BATCHING).orElse(EngineConfig.DEFAULTS.vocoderBatching()),
                    integer(Setting.ENGINE_VOCODER_MAX_BATCH, 1, 256).orElse(EngineConfig.DEFAULTS.vocoderMaxBatch()),
                    longInteger(Setting.ENGINE_PROMPT_CACHE_BYTES, 0, 1L << 40).orElse(EngineConfig.DEFAULTS.promptCacheBytes()));
            var metrics = new MetricsConfig(
                    bool(Setting.METRICS_ENABLED).orElse(MetricsConfig.DEFAULTS.enabled()),
                    bool(Setting.METRICS_REQUIRE_TOKEN).orElse(MetricsConfig.DEFAULTS.requireToken()));
            return new ServerConfig(http, tokens(), dataDir, database, storage, engine, maxUpload, log, metrics, cluster(engine));
        }

        private ClusterConfig cluster(EngineConfig engine) {
            var role = choice(Setting.ROLE, ClusterConfig.Role.class).orElse(ClusterConfig.DEFAULTS.role());
            List<String> members = text(Setting.CLUSTER_MEMBERS).stream()
                    .flatMap(v -> Arrays.stream(v.split(",")))
                    .map(String::trim)
                    .filter(m -> !m.isEmpty())
                    .toList();
            for (String member : members) {
                if (!member.matches("[A-Za-z0-9.-]+(:\\d{1,5})?|\\[[0-9A-Fa-f:]+\\](:\\d{1,5})?")) {
                    throw fail(Setting.CLUSTER_MEMBERS, "expected host or host:port items separated by commas, got '" + member + "'");
                }
            }
            Optional<String> service = text(Setting.CLUSTER_KUBERNETES_SERVICE);
            service.ifPresent(name -> {
                if (!name.matches("[A-Za-z0-9.-]+")) {
                    throw fail(Setting.CLUSTER_KUBERNETES_SERVICE, "expected a DNS name, got '" + name + "'");
                }
            });
            if (!members.isEmpty() && service.isPresent()) {
                throw fail(Setting.CLUSTER_KUBERNETES_SERVICE, "set either " + Setting.CLUSTER_MEMBERS.variable
                        + " or " + Setting.CLUSTER_KUBERNETES_SERVICE.variable + ", not both");
            }
            if (role != ClusterConfig.Role.ALL && members.isEmpty() && service.isEmpty()) {
                throw fail(Setting.ROLE, "role " + role.name().toLowerCase(Locale.ROOT) + " joins a cluster: set "
                        + Setting.CLUSTER_MEMBERS.variable + " (host:port,...) or " + Setting.CLUSTER_KUBERNETES_SERVICE.variable);
            }
            if (role == ClusterConfig.Role.BACKEND && !engine.enabled()) {
                throw fail(Setting.ENGINE_ENABLED, "a backend runs the engine: it cannot be disabled with role backend");
            }
            return new ClusterConfig(role, members, service,
                    text(Setting.CLUSTER_HOST).orElse(ClusterConfig.DEFAULTS.host()),
                    integer(Setting.CLUSTER_PORT, 1, 65535).orElse(ClusterConfig.DEFAULTS.port()),
                    integer(Setting.CLUSTER_EVENT_BUS_PORT, 0, 65535).orElse(ClusterConfig.DEFAULTS.eventBusPort()));
        }

        private ConfigException fail(Setting setting, String problem) {
            Raw value = raw.get(setting);
            String source = value == null || value.source().equals(setting.variable)
                    ? setting.variable : value.source() + " (" + setting.variable + ")";
            return new ConfigException(source + ": " + problem);
        }

        private Optional<String> text(Setting setting) {
            return Optional.ofNullable(raw.get(setting)).map(r -> r.value().trim()).filter(v -> !v.isEmpty());
        }

        private Optional<Integer> integer(Setting setting, int min, int max) {
            return longInteger(setting, min, max).map(Long::intValue);
        }

        private Optional<Long> longInteger(Setting setting, long min, long max) {
            return text(setting).map(v -> {
                long n;
                try {
                    n = Long.parseLong(v.replace("_", ""));
                } catch (NumberFormatException e) {
                    throw fail(setting, "expected a whole number, got '" + v + "'");
                }
                if (n < min || n > max) {
                    throw fail(setting, "must be between " + min + " and " + max + ", got " + n);
                }
                return n;
            });
        }

        private Optional<Boolean> bool(Setting setting) {
            return text(setting).map(v -> switch (v.toLowerCase(Locale.ROOT)) {
                case "true", "yes", "on", "1" -> true;
                case "false", "no", "off", "0" -> false;
                default -> throw fail(setting, "expected true or false, got '" + v + "'");
            });
        }

        private Optional<Duration> duration(Setting setting) {
            return text(setting).map(v -> {
                Matcher m = DURATION.matcher(v);
                if (!m.matches()) {
                    throw fail(setting, "expected a duration like 30s, 500ms or 2m, got '" + v + "'");
                }
                long n = Long.parseLong(m.group(1));
                String unit = m.group(2) == null ? "s" : m.group(2);
                return switch (unit) {
                    case "ms" -> Duration.ofMillis(n);
                    case "m" -> Duration.ofMinutes(n);
                    case "h" -> Duration.ofHours(n);
                    default -> Duration.ofSeconds(n);
                };
            });
        }

        private <E extends Enum<E>> Optional<E> choice(Setting setting, Class<E> type) {
            return text(setting).map(v -> {
                try {
                    return Enum.valueOf(type, v.toUpperCase(Locale.ROOT));
                } catch (IllegalArgumentException e) {
                    throw fail(setting, "expected one of " + Arrays.stream(type.getEnumConstants())
                            .map(c -> c.name().toLowerCase(Locale.ROOT)).toList() + ", got '" + v + "'");
                }
            });
        }

        private Optional<String> logLevel() {
            return text(Setting.LOG_LEVEL).map(v -> {
                String level = v.toUpperCase(Locale.ROOT);
                if (!List.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF").contains(level)) {
                    throw fail(Setting.LOG_LEVEL, "expected trace, debug, info, warn, error or off, got '" + v + "'");
                }
                return level;
            });
        }

        private Optional<Path> path(Setting setting) {
            return text(setting).map(v -> {
                try {
                    return Path.of(v);
                } catch (InvalidPathException e) {
                    throw fail(setting, "not a valid path: '" + v + "'");
                }
            });
        }

        private List<String> tokens() {
            List<String> tokens = text(Setting.API_TOKENS).stream()
                    .flatMap(v -> Arrays.stream(v.split(",")))
                    .map(String::trim)
                    .filter(t -> !t.isEmpty())
                    .toList();
            for (String token : tokens) {
                if (!token.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
                    // never echo a token, even a malformed one
                    throw fail(Setting.API_TOKENS, "tokens must be printable ASCII without spaces");
                }
            }
            return tokens;
        }

        /** Both PEM files or neither; each must be a readable file (its content is checked at start-up). */
        private TlsConfig tls() {
            Optional<Path> cert = readableFile(Setting.HTTP_TLS_CERT);
            Optional<Path> key = readableFile(Setting.HTTP_TLS_KEY);
            if (cert.isPresent() && key.isEmpty()) {
                throw fail(Setting.HTTP_TLS_KEY, "missing: " + Setting.HTTP_TLS_CERT.key + " is set, TLS needs its private key too");
            }
            if (key.isPresent() && cert.isEmpty()) {
                throw fail(Setting.HTTP_TLS_CERT, "missing: " + Setting.HTTP_TLS_KEY.key + " is set, TLS needs the certificate too");
            }
            return new TlsConfig(cert, key);
        }

        private Optional<Path> readableFile(Setting setting) {
            return path(setting).map(p -> p.toAbsolutePath().normalize()).map(p -> {
                if (!Files.isRegularFile(p)) {
                    throw fail(setting, "no such file: " + p);
                }
                if (!Files.isReadable(p)) {
                    throw fail(setting, "cannot read " + p + " (permissions)");
                }
                return p;
            });
        }

        private Optional<String> databaseUrl() {
            return text(Setting.DATABASE_URL).map(v -> {
                if (!v.startsWith("postgresql://") && !v.startsWith("postgres://")) {
                    throw fail(Setting.DATABASE_URL, "expected postgresql://user:pass@host:port/db");
                }
                try {
                    PgConnectOptions.fromUri(v);
                } catch (RuntimeException e) {
                    // the URL may hold a password: do not repeat it
                    throw fail(Setting.DATABASE_URL, "not a valid PostgreSQL URL (expected postgresql://user:pass@host:port/db)");
                }
                return v;
            });
        }

        private URI storageUrl(Path dataDir) {
            Optional<String> value = text(Setting.STORAGE_URL);
            if (value.isEmpty()) {
                return dataDir.resolve("audio").toUri();
            }
            String v = value.get();
            URI uri;
            try {
                uri = new URI(v);
            } catch (URISyntaxException e) {
                throw fail(Setting.STORAGE_URL, "not a valid URL: '" + v + "'");
            }
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            switch (scheme) {
                case "file" -> {
                    String path = uri.isOpaque() ? uri.getSchemeSpecificPart() : uri.getPath();
                    if (path == null || path.isEmpty() || (uri.getAuthority() != null && !uri.getAuthority().isEmpty())) {
                        throw fail(Setting.STORAGE_URL, "expected file:///absolute/directory, got '" + v + "'");
                    }
                    return Path.of(path).toAbsolutePath().normalize().toUri();
                }
                case "s3" -> {
                    String bucket = uri.getAuthority();
                    if (bucket == null || !bucket.matches("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")) {
                        throw fail(Setting.STORAGE_URL, "expected s3://bucket/optional/prefix with a valid bucket name, got '" + v + "'");
                    }
                    return uri;
                }
                default -> throw fail(Setting.STORAGE_URL, "expected file:///dir or s3://bucket/prefix, got '" + v + "'");
            }
        }

        private Optional<URI> s3Endpoint() {
            return text(Setting.S3_ENDPOINT).map(v -> {
                try {
                    URI uri = new URI(v);
                    if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null) {
                        throw new URISyntaxException(v, "not http(s)");
                    }
                    return uri;
                } catch (URISyntaxException e) {
                    throw fail(Setting.S3_ENDPOINT, "expected an http:// or https:// URL, got '" + v + "'");
                }
            });
        }
    }
}
