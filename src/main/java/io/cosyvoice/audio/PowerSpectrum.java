package io.cosyvoice.audio;

import java.util.Arrays;

import org.jtransforms.fft.DoubleFFT_1D;

/**
 * Windowed real FFT power spectrum of one frame, in double: {@code |X_k|²} for
 * {@code k = 0 … nFft / 2}. Immutable and thread-safe (JTransforms only reads its twiddle tables; our
 * sizes are far below its multithreading threshold), so one instance per feature is shared.
 */
final class PowerSpectrum {

    private final int nFft;
    private final double[] window;
    private final DoubleFFT_1D fft;

    /** @param window applied to the first {@code window.length <= nFft} samples; the rest is zero padding */
    PowerSpectrum(int nFft, double[] window) {
        if (nFft % 2 != 0 || window.length > nFft) {
            throw new IllegalArgumentException("nFft " + nFft + ", window " + window.length);
        }
        this.nFft = nFft;
        this.window = window.clone();
        this.fft = new DoubleFFT_1D(nFft);
    }

    int nFft() {
        return nFft;
    }

    int bins() {
        return nFft / 2 + 1;
    }

    /**
     * Windows {@code frame} (at least {@code nFft} long; its first {@code window.length} values are
     * the samples) and zero-pads it in place, then writes the power of bins {@code 0 … nFft / 2}
     * into {@code power}. {@code frame} is overwritten.
     */
    void compute(double[] frame, double[] power) {
        int w = window.length;
        for (int i = 0; i < w; i++) {
            frame[i] *= window[i];
        }
        Arrays.fill(frame, w, nFft, 0.0);
        fft.realForward(frame);
        // JTransforms' packing: [Re 0, Re n/2, Re 1, Im 1, Re 2, Im 2, …]
        int half = nFft / 2;
        power[0] = frame[0] * frame[0];
        power[half] = frame[1] * frame[1];
        for (int k = 1; k < half; k++) {
            double re = frame[2 * k];
            double im = frame[2 * k + 1];
            power[k] = re * re + im * im;
        }
    }

    /** The periodic Hann window ({@code torch.hann_window(n)}): {@code 0.5 − 0.5·cos(2πi / n)}. */
    static double[] hann(int n) {
        double[] w = new double[n];
        for (int i = 0; i < n; i++) {
            w[i] = 0.5 - 0.5 * Math.cos(2.0 * Math.PI * i / n);
        }
        return w;
    }

    /** Kaldi's Povey window: the symmetric Hann window to the power 0.85. */
    static double[] povey(int n) {
        double[] w = new double[n];
        for (int i = 0; i < n; i++) {
            w[i] = Math.pow(0.5 - 0.5 * Math.cos(2.0 * Math.PI * i / (n - 1)), 0.85);
        }
        return w;
    }
}
