package io.cosyvoice.audio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class GainTest {

    @Test
    void loudVolumeNeverClipsAndKeepsTheWaveformsOrder() {
        float[] in = TestAudio.tone(24000, 0.5, 440, 0.5);
        float[] out = in.clone();

        new Gain(3).apply(out);

        for (int i = 0; i < in.length; i++) {
            assertTrue(Math.abs(out[i]) <= 1.0f, "sample " + i + " = " + out[i]);
            assertEquals(Math.signum(in[i]), Math.signum(out[i]));
            if (Math.abs(in[i] * 3f) <= 0.9f) {
                assertEquals(in[i] * 3f, out[i], "quiet samples scale exactly linearly");
            }
        }
        // Monotonic: a rising input gives a non-falling output.
        for (int i = 1; i < in.length; i++) {
            if (in[i] > in[i - 1]) {
                assertTrue(out[i] >= out[i - 1], "at " + i);
            }
        }
        // The peaks are compressed into (0.9, 1.0], not flattened at 1.
        float max = 0;
        for (float v : out) {
            max = Math.max(max, v);
        }
        assertTrue(max > 0.9f && max <= 1.0f);
    }

    @ParameterizedTest(name = "volume {0}")
    @ValueSource(doubles = {1.5, 3, 10})
    void theLimiterIsSmoothAndMonotonicOverTheWholeRange(double volume) {
        float[] ramp = new float[20001];
        for (int i = 0; i < ramp.length; i++) {
            ramp[i] = -1f + i / 10000f;
        }
        float[] out = ramp.clone();
        new Gain(volume).apply(out);

        float step = (float) (volume / 10000) * 1.01f;
        for (int i = 1; i < out.length; i++) {
            assertTrue(out[i] >= out[i - 1], "monotonic at " + i);
            assertTrue(out[i] - out[i - 1] <= step, "no jump at " + i);
            assertTrue(Math.abs(out[i]) <= 1f);
        }
    }

    @Test
    void halfVolumeHalvesTheRmsExactly() {
        float[] in = TestAudio.tone(24000, 1.0, 440, 0.8);
        float[] out = in.clone();

        new Gain(0.5).apply(out);

        assertEquals(TestAudio.rms(in, 0, in.length) / 2, TestAudio.rms(out, 0, out.length), 1e-12);
        for (int i = 0; i < in.length; i++) {
            assertEquals(in[i] / 2, out[i]);
        }
    }

    @Test
    void unitVolumeLeavesInRangeAudioAloneAndClampsOutOfRange() {
        float[] in = {0f, 0.5f, -0.95f, 0.999f, 1f, -1f, 0.91f};
        float[] out = in.clone();
        new Gain(1.0).apply(out);
        assertArrayEquals(in, out);

        float[] wild = {1.5f, -7f, Float.NaN, Float.POSITIVE_INFINITY};
        new Gain(1.0).apply(wild);
        assertArrayEquals(new float[] {1f, -1f, 0f, 1f}, wild);
    }

    @Test
    void quietVolumeIsLinearEvenNearFullScale() {
        float[] out = {0.99f, -1f, 0.3f};
        new Gain(0.95).apply(out);
        assertArrayEquals(new float[] {0.99f * 0.95f, -0.95f, 0.3f * 0.95f}, out);
    }

    @Test
    void rejectsVolumesOutsideTheRange() {
        for (double v : new double[] {0, -1, 10.0001, Double.NaN, Double.POSITIVE_INFINITY}) {
            assertThrows(IllegalArgumentException.class, () -> new Gain(v), "volume " + v);
        }
        assertEquals(10.0, new Gain(10).volume());
    }
}
