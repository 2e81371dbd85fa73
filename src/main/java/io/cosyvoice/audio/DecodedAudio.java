package io.cosyvoice.audio;

import java.util.Arrays;
import java.util.Objects;

/**
 * A fully decoded upload.
 *
 * @param format     the detected container/codec family
 * @param sampleRate samples per second of {@code samples}
 * @param channels   the number of channels in the source (before the mono mixdown)
 * @param encoding   a short description of the source sample encoding, e.g. "pcm_s16le", "pcm_f32le",
 *                   "mp3"
 * @param samples    the mono mixdown (average of all channels), each value in [-1, 1]. The array is
 *                   handed over, not copied: callers must not modify it if they share the record.
 */
public record DecodedAudio(AudioFormat format, int sampleRate, int channels, String encoding, float[] samples) {

    public DecodedAudio {
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(encoding, "encoding");
        Objects.requireNonNull(samples, "samples");
        if (sampleRate <= 0) {
            throw new IllegalArgumentException("sampleRate must be positive: " + sampleRate);
        }
        if (channels <= 0) {
            throw new IllegalArgumentException("channels must be positive: " + channels);
        }
    }

    /** The number of (mono) sample frames. */
    public int frames() {
        return samples.length;
    }

    /** The duration in seconds: {@code frames() / sampleRate}. */
    public double durationSeconds() {
        return samples.length / (double) sampleRate;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DecodedAudio other
                && format == other.format
                && sampleRate == other.sampleRate
                && channels == other.channels
                && encoding.equals(other.encoding)
                && Arrays.equals(samples, other.samples);
    }

    @Override
    public int hashCode() {
        return Objects.hash(format, sampleRate, channels, encoding, Arrays.hashCode(samples));
    }

    @Override
    public String toString() {
        return "DecodedAudio[format=" + format + ", sampleRate=" + sampleRate + ", channels=" + channels
                + ", encoding=" + encoding + ", frames=" + samples.length
                + ", seconds=" + String.format(java.util.Locale.ROOT, "%.3f", durationSeconds()) + "]";
    }
}
