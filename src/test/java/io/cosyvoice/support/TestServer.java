package io.cosyvoice.support;

import io.cosyvoice.CosyVoiceServer;
import io.cosyvoice.config.ConfigLoader;
import io.cosyvoice.config.ServerConfig;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.ext.web.multipart.MultipartForm;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The real server, configured through the same {@code COSYVOICE_*} settings a user sets, on a free
 * port, with a client that speaks to it over real HTTP.
 */
public final class TestServer implements AutoCloseable {

    public static final String TOKEN = "test-token-5f0c2d1e9a";

    private final Map<String, String> env;
    private final CosyVoiceServer server;
    private final Vertx clientVertx;
    private final WebClient client;

    private final io.cosyvoice.synthesis.FakeSynthesisBackend backend;

    private TestServer(Map<String, String> env, CosyVoiceServer server, io.cosyvoice.synthesis.FakeSynthesisBackend backend) {
        this.env = Map.copyOf(env);
        this.server = server;
        this.backend = backend;
        this.clientVertx = Vertx.vertx();
        this.client = WebClient.create(clientVertx, new WebClientOptions()
                .setDefaultHost("127.0.0.1").setDefaultPort(server.port()).setKeepAlive(false));
    }

    /** Settings for a server with its own data directory, database and file storage. */
    public static Map<String, String> defaults() {
        Map<String, String> env = new HashMap<>();
        env.put("COSYVOICE_HTTP_PORT", "0");
        env.put("COSYVOICE_HTTP_HOST", "127.0.0.1");
        env.put("COSYVOICE_API_TOKENS", TOKEN);
        env.put("COSYVOICE_DATA_DIR", tempDir("cosyvoice-data").toString());
        env.put("COSYVOICE_DATABASE_URL", SharedPostgres.newDatabaseUrl());
        env.put("COSYVOICE_HTTP_SHUTDOWN_TIMEOUT", "5s");
        // the API tests drive the test backend; EngineApiTest starts the real engine (withEngine)
        env.put("COSYVOICE_ENGINE_ENABLED", "false");
        return env;
    }

    public static TestServer start() {
        return start(defaults());
    }

    /** The server with the test synthesis backend deployed beside it. */
    public static TestServer start(Map<String, String> env) {
        return start(env, true);
    }

    /** The server with the real engine on the committed tiny twin, and no test backend. */
    public static TestServer withEngine(Map<String, String> overrides) {
        Map<String, String> env = defaults();
        env.put("COSYVOICE_ENGINE_ENABLED", "true");
        env.put("COSYVOICE_ENGINE_THREADS", "1");
        env.putAll(overrides);
        return start(env, false);
    }

    public static TestServer start(Map<String, String> env, boolean withBackend) {
        return start(env, withBackend ? new io.cosyvoice.synthesis.FakeSynthesisBackend() : null);
    }

    /** The server with this test synthesis backend (none when null) deployed beside it. */
    public static TestServer start(Map<String, String> env, io.cosyvoice.synthesis.FakeSynthesisBackend backend) {
        ServerConfig config = ConfigLoader.load(env, Optional.empty());
        try {
            CosyVoiceServer server = CosyVoiceServer.start(config).await(120, TimeUnit.SECONDS);
            if (backend != null) {
                server.vertx().deployVerticle(backend).await(30, TimeUnit.SECONDS);
            }
            return new TestServer(env, server, backend);
        } catch (Exception e) {
            throw new IllegalStateException("server did not start: " + e.getMessage(), e);
        }
    }

    /** The test synthesis backend (null when started without one). */
    public io.cosyvoice.synthesis.FakeSynthesisBackend backend() {
        return backend;
    }

    /** A new server on the same settings (same data directory, database and storage). */
    public TestServer restart() {
        close();
        return start(env, backend != null);
    }

    public Map<String, String> env() {
        return env;
    }

    public ServerConfig config() {
        return server.config();
    }

    public int port() {
        return server.port();
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + port();
    }

    public Optional<String> databaseUrl() {
        return Optional.ofNullable(env.get("COSYVOICE_DATABASE_URL"));
    }

    public HttpRequest<Buffer> request(io.vertx.core.http.HttpMethod method, String path) {
        return client.request(method, path).timeout(60_000).putHeader("Authorization", "Bearer " + TOKEN);
    }

    /** {@code POST /api/v1/audio/speech} with a JSON body. */
    public HttpResponse<Buffer> speech(JsonObject body) {
        return request(io.vertx.core.http.HttpMethod.POST, "/api/v1/audio/speech").sendJsonObject(body).await();
    }

    public HttpResponse<Buffer> get(String path) {
        return request(io.vertx.core.http.HttpMethod.GET, path).send().await();
    }

    public HttpResponse<Buffer> delete(String path) {
        return request(io.vertx.core.http.HttpMethod.DELETE, path).send().await();
    }

    public HttpResponse<Buffer> upload(String filename, byte[] file, String contentType, String text) {
        MultipartForm form = MultipartForm.create();
        if (text != null) {
            form.attribute("text", text);
        }
        if (file != null) {
            form.binaryFileUpload("file", filename, Buffer.buffer(file), contentType);
        }
        return request(io.vertx.core.http.HttpMethod.POST, "/api/v1/audio/reference_audio").sendMultipartForm(form).await();
    }

    /** An upload with a {@code name} form field (the voice's alias); null: without one. */
    public HttpResponse<Buffer> uploadNamed(String filename, byte[] file, String text, String name) {
        MultipartForm form = MultipartForm.create().attribute("text", text);
        if (name != null) {
            form.attribute("name", name);
        }
        form.binaryFileUpload("file", filename, Buffer.buffer(file), "audio/wav");
        return request(io.vertx.core.http.HttpMethod.POST, "/api/v1/audio/reference_audio").sendMultipartForm(form).await();
    }

    /** {@code PATCH /api/v1/audio/reference_audio/{id}} with a JSON body. */
    public HttpResponse<Buffer> patch(String id, JsonObject body) {
        return request(io.vertx.core.http.HttpMethod.PATCH, "/api/v1/audio/reference_audio/" + id).sendJsonObject(body).await();
    }

    /** Uploads a valid recording and returns its JSON object. */
    public JsonObject uploadOk(String filename, byte[] file, String text) {
        HttpResponse<Buffer> response = upload(filename, file, "audio/wav", text);
        if (response.statusCode() != 200) {
            throw new AssertionError("upload failed: " + response.statusCode() + " " + response.bodyAsString());
        }
        return response.bodyAsJsonObject();
    }

    public WebClient client() {
        return client;
    }

    /** The Vert.x instance the test client runs on (not the server's). */
    public Vertx vertxForClient() {
        return clientVertx;
    }

    /** Files in the file store (the default storage in the data directory), relative to it. */
    public java.util.List<String> storedFiles() {
        Path root = config().dataDir().resolve("audio");
        if (!Files.isDirectory(root)) {
            return java.util.List.of();
        }
        try (Stream<Path> files = Files.walk(root)) {
            return files.filter(Files::isRegularFile).map(p -> root.relativize(p).toString())
                    .filter(p -> !p.startsWith(".tmp")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Ids of every row in the reference_audio table, visible or not. */
    public java.util.List<String> rowIds() {
        return Db.column(databaseUrl().orElseThrow(), "SELECT id::text FROM reference_audio ORDER BY id");
    }

    @Override
    public void close() {
        try {
            server.stop().await(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        } finally {
            client.close();
            clientVertx.close();
        }
    }

    public static Path tempDir(String prefix) {
        try {
            return Files.createTempDirectory(prefix);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
