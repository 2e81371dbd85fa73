package io.cosyvoice.engine;

import io.cosyvoice.synthesis.SynthesisMessages.Chunk;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import io.cosyvoice.audio.TestAudio;
import io.cosyvoice.config.EngineConfig;
import io.cosyvoice.metrics.Metrics;
import io.cosyvoice.config.MetricsConfig;
import io.cosyvoice.synthesis.Backends;
import io.cosyvoice.synthesis.SynthesisMessages;
import io.cosyvoice.synthesis.SynthesisMessages.Accepted;
import io.cosyvoice.synthesis.SynthesisMessages.Capacity;
import io.cosyvoice.synthesis.SynthesisMessages.Credit;
import io.cosyvoice.synthesis.SynthesisMessages.End;
import io.cosyvoice.synthesis.SynthesisMessages.Job;
import io.cosyvoice.synthesis.SynthesisMessages.Output;
import io.cosyvoice.synthesis.SynthesisMode;
import io.cosyvoice.voice.PromptFeatures;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.ReplyException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The backend's side of clustering, on the real engine (tiny twin): it takes jobs at its node's
 * own address, frees the jobs of a frontend that left, drains when stopped (running jobs finish,
 * new ones are refused), and keeps the prompt features jobs brought: a job that withholds features
 * the backend keeps gives the same seeded audio as one that carries them, and one that withholds
 * features it does not keep is refused with {@link SynthesisMessages#PROMPT_NEEDED}.
 */
class EngineBackendClusteringTest {

    private static final String NODE = "backend-node-1";
    private static Engine engine;
    private static PromptFeatures voice;
    private static Metrics metrics;

    @BeforeAll
    static void load() throws Exception {
        engine = Engine.open(EngineConfig.DEFAULTS.effectiveModelDir(), new EngineOptions(1, "cpu", 0, 0, false));
        voice = engine.promptFeatures(TestAudio.tone(16000, 2.0, 220), 16000);
        metrics = Metrics.create(MetricsConfig.DEFAULTS);
    }

    @AfterAll
    static void close() {
        engine.close();
        metrics.close();
    }

    /** A job waiting for credits (the frontend grants none) holds its slot until its frontend is gone. */
    @Test
    void theJobsOfAFrontendThatLeftAreCancelledAndTheirSlotsFreed() throws Exception {
        Vertx vertx = Vertx.vertx();
        try {
            EngineBackendVerticle backend = new EngineBackendVerticle(engine, 2, 2, metrics.engine(), true, Duration.ZERO, NODE, Duration.ZERO, 0);
            vertx.deployVerticle(backend).await(30, TimeUnit.SECONDS);
            Capacity idle = backend.capacity();
            assertEquals(new Capacity(NODE, 4, 4, false, idle.version()), idle);
            LinkedBlockingQueue<Output> outputs = outputs(vertx, "out.gone");
            Capacity first = accept(vertx, job("out.gone", "frontend-gone", 0)).capacity();
            Capacity second = accept(vertx, job("out.stays", "frontend-stays", 0)).capacity();
            // each answer says the room left with its job taken, newer than anything said before
            assertEquals(3, first.free());
            assertEquals(2, second.free());
            assertTrue(idle.version() < first.version() && first.version() < second.version());
            assertEquals(second, backend.capacity());

            backend.cancelJobsFrom("frontend-gone");
            waitUntil(() -> backend.capacity().free() == 3);
            assertTrue(backend.capacity().version() > second.version(), "a freed slot is news too");
            assertEquals(null, outputs.poll(300, TimeUnit.MILLISECONDS), "nothing is sent to a frontend that is gone");
        } finally {
            vertx.close().await(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void stoppingDrainsRunningJobsFinishAndNewOnesAreRefused() throws Exception {
        Vertx vertx = Vertx.vertx();
        try {
            EngineBackendVerticle backend = new EngineBackendVerticle(engine, 2, 2, metrics.engine(), true, Duration.ZERO, NODE, Duration.ofSeconds(30), 0);
            String deployment = vertx.deployVerticle(backend).await(30, TimeUnit.SECONDS);
            LinkedBlockingQueue<Output> outputs = outputs(vertx, "out.running");
            // no credits yet: the job cannot finish before the drain starts
            Accepted accepted = accept(vertx, job("out.running", "frontend", 0));

            var stopped = vertx.undeploy(deployment);
            waitUntil(backend::draining);
            assertEquals(0, backend.capacity().free(), "a draining backend reports no room");
            ExecutionException refused = assertThrows(ExecutionException.class, () -> vertx.eventBus()
                    .request(new Backends.Target(NODE).jobsAddress(), job("out.late", "frontend", 4))
                    .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS));
            assertInstanceOf(ReplyException.class, refused.getCause());

            // the running job still gets its credits and finishes before the backend stops
            vertx.eventBus().send(accepted.inputAddress(), new Credit(1000));
            Output last;
            int chunks = 0;
            do {
                last = outputs.poll(60, TimeUnit.SECONDS);
                assertNotNull(last, "the running job kept sending");
                chunks++;
            } while (!(last instanceof End) && !(last instanceof SynthesisMessages.Failure));
            assertInstanceOf(End.class, last, last.toString());
            assertTrue(chunks > 1, "audio before the end");
            stopped.await(60, TimeUnit.SECONDS);
        } finally {
            vertx.close().await(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void withheldFeaturesTheBackendKeepsGiveTheSameAudioAndUnknownOnesAreAskedFor() throws Exception {
        Vertx vertx = Vertx.vertx();
        try {
            deploy(vertx, EngineConfig.DEFAULTS.promptCacheBytes());
            UUID voiceId = UUID.randomUUID();

            Job sent = job("out.sent", "frontend", 1000, voiceId);
            LinkedBlockingQueue<Output> sentOutputs = outputs(vertx, sent.outputAddress());
            assertTrue(accept(vertx, sent).promptKept(), "the backend says it keeps the features");
            byte[] sentAudio = audio(sentOutputs);

            Job withheld = job("out.withheld", "frontend", 1000, voiceId).withholdingPrompt();
            LinkedBlockingQueue<Output> withheldOutputs = outputs(vertx, withheld.outputAddress());
            assertTrue(accept(vertx, withheld).promptKept());
            byte[] withheldAudio = audio(withheldOutputs);
            assertTrue(sentAudio.length > 0);
            assertArrayEquals(sentAudio, withheldAudio, "the kept features are the ones sent: same seed, same audio");

            ReplyException unknown = refusal(vertx, job("out.unknown", "frontend", 1000).withholdingPrompt());
            assertEquals(SynthesisMessages.PROMPT_NEEDED, unknown.failureCode(), unknown.getMessage());
        } finally {
            vertx.close().await(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void aBackendThatKeepsNothingSaysSoAndAsksForWithheldFeatures() throws Exception {
        Vertx vertx = Vertx.vertx();
        try {
            deploy(vertx, 0);
            UUID voiceId = UUID.randomUUID();
            Job sent = job("out.sent", "frontend", 1000, voiceId);
            LinkedBlockingQueue<Output> outputs = outputs(vertx, sent.outputAddress());
            assertFalse(accept(vertx, sent).promptKept(), "a frontend must not leave them out next time");
            assertTrue(audio(outputs).length > 0);

            ReplyException refused = refusal(vertx, job("out.withheld", "frontend", 1000, voiceId).withholdingPrompt());
            assertEquals(SynthesisMessages.PROMPT_NEEDED, refused.failureCode(), refused.getMessage());
        } finally {
            vertx.close().await(30, TimeUnit.SECONDS);
        }
    }

    private static void deploy(Vertx vertx, long promptCacheBytes) throws Exception {
        vertx.deployVerticle(new EngineBackendVerticle(engine, 2, 2, metrics.engine(), true, Duration.ZERO, NODE,
                Duration.ZERO, promptCacheBytes)).await(30, TimeUnit.SECONDS);
    }

    private static Job job(String output, String origin, int credits) {
        return job(output, origin, credits, UUID.randomUUID());
    }

    private static Job job(String output, String origin, int credits, UUID voiceId) {
        return new Job(UUID.randomUUID().toString(), output, origin, voiceId, "希望你以后能够做得比我还好哟", voice,
                false, SynthesisMode.ZERO_SHOT, "", OptionalLong.of(7), 1.0, List.of("今天天气很好。"), true, credits, true);
    }

    private static Accepted accept(Vertx vertx, Job job) throws Exception {
        return vertx.eventBus().<Accepted>request(new Backends.Target(NODE).jobsAddress(), job).await(30, TimeUnit.SECONDS).body();
    }

    private static LinkedBlockingQueue<Output> outputs(Vertx vertx, String address) throws Exception {
        LinkedBlockingQueue<Output> outputs = new LinkedBlockingQueue<>();
        vertx.eventBus().<Output>consumer(address, m -> outputs.add(m.body())).completion().await();
        return outputs;
    }

    private static void waitUntil(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "condition met in time");
            Thread.sleep(20);
        }
    }

    private static ReplyException refusal(Vertx vertx, Job job) {
        ExecutionException refused = assertThrows(ExecutionException.class, () -> vertx.eventBus()
                .request(new Backends.Target(NODE).jobsAddress(), job)
                .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS));
        return assertInstanceOf(ReplyException.class, refused.getCause());
    }

    /** Every sample of a job's audio, as bytes, once it ended well. */
    private static byte[] audio(LinkedBlockingQueue<Output> outputs) throws InterruptedException {
        ByteArrayOutputStream audio = new ByteArrayOutputStream();
        while (true) {
            Output output = outputs.poll(60, TimeUnit.SECONDS);
            assertNotNull(output, "the job kept sending");
            switch (output) {
                case Chunk chunk -> {
                    ByteBuffer bytes = ByteBuffer.allocate(chunk.samples().length * Float.BYTES);
                    bytes.asFloatBuffer().put(chunk.samples());
                    audio.writeBytes(bytes.array());
                }
                case End end -> {
                    return audio.toByteArray();
                }
                case SynthesisMessages.Failure failure -> throw new AssertionError(failure.toString());
            }
        }
    }
}
