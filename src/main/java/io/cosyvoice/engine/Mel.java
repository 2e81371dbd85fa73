package io.cosyvoice.engine;

/**
 * Mel frames bins-major, {@code [bins, frames]} row-major: the layout the flow produces and HiFT
 * reads, so a chunk goes from one graph to the other without transposing.
 */
record Mel(int bins, int frames, float[] data) {

    Mel {
        if (bins <= 0 || frames < 0 || data.length != (long) bins * frames) {
            throw new IllegalArgumentException("mel of " + bins + " x " + frames + " with " + data.length + " values");
        }
    }

    static Mel empty(int bins) {
        return new Mel(bins, 0, new float[0]);
    }

    /** Frames {@code [from, frames)}. */
    Mel from(int from) {
        return slice(from, frames);
    }

    /** The last {@code n} frames (all of them if there are fewer). */
    Mel last(int n) {
        return slice(Math.max(0, frames - n), frames);
    }

    Mel slice(int from, int to) {
        int n = to - from;
        float[] out = new float[bins * n];
        for (int c = 0; c < bins; c++) {
            System.arraycopy(data, c * frames + from, out, c * n, n);
        }
        return new Mel(bins, n, out);
    }

    /** {@code this} followed by {@code next} along time. */
    Mel append(Mel next) {
        int n = frames + next.frames;
        float[] out = new float[bins * n];
        for (int c = 0; c < bins; c++) {
            System.arraycopy(data, c * frames, out, c * n, frames);
            System.arraycopy(next.data, c * next.frames, out, c * n + frames, next.frames);
        }
        return new Mel(bins, n, out);
    }

    /**
     * {@code torch.nn.functional.interpolate(mel, size, mode='linear', align_corners=False)} in float32
     * as torch computes it on the CPU (reference {@code interpolate_linear}): the official speed change.
     */
    Mel resize(int size) {
        if (size <= 0) {
            return empty(bins);
        }
        float scale = (float) frames / (float) size;
        float[] out = new float[bins * size];
        for (int d = 0; d < size; d++) {
            float src = Math.max(scale * ((float) d + 0.5f) - 0.5f, 0f);
            int i0 = (int) src;
            float lam1 = Math.min(Math.max(src - (float) i0, 0f), 1f);
            float lam0 = 1f - lam1;
            int i1 = i0 < frames - 1 ? i0 + 1 : i0;
            for (int c = 0; c < bins; c++) {
                out[c * size + d] = lam0 * data[c * frames + i0] + lam1 * data[c * frames + i1];
            }
        }
        return new Mel(bins, size, out);
    }
}
