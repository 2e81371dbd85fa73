package io.cosyvoice.audio;

import java.util.Arrays;

/**
 * Changes the speed of mono float audio without changing its pitch, by WSOLA (waveform-similarity
 * overlap-add), streaming.
 *
 * <p>Output is built from frames of {@code 30 ms} (rounded to an even sample count {@code N}) with a
 * Hann window, overlap-added at a fixed synthesis hop of {@code N/2}. Output frame {@code m} (at
 * output time {@code m·N/2}) ideally comes from input time {@code m·N/2·speed}; the actual input
 * position is chosen within ±{@code 10 ms} of that as the one whose waveform best matches (normalised
 * cross-correlation over a whole frame) the natural continuation of the previous frame — the input
 * that followed it — so that overlapping frames add in phase. The search is coarse (every second
 * offset, every second sample) and then refined around the best coarse offset at full resolution.
 * The first frame is taken from input position 0 with a flat (unwindowed) first half so the output
 * starts at full level; near the end, frame positions are kept inside the input (a frame never
 * reads past the last input sample) so the output does not fade out early.
 *
 * <p>After {@link #flush()} the total output is exactly {@code round(inputLength / speed)} samples.
 * Frame decisions depend only on the input signal, never on how it was split into chunks, so any
 * chunking gives the same output as one call. Speed 1.0 is an exact pass-through: {@link #process}
 * returns its argument.
 *
 * <p>Not thread-safe: one instance per stream.
 */
public final class TimeStretcher {

    /** Frame length in seconds. */
    static final double FRAME_SECONDS = 0.030;
    /** Largest shift of the analysis position, in seconds, each way (covers pitch down to 50 Hz). */
    static final double SEARCH_SECONDS = 0.010;

    public static final double MIN_SPEED = 0.5;
    public static final double MAX_SPEED = 2.0;

    private final int sampleRate;
    private final double speed;
    private final boolean passThrough;
    /** Frame length N (even) and synthesis hop N/2. */
    private final int frame;
    private final int hop;
    private final int search;
    private final float[] window;

    /** Input samples {@code inStart .. inStart + inLen - 1} (absolute indices). */
    private float[] in;
    private long inStart;
    private int inLen;
    private long received;

    /** Overlap-add accumulator for output samples {@code outStart .. outStart + frame - 1}. */
    private final float[] acc;
    private long outStart;
    /** The next frame's index, and the previous frame's chosen input position (-1: none yet). */
    private long nextFrame;
    private long prevPos = -1;
    private long emitted;
    private boolean flushed;

    /**
     * @param sampleRate the sample rate in Hz (positive)
     * @param speed      the speed factor, within [{@value #MIN_SPEED}, {@value #MAX_SPEED}]: 2.0 plays
     *                   twice as fast (half the duration)
     */
    public TimeStretcher(int sampleRate, double speed) {
        if (sampleRate <= 0) {
            throw new IllegalArgumentException("sample rate must be positive: " + sampleRate);
        }
        if (!(speed >= MIN_SPEED && speed <= MAX_SPEED)) {
            throw new IllegalArgumentException("speed must be within [0.5, 2.0]: " + speed);
        }
        this.sampleRate = sampleRate;
        this.speed = speed;
        this.passThrough = speed == 1.0;
        int n = Math.max(8, (int) Math.round(sampleRate * FRAME_SECONDS));
        this.frame = n + (n & 1);
        this.hop = frame / 2;
        this.search = Math.max(2, (int) Math.round(sampleRate * SEARCH_SECONDS));
        this.window = new float[frame];
        for (int i = 0; i < frame; i++) {
            // Periodic Hann: windows shifted by N/2 sum to exactly 1.
            window[i] = (float) (0.5 - 0.5 * Math.cos(2 * Math.PI * i / frame));
        }
        this.acc = new float[frame];
        this.in = new float[passThrough ? 0 : 4 * frame + 2 * search];
    }

    public int sampleRate() {
        return sampleRate;
    }

    public double speed() {
        return speed;
    }

    /** The frame length in samples. */
    public int frameLength() {
        return frame;
    }

    /**
     * Feeds the next input chunk.
     *
     * @return the output samples now final (possibly empty; at speed 1.0, {@code chunk} itself)
     * @throws IllegalStateException after {@link #flush()}
     */
    public float[] process(float[] chunk) {
        if (flushed) {
            throw new IllegalStateException("time stretcher already flushed");
        }
        received += chunk.length;
        if (passThrough) {
            emitted += chunk.length;
            return chunk;
        }
        append(chunk, chunk.length);
        return run(inStart + inLen, Long.MAX_VALUE);
    }

    /** Ends the input and returns the rest of the output; later calls return an empty array. */
    public float[] flush() {
        if (flushed || passThrough) {
            flushed = true;
            return new float[0];
        }
        flushed = true;
        long total = Math.round(received / speed);
        float[] out = run(Long.MAX_VALUE, total);
        in = new float[0];
        inLen = 0;
        return out;
    }

    /**
     * Synthesises frames while their input is available below {@code available} (input past the
     * buffered end reads as silence when {@code available} is unbounded), emitting final output up
     * to {@code total} samples.
     */
    private float[] run(long available, long total) {
        FloatList out = new FloatList();
        while (true) {
            long outPos = nextFrame * hop;
            if (outPos >= total) {
                break;
            }
            long ideal = Math.round(nextFrame * hop * speed);
            long need = Math.max(ideal + search + 1, prevPos < 0 ? 0 : prevPos + hop) + frame;
            if (need > available) {
                break;
            }
            // At the end, frames are kept inside the input rather than run into the silence after it.
            long maxPos = total == Long.MAX_VALUE ? Long.MAX_VALUE : Math.max(0, received - frame);
            long pos = nextFrame == 0 ? 0 : bestPosition(ideal, maxPos);
            addFrame(pos, nextFrame == 0);
            prevPos = pos;
            nextFrame++;
            // Output before the next frame's start is final.
            emit(out, hop, total);
            discardConsumed(false);
        }
        // At the end every frame starting before total has been added and emitted hop samples, so
        // exactly total samples have been emitted.
        return out.toArray();
    }

