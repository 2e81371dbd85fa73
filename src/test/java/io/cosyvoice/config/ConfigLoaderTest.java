package io.cosyvoice.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConfigLoaderTest {

    private static final Path SHIPPED = Path.of("conf", "application.yaml");

    @Test
    void defaultsWithoutFileOrEnvironment() {
        ServerConfig config = ConfigLoader.load(Map.of(), Optional.empty());
        assertEquals(8080, config.http().port());
        assertEquals(List.of(), config.apiTokens());
        assertEquals(Path.of("data").toAbsolutePath().normalize(), config.dataDir());
        assertTrue(config.database().embedded());
        assertEquals(config.dataDir().resolve("audio").toUri(), config.storage().url());
        assertEquals(20L * 1024 * 1024, config.maxUploadBytes());
        assertEquals(Duration.ofSeconds(30), config.http().shutdownTimeout());
        assertEquals(LogConfig.Format.TEXT, config.log().format());
    }

    @Test
    void shippedFileStatesExactlyTheDefaults() {
        assertEquals(ConfigLoader.load(Map.of(), Optional.empty()), ConfigLoader.load(Map.of(), Optional.of(SHIPPED)));
    }

    @Test
    void shippedFileDocumentsEverySettingAndItsVariable() throws Exception {
        String text = Files.readString(SHIPPED);
        for (ConfigLoader.Setting setting : ConfigLoader.Setting.values()) {
            String leaf = setting.key.substring(setting.key.lastIndexOf('.') + 1);
            assertTrue(text.contains(leaf + ":"), "conf/application.yaml has " + setting.key);
            assertTrue(text.contains(setting.variable), "conf/application.yaml names " + setting.variable);
        }
    }

    @Test
    void environmentOverridesTheFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("app.yaml");
        Files.writeString(file, """
                http:
                  port: 9000
                api:
                  tokens: [alpha, beta]
                storage:
                  url: s3://voices/prod
                s3:
                  endpoint: http://127.0.0.1:9999
                  path-style: true
                """);
        ServerConfig fromFile = ConfigLoader.load(Map.of(), Optional.of(file));
        assertEquals(9000, fromFile.http().port());
        assertEquals(List.of("alpha", "beta"), fromFile.apiTokens());
        assertTrue(fromFile.storage().isS3());
        assertTrue(fromFile.storage().s3PathStyle());

        ServerConfig overridden = ConfigLoader.load(Map.of(
                "COSYVOICE_HTTP_PORT", "9100",
                "COSYVOICE_API_TOKENS", " one , two,,",
                "COSYVOICE_S3_PATH_STYLE", "false",
                "COSYVOICE_MAX_UPLOAD_BYTES", "1048576",
                "PATH", "/usr/bin"), Optional.of(file));
        assertEquals(9100, overridden.http().port());
        assertEquals(List.of("one", "two"), overridden.apiTokens());
        assertFalse(overridden.storage().s3PathStyle());
        assertEquals(1048576, overridden.maxUploadBytes());
    }

    @Test
    void configFileVariableNamesTheFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("other.yaml");
        Files.writeString(file, "http:\n  port: 7000\n");
        assertEquals(7000, ConfigLoader.load(Map.of("COSYVOICE_CONFIG", file.toString())).http().port());
        ConfigException missing = assertThrows(ConfigException.class,
                () -> ConfigLoader.load(Map.of("COSYVOICE_CONFIG", dir.resolve("nope.yaml").toString())));
        assertTrue(missing.getMessage().contains("COSYVOICE_CONFIG"));
    }

    @Test
    void unknownSettingsAreNamed(@TempDir Path dir) throws Exception {
        assertMessage(Map.of("COSYVOICE_HTTP_PROT", "80"), null, "COSYVOICE_HTTP_PROT");
        Path file = dir.resolve("app.yaml");
        Files.writeString(file, "http:\n  prot: 80\n");
        assertMessage(Map.of(), file, "http.prot");
        Files.writeString(file, "colour: blue\n");
        assertMessage(Map.of(), file, "colour");
    }

    @Test
    void malformedValuesAreNamed() {
        assertMessage(Map.of("COSYVOICE_HTTP_PORT", "eighty"), null, "COSYVOICE_HTTP_PORT");
        assertMessage(Map.of("COSYVOICE_HTTP_PORT", "70000"), null, "COSYVOICE_HTTP_PORT");
        assertMessage(Map.of("COSYVOICE_S3_PATH_STYLE", "maybe"), null, "COSYVOICE_S3_PATH_STYLE");
        assertMessage(Map.of("COSYVOICE_STORAGE_URL", "ftp://host/dir"), null, "COSYVOICE_STORAGE_URL");
        assertMessage(Map.of("COSYVOICE_STORAGE_URL", "s3://"), null, "COSYVOICE_STORAGE_URL");
        assertMessage(Map.of("COSYVOICE_S3_ENDPOINT", "localhost:9000"), null, "COSYVOICE_S3_ENDPOINT");
        assertMessage(Map.of("COSYVOICE_MAX_UPLOAD_BYTES", "-5"), null, "COSYVOICE_MAX_UPLOAD_BYTES");
        assertMessage(Map.of("COSYVOICE_HTTP_SHUTDOWN_TIMEOUT", "soon"), null, "COSYVOICE_HTTP_SHUTDOWN_TIMEOUT");
        assertMessage(Map.of("COSYVOICE_LOG_FORMAT", "xml"), null, "COSYVOICE_LOG_FORMAT");
        assertMessage(Map.of("COSYVOICE_MODEL_DIR", "/no/such/model/dir"), null, "COSYVOICE_MODEL_DIR");
        assertMessage(Map.of("COSYVOICE_METRICS_ENABLED", "sometimes"), null, "COSYVOICE_METRICS_ENABLED");
    }

    @Test
    void kvBindingIsAutoByDefaultAndFollowsTheDevice() {
        assertEquals("auto", ConfigLoader.load(Map.of(), Optional.empty()).engine().kvBinding());
        assertEquals("iobinding", ConfigLoader.load(Map.of("COSYVOICE_ENGINE_KV_BINDING", "IoBinding"), Optional.empty())
                .engine().kvBinding());
        assertMessage(Map.of("COSYVOICE_ENGINE_KV_BINDING", "jni"), null, "COSYVOICE_ENGINE_KV_BINDING");
        assertEquals(io.cosyvoice.batching.KvBinding.IOBINDING, io.cosyvoice.batching.KvBinding.resolve("auto", true));
        assertEquals(io.cosyvoice.batching.KvBinding.JAVA, io.cosyvoice.batching.KvBinding.resolve("auto", false));
        assertEquals(io.cosyvoice.batching.KvBinding.IOBINDING, io.cosyvoice.batching.KvBinding.resolve("iobinding", false));
        assertEquals(io.cosyvoice.batching.KvBinding.JAVA, io.cosyvoice.batching.KvBinding.resolve("java", true));
    }

    @Test
    void metricsAreOnAndOpenByDefault() {
        assertEquals(new MetricsConfig(true, false), ConfigLoader.load(Map.of(), Optional.empty()).metrics());
        assertEquals(new MetricsConfig(false, true), ConfigLoader.load(Map.of("COSYVOICE_METRICS_ENABLED", "false",
                "COSYVOICE_METRICS_REQUIRE_TOKEN", "yes"), Optional.empty()).metrics());
    }

    @Test
    void vocoderBatchingSettings() {
        EngineConfig defaults = ConfigLoader.load(Map.of(), Optional.empty()).engine();
        assertTrue(defaults.vocoderBatching());
        assertEquals(8, defaults.vocoderMaxBatch());
        EngineConfig set = ConfigLoader.load(Map.of("COSYVOICE_ENGINE_VOCODER_BATCHING", "false",
                "COSYVOICE_ENGINE_VOCODER_MAX_BATCH", "3"), Optional.empty()).engine();
        assertFalse(set.vocoderBatching());
        assertEquals(3, set.vocoderMaxBatch());
        assertMessage(Map.of("COSYVOICE_ENGINE_VOCODER_MAX_BATCH", "0"), null, "COSYVOICE_ENGINE_VOCODER_MAX_BATCH");
        assertMessage(Map.of("COSYVOICE_ENGINE_VOCODER_BATCHING", "often"), null, "COSYVOICE_ENGINE_VOCODER_BATCHING");
    }

    @Test
    void promptCacheBudget() {
        assertEquals(64L << 20, ConfigLoader.load(Map.of(), Optional.empty()).database().promptCacheBytes());
        assertEquals(0, ConfigLoader.load(Map.of("COSYVOICE_DATABASE_PROMPT_CACHE_BYTES", "0"), Optional.empty())
                .database().promptCacheBytes());
        assertMessage(Map.of("COSYVOICE_DATABASE_PROMPT_CACHE_BYTES", "-1"), null, "COSYVOICE_DATABASE_PROMPT_CACHE_BYTES");
    }

    @Test
    void backendPromptCacheBudget() {
        assertEquals(64L << 20, ConfigLoader.load(Map.of(), Optional.empty()).engine().promptCacheBytes());
        assertEquals(0, ConfigLoader.load(Map.of("COSYVOICE_ENGINE_PROMPT_CACHE_BYTES", "0"), Optional.empty())
                .engine().promptCacheBytes());
        assertEquals(1L << 30, ConfigLoader.load(Map.of("COSYVOICE_ENGINE_PROMPT_CACHE_BYTES", "1073741824"), Optional.empty())
                .engine().promptCacheBytes());
        assertMessage(Map.of("COSYVOICE_ENGINE_PROMPT_CACHE_BYTES", "-1"), null, "COSYVOICE_ENGINE_PROMPT_CACHE_BYTES");
    }

    @Test
    void aMalformedDatabaseUrlIsNamedWithoutRepeatingThePassword() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> ConfigLoader.load(Map.of("COSYVOICE_DATABASE_URL", "mysql://u:s3cret@h/db"), Optional.empty()));
        assertTrue(e.getMessage().contains("COSYVOICE_DATABASE_URL"));
        assertFalse(e.getMessage().contains("s3cret"));
    }

    @Test
    void storageUrlForms() {
        ServerConfig file = ConfigLoader.load(Map.of("COSYVOICE_STORAGE_URL", "file:///var/lib/voices"), Optional.empty());
        assertEquals(Path.of("/var/lib/voices").toUri(), file.storage().url());
        ServerConfig s3 = ConfigLoader.load(Map.of("COSYVOICE_STORAGE_URL", "s3://my-bucket/some/prefix",
                "COSYVOICE_S3_REGION", "eu-west-1"), Optional.empty());
        assertTrue(s3.storage().isS3());
        assertEquals("my-bucket", s3.storage().url().getAuthority());
        assertEquals(Optional.of("eu-west-1"), s3.storage().s3Region());
    }

    private static void assertMessage(Map<String, String> env, Path file, String names) {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(env, Optional.ofNullable(file)));
        assertTrue(e.getMessage().contains(names), "message names " + names + ": " + e.getMessage());
    }

    @Test
    void clusterRolesAndMembers(@TempDir Path dir) throws Exception {
        assertEquals(ClusterConfig.DEFAULTS, ConfigLoader.load(Map.of(), Optional.empty()).cluster());
        assertFalse(ClusterConfig.DEFAULTS.clustered());

        ClusterConfig backend = ConfigLoader.load(Map.of(
                "COSYVOICE_ROLE", "Backend",
                "COSYVOICE_CLUSTER_MEMBERS", " 10.0.0.5:5701, api-1 ,[fd00::1]:5702",
                "COSYVOICE_CLUSTER_HOST", "10.0.0.7",
                "COSYVOICE_CLUSTER_PORT", "5801",
                "COSYVOICE_CLUSTER_EVENT_BUS_PORT", "5802"), Optional.empty()).cluster();
        assertEquals(new ClusterConfig(ClusterConfig.Role.BACKEND, List.of("10.0.0.5:5701", "api-1", "[fd00::1]:5702"),
                Optional.empty(), "10.0.0.7", 5801, 5802), backend);
        assertTrue(backend.clustered());

        Path file = dir.resolve("app.yaml");
        Files.writeString(file, """
                role: frontend
                cluster:
                  kubernetes-service: cosyvoice-cluster.tts.svc.cluster.local
                """);
        ClusterConfig frontend = ConfigLoader.load(Map.of(), Optional.of(file)).cluster();
        assertEquals(ClusterConfig.Role.FRONTEND, frontend.role());
        assertEquals(Optional.of("cosyvoice-cluster.tts.svc.cluster.local"), frontend.kubernetesService());
    }

    @Test
    void clusterMistakesStopStartUpNamingTheSetting() {
        assertTrue(assertThrows(ConfigException.class, () -> ConfigLoader.load(Map.of("COSYVOICE_ROLE", "worker"), Optional.empty()))
                .getMessage().startsWith("COSYVOICE_ROLE: expected one of [all, frontend, backend]"));
        assertTrue(assertThrows(ConfigException.class, () -> ConfigLoader.load(Map.of("COSYVOICE_ROLE", "frontend"), Optional.empty()))
                .getMessage().contains("COSYVOICE_CLUSTER_MEMBERS"));
        assertTrue(assertThrows(ConfigException.class, () -> ConfigLoader.load(Map.of("COSYVOICE_ROLE", "backend",
                "COSYVOICE_CLUSTER_MEMBERS", "a:1", "COSYVOICE_ENGINE_ENABLED", "false"), Optional.empty()))
                .getMessage().startsWith("COSYVOICE_ENGINE_ENABLED"));
        assertTrue(assertThrows(ConfigException.class, () -> ConfigLoader.load(Map.of(
                "COSYVOICE_CLUSTER_MEMBERS", "a:1", "COSYVOICE_CLUSTER_KUBERNETES_SERVICE", "svc"), Optional.empty()))
                .getMessage().contains("not both"));
        assertTrue(assertThrows(ConfigException.class, () -> ConfigLoader.load(Map.of(
                "COSYVOICE_CLUSTER_MEMBERS", "good:5701,bad host"), Optional.empty()))
                .getMessage().contains("'bad host'"));
        assertTrue(assertThrows(ConfigException.class, () -> ConfigLoader.load(Map.of(
                "COSYVOICE_CLUSTER_PORT", "0"), Optional.empty()))
                .getMessage().startsWith("COSYVOICE_CLUSTER_PORT"));
    }
}
