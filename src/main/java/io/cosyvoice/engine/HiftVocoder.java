package io.cosyvoice.engine;

import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Mel to 24 kHz audio with {@code hift.onnx}. The sine source's randomness comes from the request's
 * vocoder stream, drawn per call in the contract's order ({@code phase_init}, then {@code noise}), so
 * a seeded request gives the reference's samples. Stateless: shared by all requests.
 */
final class HiftVocoder {

    /** What one call returns: the waveform and the harmonic source it used (its tail seeds the next call). */
    record Output(float[] speech, float[] source) {}

    private static final int NOISE_BLOCK = 8192; // even: the pairs of Box–Muller never straddle a block

    private final OrtEnvironment env;
    private final OrtSession session;
    private final int samplesPerFrame;
    private final int harmonics;
    private final Consumer<OnnxValue> observer;

    HiftVocoder(ModelConfig config, OnnxGraphs graphs, Consumer<OnnxValue> observer) {
        this.env = graphs.environment();
        this.session = graphs.session("hift.onnx");
        this.samplesPerFrame = config.audio().samplesPerMelFrame();
        this.harmonics = config.hift().nbHarmonics() + 1; // the fundamental and its overtones
        this.observer = observer;
    }

    /** One call; {@code cacheSource} (possibly empty) replaces the first samples of the new source. */
    Output run(Mel mel, float[] cacheSource, SplitMix64 rng) throws OrtException {
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
        try (TensorScope scope = new TensorScope(env, observer)) {
            OrtSession.Result out = scope.run(session, Map.of(
                    "mel", scope.floats(mel.data(), 1, mel.bins(), mel.frames()),
                    "cache_source", scope.floats(cacheSource, 1, 1, cacheSource.length),
                    "phase_init", scope.floats(phase, 1, harmonics),
                    "noise", scope.floats(noise, 1, samples, harmonics)));
            return new Output(TensorScope.floatsOf(out, "speech"), TensorScope.floatsOf(out, "source"));
        }
    }
}