    /**
     * The input position within ±search of {@code ideal} (and at most {@code maxPos}) best continuing
     * the previous frame.
     */
    private long bestPosition(long ideal, long maxPos) {
        long natural = prevPos + hop;
        long hi = Math.min(ideal + search, maxPos);
        long lo = Math.min(Math.max(0, ideal - search), hi);
        // Coarse: every second offset, every second sample.
        long best = Math.max(lo, Math.min(hi, natural));
        double bestScore = Double.NEGATIVE_INFINITY;
        for (long p = lo; p <= hi; p += 2) {
            double s = similarity(natural, p, 2);
            if (s > bestScore) {
                bestScore = s;
                best = p;
            }
        }
        // Fine: full resolution around the coarse winner.
        long center = best;
        bestScore = Double.NEGATIVE_INFINITY;
        for (long p = Math.max(lo, center - 2); p <= Math.min(hi, center + 2); p++) {
            double s = similarity(natural, p, 1);
            if (s > bestScore) {
                bestScore = s;
                best = p;
            }
        }
        return best;
    }

    /** Normalised cross-correlation of the frames at input positions {@code a} (template) and {@code b}. */
    private double similarity(long a, long b, int step) {
        double xy = 0;
        double yy = 0;
        long ia = a - inStart;
        long ib = b - inStart;
        if (ia >= 0 && ib >= 0 && ia + frame <= inLen && ib + frame <= inLen) {
            float[] x = in;
            int oa = (int) ia;
            int ob = (int) ib;
            // Four independent accumulators (the frame length is even, so step 1 or 2 divides it).
            float xy0 = 0f;
            float xy1 = 0f;
            float yy0 = 0f;
            float yy1 = 0f;
            int i = 0;
            for (int twice = 2 * step; i + twice <= frame; i += twice) {
                float y0 = x[ob + i];
                float y1 = x[ob + i + step];
                xy0 += x[oa + i] * y0;
                xy1 += x[oa + i + step] * y1;
                yy0 += y0 * y0;
                yy1 += y1 * y1;
            }
            for (; i < frame; i += step) {
                float y = x[ob + i];
                xy0 += x[oa + i] * y;
                yy0 += y * y;
            }
            xy = (double) xy0 + xy1;
            yy = (double) yy0 + yy1;
            return xy / Math.sqrt(yy + 1e-9);
        }
        for (int i = 0; i < frame; i += step) {
            double x = sample(a + i);
            double y = sample(b + i);
            xy += x * y;
            yy += y * y;
        }
        return xy / Math.sqrt(yy + 1e-9);
    }

    private float sample(long index) {
        long i = index - inStart;
        return i >= 0 && i < inLen ? in[(int) i] : 0f;
    }

    /**
     * Overlap-adds the frame read from input position {@code pos}. The first frame has a flat first
     * half, since nothing overlaps it. (The last frame needs no such care: only its first half, which
     * the previous frame's second half overlaps, is ever emitted.)
     */
    private void addFrame(long pos, boolean first) {
        int base = (int) (nextFrame * hop - outStart);
        for (int i = 0; i < frame; i++) {
            float w = first && i < hop ? 1f : window[i];
            acc[base + i] += w * sample(pos + i);
        }
    }

    /** Emits the first {@code n} accumulator samples (capped at {@code total}) and shifts the rest down. */
    private void emit(FloatList out, int n, long total) {
        int count = (int) Math.min(n, total - emitted);
        if (count > 0) {
            out.add(acc, count);
            emitted += count;
        }
        System.arraycopy(acc, n, acc, 0, frame - n);
        Arrays.fill(acc, frame - n, frame, 0f);
        outStart += n;
    }

    /**
     * Drops buffered input no later frame can need; unless {@code always}, only when that is at
     * least half the buffer (so a huge chunk is not shifted once per frame).
     */
    private void discardConsumed(boolean always) {
        long ideal = Math.round(nextFrame * hop * speed);
        // The next search range, the previous frame's continuation, and the input's last frame
        // (where searches are clamped at the end).
        long firstNeeded = Math.min(Math.min(ideal - search, prevPos + hop), received - frame);
        int drop = (int) Math.min(inLen, Math.max(0, firstNeeded - inStart));
        if (drop > 0 && (always || 2 * drop >= inLen)) {
            System.arraycopy(in, drop, in, 0, inLen - drop);
            inLen -= drop;
            inStart += drop;
        }
    }

    private void append(float[] chunk, int n) {
        discardConsumed(true);
        if (inLen + n > in.length) {
            in = Arrays.copyOf(in, Math.max(in.length * 2, inLen + n));
        }
        System.arraycopy(chunk, 0, in, inLen, n);
        inLen += n;
    }

    /** A growable float array. */
    static final class FloatList {
        private float[] a = new float[0];
        private int n;

        void add(float[] src, int count) {
            if (n + count > a.length) {
                a = Arrays.copyOf(a, Math.max(a.length * 2, n + count));
            }
            System.arraycopy(src, 0, a, n, count);
            n += count;
        }

        float[] toArray() {
            return n == a.length ? a : Arrays.copyOf(a, n);
        }
    }
}
