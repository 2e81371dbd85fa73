package io.cosyvoice.audio;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;

/** Helpers for the output-side tests: uneven chunking, concatenation, MP3 frame chains. */
final class OutputAudio {

    /** Uneven chunk durations in milliseconds, cycled. */
    static final int[] CHUNK_MS = {37, 120, 500, 13, 250, 80, 1, 333, 0, 200};

    private OutputAudio() {}

    /** Splits {@code s} into chunks of the {@link #CHUNK_MS} durations (cycled) at {@code rate}. */
    static List<float[]> chunks(float[] s, int rate) {
        List<float[]> out = new ArrayList<>();
        int off = 0;
        for (int i = 0; off < s.length; i++) {
            int n = Math.min(s.length - off, CHUNK_MS[i % CHUNK_MS.length] * rate / 1000);
            out.add(Arrays.copyOfRange(s, off, off + n));
            off += n;
        }
        return out;
    }

    /** Splits {@code s} into chunks of the given sizes (cycled; zero sizes give empty chunks). */
    static List<float[]> chunks(float[] s, int... sizes) {
        List<float[]> out = new ArrayList<>();
        int off = 0;
        for (int i = 0; off < s.length; i++) {
            int n = Math.min(s.length - off, sizes[i % sizes.length]);
            out.add(Arrays.copyOfRange(s, off, off + n));
            off += n;
        }
        return out;
    }

    /** Runs a streaming float stage over chunks: concatenated outputs of each chunk, then the flush. */
    static float[] stream(List<float[]> chunks, Function<float[], float[]> process, Supplier<float[]> flush) {
        List<float[]> parts = new ArrayList<>();
        for (float[] c : chunks) {
            parts.add(process.apply(c));
        }
        parts.add(flush.get());
        int n = 0;
        for (float[] p : parts) {
            n += p.length;
        }
        float[] all = new float[n];
        int off = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, all, off, p.length);
            off += p.length;
        }
        return all;
    }

    static float[] concat(float[] a, float[] b) {
        float[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static byte[] concat(List<byte[]> parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    /**
     * The frames of {@code chunk} when it is exactly a chain of whole MPEG frames from its first
     * byte to its last; otherwise null.
     */
    static List<MpegFrame> wholeFrames(byte[] chunk) {
        List<MpegFrame> frames = new ArrayList<>();
        int p = 0;
        while (p < chunk.length) {
            MpegFrame f = MpegFrame.parse(chunk, p);
            if (f == null || p + f.length() > chunk.length) {
                return null;
            }
            frames.add(f);
            p += f.length();
        }
        return frames;
    }

    /** Little-endian unsigned 32-bit value at {@code off}. */
    static long le32(byte[] d, int off) {
        return (d[off] & 0xFFL) | (d[off + 1] & 0xFFL) << 8 | (d[off + 2] & 0xFFL) << 16 | (d[off + 3] & 0xFFL) << 24;
    }

    /** Power ratio in dB of {@code a} relative to {@code b} (amplitudes). */
    static double db(double a, double b) {
        return 20 * Math.log10(a / b);
    }
}
