package io.cosyvoice.audio;

import java.util.concurrent.ConcurrentHashMap;

/**
 * torchaudio's default resampler ({@code transforms.Resample}: {@code sinc_interp_hann}, 6 zero
 * crossings, rolloff 0.99), the one the official frontend loads prompts with; the model-directory
 * contract names its formula ({@code models/reference/features.py}, {@code resample}).
 *
 * <p>With {@code a/b} the gcd-reduced rates {@code from/to}, {@code base = 0.99·min(a, b)} and
 * {@code W = ceil(6a / base)}, output phase {@code k} has taps {@code m = 0 … 2W + a − 1}:
 * <pre>
 *   t      = clamp(((m − W)/a − k/b)·base, −6, 6)
 *   h[k,m] = sinc(t)·cos(πt/12)²·base/a
 *   y[i·b + k] = Σ_m h[k,m]·x[i·a + m − W]      (x = 0 outside the input), ceil(n·b/a) samples
 * </pre>
 * Only taps with {@code |t| < 6} are kept: the clamped ones are {@code sinc(±6)·cos(π/2)² ≈ 1e-49},
 * and dropping them turns {@code 2W + a} taps per output into about {@code 12a/base} (34 instead of
 * 475 for 44.1 → 16 kHz). Kernel and sums in double, as the reference.
 *
 * <p>Immutable and thread-safe; instances for the usual rate pairs are shared ({@link #of}).
 */
final class SincResampler {

    static final int ZERO_CROSSINGS = 6;
    static final double ROLLOFF = 0.99;
    /** Kernels up to this many coefficients (2 MB; 44.1 → 16 kHz needs about 5 k) are kept for reuse, odd rate pairs' not. */
    private static final int MAX_CACHED_COEFFICIENTS = 1 << 18;
    private static final int MAX_CACHED = 16;
    private static final ConcurrentHashMap<Long, SincResampler> CACHE = new ConcurrentHashMap<>();

    private final int fromRate;
    private final int toRate;
    /** Reduced rates: {@code a} input samples give {@code b} output samples. */
    private final int a;
    private final int b;
    /** Phase {@code k}'s taps are {@code coef[offset[k] … offset[k + 1])}, the first weighting {@code x[i·a + first[k]]}. */
    private final int[] first;
    private final int[] offset;
    private final double[] coef;

    private SincResampler(int fromRate, int toRate) {
        if (fromRate <= 0 || toRate <= 0) {
            throw new IllegalArgumentException("sample rates must be positive: " + fromRate + " -> " + toRate);
        }
        this.fromRate = fromRate;
        this.toRate = toRate;
        int g = Resampler.gcd(fromRate, toRate);
        a = fromRate / g;
        b = toRate / g;
        double base = Math.min(a, b) * ROLLOFF;
        int width = (int) Math.ceil(ZERO_CROSSINGS * a / base);
        int taps = 2 * width + a;
        first = new int[b];
        offset = new int[b + 1];
        // |t| < 6  <=>  |m − W − a·k/b| < 6a/base: a window of about 12a/base taps per phase.
        double reach = ZERO_CROSSINGS * a / base;
        int[] last = new int[b];
        for (int k = 0; k < b; k++) {
            double centre = width + (double) a * k / b;
            int lo = Math.max(0, (int) Math.floor(centre - reach));
            int hi = Math.min(taps - 1, (int) Math.ceil(centre + reach));
            while (lo < hi && Math.abs(t(lo, k, width, base)) >= ZERO_CROSSINGS) {
                lo++;
            }
            while (hi > lo && Math.abs(t(hi, k, width, base)) >= ZERO_CROSSINGS) {
                hi--;
            }
            first[k] = lo - width;
            last[k] = hi;
            offset[k + 1] = offset[k] + hi - lo + 1;
        }
        coef = new double[offset[b]];
        for (int k = 0; k < b; k++) {
            int m0 = first[k] + width;
            for (int m = m0; m <= last[k]; m++) {
                coef[offset[k] + m - m0] = h(t(m, k, width, base), base);
            }
        }
    }

    /** The resampler from {@code fromRate} to {@code toRate} Hz, shared when its kernel is small. */
    static SincResampler of(int fromRate, int toRate) {
        long key = (long) fromRate << 32 | (toRate & 0xFFFFFFFFL);
        SincResampler cached = CACHE.get(key);
        if (cached != null) {
            return cached;
        }
        SincResampler r = new SincResampler(fromRate, toRate);
        if (r.coef.length <= MAX_CACHED_COEFFICIENTS && CACHE.size() < MAX_CACHED) {
            CACHE.putIfAbsent(key, r);
        }
        return r;
    }

    /** {@code ((m − W)/a − k/b)·base} clamped to ±6, evaluated as the reference does. */
    private double t(int m, int k, int width, double base) {
        double t = ((double) (m - width) / a - (double) k / b) * base;
        return Math.max(-ZERO_CROSSINGS, Math.min(ZERO_CROSSINGS, t));
    }

    private double h(double t, double base) {
        double cos = Math.cos(t * Math.PI / ZERO_CROSSINGS / 2.0);
        double window = cos * cos;
        double pt = t * Math.PI;
        double sinc = pt == 0.0 ? 1.0 : Math.sin(pt) / pt;
        return sinc * window * (base / a);
    }

    /** Output length for {@code n} input samples: {@code ceil(n·to/from)}, exactly. */
    static long outputLength(long n, int fromRate, int toRate) {
        return Math.ceilDiv(n * toRate, (long) fromRate);
    }

    /** Resamples the whole signal (a copy when the rates are equal). */
    float[] resample(float[] x) {
        if (fromRate == toRate) {
            return x.clone();
        }
        int n = x.length;
        float[] y = new float[Math.toIntExact(outputLength(n, fromRate, toRate))];
        int o = 0;
        for (int i = 0; o < y.length; i++) {
            int blockStart = i * a;
            for (int k = 0; k < b && o < y.length; k++, o++) {
                int start = blockStart + first[k];
                int from = offset[k];
                int count = offset[k + 1] - from;
                double acc = 0.0;
                if (start >= 0 && start + count <= n) {
                    for (int j = 0; j < count; j++) {
                        acc += coef[from + j] * x[start + j];
                    }
                } else { // near the ends: zeros outside the input
                    int j0 = Math.max(0, -start);
                    int j1 = Math.min(count, n - start);
                    for (int j = j0; j < j1; j++) {
                        acc += coef[from + j] * x[start + j];
                    }
                }
                y[o] = (float) acc;
            }
        }
        return y;
    }

    /** Taps per output sample, summed over the phases (for tests). */
    int coefficientCount() {
        return coef.length;
    }
}
