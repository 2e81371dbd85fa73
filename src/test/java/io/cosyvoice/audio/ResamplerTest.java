package io.cosyvoice.audio;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ResamplerTest {

    @ParameterizedTest(name = "24000 -> {0} Hz")
    @ValueSource(ints = {8000, 16000, 22050, 32000, 44100, 48000})
    void aToneKeepsItsFrequencyAndAmplitude(int to) {
        float[] in = TestAudio.tone(24000, 1.0, 1000, 0.5);

        float[] out = Resampler.resample(in, 24000, to);

        int from = to / 10;
        int end = to * 9 / 10;
        assertAll(
                () -> assertEquals(to, out.length, 1),
                () -> assertEquals(1000, TestAudio.zeroCrossingHz(out, to, from, end), 1),
                () -> assertEquals(0.5, TestAudio.toneAmplitude(out, to, 1000, from, end), 0.002));
    }

    @ParameterizedTest(name = "{0} -> {1} Hz, {2} Hz tone")
    @CsvSource({"24000, 16000, 7000", "24000, 8000, 3500", "24000, 22050, 9500", "24000, 48000, 10500",
        "48000, 24000, 10000", "44100, 16000, 7000"})
    void tonesInThePassBandPassUnchanged(int from, int to, int hz) {
        float[] out = Resampler.resample(TestAudio.tone(from, 1.0, hz, 0.5), from, to);

        assertEquals(0.5, TestAudio.toneAmplitude(out, to, hz, to / 10, to * 9 / 10), 0.005);
    }

    @ParameterizedTest(name = "{0} -> {1} Hz, {2} Hz tone")
    @CsvSource({"24000, 16000, 10000", "24000, 16000, 8200", "24000, 8000, 5000", "24000, 8000, 11000",
        "24000, 22050, 11500", "48000, 16000, 20000", "44100, 8000, 4100"})
    void tonesAboveTheOutputNyquistAreRemovedNotAliased(int from, int to, int hz) {
        float[] in = TestAudio.tone(from, 1.0, hz, 0.5);

        float[] out = Resampler.resample(in, from, to);

        // Everything that comes out (the alias would land at |to - hz| or so) is at least 60 dB down.
        double rms = TestAudio.rms(out, to / 10, to * 9 / 10);
        double level = OutputAudio.db(rms, TestAudio.rms(in, 0, in.length));
        assertTrue(level < -60, "residue at " + level + " dB");
    }

    @Test
    void upsamplingAddsNoImages() {
        // A 10 kHz tone at 24 kHz upsampled to 48 kHz must not gain its mirror image at 14 kHz.
        float[] out = Resampler.resample(TestAudio.tone(24000, 1.0, 10000, 0.5), 24000, 48000);

        double image = TestAudio.toneAmplitude(out, 48000, 14000, 4800, 43200);
        assertTrue(OutputAudio.db(image, 0.5) < -60, "image at " + OutputAudio.db(image, 0.5) + " dB");
    }

    @ParameterizedTest(name = "{0} -> {1} Hz")
    @CsvSource({"24000, 16000", "24000, 8000", "24000, 22050", "24000, 44100", "24000, 48000", "24000, 32000",
        "44100, 48000", "48000, 44100", "16000, 24000"})
    void streamingOverAnyChunkingEqualsOneShot(int from, int to) {
        Random random = new Random(from * 31L + to);
        float[] in = new float[from / 2 + 77];
        for (int i = 0; i < in.length; i++) {
            in[i] = (float) (0.3 * Math.sin(i * 0.05) + 0.2 * random.nextGaussian() * 0.3);
        }
        float[] oneShot = Resampler.resample(in, from, to);

        for (int[] sizes : new int[][] {{1}, {7, 0, 1000, 3}, {from / 10}, {in.length}, {5000, 1, 1, 2}}) {
            Resampler r = new Resampler(from, to);
            List<float[]> chunks = OutputAudio.chunks(in, sizes);
            float[] streamed = OutputAudio.stream(chunks, r::process, r::flush);
            assertEquals(oneShot.length, streamed.length);
            assertTrue(TestAudio.maxAbsDiff(oneShot, streamed) <= 1e-6);
        }
    }

    @ParameterizedTest(name = "{0} -> {1} Hz")
    @CsvSource({"24000, 16000", "24000, 8000", "24000, 22050", "24000, 44100", "24000, 48000", "44100, 48000"})
    void theTotalLengthIsTheInputDurationAtTheNewRate(int from, int to) {
        for (int n : new int[] {0, 1, 2, 3, 10, 147, 160, 1000, 24001, 72000}) {
            float[] out = Resampler.resample(new float[n], from, to);
            assertEquals(Math.round(n * (double) to / from), out.length, 1, n + " samples");
        }
    }

    @ParameterizedTest(name = "{0} -> {1} Hz")
    @CsvSource({"24000, 16000", "24000, 22050", "24000, 44100", "24000, 48000", "24000, 8000"})
    void outputSampleKIsTheInputAtTimeKOverTheNewRate(int from, int to) {
        // No delay: the output of a slow sine follows the same sine sampled at the new rate.
        double hz = 300;
        float[] out = Resampler.resample(TestAudio.tone(from, 1.0, hz, 0.5), from, to);

        double maxErr = 0;
        for (int k = to / 10; k < to * 9 / 10; k++) {
            maxErr = Math.max(maxErr, Math.abs(out[k] - 0.5 * Math.sin(2 * Math.PI * hz * k / to)));
        }
        assertTrue(maxErr < 1e-3, "max error " + maxErr);
    }

    @Test
    void aConstantSignalStaysConstant() {
        float[] in = new float[4800];
        java.util.Arrays.fill(in, 0.25f);

        float[] out = Resampler.resample(in, 24000, 22050);

        for (int k = 300; k < out.length - 300; k++) {
            assertEquals(0.25, out[k], 1e-4);
        }
    }

    @Test
    void equalRatesAreAnIdentityWithoutCopies() {
        Resampler r = new Resampler(24000, 24000);
        float[] chunk = TestAudio.tone(24000, 0.1, 440);

        assertSame(chunk, r.process(chunk));
        assertEquals(0, r.flush().length);
        float[] copy = Resampler.resample(chunk, 24000, 24000);
        assertArrayEquals(chunk, copy);
    }

    @Test
    void emptyInputGivesEmptyOutput() {
        Resampler r = new Resampler(24000, 16000);
        assertEquals(0, r.process(new float[0]).length);
        assertEquals(0, r.flush().length);
    }

    @Test
    void rejectsBadRatesAndUseAfterFlush() {
        assertThrows(IllegalArgumentException.class, () -> new Resampler(0, 16000));
        assertThrows(IllegalArgumentException.class, () -> new Resampler(24000, -1));
        Resampler r = new Resampler(24000, 16000);
        r.flush();
        assertThrows(IllegalStateException.class, () -> r.process(new float[10]));
        assertEquals(0, r.flush().length);
    }

    @Test
    void unusualRatiosWithHugeFilterTablesStillWork() {
        // 24000 -> 44101: the reduced ratio has 44101 phases, computed on the fly.
        float[] out = Resampler.resample(TestAudio.tone(24000, 0.2, 1000, 0.5), 24000, 44101);

        assertEquals(Math.round(0.2 * 44101), out.length, 1);
        assertEquals(0.5, TestAudio.toneAmplitude(out, 44101, 1000, 882, 7938), 0.005);
    }
}
