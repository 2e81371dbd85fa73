package io.cosyvoice.audio;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TimeStretcherTest {

    private static float[] stretch(float[] in, int rate, double speed) {
        TimeStretcher t = new TimeStretcher(rate, speed);
        return OutputAudio.concat(t.process(in), t.flush());
    }

    @ParameterizedTest(name = "speed {0} at {1} Hz, {2} Hz tone")
    @CsvSource({"0.5, 24000, 200", "2.0, 24000, 200", "0.75, 24000, 200", "1.5, 24000, 200", "1.25, 24000, 1000",
        "0.5, 16000, 150", "2.0, 44100, 440", "0.8, 8000, 300"})
    void changesTheDurationButNotThePitch(double speed, int rate, double hz) {
        float[] in = TestAudio.tone(rate, 2.0, hz, 0.5);

        float[] out = stretch(in, rate, speed);

        int from = out.length / 10;
        int to = out.length * 9 / 10;
        assertAll(
                () -> assertEquals(Math.round(in.length / speed), out.length),
                () -> assertEquals(hz, TestAudio.zeroCrossingHz(out, rate, from, to), hz * 0.02),
                () -> assertEquals(0.5, TestAudio.toneAmplitude(out, rate, hz, from, to), 0.05));
    }

    @ParameterizedTest(name = "speed {0}")
    @CsvSource({"0.5", "0.7", "1.3", "2.0"})
    void aSteadyToneStaysSteadyWithoutClicksOrDips(double speed) {
        float[] out = stretch(TestAudio.tone(24000, 2.0, 200, 0.5), 24000, speed);

        // Frames are spliced in phase: no jumps beyond the tone's own slope, no level dips.
        double maxStep = 0;
        for (int i = 1; i < out.length; i++) {
            maxStep = Math.max(maxStep, Math.abs(out[i] - out[i - 1]));
        }
        double slope = 0.5 * 2 * Math.PI * 200 / 24000;
        assertTrue(maxStep < 1.5 * slope, "max step " + maxStep + " vs slope " + slope);
        int window = 480;
        for (int p = 0; p + window <= out.length; p += window) {
            double rms = TestAudio.rms(out, p, p + window);
            assertEquals(0.5 / Math.sqrt(2), rms, 0.05, "RMS of the 20 ms at " + p);
        }
    }

    @Test
    void aHarmonicVoiceLikeSignalKeepsItsFundamental() {
        // 140 Hz fundamental with decaying harmonics, like a voiced vowel.
        int rate = 24000;
        float[] in = new float[rate * 2];
        for (int i = 0; i < in.length; i++) {
            double t = (double) i / rate;
            double v = 0;
            for (int h = 1; h <= 8; h++) {
                v += 0.3 / h * Math.sin(2 * Math.PI * 140 * h * t + h);
            }
            in[i] = (float) v;
        }
        for (double speed : new double[] {0.5, 2.0}) {
            float[] out = stretch(in, rate, speed);
            int from = out.length / 10;
            int to = out.length * 9 / 10;
            double fundamental = TestAudio.toneAmplitude(out, rate, 140, from, to);
            double off = TestAudio.toneAmplitude(out, rate, 140 * 0.9, from, to);
            assertTrue(fundamental > 0.25, "fundamental " + fundamental + " at speed " + speed);
            assertTrue(off < 0.05, "energy beside the fundamental " + off + " at speed " + speed);
        }
    }

    @ParameterizedTest(name = "speed {0}")
    @CsvSource({"0.5", "0.9", "1.7", "2.0"})
    void chunkedCallsGiveTheSameOutputAsOneCall(double speed) {
        Random random = new Random(7);
        float[] in = new float[24000 * 3 / 2 + 11];
        for (int i = 0; i < in.length; i++) {
            in[i] = (float) (0.4 * Math.sin(i * 2 * Math.PI * 180 / 24000) + 0.05 * random.nextGaussian());
        }
        float[] whole = stretch(in, 24000, speed);

        for (int[] sizes : new int[][] {{1, 1000, 0}, {888}, {17, 4321}, {24000 * 37 / 1000, 24000 / 2, 24000 * 120 / 1000}}) {
            TimeStretcher t = new TimeStretcher(24000, speed);
            float[] chunked = OutputAudio.stream(OutputAudio.chunks(in, sizes), t::process, t::flush);
            assertEquals(whole.length, chunked.length);
            assertTrue(TestAudio.maxAbsDiff(whole, chunked) <= 1e-6);
        }
    }

    @Test
    void speedOneIsAnExactPassThrough() {
        TimeStretcher t = new TimeStretcher(24000, 1.0);
        float[] a = TestAudio.tone(24000, 0.3, 200);
        float[] b = TestAudio.tone(24000, 0.1, 300);

        assertSame(a, t.process(a));
        float[] outB = t.process(b);
        assertArrayEquals(b, outB);
        assertEquals(0, t.flush().length);
    }

    @Test
    void shortAndEmptyInputs() {
        for (double speed : new double[] {0.5, 2.0}) {
            for (int n : new int[] {0, 1, 100, 719, 721, 1500}) {
                float[] out = stretch(TestAudio.tone(24000, n / 24000.0, 200), 24000, speed);
                assertEquals(Math.round(n / speed), out.length, "n=" + n + " speed " + speed);
            }
        }
    }

    @Test
    void emitsOutputWhileStreamingNotOnlyAtTheEnd() {
        TimeStretcher t = new TimeStretcher(24000, 1.5);
        int before = 0;
        for (float[] c : OutputAudio.chunks(TestAudio.tone(24000, 1.0, 200), 24000)) {
            before += t.process(c).length;
        }
        int total = before + t.flush().length;
        assertEquals(16000, total);
        assertTrue(before > total * 0.9, before + " of " + total + " before the flush");
    }

    @Test
    void rejectsBadArguments() {
        assertThrows(IllegalArgumentException.class, () -> new TimeStretcher(24000, 0.49));
        assertThrows(IllegalArgumentException.class, () -> new TimeStretcher(24000, 2.01));
        assertThrows(IllegalArgumentException.class, () -> new TimeStretcher(24000, Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> new TimeStretcher(0, 1.0));
        TimeStretcher t = new TimeStretcher(24000, 2.0);
        t.flush();
        assertThrows(IllegalStateException.class, () -> t.process(new float[1]));
    }
}
