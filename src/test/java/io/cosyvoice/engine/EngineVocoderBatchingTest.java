package io.cosyvoice.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cosyvoice.audio.AudioDecoder;
import io.cosyvoice.audio.AudioHint;
import io.cosyvoice.audio.DecodedAudio;
import io.cosyvoice.synthesis.SynthesisMode;
import io.cosyvoice.voice.PromptFeatures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * {@link Engine#speak} with vocoder batching on the tiny twin: a sentence cancelled while its flow
 * call waits for the batcher just stops (no error), others go on; closing the engine fails the
 * sentences still waiting with a clear error instead of leaving their threads hanging.
 */
class EngineVocoderBatchingTest {

    private static Engine open() throws Exception {
        return Engine.open(FlowGoldens.TINY, new EngineOptions(1, "cpu", 0, 0, false), null, new VocoderBatching(true, 4));
    }

    private static PromptFeatures voice(Engine engine) throws Exception {
        DecodedAudio audio = AudioDecoder.decode(Files.readAllBytes(Path.of("models/reference/prompt.wav")), AudioHint.none());
        return engine.promptFeatures(audio.samples(), audio.sampleRate());
    }

    private static Engine.Utterance sentence(PromptFeatures voice, long seed) {
        return new Engine.Utterance("今天天气很好，我们一起去公园散步吧。", SynthesisMode.CROSS_LINGUAL, "", "", voice, seed,
                1.0, true);
    }

    private static void awaitWaiting(ShapeBatcher<?, ?> batcher, int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (batcher.waiting() < n) {
            assertTrue(System.nanoTime() < deadline, "only " + batcher.waiting() + " calls arrived, expected " + n);
            Thread.sleep(2);
        }
    }

    @Test
    void aSentenceCancelledWhileWaitingForTheVocoderStopsQuietly() throws Exception {
        try (Engine engine = open(); ExecutorService pool = Executors.newFixedThreadPool(2)) {
            PromptFeatures voice = voice(engine);
            List<float[]> alone = new ArrayList<>();
            engine.speak(sentence(voice, 9), alone::add, () -> false);

            ShapeBatcher<?, ?> flow = engine.vocoder().flow().batcher();
            flow.pause(true);
            AtomicBoolean cancel = new AtomicBoolean();
            List<float[]> cancelledChunks = new ArrayList<>();
            List<float[]> otherChunks = new ArrayList<>();
            Future<?> cancelled = pool.submit(() -> engine.speak(sentence(voice, 8), cancelledChunks::add, cancel::get));
            Future<?> other = pool.submit(() -> engine.speak(sentence(voice, 9), otherChunks::add, () -> false));
            awaitWaiting(flow, 2);
            cancel.set(true);
            cancelled.get(5, TimeUnit.SECONDS); // returns normally: a cancel is not a failure
            assertTrue(cancelledChunks.isEmpty());
            flow.pause(false);
            other.get(60, TimeUnit.SECONDS);
            assertEquals(alone.size(), otherChunks.size());
            for (int i = 0; i < alone.size(); i++) {
                assertEquals(alone.get(i).length, otherChunks.get(i).length);
                assertTrue(VocoderBatchingTest.maxAbsDiff(alone.get(i), otherChunks.get(i)) <= VocoderBatchingTest.AUDIO_ULPS);
            }
        }
    }

    @Test
    void closingTheEngineFailsSentencesWaitingForTheVocoder() throws Exception {
        Engine engine = open();
        try (ExecutorService pool = Executors.newFixedThreadPool(2)) {
            PromptFeatures voice = voice(engine);
            engine.vocoder().flow().batcher().pause(true);
            List<Future<?>> sentences = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                long seed = i;
                sentences.add(pool.submit(() -> engine.speak(sentence(voice, seed), chunk -> { }, () -> false)));
            }
            awaitWaiting(engine.vocoder().flow().batcher(), 2);
            engine.close();
            for (Future<?> f : sentences) {
                ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
                assertTrue(e.getCause() instanceof IllegalStateException, e.toString());
                assertTrue(e.getCause().getMessage().contains("shutting down"), e.getCause().getMessage());
            }
        }
    }
}
