package io.cosyvoice.engine;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Speech tokens to mel (models/README.md, "Flow matching"): {@code flow_encoder.onnx} once, then
 * {@code n_timesteps} Euler steps of {@code flow_estimator.onnx} with classifier-free guidance as a
 * batch of two, starting from the model's fixed noise. Stateless: shared by all requests.
 */
final class FlowMatching {

    private final OrtEnvironment env;
    private final OrtSession encoder;
    private final OrtSession estimator;
    private final NpyFile noise;
    private final int noiseFrames;
    private final int bins;
    private final int lookaheadLen;
    private final int tokenMelRatio;
    private final int vocab;
    private final float[] t;   // float32(t_k), what the estimator is fed
    private final float[] dt;  // float32(t_{k+1} - t_k) with the difference taken in float64
    private final float wCond;
    private final float wUncond;
    private final Consumer<OnnxValue> observer;

    FlowMatching(ModelConfig config, OnnxGraphs graphs, NpyFile noise, Consumer<OnnxValue> observer) {
        ModelConfig.Flow flow = config.flow();
        if (!"cosine".equals(flow.tScheduler())) {
            throw new IllegalArgumentException("flow.t_scheduler " + flow.tScheduler() + " is not the contract's cosine");
        }
        this.env = graphs.environment();
        this.encoder = graphs.session("flow_encoder.onnx");
        this.estimator = graphs.session("flow_estimator.onnx");
        this.noise = noise;
        this.bins = flow.melBins();
        this.noiseFrames = Math.toIntExact(noise.shape()[1]);
        this.lookaheadLen = flow.preLookaheadLen();
        this.tokenMelRatio = config.audio().tokenMelRatio();
        this.vocab = flow.vocabSize();
        int n = flow.nTimesteps();
        double[] span = new double[n + 1];
        for (int k = 0; k <= n; k++) {
            span[k] = 1.0 - Math.cos(0.5 * Math.PI * k / n);
        }
        this.t = new float[n];
        this.dt = new float[n];
        for (int k = 0; k < n; k++) {
            t[k] = (float) span[k];
            dt[k] = (float) (span[k + 1] - span[k]);
        }
        this.wCond = (float) (1.0 + flow.cfgRate());
        this.wUncond = (float) flow.cfgRate();
        this.observer = observer;
    }

    int lookaheadLength() {
        return lookaheadLen;
    }

    /** Speech tokens are in {@code [0, vocab)}. */
    int vocab() {
        return vocab;
    }

    /** Prompt plus generated tokens the noise has frames for. */
    int maxTokens() {
        return noiseFrames / tokenMelRatio;
    }

    /**
     * The mel of generated tokens {@code [from, upto)}: the flow runs on the prompt tokens and
     * {@code tokens[0, upto)}, with {@code tokens[upto, upto + 3)} as look-ahead when
     * {@code lookahead} is set (otherwise the final call's zero padding).
     *
     * @param attentionChunk 0 for full attention, {@code static_chunk_size} for the streaming mask
     */
    Mel generate(FlowPrompt prompt, int[] tokens, int upto, int from, boolean lookahead, int attentionChunk)
            throws OrtException {
        int p = prompt.tokenCount();
        int total = p + upto;
        int frames = tokenMelRatio * total;
        int promptFrames = prompt.melView().length / bins;
        if (total < 1) {
            throw new IllegalArgumentException("the flow needs at least one token");
        }
        if (frames > noiseFrames) {
            throw new IllegalArgumentException(frames + " mel frames exceed the model's " + noiseFrames + " frames of flow noise");
        }
        if (promptFrames != tokenMelRatio * p) {
            throw new IllegalArgumentException("prompt has " + promptFrames + " mel frames for " + p + " tokens");
        }
        long[] all = new long[total];
        for (int i = 0; i < p; i++) {
            all[i] = prompt.token(i);
        }
        for (int i = 0; i < upto; i++) {
            all[p + i] = tokens[i];
        }
        long[] la = new long[lookaheadLen];
        float[] laMask = new float[lookaheadLen];
        if (lookahead) {
            for (int i = 0; i < lookaheadLen; i++) {
                la[i] = tokens[upto + i];
                laMask[i] = 1f;
            }
        }
        for (long token : all) {
            if (token < 0 || token >= vocab) {
                throw new IllegalArgumentException("speech token " + token + " outside [0, " + vocab + ")");
            }
        }

        float[] mu;
        float[] spks;
        try (TensorScope scope = new TensorScope(env, observer)) {
            OrtSession.Result out = scope.run(encoder, Map.of(
                    "token", scope.longs(all, 1, total),
                    "lookahead", scope.longs(la, 1, lookaheadLen),
                    "lookahead_mask", scope.floats(laMask, 1, lookaheadLen),
                    "attention_chunk", scope.longs(new long[] {attentionChunk}, 1),
                    "embedding", scope.floats(prompt.embeddingView(), 1, prompt.embeddingView().length)));
            long[] shape = TensorScope.shapeOf(out, "mu");
            if (shape[1] != bins || shape[2] != frames) {
                throw new IllegalStateException("flow_encoder gave mu " + Arrays.toString(shape) + " for " + total + " tokens");
            }
            mu = TensorScope.floatsOf(out, "mu");
            spks = TensorScope.floatsOf(out, "spks");
        }

        int plane = bins * frames;
        float[] x = new float[plane];
        FloatBuffer z = noise.data();
        for (int c = 0; c < bins; c++) {
            z.get(c * noiseFrames, x, c * frames, frames);
        }
        // the unconditional half of the batch is zeros for mu, spks and cond
        float[] muIn = Arrays.copyOf(mu, 2 * plane);
        float[] spksIn = Arrays.copyOf(spks, 2 * spks.length);
        float[] condIn = new float[2 * plane];
        float[] promptMel = prompt.melView();
        for (int f = 0; f < promptFrames; f++) {
            for (int c = 0; c < bins; c++) {
                condIn[c * frames + f] = promptMel[f * bins + c];
            }
        }
        float[] mask = new float[2 * frames];
        Arrays.fill(mask, 1f);
        float[] xIn = new float[2 * plane];

        try (TensorScope constants = new TensorScope(env, observer)) {
            OnnxTensor maskT = constants.floats(mask, 2, 1, frames);
            OnnxTensor muT = constants.floats(muIn, 2, bins, frames);
            OnnxTensor spksT = constants.floats(spksIn, 2, spks.length);
            OnnxTensor condT = constants.floats(condIn, 2, bins, frames);
            for (int k = 0; k < t.length; k++) {
                System.arraycopy(x, 0, xIn, 0, plane);
                System.arraycopy(x, 0, xIn, plane, plane);
                float[] v;
                try (TensorScope step = new TensorScope(env, observer)) {
                    OrtSession.Result out = step.run(estimator, Map.of(
                            "x", step.floats(xIn, 2, bins, frames), "mask", maskT, "mu", muT,
                            "t", step.floats(new float[] {t[k], t[k]}, 2), "spks", spksT, "cond", condT));
                    v = TensorScope.floatsOf(out, "velocity");
                }
                float h = dt[k];
                for (int i = 0; i < plane; i++) {
                    x[i] = x[i] + h * (wCond * v[i] - wUncond * v[plane + i]);
                }
            }
        }
        return new Mel(bins, frames, x).from(promptFrames + tokenMelRatio * from);
    }
}
