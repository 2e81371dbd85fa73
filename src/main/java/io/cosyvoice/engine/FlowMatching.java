package io.cosyvoice.engine;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Speech tokens to mel (models/README.md, "Flow matching"): {@code flow_encoder.onnx} once, then
 * {@code n_timesteps} Euler steps of {@code flow_estimator.onnx} with classifier-free guidance as a
 * batch of two, starting from the model's fixed noise. Stateless: shared by all requests.
 *
 * <p>With a {@link ShapeBatcher} the estimator steps of concurrent requests whose inputs have the
 * same number of frames run as one call on the batcher's thread (each request two rows of the batch,
 * each row at its own time step); the encoder (a graph of batch 1) stays on the request's thread.
 */
final class FlowMatching implements AutoCloseable {

    /** Frames one batched estimator call may carry over its requests (attention memory grows with frames²). */
    static final int FRAMES_PER_BATCH = 4096;

    /** One request's estimator step: its current sample and its constant inputs, one row each ({@code bins × frames}). */
    record EstimatorStep(int frames, float[] x, float t, float[] mu, float[] spks, float[] cond) {}

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
    /** Null: each request calls the estimator on its own thread. */
    private final ShapeBatcher<EstimatorStep, float[]> batcher;

    FlowMatching(ModelConfig config, OnnxGraphs graphs, NpyFile noise, Consumer<OnnxValue> observer, VocoderBatching batching) {
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
        this.batcher = batching.enabled()
                ? new ShapeBatcher<>("cosyvoice-flow-batcher", batching.maxBatch(),
                        step -> FRAMES_PER_BATCH / step.frames(), EstimatorStep::frames, this::estimate)
                : null;
    }

    /** The estimator batcher's counts; empty without batching. */
    java.util.Optional<ShapeBatcher.Stats> batchStats() {
        return batcher == null ? java.util.Optional.empty() : java.util.Optional.of(batcher.stats());
    }

    ShapeBatcher<EstimatorStep, float[]> batcher() {
        return batcher;
    }

    @Override
    public void close() {
        if (batcher != null) {
            batcher.close();
        }
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
        return generate(prompt, tokens, upto, from, lookahead, attentionChunk, () -> false);
    }

    /** As above; {@code cancelled} is looked at while waiting for a batched estimator step. */
    Mel generate(FlowPrompt prompt, int[] tokens, int upto, int from, boolean lookahead, int attentionChunk,
            BooleanSupplier cancelled) throws OrtException {
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
        float[] cond = new float[plane];
        float[] promptMel = prompt.melView();
        for (int f = 0; f < promptFrames; f++) {
            for (int c = 0; c < bins; c++) {
                cond[c * frames + f] = promptMel[f * bins + c];
            }
        }
        if (batcher != null) {
            for (int k = 0; k < t.length; k++) {
                float[] v = batched(new EstimatorStep(frames, x, t[k], mu, spks, cond), cancelled);
                euler(x, v, k);
            }
        } else {
            solo(x, mu, spks, cond, frames);
        }
        return new Mel(bins, frames, x).from(promptFrames + tokenMelRatio * from);
    }

    /** The ten steps on this thread, the constant inputs made into tensors once. */
    private void solo(float[] x, float[] mu, float[] spks, float[] cond, int frames) throws OrtException {
        int plane = bins * frames;
        // the unconditional half of the batch is zeros for mu, spks and cond
        float[] mask = new float[2 * frames];
        Arrays.fill(mask, 1f);
        float[] xIn = new float[2 * plane];
        try (TensorScope constants = new TensorScope(env, observer)) {
            OnnxTensor maskT = constants.floats(mask, 2, 1, frames);
            OnnxTensor muT = constants.floats(Arrays.copyOf(mu, 2 * plane), 2, bins, frames);
            OnnxTensor spksT = constants.floats(Arrays.copyOf(spks, 2 * spks.length), 2, spks.length);
            OnnxTensor condT = constants.floats(Arrays.copyOf(cond, 2 * plane), 2, bins, frames);
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
                euler(x, v, k);
            }
        }
    }

    /** {@code x += dt_k · (w_cond · v_cond − w_uncond · v_uncond)}, {@code v} the two rows of one request. */
    private void euler(float[] x, float[] v, int k) {
        int plane = x.length;
        float h = dt[k];
        for (int i = 0; i < plane; i++) {
            x[i] = x[i] + h * (wCond * v[i] - wUncond * v[plane + i]);
        }
    }

    private float[] batched(EstimatorStep step, BooleanSupplier cancelled) throws OrtException {
        try {
            return batcher.call(step, cancelled);
        } catch (OrtException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    /**
     * One estimator call for steps of equal frames: request {@code i} takes rows {@code 2i}
     * (conditional) and {@code 2i + 1} (unconditional: zeros for mu, spks and cond), the layout a
     * single request uses on its own, so each request's rows see exactly the arithmetic of a solo call.
     */
    private List<float[]> estimate(List<EstimatorStep> steps) throws OrtException {
        int n = steps.size();
        int frames = steps.getFirst().frames();
        int plane = bins * frames;
        int rows = 2 * n;
        float[] x = new float[rows * plane];
        float[] mu = new float[rows * plane];
        float[] cond = new float[rows * plane];
        float[] spks = new float[rows * bins];
        float[] time = new float[rows];
        float[] mask = new float[rows * frames];
        Arrays.fill(mask, 1f);
        for (int i = 0; i < n; i++) {
            EstimatorStep s = steps.get(i);
            System.arraycopy(s.x(), 0, x, 2 * i * plane, plane);
            System.arraycopy(s.x(), 0, x, (2 * i + 1) * plane, plane);
            System.arraycopy(s.mu(), 0, mu, 2 * i * plane, plane);
            System.arraycopy(s.cond(), 0, cond, 2 * i * plane, plane);
            System.arraycopy(s.spks(), 0, spks, 2 * i * bins, bins);
            time[2 * i] = s.t();
            time[2 * i + 1] = s.t();
        }
        try (TensorScope scope = new TensorScope(env, observer)) {
            OrtSession.Result out = scope.run(estimator, Map.of(
                    "x", scope.floats(x, rows, bins, frames), "mask", scope.floats(mask, rows, 1, frames),
                    "mu", scope.floats(mu, rows, bins, frames), "t", scope.floats(time, rows),
                    "spks", scope.floats(spks, rows, bins), "cond", scope.floats(cond, rows, bins, frames)));
            float[] v = TensorScope.floatsOf(out, "velocity");
            List<float[]> split = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                split.add(Arrays.copyOfRange(v, 2 * i * plane, 2 * (i + 1) * plane));
            }
            return split;
        }
    }
}
