package io.cosyvoice.audio;

import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;

/**
 * What the model needs from a reference voice's audio (models/README.md, "The runtime's part" →
 * Features): the audio resampled to 16 and 24 kHz with torchaudio's sinc resampler, then
 * <ul>
 *   <li>{@code speechTokenizerMel}: Whisper log-mel, {@code [128, tokenizerFrames]} bin-major: the
 *       {@code feats} input of speech_tokenizer.onnx as {@code [1, 128, T]};</li>
 *   <li>{@code speakerFbank}: Kaldi fbank minus its mean over frames, {@code [fbankFrames, 80]}
 *       frame-major: the {@code fbank} input of campplus.onnx as {@code [1, T, 80]};</li>
 *   <li>{@code promptMel}: the flow's 24 kHz mel, {@code [promptMelFrames, 80]} frame-major, before
 *       the prompt alignment cuts it to twice the token count.</li>
 * </ul>
 * Flat row-major arrays so each wraps directly as an ONNX tensor ({@code FloatBuffer.wrap(a)} with
 * the matching {@code …Shape()}). They match {@code models/reference/features.py} within the golden
 * files' tolerances. The arrays are handed over, not copied: treat them as read-only.
 */
public record PromptAudioFeatures(float[] speechTokenizerMel, int tokenizerFrames, float[] speakerFbank,
        int fbankFrames, float[] promptMel, int promptMelFrames) {

    public static final int TOKENIZER_MEL_BINS = MelFeatures.TOKENIZER_BINS;
    public static final int FBANK_BINS = MelFeatures.FBANK_BINS;
    public static final int PROMPT_MEL_BINS = MelFeatures.PROMPT_MEL_BINS;
    /** The lowest accepted input rate: the speech tokenizer and speaker model work on 16 kHz audio. */
    public static final int MIN_SAMPLE_RATE = 16000;
    /** The highest accepted input rate, as the decoders' (bounds the resampler's kernel). */
    public static final int MAX_SAMPLE_RATE = WavDecoder.MAX_SAMPLE_RATE;

    public PromptAudioFeatures {
        checkLength("speechTokenizerMel", speechTokenizerMel, tokenizerFrames, TOKENIZER_MEL_BINS);
        checkLength("speakerFbank", speakerFbank, fbankFrames, FBANK_BINS);
        checkLength("promptMel", promptMel, promptMelFrames, PROMPT_MEL_BINS);
    }

    /**
     * Computes the features of mono audio.
     *
     * <p>Takes about 60 ms of one core for 30 s of audio. The prompt-length limit
     * ({@code max_prompt_seconds} of model.json) is the caller's to enforce.
     *
     * @param samples    mono samples in [-1, 1] (not modified)
     * @param sampleRate their rate in Hz, {@value #MIN_SAMPLE_RATE} to {@value #MAX_SAMPLE_RATE}
     * @throws IllegalArgumentException naming the problem when the rate is out of range, the audio is
     *         too short for the features (about 30 ms) or has NaN or infinite samples
     */
    public static PromptAudioFeatures compute(float[] samples, int sampleRate) {
        Objects.requireNonNull(samples, "samples");
        if (sampleRate < MIN_SAMPLE_RATE || sampleRate > MAX_SAMPLE_RATE) {
            throw new IllegalArgumentException("prompt audio sampled at " + sampleRate + " Hz is not supported: "
                    + (sampleRate < MIN_SAMPLE_RATE
                            ? "at least " + MIN_SAMPLE_RATE + " Hz is needed"
                            : "at most " + MAX_SAMPLE_RATE + " Hz"));
        }
        if (SincResampler.outputLength(samples.length, sampleRate, 16000) < MelFeatures.MIN_SAMPLES_16K
                || SincResampler.outputLength(samples.length, sampleRate, 24000) < MelFeatures.MIN_SAMPLES_24K) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "prompt audio is too short: %.1f ms (%d samples at %d Hz); the features need at least %d samples"
                            + " at 16 kHz and %d at 24 kHz (about 30 ms)",
                    samples.length * 1000.0 / sampleRate, samples.length, sampleRate,
                    MelFeatures.MIN_SAMPLES_16K, MelFeatures.MIN_SAMPLES_24K));
        }
        for (float s : samples) {
            if (!Float.isFinite(s)) {
                throw new IllegalArgumentException("prompt audio contains NaN or infinite samples");
            }
        }
        // the features only read their input: no copy when the rate already matches
        float[] a16 = sampleRate == 16000 ? samples : SincResampler.of(sampleRate, 16000).resample(samples);
        float[] a24 = sampleRate == 24000 ? samples : SincResampler.of(sampleRate, 24000).resample(samples);
        float[] mel = MelFeatures.speechTokenizerMel(a16);
        float[] fbank = MelFeatures.speakerFbank(a16);
        float[] prompt = MelFeatures.promptMel(a24);
        return new PromptAudioFeatures(mel, mel.length / TOKENIZER_MEL_BINS, fbank, fbank.length / FBANK_BINS,
                prompt, prompt.length / PROMPT_MEL_BINS);
    }

    /** {@code [1, 128, tokenizerFrames]}: speech_tokenizer.onnx's {@code feats}. */
    public long[] speechTokenizerMelShape() {
        return new long[] {1, TOKENIZER_MEL_BINS, tokenizerFrames};
    }

    /** {@code [1, fbankFrames, 80]}: campplus.onnx's {@code fbank}. */
    public long[] speakerFbankShape() {
        return new long[] {1, fbankFrames, FBANK_BINS};
    }

    /** {@code [promptMelFrames, 80]}. */
    public long[] promptMelShape() {
        return new long[] {promptMelFrames, PROMPT_MEL_BINS};
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PromptAudioFeatures f
                && tokenizerFrames == f.tokenizerFrames && fbankFrames == f.fbankFrames
                && promptMelFrames == f.promptMelFrames && Arrays.equals(speechTokenizerMel, f.speechTokenizerMel)
                && Arrays.equals(speakerFbank, f.speakerFbank) && Arrays.equals(promptMel, f.promptMel);
    }

    @Override
    public int hashCode() {
        return Objects.hash(tokenizerFrames, fbankFrames, promptMelFrames, Arrays.hashCode(speechTokenizerMel),
                Arrays.hashCode(speakerFbank), Arrays.hashCode(promptMel));
    }

    @Override
    public String toString() {
        return "PromptAudioFeatures[speechTokenizerMel=" + Arrays.toString(speechTokenizerMelShape())
                + ", speakerFbank=" + Arrays.toString(speakerFbankShape())
                + ", promptMel=" + Arrays.toString(promptMelShape()) + "]";
    }

    private static void checkLength(String name, float[] data, int frames, int bins) {
        Objects.requireNonNull(data, name);
        if (frames <= 0 || data.length != (long) frames * bins) {
            throw new IllegalArgumentException(name + ": " + data.length + " values for " + frames + " frames of "
                    + bins + " bins");
        }
    }
}
