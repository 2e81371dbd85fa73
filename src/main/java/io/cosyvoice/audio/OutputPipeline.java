package io.cosyvoice.audio;

import java.io.ByteArrayOutputStream;
import java.util.Objects;

/**
 * Turns the model's audio stream into the bytes the client asked for, chunk by chunk: speed change
 * (at the model rate, pitch unchanged; beyond {@link TimeStretcher}'s 0.5 to 2.0 by two stretchers
 * in a row) → sample-rate conversion → volume with clipping protection →
 * encoding. The concatenation of everything {@link #process} and {@link #finish} return is one valid
 * file in the encoder's format.
 *
 * <p>Not thread-safe: one instance per stream. Single-use: nothing may be processed after
 * {@link #finish}.
 */
public final class OutputPipeline {

    private final int modelRate;
    private final int outRate;
    /** Slowest and fastest speed: two stretchers at their limits. */
    public static final double MIN_SPEED = TimeStretcher.MIN_SPEED * TimeStretcher.MIN_SPEED;
    public static final double MAX_SPEED = TimeStretcher.MAX_SPEED * TimeStretcher.MAX_SPEED;

    private final TimeStretcher stretcher;
    /** The second stage when the speed is beyond one stretcher's range, else null. */
    private final TimeStretcher stretcher2;
    private final Resampler resampler;
    private final Gain gain;
    private final AudioEncoder encoder;
    private long samplesOut;
    private boolean finished;

    /**
     * @param modelRate the model's sample rate in Hz (24000 for CosyVoice2)
     * @param outRate   the requested sample rate in Hz; must equal {@code encoder.sampleRate()}
     * @param speed     within [{@value #MIN_SPEED}, {@value #MAX_SPEED}]; 1.0 leaves the audio untouched
     * @param volume    within (0, 10]; 1.0 leaves in-range audio untouched
     * @param encoder   a fresh encoder at {@code outRate}
     * @throws IllegalArgumentException for a bad rate, speed or volume, or an encoder at another rate
     */
    public OutputPipeline(int modelRate, int outRate, double speed, double volume, AudioEncoder encoder) {
        Objects.requireNonNull(encoder, "encoder");
        if (encoder.sampleRate() != outRate) {
            throw new IllegalArgumentException("the encoder writes " + encoder.sampleRate() + " Hz, not " + outRate
                    + " Hz");
        }
        if (!(speed >= MIN_SPEED && speed <= MAX_SPEED)) {
            throw new IllegalArgumentException("speed must be within [" + MIN_SPEED + ", " + MAX_SPEED + "]: " + speed);
        }
        this.modelRate = modelRate;
        this.outRate = outRate;
        double first = Math.clamp(speed, TimeStretcher.MIN_SPEED, TimeStretcher.MAX_SPEED);
        this.stretcher = speed == 1.0 ? null : new TimeStretcher(modelRate, first);
        this.stretcher2 = first == speed ? null : new TimeStretcher(modelRate, speed / first);
        this.resampler = new Resampler(modelRate, outRate);
        this.gain = new Gain(volume);
        this.encoder = encoder;
    }

    public int modelRate() {
        return modelRate;
    }

    public int outRate() {
        return outRate;
    }

    public AudioEncoder encoder() {
        return encoder;
    }

    /**
     * Feeds the next chunk of model audio (mono floats at the model rate). The array is not modified.
     *
     * @return the encoded bytes ready to send now (possibly empty)
     * @throws IllegalStateException after {@link #finish}
     */
    public byte[] process(float[] modelChunk) {
        Objects.requireNonNull(modelChunk, "modelChunk");
        if (finished) {
            throw new IllegalStateException("output pipeline already finished");
        }
        float[] s = stretcher == null ? modelChunk : stretcher.process(modelChunk);
        if (stretcher2 != null) {
            s = stretcher2.process(s);
        }
        s = resampler.process(s);
        return gainAndEncode(s, modelChunk);
    }

    /**
     * Ends the stream: flushes every stage in order and the encoder.
     *
     * @return the remaining bytes (for a non-streaming WAV, the whole file)
     * @throws IllegalStateException when called twice
     */
    public byte[] finish() {
        if (finished) {
            throw new IllegalStateException("output pipeline already finished");
        }
        finished = true;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (stretcher != null) {
            float[] rest = stretcher.flush();
            if (stretcher2 != null) {
                rest = concat(stretcher2.process(rest), stretcher2.flush());
            }
            out.writeBytes(gainAndEncode(resampler.process(rest), null));
        }
        out.writeBytes(gainAndEncode(resampler.flush(), null));
        out.writeBytes(encoder.finish());
        return out.toByteArray();
    }

    private static float[] concat(float[] a, float[] b) {
        float[] both = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        return both;
    }

    /** Output samples (at the output rate) encoded so far. */
    public long samplesOut() {
        return samplesOut;
    }

    /** Output duration encoded so far, in seconds. */
    public double secondsOut() {
        return samplesOut / (double) outRate;
    }

    /**
     * Applies the gain (on a copy when {@code s} is the caller's array) and encodes. A volume of 1 is
     * skipped altogether: the encoders clamp out-of-range samples themselves.
     */
    private byte[] gainAndEncode(float[] s, float[] callers) {
        if (s.length > 0 && !gain.isIdentity()) {
            if (s == callers) {
                s = s.clone();
            }
            gain.apply(s);
        }
        samplesOut += s.length;
        return encoder.encode(s);
    }
}
