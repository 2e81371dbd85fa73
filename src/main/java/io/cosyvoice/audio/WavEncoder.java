package io.cosyvoice.audio;

import java.io.ByteArrayOutputStream;

/**
 * 16-bit signed little-endian mono RIFF/WAVE. Streaming: the first chunk starts with a 44-byte
 * header whose RIFF and data sizes are 0xFFFFFFFF (unknown length), later chunks are raw samples.
 * Non-streaming: everything is buffered and {@link #finish} returns one file with exact sizes.
 */
final class WavEncoder implements AudioEncoder {

    static final int HEADER_BYTES = 44;
    /** The size fields' value for a stream of unknown length. */
    static final long UNKNOWN_SIZE = 0xFFFFFFFFL;

    private final int sampleRate;
    private final boolean streaming;
    private final ByteArrayOutputStream buffered;
    private boolean headerSent;
    private boolean finished;

    WavEncoder(int sampleRate, boolean streaming) {
        this.sampleRate = sampleRate;
        this.streaming = streaming;
        if (streaming) {
            this.buffered = null;
        } else {
            // Room for the header, filled in by finish().
            this.buffered = new ByteArrayOutputStream(64 * 1024);
            this.buffered.write(new byte[HEADER_BYTES], 0, HEADER_BYTES);
        }
    }

    @Override
    public byte[] encode(float[] samples) {
        if (finished) {
            throw new IllegalStateException("encoder already finished");
        }
        if (!streaming) {
            byte[] pcm = Pcm16.toBytes(samples);
            buffered.write(pcm, 0, pcm.length);
            return new byte[0];
        }
        if (headerSent) {
            return Pcm16.toBytes(samples);
        }
        headerSent = true;
        byte[] out = new byte[HEADER_BYTES + samples.length * 2];
        header(out, sampleRate, UNKNOWN_SIZE);
        Pcm16.write(samples, 0, samples.length, out, HEADER_BYTES);
        return out;
    }

    @Override
    public byte[] finish() {
        if (finished) {
            throw new IllegalStateException("encoder already finished");
        }
        finished = true;
        if (streaming) {
            if (headerSent) {
                return new byte[0];
            }
            headerSent = true;
            byte[] out = new byte[HEADER_BYTES];
            header(out, sampleRate, UNKNOWN_SIZE);
            return out;
        }
        byte[] out = buffered.toByteArray();
        buffered.reset();
        header(out, sampleRate, out.length - HEADER_BYTES);
        return out;
    }

    /**
     * Writes the 44-byte canonical header for 16-bit mono PCM into {@code out[0, 44)}; with
     * {@code dataBytes} = {@link #UNKNOWN_SIZE} both size fields are 0xFFFFFFFF.
     */
    static void header(byte[] out, int sampleRate, long dataBytes) {
        long riffSize = dataBytes == UNKNOWN_SIZE ? UNKNOWN_SIZE : 36 + dataBytes;
        ascii(out, 0, "RIFF");
        le32(out, 4, riffSize);
        ascii(out, 8, "WAVE");
        ascii(out, 12, "fmt ");
        le32(out, 16, 16);
        le16(out, 20, 1); // WAVE_FORMAT_PCM
        le16(out, 22, 1); // mono
        le32(out, 24, sampleRate);
        le32(out, 28, sampleRate * 2L); // byte rate
        le16(out, 32, 2); // block align
        le16(out, 34, 16); // bits per sample
        ascii(out, 36, "data");
        le32(out, 40, dataBytes);
    }

    private static void ascii(byte[] out, int off, String s) {
        for (int i = 0; i < s.length(); i++) {
            out[off + i] = (byte) s.charAt(i);
        }
    }

    private static void le16(byte[] out, int off, int v) {
        out[off] = (byte) v;
        out[off + 1] = (byte) (v >> 8);
    }

    private static void le32(byte[] out, int off, long v) {
        out[off] = (byte) v;
        out[off + 1] = (byte) (v >> 8);
        out[off + 2] = (byte) (v >> 16);
        out[off + 3] = (byte) (v >> 24);
    }

    @Override
    public String contentType() {
        return AudioFormat.WAV.mimeType();
    }

    @Override
    public int sampleRate() {
        return sampleRate;
    }
}
