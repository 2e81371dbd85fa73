package io.cosyvoice.engine;

import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Mel to 24 kHz audio with {@code hift.onnx}. The sine source's randomness comes from the request's
 * vocoder stream, drawn per call in the contract's order ({@code phase_init}, then {@code noise}), so
 * a seeded request gives the reference's samples. Stateless: shared by all requests.
 *
 * <p>With a {@link ShapeBatcher} the calls of concurrent requests with the same mel frames and the
 * same source cache length run as one batch on the batcher's thread. Only equal shapes: the graph
 * has no mask and its convolutions are not causal, so padding would change the last samples. The
 * randomness is still drawn on the request's thread, in the request's order.
 */
final class HiftVocoder implements AutoCloseable {

    /** What one call returns: the waveform and the harmonic source it used (its tail seeds the next call). */
    record Output(float[] speech, float[] source) {}

    /** One request's call, its randomness drawn. */
    record Call(Mel mel, float[] cacheSource, float[] phase, FloatBuffer noise) {
        List<Integer> shape() {
            return List.of(mel.frames(), cacheSource.length);
        }
    }

    /** Mel frames one batched call may carry over its requests (about 41 s of audio). */
    static final int FRAMES_PER_BATCH = 2048;

    private static final int NOISE_BLOCK = 8192; // even: the pairs of Box–Muller never straddle a block

    private final OrtEnvironment env;
    private final OrtSession session;
    private final int samplesPerFrame;
    private final int harmonics;
    private final Consumer<OnnxValue> observer;
    /** Null: each request calls HiFT on its own thread. */
    private final ShapeBatcher<Call, Output> batcher;

    HiftVocoder(ModelConfig config, OnnxGraphs graphs, Consumer<OnnxValue> observer, VocoderBatching batching) {
        this.env = graphs.environment();
        this.session = graphs.session("hift.onnx");
        this.samplesPerFrame = config.audio().samplesPerMelFrame();
        this.harmonics = config.hift().nbHarmonics() + 1; // the fundamental and its overtones
        this.observer = observer;
        this.batcher = batching.enabled()
                ? new ShapeBatcher<>("cosyvoice-hift-batcher", batching.maxBatch(),
                        call -> FRAMES_PER_BATCH / Math.max(1, call.mel().frames()), Call::shape, this::vocode)
                : null;
    }

    ShapeBatcher<Call, Output> batcher() {
        return batcher;
    }

    @Override
    public void close() {
        if (batcher != null) {
            batcher.close();
        }
    }

    /** One call; {@code cacheSource} (possibly empty) replaces the first samples of the new source. */
    Output run(Mel mel, float[] cacheSource, SplitMix64 rng) throws OrtException {
        return run(mel, cacheSource, rng, () -> false);
    }

    /** As above; {@code cancelled} is looked at while waiting for a batched call. */
    Output run(Mel mel, float[] cacheSource, SplitMix64 rng, BooleanSupplier cancelled) throws OrtException {
        int samples = samplesPerFrame * mel.frames();
        if (cacheSource.length > samples) {
            throw new IllegalArgumentException(cacheSource.length + " cached source samples for " + samples + " new ones");
        }
        float[] phase = new float[harmonics];
        for (int i = 0; i < harmonics; i++) {
            phase[i] = (float) rng.uniform();
        }
        phase[0] = 0f;
        // the noise is the largest input (480·F·9 floats): filled straight into native memory, used in place
        int count = Math.multiplyExact(samples, harmonics);
        FloatBuffer noise = ByteBuffer.allocateDirect(Math.multiplyExact(count, Float.BYTES))
                .order(ByteOrder.nativeOrder()).asFloatBuffer();
        float[] block = new float[NOISE_BLOCK];
        for (int done = 0; done < count; done += NOISE_BLOCK) {
            int n = Math.min(NOISE_BLOCK, count - done);
            rng.normals(block, 0, n);
            noise.put(block, 0, n);
        }
        noise.flip();
        Call call = new Call(mel, cacheSource, phase, noise);
        if (batcher == null) {
            return vocode(List.of(call)).getFirst();
        }
        try {
            return batcher.call(call, cancelled);
        } catch (OrtException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    /** One graph call for calls of one shape, request {@code i} in row {@code i}. */
    private List<Output> vocode(List<Call> calls) throws OrtException {
        int n = calls.size();
        Call first = calls.getFirst();
        int frames = first.mel().frames();
        int bins = first.mel().bins();
        int cache = first.cacheSource().length;
        int samples = samplesPerFrame * frames;
        float[] mel = n == 1 ? first.mel().data() : new float[n * bins * frames];
        float[] cacheSource = n == 1 ? first.cacheSource() : new float[n * cache];
        float[] phase = n == 1 ? first.phase() : new float[n * harmonics];
        FloatBuffer noise = first.noise();
        if (n > 1) {
            noise = ByteBuffer.allocateDirect(Math.multiplyExact(n * samples, harmonics * Float.BYTES))
                    .order(ByteOrder.nativeOrder()).asFloatBuffer();
            for (int i = 0; i < n; i++) {
                Call c = calls.get(i);
                System.arraycopy(c.mel().data(), 0, mel, i * bins * frames, bins * frames);
                System.arraycopy(c.cacheSource(), 0, cacheSource, i * cache, cache);
                System.arraycopy(c.phase(), 0, phase, i * harmonics, harmonics);
                noise.put(c.noise().duplicate());
            }
            noise.flip();
        }
        try (TensorScope scope = new TensorScope(env, observer)) {
            OrtSession.Result out = scope.run(session, Map.of(
                    "mel", scope.floats(mel, n, bins, frames),
                    "cache_source", scope.floats(cacheSource, n, 1, cache),
                    "phase_init", scope.floats(phase, n, harmonics),
                    "noise", scope.floats(noise, n, samples, harmonics)));
            float[] speech = TensorScope.floatsOf(out, "speech");
            float[] source = TensorScope.floatsOf(out, "source");
            List<Output> split = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                split.add(new Output(Arrays.copyOfRange(speech, i * samples, (i + 1) * samples),
                        Arrays.copyOfRange(source, i * samples, (i + 1) * samples)));
            }
            return split;
        }
    }
}
