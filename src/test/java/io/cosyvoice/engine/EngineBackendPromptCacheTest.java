package io.cosyvoice.engine;

import io.cosyvoice.audio.TestAudio;
import io.cosyvoice.config.EngineConfig;
import io.cosyvoice.config.MetricsConfig;
import io.cosyvoice.metrics.Metrics;
import io.cosyvoice.synthesis.Backends;
import io.cosyvoice.synthesis.SynthesisMessages;
import io.cosyvoice.synthesis.SynthesisMessages.Accepted;
import io.cosyvoice.synthesis.SynthesisMessages.Chunk;
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

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A backend keeps the prompt features jobs brought, on the real engine (tiny twin), with jobs sent
 * straight to its node's address: a job that withholds features the backend keeps gives the same
 * seeded audio as one that carries them, and one that withholds features it does not keep is
 * refused with {@link SynthesisMessages#PROMPT_NEEDED}.
 */
class EngineBackendPromptCacheTest {

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

    @Test
    void withheldFeaturesTheBackendKeepsGiveTheSameAudioAndUnknownOnesAreAskedFor() throws Exception {
        Vertx vertx = Vertx.vertx();
        try {
            deploy(vertx, EngineConfig.DEFAULTS.promptCacheBytes());
            UUID voiceId = UUID.randomUUID();

            Job sent = job(voiceId, voice, "out.sent");
            LinkedBlockingQueue<Output> sentOutputs = outputs(vertx, sent.outputAddress());
            assertTrue(accept(vertx, sent).promptKept(), "the backend says it keeps the features");
            byte[] sentAudio = audio(sentOutputs);

            Job withheld = job(voiceId, voice, "out.withheld").withholdingPrompt();
            LinkedBlockingQueue<Output> withheldOutputs = outputs(vertx, withheld.outputAddress());
            assertTrue(accept(vertx, withheld).promptKept());
            byte[] withheldAudio = audio(withheldOutputs);
            assertTrue(sentAudio.length > 0);
            assertArrayEquals(sentAudio, withheldAudio, "the kept features are the ones sent: same seed, same audio");

            ReplyException unknown = refusal(vertx, job(UUID.randomUUID(), voice, "out.unknown").withholdingPrompt());
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
            Job sent = job(voiceId, voice, "out.sent");
            LinkedBlockingQueue<Output> outputs = outputs(vertx, sent.outputAddress());
            assertFalse(accept(vertx, sent).promptKept(), "a frontend must not leave them out next time");
            assertTrue(audio(outputs).length > 0);

            ReplyException refused = refusal(vertx, job(voiceId, voice, "out.withheld").withholdingPrompt());
            assertEquals(SynthesisMessages.PROMPT_NEEDED, refused.failureCode(), refused.getMessage());
        } finally {
            vertx.close().await(30, TimeUnit.SECONDS);
        }
    }

    private static void deploy(Vertx vertx, long promptCacheBytes) throws Exception {
        vertx.deployVerticle(new EngineBackendVerticle(engine, 2, 2, metrics.engine(), true, Duration.ZERO, NODE,
                Duration.ZERO, promptCacheBytes)).await(30, TimeUnit.SECONDS);
    }

    private static Job job(UUID voiceId, PromptFeatures prompt, String output) {
        return new Job(UUID.randomUUID().toString(), output, "frontend", voiceId, "希望你以后能够做得比我还好哟", prompt,
                false, SynthesisMode.ZERO_SHOT, "", OptionalLong.of(7), 1.0, List.of("今天天气很好。"), true, 1000, true);
    }

    private static Accepted accept(Vertx vertx, Job job) throws Exception {
        return vertx.eventBus().<Accepted>request(new Backends.Target(NODE).jobsAddress(), job).await(30, TimeUnit.SECONDS).body();
    }

    private static ReplyException refusal(Vertx vertx, Job job) {
        ExecutionException refused = assertThrows(ExecutionException.class, () -> vertx.eventBus()
                .request(new Backends.Target(NODE).jobsAddress(), job)
                .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS));
        return assertInstanceOf(ReplyException.class, refused.getCause());
    }

    private static LinkedBlockingQueue<Output> outputs(Vertx vertx, String address) {
        LinkedBlockingQueue<Output> outputs = new LinkedBlockingQueue<>();
        vertx.eventBus().<Output>consumer(address, m -> outputs.add(m.body())).completion().await();
        return outputs;
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
