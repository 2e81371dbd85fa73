package io.cosyvoice.audio;

/** Float samples to 16-bit signed little-endian PCM. */
final class Pcm16 {

    private Pcm16() {}

    /** {@code samples} (nominally in [-1, 1]; clamped, NaN as 0) as 16-bit little-endian bytes. */
    static byte[] toBytes(float[] samples) {
        byte[] out = new byte[samples.length * 2];
        write(samples, 0, samples.length, out, 0);
        return out;
    }

    /** Writes {@code samples[from, to)} as 16-bit little-endian into {@code out} at {@code off}. */
    static void write(float[] samples, int from, int to, byte[] out, int off) {
        for (int i = from, p = off; i < to; i++, p += 2) {
            int s = toShort(samples[i]);
            out[p] = (byte) s;
            out[p + 1] = (byte) (s >> 8);
        }
    }

    /** One sample: round(x * 32767), clamped to the 16-bit range; NaN gives 0. */
    static int toShort(float x) {
        int s = Math.round(x * 32767f); // NaN rounds to 0, infinities saturate
        return Math.max(-32768, Math.min(32767, s));
    }
}
