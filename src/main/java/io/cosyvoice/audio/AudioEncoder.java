package io.cosyvoice.audio;

import java.util.Objects;

/**
 * Encodes a stream of mono float samples into the bytes of one audio file, chunk by chunk: the
 * concatenation of everything {@link #encode} and {@link #finish} return is one valid file.
 *
 * <p>Implementations are not thread-safe (one per stream) and are single-use: after {@link #finish}
 * they accept nothing more.
 */
public interface AudioEncoder {

    /**
     * Encodes the next samples (mono, nominally in [-1, 1], at {@link #sampleRate()}; out-of-range
     * values are clamped).
     *
     * @return the bytes ready to send now; possibly empty (an encoder may hold data back, e.g. an
     *         incomplete MP3 frame, or a whole non-streaming WAV file)
     * @throws IllegalStateException after {@link #finish}
     */
    byte[] encode(float[] samples);

    /**
     * Ends the stream and returns the remaining bytes (for a non-streaming WAV the whole file).
     *
     * @throws IllegalStateException when called twice
     */
    byte[] finish();

    /** The MIME type of the produced bytes: "audio/wav", "audio/mpeg" or "audio/pcm". */
    String contentType();

    /** The sample rate the samples are expected at, and the file is written at, in Hz. */
    int sampleRate();

    /**
     * An encoder for one stream.
     *
     * @param format          WAV (16-bit mono), MP3 (CBR mono) or PCM (raw 16-bit little-endian mono)
     * @param sampleRate      in Hz; for MP3 one of 8000, 11025, 12000, 16000, 22050, 24000, 32000,
     *                        44100, 48000
     * @param bitRateKbps     MP3 only (ignored otherwise): the requested bit rate, mapped with
     *                        {@link Mp3BitRates#effectiveMp3BitRate} to one MPEG allows at this rate
     * @param streamingHeader WAV only: true for a header with 0xFFFFFFFF sizes at the start of the
     *                        first chunk and raw samples after it; false to buffer everything and
     *                        return one complete WAV file with exact sizes from {@link #finish}
     * @throws IllegalArgumentException for a non-positive (or, for MP3, unsupported) sample rate
     */
    static AudioEncoder create(AudioFormat format, int sampleRate, int bitRateKbps, boolean streamingHeader) {
        Objects.requireNonNull(format, "format");
        if (sampleRate <= 0) {
            throw new IllegalArgumentException("sample rate must be positive: " + sampleRate);
        }
        return switch (format) {
            case WAV -> new WavEncoder(sampleRate, streamingHeader);
            case PCM -> new PcmEncoder(sampleRate);
            case MP3 -> new Mp3Encoder(sampleRate, Mp3BitRates.effectiveMp3BitRate(sampleRate, bitRateKbps));
        };
    }
}
