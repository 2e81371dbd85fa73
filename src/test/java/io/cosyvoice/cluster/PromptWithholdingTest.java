package io.cosyvoice.cluster;

import io.cosyvoice.config.MetricsConfig;
import io.cosyvoice.metrics.Metrics;
import io.cosyvoice.support.PrometheusText;
import io.cosyvoice.synthesis.Backends;
import io.cosyvoice.synthesis.SynthesisClient;
import io.cosyvoice.synthesis.SynthesisMessages;
import io.cosyvoice.synthesis.SynthesisMessages.Accepted;
import io.cosyvoice.synthesis.SynthesisMessages.Capacity;
import io.cosyvoice.synthesis.SynthesisMessages.Chunk;
import io.cosyvoice.synthesis.SynthesisMessages.End;
import io.cosyvoice.synthesis.SynthesisMessages.Job;
import io.cosyvoice.synthesis.SynthesisMode;
import io.cosyvoice.voice.PromptFeatures;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The frontend's side of prompt features kept by backends, on a real event bus with the real
 * {@link SynthesisClient} and {@link ClusterBackends}; the backends are stand-ins with cluster node
 * ids on the far side of the contract: they keep the features jobs brought (or not), refuse a job
 * that withholds features they lack with {@link SynthesisMessages#PROMPT_NEEDED}, and answer every
 * job they take with one chunk and the end.
 */
class PromptWithholdingTest {

    private static final String FRONTEND = "frontend";
    private static final float[] AUDIO = {0.25f, -0.5f, 0.125f};

    private Vertx vertx;
    private Metrics metrics;
    private ClusterBackends directory;
    private SynthesisClient client;
    private final List<Long> timers = new ArrayList<>();

    @BeforeEach
    void start() {
        vertx = Vertx.vertx();
        metrics = Metrics.create(new MetricsConfig(true, false));
        directory = ClusterBackends.start(vertx, FRONTEND, node -> java.util.Optional.empty(), metrics.cluster(), 5_000).await();
        client = new SynthesisClient(vertx, Duration.ofSeconds(10), directory);
    }

    @AfterEach
    void stop() {
        timers.forEach(vertx::cancelTimer);
        directory.stop().await();
        vertx.close().await();
        metrics.close();
    }

    /** A stand-in backend on a cluster node. */
    private final class StandIn {
        final List<Job> jobs = new CopyOnWriteArrayList<>();
        final Set<UUID> kept = ConcurrentHashMap.newKeySet();
        final boolean keeps;

        StandIn(String nodeId, boolean keeps) throws Exception {
            this.keeps = keeps;
            vertx.eventBus().<Job>consumer(new Backends.Target(nodeId).jobsAddress(), message -> {
                Job job = message.body();
                jobs.add(job);
                if (job.promptWithheld() && !kept.contains(job.voiceId())) {
                    message.fail(SynthesisMessages.PROMPT_NEEDED, "send the features");
                    return;
                }
                if (!job.promptWithheld() && keeps) {
                    kept.add(job.voiceId());
                }
                message.reply(new Accepted("stand-in.input." + job.jobId(), true, keeps, new Capacity(nodeId, 8, 8, false, 0)));
                vertx.eventBus().send(job.outputAddress(), new Chunk(0, 0, AUDIO, 0.01));
                vertx.eventBus().send(job.outputAddress(), new End(1));
            }).completion().await();
            timers.add(vertx.setPeriodic(1, 100, t -> vertx.eventBus()
                    .publish(SynthesisMessages.CAPACITY_ADDRESS, new Capacity(nodeId, 8, 8, false, 0))));
        }

        Job last() {
            return jobs.getLast();
        }
    }

    @Test
    void aVoicesFeaturesGoToABackendOnceAndAgainOnlyWhenItLostThem() throws Exception {
        StandIn backend = new StandIn("b1", true);
        awaitBackends(1);
        UUID voice = UUID.randomUUID();
        PromptFeatures features = features();

        synthesise(voice, features);
        assertSame(features, backend.last().prompt(), "the first job carries the features");
        assertFalse(backend.last().promptWithheld());

        synthesise(voice, features);
        assertEquals(2, backend.jobs.size());
        assertTrue(backend.last().promptWithheld(), "the second job leaves them out");
        assertNull(backend.last().prompt());

        // the backend lost them (evicted, restarted cache): it refuses, and the same job comes again with them
        backend.kept.clear();
        synthesise(voice, features);
        assertEquals(4, backend.jobs.size(), "one refusal, one resend");
        Job refused = backend.jobs.get(2);
        Job resent = backend.jobs.get(3);
        assertTrue(refused.promptWithheld());
        assertEquals(refused.jobId(), resent.jobId(), "the same job, not a new one");
        assertSame(features, resent.prompt());

        synthesise(voice, features);
        assertTrue(backend.last().promptWithheld(), "kept again after the resend");
        PrometheusText counted = PrometheusText.parse(metrics.scrape());
        assertEquals(3, counted.sum("cosyvoice_cluster_prompts_withheld_total"));
        assertEquals(1, counted.sum("cosyvoice_cluster_prompts_resent_total"));

        UUID other = UUID.randomUUID();
        synthesise(other, features);
        assertSame(features, backend.last().prompt(), "another voice's features go the first time");

        // another model version of the same voice is not what the backend keeps
        PromptFeatures otherVersion = new PromptFeatures("v2", features.speechTokens(), features.speakerEmbedding(),
                features.promptMel(), features.promptMelFrames());
        synthesise(voice, otherVersion);
        assertSame(otherVersion, backend.last().prompt());

        // a backend that left is forgotten: when it is back, its first job carries the features again
        directory.left("b1");
        awaitBackends(1);
        synthesise(voice, features);
        assertSame(features, backend.last().prompt(), "nothing is assumed of a backend that came back");
    }

    @Test
    void aBackendThatKeepsNothingGetsTheFeaturesWithEveryJobWithoutRefusals() throws Exception {
        StandIn backend = new StandIn("b1", false);
        awaitBackends(1);
        UUID voice = UUID.randomUUID();
        PromptFeatures features = features();
        synthesise(voice, features);
        synthesise(voice, features);
        assertEquals(2, backend.jobs.size(), "no refused round trips");
        backend.jobs.forEach(job -> assertSame(features, job.prompt()));
        assertEquals(0, PrometheusText.parse(metrics.scrape()).sum("cosyvoice_cluster_prompts_withheld_total"));
    }

    @Test
    void theBackendOfThisProcessAlwaysGetsTheFeatures() throws Exception {
        // a clustered process that runs the API and an engine: its own backend is a target like the others
        StandIn backend = new StandIn(FRONTEND, true);
        awaitBackends(1);
        UUID voice = UUID.randomUUID();
        PromptFeatures features = features();
        synthesise(voice, features);
        synthesise(voice, features);
        synthesise(voice, features);
        assertEquals(3, backend.jobs.size());
        backend.jobs.forEach(job -> assertSame(features, job.prompt(), "delivered in this process: nothing to save"));
    }

    /** Runs one job through the client, as an HTTP request would, and checks the client sees all its audio. */
    private void synthesise(UUID voice, PromptFeatures features) throws Exception {
        CompletableFuture<List<Object>> seen = new CompletableFuture<>();
        vertx.runOnContext(v -> client.start(new SynthesisClient.Request(voice, "prompt text", features, SynthesisMode.ZERO_SHOT,
                        "", OptionalLong.of(1), 1.0, List.of("你好。"), true, true))
                .onFailure(seen::completeExceptionally)
                .onSuccess(stream -> {
                    List<Object> outputs = new ArrayList<>();
                    stream.chunkHandler(outputs::add)
                            .endHandler(end -> {
                                outputs.add(end);
                                seen.complete(outputs);
                            })
                            .failureHandler(failure -> seen.completeExceptionally(new AssertionError(failure.toString())));
                    stream.open();
                }));
        List<Object> outputs = seen.get(10, TimeUnit.SECONDS);
        assertEquals(2, outputs.size(), outputs.toString());
        assertArrayEquals(AUDIO, ((Chunk) outputs.getFirst()).samples());
        assertEquals(new End(1), outputs.get(1));
    }

    private void awaitBackends(int count) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (directory.available() != count) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + count + " backends");
            }
            Thread.sleep(20);
        }
    }

    private static PromptFeatures features() {
        return new PromptFeatures("v1", new int[250], new float[192], new float[500 * 80], 500);
    }
}
