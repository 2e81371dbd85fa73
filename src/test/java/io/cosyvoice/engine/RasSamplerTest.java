package io.cosyvoice.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** The contract's RAS on hand-made logits, each draw checked against the uniform it consumed. */
class RasSamplerTest {

    private static final int VOCAB = 8;
    private static final int EOS = 7;
    private static final int SEEDS = 400;
    private static final int[] NONE = new int[0];

    private static RasSampler sampler(double topP, int topK) {
        return new RasSampler(new RasSampler.Params(topP, topK, 10, 0.1, EOS), VOCAB);
    }

    /** Logits whose softmax is {@code p} (unnormalised is fine: softmax normalises). */
    private static float[] logitsOf(double... p) {
        float[] out = new float[p.length];
        for (int i = 0; i < p.length; i++) {
            out[i] = p[i] == 0 ? Float.NEGATIVE_INFINITY : (float) Math.log(p[i]);
        }
        return out;
    }

    private static double firstUniform(long seed) {
        return new SplitMix64(seed).uniform();
    }

    @Test
    void topKCutsTheNucleusAndTiesGoToTheLowerIndex() {
        // all equal: the order is the index order, top_k = 3 keeps 0, 1, 2
        float[] flat = new float[VOCAB];
        RasSampler ras = sampler(1.0, 3);
        Set<Integer> seen = new TreeSet<>();
        for (long seed = 0; seed < SEEDS; seed++) {
            int pick = ras.sample(flat, 0, NONE, 0, 0, new SplitMix64(seed));
            // running sums 1/8, 2/8, 3/8 against u · 3/8
            assertEquals((int) (firstUniform(seed) * 3), pick, "seed " + seed);
            seen.add(pick);
        }
        assertEquals(Set.of(0, 1, 2), seen);

        // three equal leaders at 3, 5, 6 and top_k 2: the two lower indices
        float[] ties = {0, 0, 0, 2, 0, 2, 2, 0};
        RasSampler two = sampler(1.0, 2);
        seen.clear();
        for (long seed = 0; seed < SEEDS; seed++) {
            int pick = two.sample(ties, 0, NONE, 0, 0, new SplitMix64(seed));
            assertEquals(firstUniform(seed) < 0.5 ? 3 : 5, pick, "seed " + seed);
            seen.add(pick);
        }
        assertEquals(Set.of(3, 5), seen);
    }

    @Test
    void topPTakesTokensWhileTheRunningSumIsBelowIt() {
        // p by size: 0.5 (index 6), 0.25 (index 1), 0.125 (index 4), the rest share 0.125
        double r = 0.125 / 5;
        float[] logits = logitsOf(r, 0.25, r, r, 0.125, r, 0.5, r);
        // top_p 0.7: take 6 (sum 0.5 < 0.7), take 1 (0.75), stop
        RasSampler ras = sampler(0.7, 25);
        Set<Integer> seen = new TreeSet<>();
        for (long seed = 0; seed < SEEDS; seed++) {
            int pick = ras.sample(logits, 0, NONE, 0, 0, new SplitMix64(seed));
            assertEquals(firstUniform(seed) * 0.75 < 0.5 ? 6 : 1, pick, "seed " + seed);
            seen.add(pick);
        }
        assertEquals(Set.of(1, 6), seen);
        // top_p 0.5: the running sum 0.5 is not below 0.5 after the first token: one token only
        RasSampler half = sampler(0.5, 25);
        for (long seed = 0; seed < 50; seed++) {
            assertEquals(6, half.sample(logits, 0, NONE, 0, 0, new SplitMix64(seed)));
        }
    }

    @Test
    void readsLogitsAtTheirOffset() {
        float[] padded = new float[VOCAB + 3];
        padded[3 + 5] = 50;
        assertEquals(5, sampler(0.8, 25).sample(padded, 3, NONE, 0, 0, new SplitMix64(1)));
    }

    @Test
    void aRepeatedPickFallsBackToTheWholeDistributionWithoutIt() {
        // token 4 dominates the nucleus (top_k 1); the rest share the remaining mass equally
        float[] logits = {0, 0, 0, 0, 3, 0, 0, 0};
        RasSampler ras = sampler(0.8, 1);
        double e3 = Math.exp(3);
        double other = 1 / (7 + e3);
        Set<Integer> seen = new TreeSet<>();
        for (long seed = 0; seed < SEEDS; seed++) {
            SplitMix64 rng = new SplitMix64(seed);
            // 4 once in the last 10 tokens: 1 ≥ win_size · tau_r = 1, so it is redrawn
            int pick = ras.sample(logits, 0, new int[] {2, 4, 1}, 3, 0, rng);
            SplitMix64 check = new SplitMix64(seed);
            check.uniform();
            double v = check.uniform() * 7 * other;
            int expected = (int) (v / other); // the j-th of the others in index order
            assertEquals(expected >= 4 ? expected + 1 : expected, pick, "seed " + seed);
            assertEquals(check.nextLong(), rng.nextLong(), "two uniforms consumed");
            seen.add(pick);
        }
        assertEquals(Set.of(0, 1, 2, 3, 5, 6, 7), seen, "every other token, eos included after min_len");

        // 4 only before the window of 10: kept, and one uniform consumed
        int[] old = {4, 0, 1, 2, 3, 5, 6, 0, 1, 2, 3};
        SplitMix64 rng = new SplitMix64(9);
        assertEquals(4, ras.sample(logits, 0, old, old.length, 0, rng));
        SplitMix64 check = new SplitMix64(9);
        check.uniform();
        assertEquals(check.nextLong(), rng.nextLong(), "one uniform consumed");
    }

    @Test
    void eosIsMaskedBeforeMinLen() {
        float[] logits = new float[VOCAB];
        logits[EOS] = 40; // all of the probability
        RasSampler ras = sampler(0.8, 25);
        int[] generated = {1, 2, 3, 4, 5};
        for (long seed = 0; seed < 50; seed++) {
            int early = ras.sample(logits, 0, generated, 4, 5, new SplitMix64(seed));
            assertNotEquals(EOS, early);
            assertTrue(early >= 0 && early < EOS);
            assertEquals(EOS, ras.sample(logits, 0, generated, 5, 5, new SplitMix64(seed)));
        }
        // masked, the rest are equal: a plain nucleus over them (top_p 0.8 of 7 → 6 tokens taken)
        for (long seed = 0; seed < 50; seed++) {
            assertEquals((int) (firstUniform(seed) * 6), ras.sample(logits, 0, generated, 0, 5, new SplitMix64(seed)));
        }
    }

    @Test
    void aPickHoldingAllTheProbabilityStandsWhenRepeated() {
        // every other p underflows to 0: the fallback has nothing to draw (the reference fails here)
        float[] logits = {-2000, -2000, 0, -2000, -2000, -2000, -2000, -2000};
        assertEquals(2, sampler(0.8, 25).sample(logits, 0, new int[] {2}, 1, 0, new SplitMix64(3)));
    }

    @Test
    void refusesLogitsWithoutAFiniteMaximum() {
        float[] nan = new float[VOCAB];
        java.util.Arrays.fill(nan, Float.NaN);
        assertThrows(IllegalStateException.class, () -> sampler(0.8, 25).sample(nan, 0, NONE, 0, 0, new SplitMix64(0)));
        float[] masked = new float[VOCAB];
        java.util.Arrays.fill(masked, Float.NEGATIVE_INFINITY);
        masked[EOS] = 1;
        assertThrows(IllegalStateException.class, () -> sampler(0.8, 25).sample(masked, 0, NONE, 0, 1, new SplitMix64(0)));
    }
}
