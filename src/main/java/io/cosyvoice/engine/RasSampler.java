package io.cosyvoice.engine;

/**
 * Repetition-aware sampling exactly as the contract states it (models/README.md, "Sampling (RAS),
 * exactly"; {@code ras_sample} in models/reference/pipeline.py): every sum is taken in the same
 * order and in float64 as the reference, so a seeded request picks the same tokens.
 *
 * <p>One instance per sequence (it keeps scratch arrays); not thread-safe.
 */
final class RasSampler {

    /** The {@code sampling} section of {@code model.json} plus the eos id. */
    record Params(double topP, int topK, int winSize, double tauR, int eos) {

        Params {
            if (!(topP > 0) || topK < 1 || winSize < 0 || !(tauR >= 0) || eos < 0) {
                throw new IllegalArgumentException(
                        "bad sampling parameters " + topP + ", " + topK + ", " + winSize + ", " + tauR);
            }
        }

        static Params of(ModelConfig config) {
            ModelConfig.Sampling s = config.sampling();
            return new Params(s.topP(), s.topK(), s.winSize(), s.tauR(), config.llm().eos());
        }
    }

    private final Params params;
    private final double[] p;
    private final int[] taken;

    RasSampler(Params params, int vocab) {
        if (params.eos() >= vocab) {
            throw new IllegalArgumentException("eos " + params.eos() + " outside a vocabulary of " + vocab);
        }
        this.params = params;
        this.p = new double[vocab];
        this.taken = new int[params.topK()];
    }

    /**
     * Draws the next token.
     *
     * @param logits    the step's logits, {@code vocab} values from {@code offset}
     * @param generated the tokens generated so far (prompt tokens excluded), {@code count} of them
     * @param minLen    before this many tokens eos cannot be drawn
     * @param rng       the request's stream: one or two {@code uniform()} values are consumed
     */
    int sample(float[] logits, int offset, int[] generated, int count, int minLen, SplitMix64 rng) {
        int n = p.length;
        // 1-2: float64 softmax; the sum is taken in index order, as numpy's cumsum does
        double max = Double.NEGATIVE_INFINITY;
        boolean maskEos = count < minLen;
        for (int i = 0; i < n; i++) {
            double x = maskEos && i == params.eos() ? Double.NEGATIVE_INFINITY : logits[offset + i];
            p[i] = x;
            if (x > max) {
                max = x;
            }
        }
        if (!(max > Double.NEGATIVE_INFINITY) || max == Double.POSITIVE_INFINITY) {
            throw new IllegalStateException("logits without a finite maximum (" + max + ")");
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            p[i] = Math.exp(p[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < n; i++) {
            p[i] /= sum;
        }

        // 3: nucleus over the order "p descending, ties by lower index". At most top_k tokens are ever
        // taken, so only the first top_k of that order are needed: an insertion into a short sorted list.
        int k = Math.min(params.topK(), n);
        int kept = 0;
        for (int i = 0; i < n; i++) {
            double v = p[i];
            if (kept == k && !(v > p[taken[kept - 1]])) {
                continue;
            }
            int at = kept == k ? k - 1 : kept++;
            // an equal p stays ahead: it has the lower index
            while (at > 0 && v > p[taken[at - 1]]) {
                taken[at] = taken[at - 1];
                at--;
            }
            taken[at] = i;
        }
        int takenCount = 0;
        double cum = 0;
        while (takenCount < k && cum < params.topP()) {
            cum += p[taken[takenCount++]];
        }
        double u = rng.uniform() * cum;
        int pick = taken[takenCount - 1];
        double running = 0;
        for (int j = 0; j < takenCount; j++) {
            running += p[taken[j]];
            if (running > u) {
                pick = taken[j];
                break;
            }
        }

        // 4: repetition-aware fallback, drawing from the whole distribution without the pick
        int from = Math.max(0, count - params.winSize());
        int repeats = 0;
        for (int i = from; i < count; i++) {
            if (generated[i] == pick) {
                repeats++;
            }
        }
        if (repeats >= params.winSize() * params.tauR()) {
            p[pick] = 0;
            double total = 0;
            for (int i = 0; i < n; i++) {
                total += p[i];
            }
            double v = rng.uniform() * total;
            int drawn = -1;
            int last = -1;
            running = 0;
            for (int i = 0; i < n; i++) {
                running += p[i];
                if (p[i] != 0) {
                    last = i;
                }
                if (running > v) {
                    drawn = i;
                    break;
                }
            }
            // none exceeded: by rounding, the last token that can be drawn; none can (the pick held all
            // the probability, where the reference fails): the pick stands
            pick = drawn >= 0 ? drawn : last >= 0 ? last : pick;
        }
        return pick;
    }
}
