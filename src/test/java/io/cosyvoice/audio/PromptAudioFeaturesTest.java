package io.cosyvoice.audio;

import static io.cosyvoice.audio.SincResamplerTest.maxAbs;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import io.cosyvoice.engine.NpyFile;
import io.vertx.core.json.JsonObject;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The prompt features against the reference's golden files (models/reference/golden/prompt/). */
class PromptAudioFeaturesTest {

    private static final Path REFERENCE = Path.of("models/reference");
    private static final Path GOLDEN = SincResamplerTest.GOLDEN;

    private static DecodedAudio prompt;
    private static JsonObject tolerances;

    @BeforeAll
    static void load() throws Exception {
        prompt = AudioDecoder.decode(Files.readAllBytes(REFERENCE.resolve("prompt.wav")), AudioHint.none());
        tolerances = new JsonObject(Files.readString(GOLDEN.resolveSibling("tolerances.json")));
    }

    @Test
    void theReferenceVoiceMatchesTheGoldenFeatures() throws IOException {
        assertEquals(24000, prompt.sampleRate());
        PromptAudioFeatures f = PromptAudioFeatures.compute(prompt.samples(), prompt.sampleRate());

        NpyFile mel = NpyFile.map(GOLDEN.resolve("speech_tokenizer_mel.npy"));
        NpyFile fbank = NpyFile.map(GOLDEN.resolve("speaker_fbank.npy"));
        NpyFile promptMel = NpyFile.map(GOLDEN.resolve("prompt_mel.npy"));
        // the golden prompt mel is already cut to twice the aligned token count: compare its frames
        long goldenPromptFrames = promptMel.shape()[0];
        float[] ourPromptMel = Arrays.copyOf(f.promptMel(), (int) goldenPromptFrames * PromptAudioFeatures.PROMPT_MEL_BINS);

        double melError = maxAbs(f.speechTokenizerMel(), mel.toArray());
        double fbankError = maxAbs(f.speakerFbank(), fbank.toArray());
        double promptError = maxAbs(ourPromptMel, promptMel.toArray());
        System.out.printf(Locale.ROOT, "prompt features vs golden, max abs: speech tokenizer mel %.2e, speaker fbank %.2e,"
                + " prompt mel %.2e%n", melError, fbankError, promptError);
        assertAll(
                () -> assertArrayEquals(mel.shape(), new long[] {128, f.tokenizerFrames()}),
                () -> assertArrayEquals(fbank.shape(), new long[] {f.fbankFrames(), 80}),
                () -> assertEquals(72000 / 480, f.promptMelFrames()),
                () -> assertTrue(goldenPromptFrames <= f.promptMelFrames()),
                () -> assertTrue(melError <= tolerances.getDouble("speech_tokenizer_mel_max_abs"), "mel " + melError),
                () -> assertTrue(fbankError <= tolerances.getDouble("speaker_fbank_max_abs"), "fbank " + fbankError),
                () -> assertTrue(promptError <= tolerances.getDouble("prompt_mel_max_abs"), "prompt mel " + promptError));
    }

    @Test
    void shapesSuitTheGraphsInputs() {
        float[] audio = TestAudio.tone(16000, 1.0, 220);
        PromptAudioFeatures f = PromptAudioFeatures.compute(audio, 16000);

        assertAll(
                () -> assertArrayEquals(new long[] {1, 128, 100}, f.speechTokenizerMelShape()),
                () -> assertArrayEquals(new long[] {1, 98, 80}, f.speakerFbankShape()),
                () -> assertArrayEquals(new long[] {50, 80}, f.promptMelShape()),
                () -> assertEquals(128 * 100, f.speechTokenizerMel().length),
                () -> assertEquals(f, PromptAudioFeatures.compute(audio, 16000)),
                () -> assertEquals("PromptAudioFeatures[speechTokenizerMel=[1, 128, 100], speakerFbank=[1, 98, 80],"
                        + " promptMel=[50, 80]]", f.toString()));
    }

    @Test
    void theInputIsNotModified() {
        float[] audio = prompt.samples().clone();
        PromptAudioFeatures.compute(audio, 24000);
        PromptAudioFeatures.compute(audio, 16000);

        assertArrayEquals(prompt.samples(), audio);
    }

