package io.cosyvoice.engine;

/**
 * The contract's random generator (models/README.md, "Sampling"): SplitMix64, uniforms from its
 * top 53 bits, normals by Box–Muller. Any runtime that follows the same arithmetic reproduces a
 * seeded request token for token, so requests are reproducible across the Python reference and
 * this engine. One instance per request stream; not thread-safe.
 */
final class SplitMix64 {

    /** A request's vocoder stream is seeded with {@code seed ^ VOCODER_SEED_XOR}. */
    static final long VOCODER_SEED_XOR = 0xD1B54A32D192ED03L;
    private static final double TWO_POW_M53 = 0x1.0p-53;

    private long state;

    SplitMix64(long seed) {
        this.state = seed;
    }

    static SplitMix64 vocoder(long seed) {
        return new SplitMix64(seed ^ VOCODER_SEED_XOR);
    }

    long nextLong() {
        state += 0x9E3779B97F4A7C15L;
        long z = state;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Uniform in [0, 1). */
    double uniform() {
        return (nextLong() >>> 11) * TWO_POW_M53;
    }

    /**
     * Fills {@code out[offset, offset + n)} with standard normals drawn as Box–Muller pairs (cosine
     * value first); an odd {@code n} consumes a whole last pair and discards its sine value.
     */
    void normals(float[] out, int offset, int n) {
        for (int i = 0; i < n; i += 2) {
            double u1 = 1.0 - uniform();
            double u2 = uniform();
            double r = Math.sqrt(-2.0 * Math.log(u1));
            double theta = 2.0 * Math.PI * u2;
            out[offset + i] = (float) (r * Math.cos(theta));
            if (i + 1 < n) {
                out[offset + i + 1] = (float) (r * Math.sin(theta));
            }
        }
    }
}
