package io.cosyvoice.audio;

/**
 * A triangular mel filter bank over the {@code nFft / 2 + 1} bins of a real FFT, stored sparse:
 * each filter keeps only its non-zero run of bins (a few to a few dozen of 201 … 961), which is what
 * makes applying it cheap. Weights are built in double exactly as {@code models/reference/features.py}
 * builds them. Immutable and thread-safe.
 */
final class MelFilterbank {

    private static final double SLANEY_HZ_PER_MEL = 200.0 / 3.0;
    private static final double SLANEY_LOG_STEP = Math.log(6.4) / 27.0;

    private final int bins;
    /** Filter {@code i} weighs bins {@code first[i] …} with {@code weights[offset[i] … offset[i + 1])}. */
    private final int[] first;
    private final int[] offset;
    private final double[] weights;

    private MelFilterbank(double[][] dense) {
        bins = dense[0].length;
        first = new int[dense.length];
        offset = new int[dense.length + 1];
        int total = 0;
        int[] last = new int[dense.length];
        for (int i = 0; i < dense.length; i++) {
            int lo = 0;
            int hi = bins - 1;
            while (lo <= hi && dense[i][lo] == 0.0) {
                lo++;
            }
            while (hi >= lo && dense[i][hi] == 0.0) {
                hi--;
            }
            first[i] = lo;
            last[i] = hi;
            total += Math.max(0, hi - lo + 1); // an empty filter (narrower than a bin) keeps nothing
            offset[i + 1] = total;
        }
        weights = new double[total];
        for (int i = 0; i < dense.length; i++) {
            System.arraycopy(dense[i], first[i], weights, offset[i], offset[i + 1] - offset[i]);
        }
    }

    /**
     * librosa's {@code filters.mel(sr, n_fft, n_mels, fmin, fmax)} ({@code htk=False},
     * {@code norm="slaney"}): triangles between {@code nMels + 2} edges equally spaced on the Slaney
     * mel scale, each scaled by {@code 2 / (right − left)} to unit area in Hz.
     */
    static MelFilterbank slaney(int sampleRate, int nFft, int nMels, double fmin, double fmax) {
        int nBins = nFft / 2 + 1;
        double binHz = (double) sampleRate / nFft;
        // numpy.linspace: start + j·step, the last one exactly stop
        double melLo = hzToMelSlaney(fmin);
        double melHi = hzToMelSlaney(fmax);
        double step = (melHi - melLo) / (nMels + 1);
        double[] edges = new double[nMels + 2];
        for (int j = 0; j < edges.length; j++) {
            edges[j] = melToHzSlaney(j == nMels + 1 ? melHi : j * step + melLo);
        }
        double[][] w = new double[nMels][nBins];
        for (int i = 0; i < nMels; i++) {
            double norm = 2.0 / (edges[i + 2] - edges[i]);
            for (int k = 0; k < nBins; k++) {
                double f = k * binHz;
                double lower = (f - edges[i]) / (edges[i + 1] - edges[i]);
                double upper = (edges[i + 2] - f) / (edges[i + 2] - edges[i + 1]);
                w[i][k] = Math.max(0.0, Math.min(lower, upper)) * norm;
            }
        }
        return new MelFilterbank(w);
    }

    /**
     * Kaldi's mel banks ({@code torchaudio.compliance.kaldi.get_mel_banks} without VTLN, plus the
     * zero Nyquist bin fbank appends): triangles on {@code 1127·ln(1 + f/700)} from {@code lowFreq}
     * to {@code highFreq} ({@code <= 0}: that far below Nyquist), peak 1, not normalised.
     */
    static MelFilterbank kaldi(int numBins, int nFft, double sampleRate, double lowFreq, double highFreq) {
        double nyquist = 0.5 * sampleRate;
        double high = highFreq <= 0.0 ? highFreq + nyquist : highFreq;
        int half = nFft / 2;
        double melLow = kaldiMel(lowFreq);
        double delta = (kaldiMel(high) - melLow) / (numBins + 1);
        double binHz = sampleRate / nFft;
        double[][] w = new double[numBins][half + 1];
        for (int b = 0; b < numBins; b++) {
            double left = melLow + b * delta;
            double center = melLow + (b + 1.0) * delta;
            double right = melLow + (b + 2.0) * delta;
            for (int k = 0; k < half; k++) { // the Nyquist bin stays 0
                double m = kaldiMel(binHz * k);
                double up = (m - left) / (center - left);
                double down = (right - m) / (right - center);
                w[b][k] = Math.max(0.0, Math.min(up, down));
            }
        }
        return new MelFilterbank(w);
    }

    /** {@code out[i] = Σ_k weight(i, k)·spectrum[k]} for every filter. */
    void apply(double[] spectrum, double[] out) {
        for (int i = 0; i < first.length; i++) {
            int k0 = first[i];
            double acc = 0.0;
            for (int j = offset[i], end = offset[i + 1]; j < end; j++) {
                acc += weights[j] * spectrum[k0 + j - offset[i]];
            }
            out[i] = acc;
        }
    }

    /** The number of filters. */
    int filters() {
        return first.length;
    }

    /** The number of FFT bins, {@code nFft / 2 + 1}. */
    int bins() {
        return bins;
    }

    /** Filter {@code i}'s weight of bin {@code k}. */
    double weight(int i, int k) {
        int j = k - first[i];
        return j >= 0 && j < offset[i + 1] - offset[i] ? weights[offset[i] + j] : 0.0;
    }

    /** Slaney's mel scale: linear below 1 kHz (mel 15), logarithmic above. */
    static double hzToMelSlaney(double f) {
        return f >= 1000.0 ? 15.0 + Math.log(f / 1000.0) / SLANEY_LOG_STEP : f / SLANEY_HZ_PER_MEL;
    }

    static double melToHzSlaney(double m) {
        return m >= 15.0 ? 1000.0 * Math.exp(SLANEY_LOG_STEP * (m - 15.0)) : SLANEY_HZ_PER_MEL * m;
    }

    private static double kaldiMel(double f) {
        return 1127.0 * Math.log(1.0 + f / 700.0);
    }
}
