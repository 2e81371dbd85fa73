package io.cosyvoice.api;

import io.cosyvoice.audio.AudioEncoder;
import io.cosyvoice.audio.AudioFormat;
import io.cosyvoice.audio.Mp3BitRates;
import io.cosyvoice.audio.OutputPipeline;
import io.cosyvoice.audio.TimeStretcher;
import io.cosyvoice.synthesis.SynthesisMessages;

/**
 * Turns the backend's 24 kHz float chunks into the client's bytes: speed (when the backend did
 * not apply it), resampling, volume, then the requested encoding. One per synthesis stream.
 */
final class AudioOutput {

    private static final int WAV_HEADER_BYTES = 44;

    private final OutputPipeline pipeline;
    private final int bitRateKbps;
    private final AudioFormat format;
    private final int sampleRate;

    AudioOutput(SpeechParameters params, boolean speedApplied, boolean streamingHeader) {
        this.format = params.format();
        this.sampleRate = params.sampleRate();
        this.bitRateKbps = Mp3BitRates.effectiveMp3BitRate(params.sampleRate(), params.bitRateKbps());
        AudioEncoder encoder = AudioEncoder.create(params.format(), params.sampleRate(), bitRateKbps, streamingHeader);
        this.pipeline = new OutputPipeline(SynthesisMessages.SAMPLE_RATE, params.sampleRate(),
                speedApplied ? params.speed() / engineSpeed(params.speed()) : params.speed(), params.volume(), encoder);
    }

    /**
     * The speed to ask the backend for: the model's own range (0.5 to 2.0, in the mel domain); the
     * rest of a speed beyond it is time-stretched here after synthesis.
     */
    static double engineSpeed(double speed) {
        return Math.clamp(speed, TimeStretcher.MIN_SPEED, TimeStretcher.MAX_SPEED);
    }

    /** The MP3 bit rate actually used, for the {@code X-Audio-Bit-Rate} header. */
    static String effectiveBitRateHeader(SpeechParameters params) {
        return params.format() == AudioFormat.MP3
                ? Mp3BitRates.effectiveMp3BitRate(params.sampleRate(), params.bitRateKbps()) + "k" : null;
    }

    byte[] chunk(float[] samples) {
        return pipeline.process(samples);
    }

    byte[] finish() {
        return pipeline.finish();
    }

    /** Seconds of audio produced so far, at the output rate. */
    double seconds() {
        return pipeline.secondsOut();
    }

    int bitRateKbps() {
        return bitRateKbps;
    }

    /** Seconds of audio carried by encoded bytes (CBR MP3, 16-bit PCM; a WAV header carries none). */
    double secondsIn(byte[] bytes, boolean withWavHeader) {
        return switch (format) {
            case MP3 -> bytes.length * 8.0 / (bitRateKbps * 1000.0);
            case WAV -> Math.max(0, bytes.length - (withWavHeader ? WAV_HEADER_BYTES : 0)) / 2.0 / sampleRate;
            case PCM -> bytes.length / 2.0 / sampleRate;
        };
    }
}
