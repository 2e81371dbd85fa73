package io.cosyvoice.engine;

import ai.onnxruntime.OnnxValue;
import java.io.IOException;
import java.util.function.Consumer;

/**
 * Speech tokens to 24 kHz audio: the flow and HiFT over shared sessions, plus what the streaming
 * schedule needs. Thread-safe; every request gets its own {@link SpeechStream}. Closing it stops
 * the vocoder batchers (if any) and fails the calls still waiting for them.
 */
final class TokenToSpeech implements AutoCloseable {

    private final FlowMatching flow;
    private final HiftVocoder hift;
    private final ModelConfig.Streaming streaming;
    private final int staticChunk;
    private final int sampleRate;
    private final double[] crossFade;

    static TokenToSpeech open(ModelDirectory model, OnnxGraphs graphs) throws ModelException {
        return open(model, graphs, TensorScope.NO_OBSERVER);
    }

    /** With an observer that sees every tensor made or returned (tests check they all end closed). */
    static TokenToSpeech open(ModelDirectory model, OnnxGraphs graphs, Consumer<OnnxValue> observer) throws ModelException {
        return open(model, graphs, observer, VocoderBatching.OFF);
    }

    /** With the flow estimator and HiFT calls of concurrent requests batched as {@code batching} says. */
    static TokenToSpeech open(ModelDirectory model, OnnxGraphs graphs, Consumer<OnnxValue> observer,
            VocoderBatching batching) throws ModelException {
        NpyFile noise;
        try {
            noise = NpyFile.map(model.file("flow_noise.npy"));
        } catch (IOException e) {
            throw new ModelException(e.getMessage(), e);
        }
        return new TokenToSpeech(model.config(), graphs, noise, observer, batching);
    }

    private TokenToSpeech(ModelConfig config, OnnxGraphs graphs, NpyFile noise, Consumer<OnnxValue> observer,
            VocoderBatching batching) {
        this.flow = new FlowMatching(config, graphs, noise, observer, batching);
        this.hift = new HiftVocoder(config, graphs, observer, batching);
        this.streaming = config.streaming();
        this.staticChunk = config.flow().staticChunkSize();
        this.sampleRate = config.audio().sampleRate();
        this.crossFade = hamming(2 * streaming.sourceCacheLen());
    }

    /** {@code np.hamming(m)}, with numpy's own formula so the float64 values match. */
    static double[] hamming(int m) {
        double[] w = new double[m];
        if (m == 1) {
            w[0] = 1;
        }
        for (int i = 0; m > 1 && i < m; i++) {
            double n = 1 - m + 2.0 * i;
            w[i] = 0.54 + 0.46 * Math.cos(Math.PI * n / (m - 1));
        }
        return w;
    }

    /**
     * A request's token-to-audio state.
     *
     * @param stream emit chunks as the hop schedule allows ({@code false}: one chunk at {@code finish})
     * @param speed  tempo in the mel domain, as the official code ({@code > 0}; 1 leaves the mel alone)
     * @param sink   receives each audio chunk (24 kHz mono float, owned by the receiver), on the
     *               calling thread of {@code offer} or {@code finish}
     */
    SpeechStream open(FlowPrompt prompt, long seed, boolean stream, double speed, Consumer<float[]> sink) {
        return open(prompt, seed, stream, speed, sink, mel -> { });
    }

    /** As above, also showing each flow call's new mel frames (before any speed change) to {@code melSink}. */
    SpeechStream open(FlowPrompt prompt, long seed, boolean stream, double speed, Consumer<float[]> sink,
            Consumer<Mel> melSink) {
        return new SpeechStream(this, prompt, seed, stream, speed, sink, melSink, () -> false);
    }

    /** Fails every call still waiting for a batcher; a batched call in progress finishes first. */
    @Override
    public void close() {
        flow.close();
        hift.close();
    }

    FlowMatching flow() {
        return flow;
    }

    HiftVocoder hift() {
        return hift;
    }

    ModelConfig.Streaming streaming() {
        return streaming;
    }

    int staticChunk() {
        return staticChunk;
    }

    int sampleRate() {
        return sampleRate;
    }

    double crossFade(int i) {
        return crossFade[i];
    }
}
