package io.cosyvoice.engine;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.cosyvoice.audio.PromptAudioFeatures;
import io.cosyvoice.voice.PromptFeatures;

import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.Arrays;
import java.util.Map;

/**
 * A voice's prompt features from its reference audio (models/README.md, "Features"): speech
 * tokens from the speech tokenizer over the Whisper log-mel, the speaker embedding from campplus
 * over the Kaldi fbank, and the prompt mel, cut to two mel frames per token.
 */
final class PromptAnalyzer {

    private final OrtEnvironment env;
    private final OrtSession speechTokenizer;
    private final OrtSession campplus;
    private final String modelVersion;
    private final double maxSeconds;

    PromptAnalyzer(OnnxGraphs graphs, ModelConfig config) {
        this.env = graphs.environment();
        this.speechTokenizer = graphs.session("speech_tokenizer.onnx");
        this.campplus = graphs.session("campplus.onnx");
        this.modelVersion = config.model().version();
        this.maxSeconds = config.audio().maxPromptSeconds();
    }

    /** @throws IllegalArgumentException when the model cannot use the audio (too long, too short, bad rate) */
    PromptFeatures analyze(float[] mono, int sampleRate) {
        double seconds = (double) mono.length / sampleRate;
        if (seconds > maxSeconds + 0.15) {
            throw new IllegalArgumentException(String.format(java.util.Locale.ROOT,
                    "the speech tokenizer takes at most %.0f s of prompt audio, got %.2f s", maxSeconds, seconds));
        }
        PromptAudioFeatures features = PromptAudioFeatures.compute(mono, sampleRate);
        try {
            long[] tokens = speechTokens(features);
            float[] embedding = speakerEmbedding(features);
            int pairs = Math.min(features.promptMelFrames() / 2, tokens.length);
            if (pairs == 0) {
                throw new IllegalArgumentException("the prompt audio gave no speech tokens");
            }
            int[] kept = Arrays.stream(tokens, 0, pairs).mapToInt(Math::toIntExact).toArray();
            int frames = 2 * pairs;
            float[] mel = Arrays.copyOf(features.promptMel(), frames * PromptAudioFeatures.PROMPT_MEL_BINS);
            return new PromptFeatures(modelVersion, kept, embedding, mel, frames);
        } catch (OrtException e) {
            throw new IllegalStateException("prompt analysis failed in ONNX Runtime: " + e.getMessage(), e);
        }
    }

    private long[] speechTokens(PromptAudioFeatures features) throws OrtException {
        try (OnnxTensor feats = OnnxTensor.createTensor(env, FloatBuffer.wrap(features.speechTokenizerMel()),
                features.speechTokenizerMelShape());
             OnnxTensor length = OnnxTensor.createTensor(env, IntBuffer.wrap(new int[] {features.tokenizerFrames()}),
                     new long[] {1});
             OrtSession.Result result = speechTokenizer.run(Map.of("feats", feats, "feats_length", length))) {
            return ((long[][]) result.get(0).getValue())[0];
        }
    }

    private float[] speakerEmbedding(PromptAudioFeatures features) throws OrtException {
        try (OnnxTensor fbank = OnnxTensor.createTensor(env, FloatBuffer.wrap(features.speakerFbank()),
                features.speakerFbankShape());
             OrtSession.Result result = campplus.run(Map.of("fbank", fbank))) {
            return ((float[][]) result.get(0).getValue())[0];
        }
    }
}
