package io.cosyvoice.audio;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import io.cosyvoice.engine.NpyFile;
import io.vertx.core.json.JsonObject;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SincResamplerTest {

    static final Path GOLDEN = Path.of("models/reference/golden/prompt");

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({"resample_in_24k, 24000, resample_24k_to_16k, 16000",
        "resample_in_44k1, 44100, resample_44k1_to_16k, 16000",
        "resample_in_44k1, 44100, resample_44k1_to_24k, 24000"})
    void matchesTheGoldenFiles(String in, int from, String out, int to) throws IOException {
        float[] x = NpyFile.map(GOLDEN.resolve(in + ".npy")).toArray();
        float[] expected = NpyFile.map(GOLDEN.resolve(out + ".npy")).toArray();
        double tolerance = new JsonObject(Files.readString(GOLDEN.resolveSibling("tolerances.json")))
                .getDouble("resample_max_abs");

        float[] y = SincResampler.of(from, to).resample(x);

        double error = maxAbs(y, expected);
        System.out.printf("resampler %d -> %d Hz vs golden, max abs %.2e%n", from, to, error);
        assertTrue(error <= tolerance, "max abs " + error);
    }

    /** Rate pairs up and down, against the reference formula with every tap (no trimming). */
    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({"24000, 16000", "44100, 16000", "44100, 24000", "48000, 16000", "22050, 16000", "16000, 24000",
        "22050, 24000", "32000, 24000", "192000, 16000"})
    void equalsTheFullFormula(int from, int to) {
        Random random = new Random(from + to);
        float[] x = new float[from / 50 + 7];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (random.nextGaussian() * 0.3);
        }

        float[] y = SincResampler.of(from, to).resample(x);
        float[] expected = fullFormula(x, from, to);

        double error = maxAbs(y, expected);
        assertTrue(error < 1e-6, "max abs " + error);
    }

    @Test
    void outputLengthIsTheExactCeiling() {
        assertAll(
                () -> assertEquals(0, SincResampler.outputLength(0, 44100, 16000)),
                () -> assertEquals(1, SincResampler.outputLength(1, 44100, 16000)),
                () -> assertEquals(160, SincResampler.outputLength(441, 44100, 16000)),
                () -> assertEquals(161, SincResampler.outputLength(442, 44100, 16000)),
                () -> assertEquals(480_000, SincResampler.outputLength(1_323_000, 44100, 16000)),
                () -> assertEquals(480_001, SincResampler.outputLength(1_323_001, 44100, 16000)),
                () -> assertEquals(5_760_000, SincResampler.outputLength(5_760_000, 192000, 192000)),
                () -> assertEquals(2, SincResampler.of(24000, 16000).resample(new float[3]).length),
                () -> assertEquals(3, SincResampler.of(16000, 24000).resample(new float[2]).length));
    }

    @Test
    void equalRatesCopy() {
        float[] x = {0.1f, -0.2f, 0.3f};
        float[] y = SincResampler.of(24000, 24000).resample(x);

        assertArrayEquals(x, y);
        assertNotSame(x, y);
    }

    @Test
    void kernelsAreSharedAndTrimmed() {
        assertSame(SincResampler.of(44100, 16000), SincResampler.of(44100, 16000));
        // 160 phases of about 12·441/158.4 = 33.4 taps, instead of 2·17 + 441 = 475
        int taps = SincResampler.of(44100, 16000).coefficientCount();
        assertTrue(taps >= 160 * 33 && taps <= 160 * 35, "taps " + taps);
        assertThrows(IllegalArgumentException.class, () -> SincResampler.of(0, 16000));
    }

    /** features.py's resample, literally: every tap of the {@code [b, 2W + a]} kernel, in double. */
    private static float[] fullFormula(float[] x, int from, int to) {
        int g = Resampler.gcd(from, to);
        int a = from / g;
        int b = to / g;
        double base = Math.min(a, b) * 0.99;
        int width = (int) Math.ceil(6.0 * a / base);
        int taps = 2 * width + a;
        double[][] h = new double[b][taps];
        for (int k = 0; k < b; k++) {
            for (int m = 0; m < taps; m++) {
                double t = ((double) (m - width) / a - (double) k / b) * base;
                t = Math.max(-6, Math.min(6, t));
                double w = Math.cos(t * Math.PI / 12);
                double sinc = t == 0 ? 1 : Math.sin(Math.PI * t) / (Math.PI * t);
                h[k][m] = sinc * w * w * base / a;
            }
        }
        int length = (int) Math.ceilDiv((long) x.length * b, a);
        float[] y = new float[length];
        for (int o = 0; o < length; o++) {
            int i = o / b;
            int k = o % b;
            double acc = 0;
            for (int m = 0; m < taps; m++) {
                int p = i * a + m - width;
                if (p >= 0 && p < x.length) {
                    acc += h[k][m] * x[p];
                }
            }
            y[o] = (float) acc;
        }
        return y;
    }

    /** The largest absolute difference of two arrays of equal length. */
    static double maxAbs(float[] a, float[] b) {
        assertEquals(b.length, a.length, "length");
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs((double) a[i] - b[i]));
        }
        return max;
    }
}
