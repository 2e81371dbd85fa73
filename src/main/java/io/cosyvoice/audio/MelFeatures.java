package io.cosyvoice.audio;

/**
 * The three prompt features of the model-directory contract (models/README.md, "Features"), as
 * {@code models/reference/features.py} computes them: double arithmetic on float samples, float
 * results, flat row-major arrays. Windows, filter banks and FFT plans are built once and shared;
 * each call allocates its frame buffers once, not per frame.
 */
final class MelFeatures {

    static final int TOKENIZER_BINS = 128;
    static final int FBANK_BINS = 80;
    static final int PROMPT_MEL_BINS = 80;
    /** The shortest inputs the features are defined for: fbank's one frame, prompt mel's reflect padding + 1. */
    static final int MIN_SAMPLES_16K = 400;
    static final int MIN_SAMPLES_24K = 721;

    private static final int HOP_16K = 160;
    private static final int WIN_16K = 400;
    private static final int TOKENIZER_PAD = WIN_16K / 2;
    private static final int FBANK_FFT = 512;
    private static final double PREEMPHASIS = 0.97;
    /** Kaldi's log floor, {@code torch.finfo(torch.float32).eps}. */
    private static final double FLOAT32_EPS = 0x1p-23;
    private static final int PROMPT_FFT = 1920;
    private static final int PROMPT_HOP = 480;
    private static final int PROMPT_PAD = (PROMPT_FFT - PROMPT_HOP) / 2;

    private static final PowerSpectrum TOKENIZER_STFT = new PowerSpectrum(WIN_16K, PowerSpectrum.hann(WIN_16K));
    private static final MelFilterbank TOKENIZER_MELS = MelFilterbank.slaney(16000, WIN_16K, TOKENIZER_BINS, 0, 8000);
    private static final PowerSpectrum FBANK_STFT = new PowerSpectrum(FBANK_FFT, PowerSpectrum.povey(WIN_16K));
    private static final MelFilterbank FBANK_MELS = MelFilterbank.kaldi(FBANK_BINS, FBANK_FFT, 16000, 20, 0);
    private static final PowerSpectrum PROMPT_STFT = new PowerSpectrum(PROMPT_FFT, PowerSpectrum.hann(PROMPT_FFT));
    private static final MelFilterbank PROMPT_MELS = MelFilterbank.slaney(24000, PROMPT_FFT, PROMPT_MEL_BINS, 0, 8000);

    private MelFeatures() {}

    /**
     * Whisper's 128-bin log-mel of 16 kHz audio ({@code whisper.log_mel_spectrogram}), the input of
     * speech_tokenizer.onnx: {@code [128, T]} bin-major, {@code T = n / 160}. Reflect-padded by 200,
     * periodic Hann 400, power, Slaney mel 0–8 kHz, {@code log10} floored at 1e-10 and at the whole
     * array's maximum − 8, then {@code (x + 4) / 4}.
     */
    static float[] speechTokenizerMel(float[] x) {
        int n = x.length;
        if (n <= TOKENIZER_PAD) {
            throw new IllegalArgumentException("the speech tokenizer mel needs more than " + TOKENIZER_PAD
                    + " samples at 16 kHz, got " + n);
        }
        int frames = n / HOP_16K; // of the 1 + n / 160 padded frames, the last is dropped
        double[] frame = new double[WIN_16K];
        double[] power = new double[TOKENIZER_STFT.bins()];
        double[] mel = new double[TOKENIZER_BINS];
        double[] logs = new double[TOKENIZER_BINS * frames];
        double max = Double.NEGATIVE_INFINITY;
        for (int t = 0; t < frames; t++) {
            reflectFrame(x, t * HOP_16K - TOKENIZER_PAD, frame, WIN_16K);
            TOKENIZER_STFT.compute(frame, power);
            TOKENIZER_MELS.apply(power, mel);
            for (int b = 0; b < TOKENIZER_BINS; b++) {
                double l = Math.log10(Math.max(mel[b], 1e-10));
                logs[b * frames + t] = l;
                max = Math.max(max, l);
            }
        }
        double floor = max - 8.0;
        float[] out = new float[logs.length];
        for (int i = 0; i < logs.length; i++) {
            out[i] = (float) ((Math.max(logs[i], floor) + 4.0) / 4.0);
        }
        return out;
    }