    @Test
    void concurrentCallsShareTheCachedTables() throws Exception {
        float[] voice44 = SincResampler.of(24000, 44100).resample(prompt.samples());
        PromptAudioFeatures expected = PromptAudioFeatures.compute(voice44, 44100);
        try (ExecutorService pool = Executors.newFixedThreadPool(4)) {
            List<Future<PromptAudioFeatures>> results = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                results.add(pool.submit(() -> PromptAudioFeatures.compute(voice44, 44100)));
            }
            for (Future<PromptAudioFeatures> r : results) {
                assertEquals(expected, r.get());
            }
        }
    }

    @ParameterizedTest(name = "{0} Hz")
    @ValueSource(ints = {8000, 11025, 15999})
    void ratesBelow16kHzAreRefused(int rate) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PromptAudioFeatures.compute(new float[rate], rate));

        assertEquals("prompt audio sampled at " + rate + " Hz is not supported: at least 16000 Hz is needed",
                e.getMessage());
    }

    @Test
    void ratesAboveTheDecodersAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PromptAudioFeatures.compute(new float[400_000], 384000));

        assertEquals("prompt audio sampled at 384000 Hz is not supported: at most 192000 Hz", e.getMessage());
    }

    @Test
    void audioTooShortForTheFeaturesIsRefused() {
        // the prompt mel's reflect padding needs 721 samples at 24 kHz (more than fbank's 400 at 16 kHz)
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PromptAudioFeatures.compute(new float[720], 24000));
        assertEquals("prompt audio is too short: 30.0 ms (720 samples at 24000 Hz); the features need at least 400"
                + " samples at 16 kHz and 721 at 24 kHz (about 30 ms)", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> PromptAudioFeatures.compute(new float[0], 16000));
        assertThrows(IllegalArgumentException.class, () -> PromptAudioFeatures.compute(new float[480], 16000));

        PromptAudioFeatures shortest24 = PromptAudioFeatures.compute(TestAudio.tone(24000, 721 / 24000.0, 220), 24000);
        PromptAudioFeatures shortest16 = PromptAudioFeatures.compute(TestAudio.tone(16000, 481 / 16000.0, 220), 16000);
        assertAll(
                () -> assertArrayEquals(new long[] {1, 128, 3}, shortest24.speechTokenizerMelShape()),
                () -> assertArrayEquals(new long[] {1, 1, 80}, shortest24.speakerFbankShape()),
                () -> assertArrayEquals(new long[] {1, 80}, shortest24.promptMelShape()),
                () -> assertArrayEquals(new long[] {1, 80}, shortest16.promptMelShape()));
    }

    @Test
    void nonFiniteSamplesAreRefused() {
        float[] audio = TestAudio.tone(24000, 0.5, 220);
        audio[1000] = Float.NaN;

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PromptAudioFeatures.compute(audio, 24000));
        assertEquals("prompt audio contains NaN or infinite samples", e.getMessage());
    }

    @Test
    void inconsistentArraysAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new PromptAudioFeatures(new float[128 * 3], 3, new float[80], 2, new float[80], 1));

        assertEquals("speakerFbank: 80 values for 2 frames of 80 bins", e.getMessage());
    }

    @Test
    void timingFor30SecondsOf24kHz() {
        float[] audio = thirtySeconds(24000);
        float[] audio44 = thirtySeconds(44100);
        for (int i = 0; i < 5; i++) { // warm up the JIT
            PromptAudioFeatures.compute(audio, 24000);
        }
        long best24 = Long.MAX_VALUE;
        long best44 = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            long t0 = System.nanoTime();
            PromptAudioFeatures.compute(audio, 24000);
            long t1 = System.nanoTime();
            PromptAudioFeatures.compute(audio44, 44100);
            long t2 = System.nanoTime();
            best24 = Math.min(best24, t1 - t0);
            best44 = Math.min(best44, t2 - t1);
        }
        System.out.printf(Locale.ROOT, "prompt features of 30 s: %.1f ms at 24 kHz, %.1f ms at 44.1 kHz (best of 5, one thread)%n",
                best24 / 1e6, best44 / 1e6);
    }

    /** 30 s of voice-like audio at {@code rate}: the reference voice resampled and repeated. */
    private static float[] thirtySeconds(int rate) {
        float[] voice = rate == 24000 ? prompt.samples() : SincResampler.of(24000, rate).resample(prompt.samples());
        float[] out = new float[30 * rate];
        for (int i = 0; i < out.length; i += voice.length) {
            System.arraycopy(voice, 0, out, i, Math.min(voice.length, out.length - i));
        }
        return out;
    }

}
