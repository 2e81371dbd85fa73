package io.cosyvoice.audio;

import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A band-limited streaming sample-rate converter for mono float audio.
 *
 * <p>Output sample {@code k} is the input signal evaluated at input time {@code k * from / to}
 * (no delay), through a Kaiser-windowed sinc low-pass filter: the −6 dB cut-off is at 47.5 % of the
 * lower of the two sample rates, the stop band starts at the lower Nyquist frequency (50 %) and is
 * attenuated by about 80 dB, so nothing above the output's Nyquist frequency aliases back into the
 * audible band. The filter is evaluated polyphase: the ratio {@code to/from} is reduced by the gcd to
 * {@code L/M}, and the {@code L} phases of the filter are tabulated once (when the table stays
 * small, and shared by all instances for the same pair of rates; for unusual ratios with a huge
 * {@code L} the coefficients are computed per output sample). Each phase is normalised to unit DC
 * gain.
 *
 * <p>Streaming: {@link #process} may be called with chunks of any size and returns the output
 * samples that can already be computed (the filter looks {@link #lookahead()} input samples ahead);
 * {@link #flush()} treats the input as ended (silence after it) and returns the rest. The result is
 * identical, sample for sample, to {@link #resample} over the concatenated input, whatever the
 * chunking. After flush the total output length is {@code ceil(inputLength * to / from)}.
 *
 * <p>When the rates are equal, input chunks are returned as they are (the same array).
 *
 * <p>Not thread-safe: one instance per stream.
 */
public final class Resampler {

    /** Stop-band attenuation the Kaiser window is designed for, in dB. */
    static final double STOP_BAND_DB = 80.0;
    /** The −6 dB cut-off as a fraction of the lower sample rate (0.5 would be its Nyquist frequency). */
    static final double CUTOFF = 0.475;
    /**
     * Filter half-width in samples of the lower rate. With the transition band 0.45..0.5 of the
     * lower rate (width 0.05) and 80 dB, Kaiser's estimate is (80 − 7.95) / (2.285 · 2π · 0.05) ≈ 100
     * taps, i.e. 50 a side; we use a little more.
     */
    static final int HALF_WIDTH_LOW = 52;
    /** The largest tabulated filter, in coefficients. */
    private static final int MAX_TABLE = 1 << 21;
    /**
     * Filter tables by rate pair ({@code from << 32 | to}), shared by all instances: they are never
     * modified after construction. Bounded, for servers that see only a handful of rate pairs.
     */
    private static final ConcurrentHashMap<Long, float[]> TABLES = new ConcurrentHashMap<>();
    private static final int MAX_CACHED_TABLES = 32;

    private final int fromRate;
    private final int toRate;
    private final boolean identity;
    /** Reduced ratio: output rate / input rate = up / down. */
    private final int up;
    private final int down;
    /** Filter half-width in input samples; each output uses {@code 2 * halfWidth} inputs. */
    private final int halfWidth;
    private final int taps;
    /** Cut-off in cycles per input sample. */
    private final double cutoff;
    private final double beta;
    private final double i0Beta;
    /** {@code table[phase * taps + j]}, or null when computed on the fly. */
    private final float[] table;
    private final float[] scratch;

    /** Input samples {@code bufStart .. bufStart + bufLen - 1} (absolute input indices, may be negative: zeros). */
    private float[] buf;
    private long bufStart;
    private int bufLen;
    /** Real input samples received so far. */
    private long received;
    /** The next output sample's index. */
    private long nextOut;
    private boolean flushed;

    /**
     * @param fromRate the input sample rate in Hz (positive)
     * @param toRate   the output sample rate in Hz (positive)
     */
    public Resampler(int fromRate, int toRate) {
        if (fromRate <= 0 || toRate <= 0) {
            throw new IllegalArgumentException("sample rates must be positive: " + fromRate + " -> " + toRate);
        }
        this.fromRate = fromRate;
        this.toRate = toRate;
        this.identity = fromRate == toRate;
        int g = gcd(fromRate, toRate);
        this.up = toRate / g;
        this.down = fromRate / g;
        double ratio = (double) toRate / fromRate;
        if (identity) {
            halfWidth = 0;
            taps = 0;
            cutoff = 0.5;
            beta = 0;
            i0Beta = 1;
            table = null;
            scratch = null;
            buf = new float[0];
            return;
        }
        // Input samples per lower-rate sample: 1 when upsampling, from/to when downsampling.
        double scale = ratio < 1 ? 1 / ratio : 1;
        this.halfWidth = (int) Math.ceil(HALF_WIDTH_LOW * scale);
        this.taps = 2 * halfWidth;
        this.cutoff = CUTOFF / scale;
        this.beta = kaiserBeta(STOP_BAND_DB);
        this.i0Beta = besselI0(beta);
        this.scratch = new float[taps];
        if ((long) up * taps <= MAX_TABLE) {
            long key = (long) fromRate << 32 | toRate;
            float[] cached = TABLES.get(key);
            if (cached == null) {
                cached = buildTable();
                if (TABLES.size() < MAX_CACHED_TABLES) {
                    TABLES.putIfAbsent(key, cached);
                }
            }
            table = cached;
        } else {
            table = null;
        }
        // Start with halfWidth zeros before input sample 0, so that the first outputs see silence.
        buf = new float[Math.max(1024, taps * 2)];
        bufStart = -halfWidth;
        bufLen = halfWidth;
    }

    /** All phases' coefficients, phase after phase. */
    private float[] buildTable() {
        float[] t = new float[up * taps];
        float[] row = new float[taps];
        for (int p = 0; p < up; p++) {
            coefficients(p, row);
            System.arraycopy(row, 0, t, p * taps, taps);
        }
        return t;
    }

    /** Resamples a whole signal at once: the same as process + flush on a fresh instance. */
    public static float[] resample(float[] in, int from, int to) {
        Resampler r = new Resampler(from, to);
        if (r.identity) {
            return in.clone();
        }
        float[] a = r.process(in);
        float[] b = r.flush();
        if (b.length == 0) {
            return a;
        }
        float[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    public int fromRate() {
        return fromRate;
    }

    public int toRate() {
        return toRate;
    }

    /** How many input samples past an output instant the filter needs (0 for identity). */
    public int lookahead() {
        return halfWidth;
    }

    /**
     * Feeds the next input chunk.
     *
     * @return the output samples now computable (possibly empty; with equal rates, {@code chunk} itself)
     * @throws IllegalStateException after {@link #flush()}
     */
    public float[] process(float[] chunk) {
        if (flushed) {
            throw new IllegalStateException("resampler already flushed");
        }
        received += chunk.length;
        if (identity) {
            return chunk;
        }
        append(chunk, chunk.length);
        return produce(Long.MAX_VALUE);
    }

    /**
     * Ends the input: returns the remaining output samples (the input is taken to be silent after
     * its end). Later calls return an empty array.
     */
    public float[] flush() {
        if (flushed || identity) {
            flushed = true;
            return new float[0];
        }
        flushed = true;
        append(new float[halfWidth + 1], halfWidth + 1);
        // Outputs whose instant k * down / up lies inside the input: k < received * up / down.
        long total = ceilDiv(received * up, down);
        float[] out = produce(total);
        buf = new float[0];
        bufLen = 0;
        return out;
    }

    /** Computes outputs while their inputs are buffered (and the index stays below {@code limit}). */
    private float[] produce(long limit) {
        long available = bufStart + bufLen; // one past the last buffered input index
        // Output k needs inputs up to n + halfWidth, n = floor(k * down / up): n + halfWidth < available.
        long lastN = available - 1 - halfWidth;
        long count = lastN < 0 ? 0 : Math.min(limit, (lastN * up + up - 1) / down + 1) - nextOut;
        // (k * down / up <= lastN  <=>  k * down <= lastN * up + up - 1)
        if (count <= 0) {
            return new float[0];
        }
        float[] out = new float[(int) count];
        float[] b = buf;
        for (int o = 0; o < out.length; o++) {
            long k = nextOut + o;
            long pos = k * down;
            long n = pos / up;
            int phase = (int) (pos - n * up);
            int start = (int) (n - halfWidth + 1 - bufStart);
            float[] h;
            int hOff;
            if (table != null) {
                h = table;
                hOff = phase * taps;
            } else {
                coefficients(phase, scratch);
                h = scratch;
                hOff = 0;
            }
            float acc = 0f;
            for (int j = 0; j < taps; j++) {
                acc += h[hOff + j] * b[start + j];
            }
            out[o] = acc;
        }
        nextOut += count;
        discardConsumed();
        return out;
    }

    /** Drops buffered input no later output can need. */
    private void discardConsumed() {
        long firstNeeded = (nextOut * down) / up - halfWidth + 1;
        int drop = (int) Math.min(bufLen, Math.max(0, firstNeeded - bufStart));
        if (drop > 0) {
            System.arraycopy(buf, drop, buf, 0, bufLen - drop);
            bufLen -= drop;
            bufStart += drop;
        }
    }

    private void append(float[] chunk, int n) {
        if (bufLen + n > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, bufLen + n));
        }
        System.arraycopy(chunk, 0, buf, bufLen, n);
        bufLen += n;
    }

    /**
     * The {@code taps} coefficients for an output at fractional input position {@code phase / up}
     * past input sample n; coefficient j weights input {@code n - halfWidth + 1 + j}, which lies
     * {@code d = phase/up + halfWidth - 1 - j} input samples before the output instant.
     */
    private void coefficients(int phase, float[] out) {
        double frac = (double) phase / up;
        double sum = 0;
        double[] c = new double[taps];
        for (int j = 0; j < taps; j++) {
            double d = frac + halfWidth - 1 - j;
            double v = 2 * cutoff * sinc(2 * cutoff * d) * kaiser(d / halfWidth);
            c[j] = v;
            sum += v;
        }
        for (int j = 0; j < taps; j++) {
            out[j] = (float) (c[j] / sum);
        }
    }

    private double kaiser(double x) {
        double t = 1 - x * x;
        return t <= 0 ? 0 : besselI0(beta * Math.sqrt(t)) / i0Beta;
    }

    private static double sinc(double x) {
        if (Math.abs(x) < 1e-12) {
            return 1;
        }
        double px = Math.PI * x;
        return Math.sin(px) / px;
    }

    /** Kaiser's beta for a stop-band attenuation of {@code a} dB. */
    static double kaiserBeta(double a) {
        if (a > 50) {
            return 0.1102 * (a - 8.7);
        }
        if (a >= 21) {
            return 0.5842 * Math.pow(a - 21, 0.4) + 0.07886 * (a - 21);
        }
        return 0;
    }

    /** The zeroth-order modified Bessel function of the first kind (power series). */
    static double besselI0(double x) {
        double sum = 1;
        double term = 1;
        double q = x * x / 4;
        for (int k = 1; k < 200; k++) {
            term *= q / ((double) k * k);
            sum += term;
            if (term < sum * 1e-17) {
                break;
            }
        }
        return sum;
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    static int gcd(int a, int b) {
        while (b != 0) {
            int t = a % b;
            a = b;
            b = t;
        }
        return a;
    }
}
