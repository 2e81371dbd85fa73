package io.cosyvoice.audio;

/**
 * Volume with clipping protection, applied in place to mono float samples.
 *
 * <p>Each sample is multiplied by the volume. When the volume is above 1, a soft-knee limiter then
 * keeps every sample within [−1, 1]: magnitudes up to the knee ({@value #KNEE}) pass unchanged (so
 * quiet samples scale exactly linearly), larger ones are mapped smoothly and monotonically into
 * (0.9, 1.0) by {@code 0.9 + 0.1·tanh((|y| − 0.9) / 0.1)}, which meets the linear part with the same
 * slope. At a volume of 1 or less, in-range audio can only get quieter, so samples are scaled
 * exactly linearly and the limiter stays out of the way; samples that were already out of range
 * (above 1 in magnitude) are clamped to ±1. NaN samples become 0.
 *
 * <p>Immutable and thread-safe.
 */
public final class Gain {

    /** The largest volume accepted. */
    public static final double MAX_VOLUME = 10.0;
    /** Where the soft knee starts, in absolute sample value. */
    static final float KNEE = 0.9f;
    private static final float HEADROOM = 1f - KNEE;

    private final double volume;
    private final float factor;

    /** @param volume the gain factor, within (0, {@value #MAX_VOLUME}] */
    public Gain(double volume) {
        if (!(volume > 0 && volume <= MAX_VOLUME)) {
            throw new IllegalArgumentException("volume must be within (0, 10]: " + volume);
        }
        this.volume = volume;
        this.factor = (float) volume;
    }

    public double volume() {
        return volume;
    }

    /** Whether {@link #apply} can change in-range samples (false for a volume of exactly 1). */
    public boolean isIdentity() {
        return volume == 1.0;
    }

    /** Applies the gain (and limiter) to {@code samples} in place. */
    public void apply(float[] samples) {
        apply(samples, 0, samples.length);
    }

    /** Applies the gain (and limiter) to {@code samples[from, to)} in place. */
    public void apply(float[] samples, int from, int to) {
        if (factor > 1f) {
            for (int i = from; i < to; i++) {
                samples[i] = limit(samples[i] * factor);
            }
        } else if (factor == 1f) {
            for (int i = from; i < to; i++) {
                float y = samples[i];
                if (!(y >= -1f && y <= 1f)) {
                    samples[i] = clamp(y);
                }
            }
        } else {
            for (int i = from; i < to; i++) {
                samples[i] = clamp(samples[i] * factor);
            }
        }
    }

    /** The soft-knee limiter: identity up to the knee, then tanh into (knee, 1). */
    static float limit(float y) {
        if (y >= -KNEE && y <= KNEE) {
            return y;
        }
        if (y != y) {
            return 0f;
        }
        float a = Math.abs(y);
        float m = (float) (KNEE + HEADROOM * Math.tanh((a - KNEE) / HEADROOM));
        m = Math.min(m, 1f);
        return y < 0 ? -m : m;
    }

    private static float clamp(float y) {
        if (y >= -1f && y <= 1f) {
            return y;
        }
        if (y != y) {
            return 0f;
        }
        return y > 0 ? 1f : -1f;
    }
}
