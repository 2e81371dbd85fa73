package io.cosyvoice.cluster;

import io.cosyvoice.audio.AudioDecoder;
import io.cosyvoice.audio.AudioHint;
import io.cosyvoice.audio.DecodedAudio;
import io.cosyvoice.audio.TestAudio;
import io.cosyvoice.support.DocumentClients;
import io.cosyvoice.support.PrometheusText;
import io.cosyvoice.support.SharedPostgres;
import io.cosyvoice.support.FreePorts;
import io.cosyvoice.support.TestServer;
import io.vertx.core.Vertx;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.Callable;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One frontend and three backends as separate JVMs on localhost, joined by the Hazelcast cluster
 * (TCP member list), the backends running the real engine on the tiny twin and the frontend the
 * embedded PostgreSQL database and file storage. The PAI-EAS document's clients run through the
 * frontend; then a backend is killed (SIGKILL) in the middle of an SSE stream, another in the
 * middle of a WebSocket task, and the last one is stopped (SIGTERM) while it runs a task: failures
 * must be fast and clear, survivors must keep serving, and a draining backend must finish what it
 * runs and take nothing new. After each step the frontend's readiness and metrics must show the
 * backends that are left, and no more.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterTest {

    /** From the kill to the client's error: the cluster notices a dead member in well under this. */
    private static final long FAIL_FAST_MS = 10_000;
    private static final Duration START_TIMEOUT = Duration.ofSeconds(150);

    private static final List<Node> nodes = new CopyOnWriteArrayList<>();
    private static Path workDir;
    private static String databaseUrl;
    private static int[] clusterPorts;
    private static Node frontend;
    private static List<Node> backends;
    private static Vertx clientVertx;
    private static WebSocketClient webSockets;
    private static final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    /** One server process. */
    private record Node(String name, Process process, Path log, int httpPort, int clusterPort) {
        String baseUrl() {
            return "http://127.0.0.1:" + httpPort;
        }

        String logText() {
            try {
                return Files.readString(log, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        long count(String text) {
            return logText().lines().filter(line -> line.contains(text)).count();
        }

        String tail() {
            List<String> lines = logText().lines().filter(l -> !l.startsWith("\tat ")).toList();
            return name + " log tail:\n" + String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        }
    }

    @BeforeAll
    static void startCluster() throws Exception {
        workDir = TestServer.tempDir("cosyvoice-cluster");
        Files.write(workDir.resolve("zero_shot_prompt.wav"), TestAudio.wav16(3.5, 16000));
        databaseUrl = SharedPostgres.newDatabaseUrl();
        clusterPorts = IntStream.range(0, 4).map(i -> FreePorts.next()).toArray();
        clientVertx = Vertx.vertx();
        webSockets = clientVertx.createWebSocketClient();
        // all at once: on two cores, starting JVMs one after the other is what takes time
        backends = List.of(start("backend-1", "backend", clusterPorts[1]),
                start("backend-2", "backend", clusterPorts[2]), start("backend-3", "backend", clusterPorts[3]));
        frontend = start("frontend", "frontend", clusterPorts[0]);
        for (Node backend : backends) {
            awaitStarted(backend);
        }
        awaitStarted(frontend);
        waitFor("the frontend sees the three backends", () -> frontend.count("synthesis backend available") >= 3);
    }

    @AfterAll
    static void stopCluster() throws Exception {
        // never leave a process behind, whatever happened
        for (Node node : nodes) {
            node.process().destroyForcibly();
        }
        for (Node node : nodes) {
            node.process().waitFor(20, TimeUnit.SECONDS);
        }
        if (clientVertx != null) {
            clientVertx.close().await();
        }
    }

    @Test
    @Order(1)
    void theDocumentsClientsRunThroughTheFrontend() throws Exception {
        DocumentClients clients = new DocumentClients(frontend.baseUrl(), workDir);
        // upload: the frontend has no model, a backend computes the voice's prompt features
        JsonObject uploaded = new JsonObject(clients.run("bash", "upload.sh", null));
        assertEquals("zero_shot_prompt.wav", uploaded.getString("filename"));
        String id = new JsonObject(clients.run("python3", "upload.py", null)).getString("id");

        Files.deleteIfExists(workDir.resolve("http_non_stream.wav"));
        clients.run("python3", "speech_non_stream.py", id);
        assertSpeech(Files.readAllBytes(workDir.resolve("http_non_stream.wav")));

        Files.deleteIfExists(workDir.resolve("websocket_stream.wav"));
        String log = clients.run("python3", "tts_client.py", uploaded.getString("id"));
        assertTrue(log.contains("任务已完成"), "the client saw task-finished: " + log);
        assertSpeech(Files.readAllBytes(workDir.resolve("websocket_stream.wav")));

        PrometheusText metrics = assertFrontendSees(backends, 0);
        assertTrue(metrics.sum("cosyvoice_cluster_jobs_placed_total") >= 2, "a job for each synthesis, on its backend");

        // one voice, seeded, four times on three backends: one backend gets it at least twice, the second time
        // without its prompt features (it kept those of the first job); the audio must be the same every time
        JsonObject seeded = new JsonObject().put("model", "CosyVoice2-0.5B").put("stream", false)
                .put("input", new JsonObject().put("mode", "fast_replication").put("reference_audio_id", id)
                        .put("text", "你好。").put("seed", 42));
        Set<String> audio = new HashSet<>();
        for (int i = 0; i < 4; i++) {
            HttpResponse<String> response = http.send(request(seeded), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, response.statusCode(), response.body());
            audio.add(new JsonObject(response.body()).getJsonObject("output").getJsonObject("audio").getString("data"));
        }
        assertEquals(1, audio.size(), "the same seeded audio whether a job carried the voice's features or not");
        assertTrue(frontendMetrics().sum("cosyvoice_cluster_prompts_withheld_total") >= 1,
                "a backend that kept a voice's features got a job without them");
    }

    @Test
    @Order(2)
    void aBackendKilledMidStreamFailsItsSseStreamFastAndTheSurvivorCarriesOn() throws Exception {
        String taskVoice = uploadVoice();
        String streamVoice = uploadVoice();
        // a WebSocket task with open text holds a job on one backend; the long SSE stream goes to
        // another, which has more free capacity
        Task task = Task.open(taskVoice);
        task.say("今天天气很好，我们去公园散步吧。");
        Node taskBackend = backendOf(taskVoice);
        SseStream stream = SseStream.start(streamVoice, "今天天气很好，我们去公园散步吧。".repeat(150));
        stream.awaitFirstChunk();
        Node victim = backendOf(streamVoice);
        assertNotEquals(taskBackend, victim, "placement by free capacity put the second job on the idle backend");

        long killedAt = System.nanoTime();
        victim.process().destroyForcibly();
        JsonObject last = stream.awaitEnd(Duration.ofSeconds(30));
        long failedAfterMs = TimeUnit.NANOSECONDS.toMillis(stream.endedAt - killedAt);
        assertEquals("error", last.getJsonObject("output").getString("finish_reason"), last.encode());
        assertEquals("ServiceUnavailable", last.getJsonObject("error").getString("code"), last.encode());
        assertTrue(last.getJsonObject("error").getString("message").contains("backend running this request stopped"),
                last.encode());
        assertTrue(failedAfterMs < FAIL_FAST_MS, "the stream failed " + failedAfterMs + " ms after the kill");

        // the survivor's task is untouched and finishes
        task.say("我们明天再见。");
        List<JsonObject> events = task.finish();
        assertEquals("task-finished", event(events.getLast()), events.getLast().encode());
        assertSpeech(Task.audio(events));

        // new jobs go to the survivor
        DocumentClients clients = new DocumentClients(frontend.baseUrl(), workDir);
        Files.deleteIfExists(workDir.resolve("http_non_stream.wav"));
        clients.run("python3", "speech_non_stream.py", uploadVoice());
        assertSpeech(Files.readAllBytes(workDir.resolve("http_non_stream.wav")));

        assertTrue(victim.process().waitFor(10, TimeUnit.SECONDS));
        assertFrontendSees(liveBackends(), 1);
    }

    @Test
    @Order(3)
    void aBackendKilledMidTaskFailsItsWebSocketTaskFastAndTheOtherCarriesOn() throws Exception {
        String taskVoice = uploadVoice();
        Task task = Task.speaking(taskVoice);
        Node victim = backendOf(taskVoice);

        // a stream started now goes to the other backend and is not disturbed
        String streamVoice = uploadVoice();
        SseStream stream = SseStream.start(streamVoice, "收到好友从远方寄来的生日礼物。".repeat(3));
        JsonObject streamEnd = stream.awaitEnd(Duration.ofSeconds(60));
        assertEquals("stop", streamEnd.getJsonObject("output").getString("finish_reason"), streamEnd.encode());
        assertNotEquals(victim, backendOf(streamVoice));

        long killedAt = System.nanoTime();
        victim.process().destroyForcibly();
        JsonObject failed = task.awaitEvent("task-failed", "task-finished");
        long failedAfterMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt);
        JsonObject header = failed.getJsonObject("header");
        assertEquals("task-failed", header.getString("event"), failed.encode());
        assertEquals("ServiceUnavailable", header.getString("error_code"), failed.encode());
        assertTrue(header.getString("error_message").contains("backend running this request stopped"), failed.encode());
        assertTrue(failedAfterMs < FAIL_FAST_MS, "the task failed " + failedAfterMs + " ms after the kill");
        task.close();

        // the document's WebSocket client runs on the survivor
        DocumentClients clients = new DocumentClients(frontend.baseUrl(), workDir);
        Files.deleteIfExists(workDir.resolve("websocket_stream.wav"));
        String log = clients.run("python3", "tts_client.py", uploadVoice());
        assertTrue(log.contains("任务已完成"), "the client saw task-finished: " + log);

        assertTrue(victim.process().waitFor(10, TimeUnit.SECONDS));
        assertFrontendSees(liveBackends(), 2);
    }

    @Test
    @Order(4)
    void aBackendStoppingDrainsItFinishesRunningTasksAndTakesNoNewJobs() throws Exception {
        String taskVoice = uploadVoice();
        Task task = Task.speaking(taskVoice);
        Node last = backendOf(taskVoice);

        last.process().destroy(); // SIGTERM: graceful
        waitFor("the backend announces it is draining", () -> frontend.count("synthesis backend draining") >= 1);
        // no backend takes new jobs now: a clear 503, not a wait
        HttpResponse<String> refused = speech(uploadedVoiceForRefusal, "你好。", false);
        assertEquals(503, refused.statusCode(), refused.body());
        assertEquals("ServiceUnavailable", new JsonObject(refused.body()).getString("code"), refused.body());

        // the running task still gets its text through, and finishes
        task.say("我们明天再见。");
        List<JsonObject> events = task.finish();
        assertEquals("task-finished", event(events.getLast()), events.getLast().encode());
        assertSpeech(Task.audio(events));
        assertTrue(last.process().waitFor(60, TimeUnit.SECONDS), "the drained backend exited");
        assertTrue(last.logText().contains("draining: no new jobs"), last.tail());
        assertTrue(last.logText().contains("stopped"), last.tail());

        // none left: not ready, and the readiness says why
        assertEquals(List.of(), liveBackends());
        assertFrontendSees(List.of(), 3);
    }

    // ---- the frontend's view of its backends

    /**
     * The frontend's readiness and metrics show these backends (once it noticed the lost ones) and
     * no other: their number, node ids, cluster addresses, capacity and model, and this many lost.
     */
    private static PrometheusText assertFrontendSees(List<Node> live, int lost) throws Exception {
        Set<String> ids = live.stream().map(ClusterTest::nodeId).collect(Collectors.toSet());
        // a lost backend's model is known, too: it was asked when the backend first reported
        waitFor("the frontend sees backends " + ids + " and " + lost + " lost", () -> {
            PrometheusText m = frontendMetrics();
            JsonObject detail = synthesisReadiness().getJsonObject("detail");
            return Set.copyOf(nodeLabels(m, "cosyvoice_cluster_backend_free_capacity")).equals(ids)
                    && m.sum("cosyvoice_cluster_backends_lost_total") == lost
                    && detail.getJsonArray("models").size() == (live.isEmpty() ? 0 : 1);
        });
        PrometheusText metrics = frontendMetrics();
        assertEquals(live.size(), metrics.value("cosyvoice_cluster_backends", "state", "available"));
        assertEquals(0, metrics.value("cosyvoice_cluster_backends", "state", "draining"));
        // the series of a lost backend are gone, not left at their last value
        assertEquals(ids, Set.copyOf(nodeLabels(metrics, "cosyvoice_cluster_backend_capacity")));
        assertEquals(ids, Set.copyOf(nodeLabels(metrics, "cosyvoice_cluster_jobs_placed_total")));
        int capacity = 0;
        for (String id : ids) {
            double total = metrics.value("cosyvoice_cluster_backend_capacity", "node", id);
            double free = metrics.value("cosyvoice_cluster_backend_free_capacity", "node", id);
            assertTrue(total > 0 && free > 0 && free <= total, id + ": free " + free + " of " + total);
            capacity += (int) total;
        }

        HttpResponse<String> ready = get(frontend, "/health/ready");
        assertEquals(live.isEmpty() ? 503 : 200, ready.statusCode(), ready.body());
        JsonObject synthesis = new JsonObject(ready.body()).getJsonObject("components").getJsonObject("synthesis");
        assertEquals(live.isEmpty() ? "DOWN" : "UP", synthesis.getString("status"), synthesis.encode());
        assertEquals("backends of the cluster", synthesis.getString("description"));
        JsonObject detail = synthesis.getJsonObject("detail");
        assertEquals(live.size(), detail.getInteger("backends"), detail.encode());
        assertEquals(live.size(), detail.getInteger("available"), detail.encode());
        assertEquals(capacity, detail.getInteger("capacity"), detail.encode());
        int freeCapacity = detail.getInteger("free_capacity");
        assertTrue(live.isEmpty() ? freeCapacity == 0 : freeCapacity > 0 && freeCapacity <= capacity, detail.encode());
        JsonArray models = new JsonArray();
        for (Node backend : live) {
            // the model a backend's own readiness names
            String model = new JsonObject(get(backend, "/health/ready").body())
                    .getJsonObject("components").getJsonObject("model").getString("description");
            if (!models.contains(model)) {
                models.add(model);
            }
        }
        assertEquals(models, detail.getJsonArray("models"), detail.encode());
        assertEquals(live.size(), detail.getJsonArray("nodes").size(), detail.encode());
        for (Node backend : live) {
            JsonObject node = detail.getJsonArray("nodes").stream().map(JsonObject.class::cast)
                    .filter(n -> n.getString("node").equals(nodeId(backend))).findFirst()
                    .orElseThrow(() -> new AssertionError(backend.name() + " missing: " + detail.encode()));
            assertEquals("127.0.0.1:" + backend.clusterPort(), node.getString("address"), node.encode());
            assertEquals(models.getString(0), node.getString("model"), node.encode());
        }
        return metrics;
    }

    private static List<Node> liveBackends() {
        return backends.stream().filter(n -> n.process().isAlive()).toList();
    }

    private static final Pattern NODE_ID = Pattern.compile("cosyvoice-server listening .*node=\"([^\"]+)\"");

    /** A backend's cluster node id, as it logged at start. */
    private static String nodeId(Node backend) {
        Matcher m = NODE_ID.matcher(backend.logText());
        assertTrue(m.find(), backend.tail());
        return m.group(1);
    }

    private static List<String> nodeLabels(PrometheusText metrics, String name) {
        return metrics.samples(name).stream().map(s -> s.labels().get("node")).toList();
    }

    private static PrometheusText frontendMetrics() {
        HttpResponse<String> response = unchecked(() -> get(frontend, "/metrics"));
        assertEquals(200, response.statusCode(), response.body());
        return PrometheusText.parse(response.body());
    }

    private static JsonObject synthesisReadiness() {
        return new JsonObject(unchecked(() -> get(frontend, "/health/ready")).body())
                .getJsonObject("components").getJsonObject("synthesis");
    }

    private static HttpResponse<String> get(Node node, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(node.baseUrl() + path)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static <T> T unchecked(Callable<T> call) {
        try {
            return call.call();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Uploaded while backends ran (uploads need one for the prompt features); used when none takes jobs. */
    private static String uploadedVoiceForRefusal;

    // ---- processes

    private static Node start(String name, String role, int clusterPort) throws IOException {
        int httpPort = FreePorts.next();
        Map<String, String> env = new HashMap<>(System.getenv());
        env.keySet().removeIf(key -> key.startsWith("COSYVOICE_"));
        // ONNX Runtime crashes at start with a command line over about 4 KB: the class path goes in the environment
        env.put("CLASSPATH", System.getProperty("java.class.path"));
        env.put("COSYVOICE_ROLE", role);
        env.put("COSYVOICE_CLUSTER_HOST", "127.0.0.1");
        env.put("COSYVOICE_CLUSTER_PORT", Integer.toString(clusterPort));
        env.put("COSYVOICE_CLUSTER_MEMBERS", IntStream.of(clusterPorts).mapToObj(p -> "127.0.0.1:" + p)
                .collect(Collectors.joining(",")));
        env.put("COSYVOICE_HTTP_HOST", "127.0.0.1");
        env.put("COSYVOICE_HTTP_PORT", Integer.toString(httpPort));
        env.put("COSYVOICE_HTTP_SHUTDOWN_TIMEOUT", "30s");
        env.put("COSYVOICE_API_TOKENS", TestServer.TOKEN);
        env.put("COSYVOICE_DATA_DIR", workDir.resolve("data-" + name).toString());
        env.put("COSYVOICE_ENGINE_THREADS", "1");
        // backends log each job they accept (with its voice) at DEBUG: the test finds where a job runs
        env.put("COSYVOICE_LOG_LEVEL", role.equals("backend") ? "debug" : "info");
        if (role.equals("frontend")) {
            env.put("COSYVOICE_DATABASE_URL", databaseUrl);
        }
        Path log = workDir.resolve(name + ".log");
        ProcessBuilder builder = new ProcessBuilder(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx384m",
                // four JVMs start at once on a small machine: the quick compiler and one GC thread start them sooner
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "--add-modules=java.se",
                "--add-opens=java.base/java.lang=ALL-UNNAMED", "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
                "--add-opens=java.management/sun.management=ALL-UNNAMED",
                "--add-opens=jdk.management/com.sun.management.internal=ALL-UNNAMED",
                "--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED",
                "io.cosyvoice.Main"))
                .directory(Path.of(System.getProperty("user.dir")).toFile())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
        builder.environment().clear();
        builder.environment().putAll(env);
        Node node = new Node(name, builder.start(), log, httpPort, clusterPort);
        nodes.add(node);
        return node;
    }

    private static void awaitStarted(Node node) throws InterruptedException {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (!node.logText().contains("cosyvoice-server listening")) {
            if (!node.process().isAlive()) {
                throw new AssertionError(node.name() + " exited with " + node.process().exitValue() + "\n" + node.tail());
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError(node.name() + " did not start in " + START_TIMEOUT + "\n" + node.tail());
            }
            Thread.sleep(200);
        }
    }

    /** The backend whose log shows a job for this voice. */
    private static Node backendOf(String voice) throws InterruptedException {
        waitFor("a backend accepted the job of voice " + voice, () -> nodes.stream()
                .anyMatch(n -> n.name().startsWith("backend") && n.logText().contains("voice=\"" + voice + "\"")));
        List<Node> running = nodes.stream()
                .filter(n -> n.name().startsWith("backend") && n.logText().contains("voice=\"" + voice + "\"")).toList();
        assertEquals(1, running.size(), "one backend ran the voice's job");
        return running.getFirst();
    }

    private static void waitFor(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what + "\n"
                        + nodes.stream().map(Node::tail).collect(Collectors.joining("\n")));
            }
            Thread.sleep(100);
        }
    }

    // ---- clients

    private static String uploadVoice() throws Exception {
        String id = new JsonObject(new DocumentClients(frontend.baseUrl(), workDir).run("python3", "upload.py", null))
                .getString("id");
        assertNotNull(id);
        if (uploadedVoiceForRefusal == null) {
            uploadedVoiceForRefusal = id;
        }
        return id;
    }

    private static HttpResponse<String> speech(String voice, String text, boolean stream) throws Exception {
        JsonObject body = new JsonObject().put("model", "CosyVoice2-0.5B").put("stream", stream)
                .put("input", new JsonObject().put("mode", "fast_replication").put("reference_audio_id", voice).put("text", text));
        return http.send(request(body), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpRequest request(JsonObject body) {
        return HttpRequest.newBuilder(URI.create(frontend.baseUrl() + "/api/v1/audio/speech"))
                .header("Authorization", "Bearer " + TestServer.TOKEN).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.encode())).build();
    }

    private static void assertSpeech(byte[] file) throws Exception {
        DecodedAudio audio = AudioDecoder.decode(file, AudioHint.none());
        assertEquals(24000, audio.sampleRate());
        assertTrue(audio.durationSeconds() > 0.5, "audio came back: " + audio.durationSeconds() + " s");
    }

    private static String event(JsonObject message) {
        return message.getJsonObject("header").getString("event");
    }

    /** An SSE speech stream read on its own thread, each event as it arrives. */
    private static final class SseStream {
        final LinkedBlockingQueue<JsonObject> events = new LinkedBlockingQueue<>();
        final CompletableFuture<Optional<JsonObject>> ended = new CompletableFuture<>();
        volatile long endedAt;

        static SseStream start(String voice, String text) {
            SseStream stream = new SseStream();
            JsonObject body = new JsonObject().put("model", "CosyVoice2-0.5B").put("stream", true)
                    .put("input", new JsonObject().put("mode", "fast_replication").put("reference_audio_id", voice).put("text", text));
            Thread.ofVirtual().start(() -> {
                JsonObject last = null;
                try {
                    HttpResponse<java.io.InputStream> response = http.send(request(body), HttpResponse.BodyHandlers.ofInputStream());
                    assertEquals(200, response.statusCode());
                    try (BufferedReader lines = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
                        for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                            if (line.startsWith("data: ")) {
                                last = new JsonObject(line.substring(6));
                                if (last.getValue("error") != null) {
                                    stream.endedAt = System.nanoTime();
                                }
                                stream.events.add(last);
                            }
                        }
                    }
                    if (stream.endedAt == 0) {
                        stream.endedAt = System.nanoTime();
                    }
                    stream.ended.complete(Optional.ofNullable(last));
                } catch (Throwable e) {
                    stream.ended.completeExceptionally(e);
                }
            });
            return stream;
        }

        void awaitFirstChunk() throws InterruptedException {
            JsonObject first = events.poll(60, TimeUnit.SECONDS);
            assertNotNull(first, "the stream's first chunk arrived");
            assertEquals(null, first.getValue("error"), first.encode());
        }

        /** The last event, once the response ended. */
        JsonObject awaitEnd(Duration timeout) throws Exception {
            return ended.get(timeout.toMillis(), TimeUnit.MILLISECONDS).orElseThrow(() -> new AssertionError("no event"));
        }
    }

    /** A duplex WebSocket task of the PAI-EAS protocol. */
    private static final class Task {
        final String taskId = UUID.randomUUID().toString();
        final WebSocket socket;
        final LinkedBlockingQueue<JsonObject> received = new LinkedBlockingQueue<>();
        final List<JsonObject> seen = new ArrayList<>();

        private Task(WebSocket socket) {
            this.socket = socket;
            socket.textMessageHandler(text -> received.add(new JsonObject(text)));
        }

        /** A task that has sent a long text and received its first audio: it runs on one backend for a while. */
        static Task speaking(String voice) throws InterruptedException {
            Task task = open(voice);
            // enough text that the splitter lets whole pieces go (it folds short sentences together)
            task.say("今天天气很好，我们去公园散步吧。".repeat(8));
            task.awaitAudio();
            return task;
        }

        static Task open(String voice) throws InterruptedException {
            WebSocket socket = webSockets.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(frontend.httpPort())
                    .setURI("/api-ws/v1/audio/speech").addHeader("Authorization", "Bearer " + TestServer.TOKEN)).await();
            Task task = new Task(socket);
            JsonObject parameters = new JsonObject().put("mode", "fast_replication").put("reference_audio_id", voice)
                    .put("output_format", "wav").put("sample_rate", 24000).put("speed", 1.0);
            task.send("run-task", new JsonObject().put("task_group", "audio").put("task", "tts").put("function", "SpeechSynthesizer")
                    .put("model", "cosyvoice-v2").put("parameters", parameters).put("input", new JsonObject()));
            task.awaitEvent("task-started", "task-failed");
            assertEquals("task-started", event(task.seen.getLast()), task.seen.getLast().encode());
            return task;
        }

        void say(String text) {
            send("continue-task", new JsonObject().put("input", new JsonObject().put("text", text)));
        }

        /** Waits for the first audio of the task. */
        void awaitAudio() throws InterruptedException {
            JsonObject message = awaitEvent("result-generated", "task-failed");
            assertEquals("result-generated", event(message), message.encode());
        }

        /** Sends finish-task; returns every message up to task-finished or task-failed. */
        List<JsonObject> finish() throws InterruptedException {
            send("finish-task", new JsonObject().put("input", new JsonObject()));
            awaitEvent("task-finished", "task-failed");
            return seen;
        }

        JsonObject awaitEvent(String... events) throws InterruptedException {
            while (true) {
                JsonObject message = received.poll(60, TimeUnit.SECONDS);
                assertNotNull(message, "one of " + List.of(events) + " arrived");
                seen.add(message);
                if (List.of(events).contains(event(message))) {
                    return message;
                }
            }
        }

        void close() {
            socket.close();
        }

        private void send(String action, JsonObject payload) {
            socket.writeTextMessage(new JsonObject()
                    .put("header", new JsonObject().put("action", action).put("task_id", taskId).put("streaming", "duplex"))
                    .put("payload", payload).encode()).await();
        }

        static byte[] audio(List<JsonObject> messages) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (JsonObject m : messages) {
                if ("result-generated".equals(event(m))) {
                    out.writeBytes(Base64.getDecoder().decode(
                            m.getJsonObject("payload").getJsonObject("output").getJsonObject("audio").getString("data")));
                }
            }
            return out.toByteArray();
        }
    }
}