    /**
     * Kaldi fbank of 16 kHz audio ({@code kaldi.fbank(wav, num_mel_bins=80, dither=0)}) minus its
     * mean over frames, the input of campplus.onnx: {@code [T, 80]}, {@code T = 1 + (n − 400) / 160}.
     * Per 400-sample frame (no edge padding): remove the frame's mean, pre-emphasis 0.97 (the first
     * sample against itself), Povey window, 512-point power, Kaldi mel 20 Hz–Nyquist, {@code ln}
     * floored at float32 epsilon.
     */
    static float[] speakerFbank(float[] x) {
        int n = x.length;
        if (n < MIN_SAMPLES_16K) {
            throw new IllegalArgumentException("the speaker fbank needs at least " + MIN_SAMPLES_16K
                    + " samples at 16 kHz, got " + n);
        }
        int frames = 1 + (n - WIN_16K) / HOP_16K;
        double[] frame = new double[FBANK_FFT];
        double[] power = new double[FBANK_STFT.bins()];
        double[] mel = new double[FBANK_BINS];
        double[] feats = new double[frames * FBANK_BINS];
        double[] mean = new double[FBANK_BINS];
        for (int t = 0; t < frames; t++) {
            int start = t * HOP_16K;
            double sum = 0.0;
            for (int i = 0; i < WIN_16K; i++) {
                frame[i] = x[start + i];
                sum += frame[i];
            }
            double frameMean = sum / WIN_16K;
            for (int i = 0; i < WIN_16K; i++) {
                frame[i] -= frameMean;
            }
            for (int i = WIN_16K - 1; i > 0; i--) { // backwards, so frame[i − 1] is still the input
                frame[i] -= PREEMPHASIS * frame[i - 1];
            }
            frame[0] -= PREEMPHASIS * frame[0];
            FBANK_STFT.compute(frame, power);
            FBANK_MELS.apply(power, mel);
            for (int b = 0; b < FBANK_BINS; b++) {
                double l = Math.log(Math.max(mel[b], FLOAT32_EPS));
                feats[t * FBANK_BINS + b] = l;
                mean[b] += l;
            }
        }
        for (int b = 0; b < FBANK_BINS; b++) {
            mean[b] /= frames;
        }
        float[] out = new float[feats.length];
        for (int i = 0; i < feats.length; i++) {
            out[i] = (float) (feats[i] - mean[i % FBANK_BINS]);
        }
        return out;
    }

    /**
     * The flow's prompt mel of 24 kHz audio (CosyVoice2's {@code feat_extractor}): {@code [F, 80]},
     * {@code F = n / 480}. Reflect-padded by 720, periodic Hann 1920, hop 480, magnitude
     * {@code sqrt(power + 1e-9)}, Slaney mel 0–8 kHz, {@code ln} floored at 1e-5.
     */
    static float[] promptMel(float[] x) {
        int n = x.length;
        if (n <= PROMPT_PAD) {
            throw new IllegalArgumentException("the prompt mel needs more than " + PROMPT_PAD
                    + " samples at 24 kHz, got " + n);
        }
        int frames = 1 + (n + 2 * PROMPT_PAD - PROMPT_FFT) / PROMPT_HOP;
        double[] frame = new double[PROMPT_FFT];
        double[] power = new double[PROMPT_STFT.bins()];
        double[] mel = new double[PROMPT_MEL_BINS];
        float[] out = new float[frames * PROMPT_MEL_BINS];
        for (int t = 0; t < frames; t++) {
            reflectFrame(x, t * PROMPT_HOP - PROMPT_PAD, frame, PROMPT_FFT);
            PROMPT_STFT.compute(frame, power);
            for (int k = 0; k < power.length; k++) {
                power[k] = Math.sqrt(power[k] + 1e-9);
            }
            PROMPT_MELS.apply(power, mel);
            for (int b = 0; b < PROMPT_MEL_BINS; b++) {
                out[t * PROMPT_MEL_BINS + b] = (float) Math.log(Math.max(mel[b], 1e-5));
            }
        }
        return out;
    }

    /**
     * {@code frame[j] = x[start + j]} for {@code j < len}, reflecting at both ends without repeating
     * the edge sample ({@code numpy.pad(mode="reflect")}); valid while the overhang is below {@code x.length}.
     */
    private static void reflectFrame(float[] x, int start, double[] frame, int len) {
        int n = x.length;
        if (start >= 0 && start + len <= n) {
            for (int j = 0; j < len; j++) {
                frame[j] = x[start + j];
            }
            return;
        }
        for (int j = 0; j < len; j++) {
            int i = start + j;
            frame[j] = x[i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i];
        }
    }
}
