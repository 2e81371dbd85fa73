package io.cosyvoice.cluster;

import io.cosyvoice.config.MetricsConfig;
import io.cosyvoice.metrics.Metrics;
import io.cosyvoice.support.PrometheusText;
import io.cosyvoice.synthesis.Backends;
import io.cosyvoice.synthesis.SynthesisMessages;
import io.cosyvoice.synthesis.SynthesisMessages.Capacity;
import io.cosyvoice.synthesis.SynthesisMessages.EngineInfo;
import io.cosyvoice.synthesis.SynthesisMessages.EngineQuery;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The frontend's directory of backends on a real event bus, with two stand-in backends on the far
 * side of the contract (capacity reports; one answers which model it runs, one never does): what
 * readiness and the Prometheus scrape show as backends report, drain, leave the cluster and go
 * silent. The directory's report timeout is shortened to keep the test fast; the real member-left
 * path runs in {@link ClusterTest}.
 */
class ClusterBackendsTest {

    // short to keep the test fast, yet well above a pause of a loaded machine: reports come every 100 ms
    private static final long REPORT_TIMEOUT_MS = 1500;
    private static final EngineInfo MODEL = new EngineInfo("tiny-v1", "CosyVoice2-0.5B tiny random twin tiny-v1", true);

    private Vertx vertx;
    private Metrics metrics;
    private ClusterBackends directory;

    @BeforeEach
    void start() {
        vertx = Vertx.vertx();
        metrics = Metrics.create(new MetricsConfig(true, false));
        directory = ClusterBackends.start(vertx, "frontend",
                node -> node.equals("b1") ? Optional.of("10.0.0.1:5701") : Optional.empty(),
                metrics.cluster(), REPORT_TIMEOUT_MS).await();
        SynthesisMessages.registerCodecs(vertx);
    }

    @AfterEach
    void stop() {
        directory.stop().await();
        vertx.close().await();
        metrics.close();
    }

    /** A stand-in backend's capacity reports, every 100 ms until cancelled; each call is a new state. */
    private long reports(String node, int free, int total, boolean draining) {
        Capacity capacity = new Capacity(node, free, total, draining, ++versions);
        return vertx.setPeriodic(1, 100, t -> say(capacity));
    }

    private long versions;

    private void say(Capacity capacity) {
        vertx.eventBus().publish(SynthesisMessages.CAPACITY_ADDRESS, capacity);
    }

    private int free(String node) {
        return directory.detail().getJsonArray("nodes").stream().map(JsonObject.class::cast)
                .filter(n -> n.getString("node").equals(node)).findFirst().orElseThrow().getInteger("free_capacity");
    }

    @Test
    void aReportSentBeforeABackendTookAJobNeverMakesItLookIdleAgain() throws Exception {
        // a directory of its own, that never drops the stand-ins as silent: they report only when told to
        try (Metrics own = Metrics.create(new MetricsConfig(true, false))) {
            directory.stop().await();
            directory = ClusterBackends.start(vertx, "frontend", node -> Optional.empty(), own.cluster(), 600_000).await();

            say(new Capacity("b1", 2, 2, false, 1));
            say(new Capacity("b2", 2, 2, false, 1));
            allSaid();

            Backends.Target first = directory.placeJob();
            String busy = first.nodeId();
            String idle = busy.equals("b1") ? "b2" : "b1";
            assertEquals(1, free(busy), "the job counts against its backend at once");

            // the backend's report from just before the job arrived comes in now, while the job is unanswered
            say(new Capacity(busy, 2, 2, false, 1));
            allSaid();
            assertEquals(1, free(busy), "an unanswered job counts whatever the backend said before it");

            // the backend answers, and then the old report arrives once more (the event bus does not order them)
            directory.answered(first, new Capacity(busy, 1, 2, false, 2));
            say(new Capacity(busy, 2, 2, false, 1));
            allSaid();
            assertEquals(1, free(busy), "an older report is older than the backend's answer");
            Backends.Target second = directory.placeJob();
            assertEquals(idle, second.nodeId(), "the next job goes to the backend with room");
            assertEquals(1, free(idle));

            // a job the backend did not take (refused, gone, no answer) no longer counts
            directory.answered(second, null);
            assertEquals(2, free(idle));
            // the first job ends: the backend's newer report is taken as it is
            say(new Capacity(busy, 2, 2, false, 3));
            allSaid();
            assertEquals(2, free(busy));
        }
    }

    private int markers;

    /** Waits until the directory read every report said so far: a backend without room, said last, is known. */
    private void allSaid() throws InterruptedException {
        String marker = "marker-" + ++markers;
        say(new Capacity(marker, 0, 0, false, 1));
        await("the reports said so far read", () -> directory.detail().getJsonArray("nodes").stream()
                .anyMatch(n -> ((JsonObject) n).getString("node").equals(marker)));
    }

