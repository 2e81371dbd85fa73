package io.cosyvoice.audio;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class MelFilterbankTest {

    /** Sum of all weights of each bank, from models/reference/features.py (numpy, float64). */
    private static final double WHISPER_SUM = 3.1909855285406996;
    private static final double PROMPT_SUM = 6.3998915406538694;
    private static final double KALDI_SUM = 250.7508217364622;

    @Test
    void slaneyFiltersHaveUnitAreaInHertz() {
        MelFilterbank prompt = MelFilterbank.slaney(24000, 1920, 80, 0, 8000);
        MelFilterbank whisper = MelFilterbank.slaney(16000, 400, 128, 0, 8000);

        // every prompt filter spans 5+ bins of 12.5 Hz: the sampled area is close to the triangle's
        for (int i = 0; i < prompt.filters(); i++) {
            assertEquals(1.0, area(prompt, i, 12.5), 0.01, "prompt filter " + i);
        }
        // Whisper's bins are 40 Hz: only its wide (high) filters sample their triangle well
        for (int i = 100; i < whisper.filters(); i++) {
            assertEquals(1.0, area(whisper, i, 40.0), 0.02, "whisper filter " + i);
        }
    }

    @Test
    void slaneyEdgesFollowTheSlaneyMelScale() {
        assertAll(
                () -> assertEquals(15.0, MelFilterbank.hzToMelSlaney(1000), 1e-12),
                () -> assertEquals(3.0, MelFilterbank.hzToMelSlaney(200), 1e-12),
                () -> assertEquals(15.0 + 27.0, MelFilterbank.hzToMelSlaney(6400), 1e-12),
                () -> assertEquals(6400.0, MelFilterbank.melToHzSlaney(42), 1e-9),
                () -> assertEquals(8000.0, MelFilterbank.melToHzSlaney(MelFilterbank.hzToMelSlaney(8000)), 1e-9));
    }

    @Test
    void banksEqualTheReference() {
        MelFilterbank whisper = MelFilterbank.slaney(16000, 400, 128, 0, 8000);
        MelFilterbank prompt = MelFilterbank.slaney(24000, 1920, 80, 0, 8000);
        MelFilterbank kaldi = MelFilterbank.kaldi(80, 512, 16000, 20, 0);

        assertAll(
                () -> assertEquals(201, whisper.bins()),
                () -> assertEquals(961, prompt.bins()),
                () -> assertEquals(257, kaldi.bins()),
                () -> assertEquals(WHISPER_SUM, sum(whisper), 1e-13 * WHISPER_SUM),
                () -> assertEquals(PROMPT_SUM, sum(prompt), 1e-13 * PROMPT_SUM),
                () -> assertEquals(KALDI_SUM, sum(kaldi), 1e-13 * KALDI_SUM),
                () -> assertEquals(0.021224553254136698, whisper.weight(60, 39), 1e-16),
                () -> assertEquals(0.0069531705015435886, prompt.weight(60, 297), 1e-17),
                () -> assertEquals(0.5039832471226665, kaldi.weight(0, 1), 1e-15),
                () -> assertEquals(0.13572337024360873, kaldi.weight(0, 2), 1e-15),
                () -> assertEquals(0.9477717513348195, kaldi.weight(79, 248), 1e-15));
    }

    @Test
    void kaldiBanksAreUnnormalisedTrianglesWithoutDcOrNyquist() {
        MelFilterbank kaldi = MelFilterbank.kaldi(80, 512, 16000, 20, 0);

        for (int i = 0; i < kaldi.filters(); i++) {
            double peak = 0;
            for (int k = 0; k < kaldi.bins(); k++) {
                peak = Math.max(peak, kaldi.weight(i, k));
            }
            // peak 1 at the centre, lower where the bins miss it (the low filters are narrower than a bin)
            assertTrue(peak > 0.4 && peak <= 1.0, "filter " + i + " peak " + peak);
            assertEquals(0.0, kaldi.weight(i, 0), "DC, filter " + i);
            assertEquals(0.0, kaldi.weight(i, 256), "Nyquist, filter " + i);
        }
    }

    @Test
    void applyIsTheMatrixProduct() {
        MelFilterbank bank = MelFilterbank.slaney(16000, 400, 128, 0, 8000);
        double[] spectrum = new double[bank.bins()];
        for (int k = 0; k < spectrum.length; k++) {
            spectrum[k] = Math.sin(k * 0.37) + 1.5;
        }
        double[] out = new double[bank.filters()];

        bank.apply(spectrum, out);

        for (int i = 0; i < out.length; i++) {
            double expected = 0;
            for (int k = 0; k < spectrum.length; k++) {
                expected += bank.weight(i, k) * spectrum[k];
            }
            assertEquals(expected, out[i], 1e-15, "filter " + i);
        }
    }

    private static double area(MelFilterbank bank, int i, double binHz) {
        double s = 0;
        for (int k = 0; k < bank.bins(); k++) {
            s += bank.weight(i, k);
        }
        return s * binHz;
    }

    private static double sum(MelFilterbank bank) {
        double s = 0;
        for (int i = 0; i < bank.filters(); i++) {
            s += area(bank, i, 1.0);
        }
        return s;
    }
}