    @Test
    void readinessAndMetricsFollowTheBackendsAsTheyReportDrainLeaveAndGoSilent() throws Exception {
        PrometheusText empty = PrometheusText.parse(metrics.scrape());
        assertEquals("gauge", empty.type("cosyvoice_cluster_backends").orElseThrow());
        assertEquals("counter", empty.type("cosyvoice_cluster_backends_lost_total").orElseThrow());
        assertEquals(0, empty.value("cosyvoice_cluster_backends", "state", "available"));
        assertEquals(0, empty.value("cosyvoice_cluster_backends", "state", "draining"));
        assertEquals(0, empty.value("cosyvoice_cluster_backends_lost_total", "reason", "left"));
        assertEquals(0, empty.value("cosyvoice_cluster_backends_lost_total", "reason", "silent"));
        assertFalse(empty.has("cosyvoice_cluster_backend_free_capacity"), "no backend, no per-node series");
        assertEquals(0, directory.detail().getInteger("backends"));
        assertTrue(directory.check().failed(), "no backend: not ready");

        // b1 says which model it runs; b2 has no handler for the question
        vertx.eventBus().<EngineQuery>consumer(new Backends.Target("b1").engineAddress(), m -> m.reply(MODEL)).completion().await();
        long b1 = reports("b1", 5, 8, false);
        long b2 = reports("b2", 3, 8, false);
        await("both backends known, b1's model too", () -> directory.detail().getInteger("backends") == 2
                && directory.detail().getJsonArray("models").size() == 1);

        JsonObject detail = directory.detail();
        assertEquals(2, detail.getInteger("available"));
        assertEquals(8, detail.getInteger("free_capacity"));
        assertEquals(16, detail.getInteger("capacity"));
        assertEquals(new JsonArray().add(MODEL.description()), detail.getJsonArray("models"));
        JsonObject first = detail.getJsonArray("nodes").getJsonObject(0);
        JsonObject second = detail.getJsonArray("nodes").getJsonObject(1);
        assertEquals(new JsonObject().put("node", "b1").put("address", "10.0.0.1:5701").put("draining", false)
                .put("free_capacity", 5).put("capacity", 8).put("model", MODEL.description()).put("model_version", "tiny-v1"), first);
        assertEquals("b2", second.getString("node"));
        assertNull(second.getString("model"), "b2 never said: unknown, not made up");
        assertTrue(directory.check().succeeded());

        PrometheusText two = PrometheusText.parse(metrics.scrape());
        assertEquals(2, two.value("cosyvoice_cluster_backends", "state", "available"));
        assertEquals("gauge", two.type("cosyvoice_cluster_backend_free_capacity").orElseThrow());
        assertEquals(5, two.value("cosyvoice_cluster_backend_free_capacity", "node", "b1"));
        assertEquals(3, two.value("cosyvoice_cluster_backend_free_capacity", "node", "b2"));
        assertEquals(8, two.value("cosyvoice_cluster_backend_capacity", "node", "b2"));
        assertEquals(0, two.value("cosyvoice_cluster_jobs_placed_total", "node", "b1"));

        // jobs go to the backend with the most room, and are counted against it
        Backends.Target placed = directory.placeJob();
        assertEquals("b1", placed.nodeId());
        CompletableFuture<Void> streamFailed = new CompletableFuture<>();
        directory.watch(placed, () -> streamFailed.complete(null));
        directory.placeJob();
        PrometheusText afterJobs = PrometheusText.parse(metrics.scrape());
        assertEquals(2, afterJobs.sum("cosyvoice_cluster_jobs_placed_total"));
        assertEquals(2, afterJobs.value("cosyvoice_cluster_jobs_placed_total", "node", "b1"), "b1 had the most room both times");

        // b2 drains: known, but no longer available
        vertx.cancelTimer(b2);
        b2 = reports("b2", 0, 8, true);
        await("b2 draining", () -> directory.detail().getInteger("available") == 1);
        PrometheusText draining = PrometheusText.parse(metrics.scrape());
        assertEquals(1, draining.value("cosyvoice_cluster_backends", "state", "available"));
        assertEquals(1, draining.value("cosyvoice_cluster_backends", "state", "draining"));
        assertEquals(2, directory.detail().getInteger("backends"));
        assertEquals(8, directory.detail().getInteger("capacity"), "only b1's capacity takes jobs");

        // b1 leaves the cluster: dropped at once, its stream fails, its series go
        vertx.cancelTimer(b1);
        directory.left("b1");
        streamFailed.get(5, TimeUnit.SECONDS);
        PrometheusText left = PrometheusText.parse(metrics.scrape());
        assertEquals(1, left.value("cosyvoice_cluster_backends_lost_total", "reason", "left"));
        assertEquals(0, left.value("cosyvoice_cluster_backends_lost_total", "reason", "silent"));
        assertEquals(0, left.value("cosyvoice_cluster_backends", "state", "available"));
        assertEquals(List.of("b2"), nodes(left, "cosyvoice_cluster_backend_free_capacity"));
        assertEquals(List.of("b2"), nodes(left, "cosyvoice_cluster_backend_capacity"));
        assertEquals(List.of("b2"), nodes(left, "cosyvoice_cluster_jobs_placed_total"));
        assertEquals(new JsonArray(), directory.detail().getJsonArray("models"), "the model's only backend left");
        assertTrue(directory.check().failed(), "only a draining backend: not ready");

        // b2 stops reporting: dropped after the report timeout
        vertx.cancelTimer(b2);
        await("b2 dropped as silent", () -> directory.detail().getInteger("backends") == 0);
        PrometheusText silent = PrometheusText.parse(metrics.scrape());
        assertEquals(1, silent.value("cosyvoice_cluster_backends_lost_total", "reason", "silent"));
        assertEquals(1, silent.value("cosyvoice_cluster_backends_lost_total", "reason", "left"));
        assertEquals(0, silent.value("cosyvoice_cluster_backends", "state", "draining"));
        assertFalse(silent.has("cosyvoice_cluster_backend_free_capacity"), "no dead node lingers");
        assertFalse(silent.has("cosyvoice_cluster_jobs_placed_total"));
        assertEquals(0, directory.detail().getInteger("free_capacity"));
        assertEquals(new JsonArray(), directory.detail().getJsonArray("nodes"));
    }

    private static List<String> nodes(PrometheusText metrics, String name) {
        return metrics.samples(name).stream().map(s -> s.labels().get("node")).sorted().toList();
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(20);
        }
    }
}
