package io.cosyvoice.audio;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class OutputPipelineTest {

    private static final int MODEL_RATE = 24000;
    private static final double TONE_HZ = 1000;

    /** The bytes of each process() call, then of finish(). */
    private record Run(List<byte[]> parts, byte[] all, OutputPipeline pipeline) {}

    private static Run run(float[] model, int outRate, double speed, double volume, AudioEncoder encoder) {
        OutputPipeline p = new OutputPipeline(MODEL_RATE, outRate, speed, volume, encoder);
        List<byte[]> parts = new ArrayList<>();
        for (float[] c : OutputAudio.chunks(model, MODEL_RATE)) {
            parts.add(p.process(c));
        }
        parts.add(p.finish());
        return new Run(parts, OutputAudio.concat(parts), p);
    }

    private static DecodedAudio decode(byte[] bytes, String format, int rate) throws AudioDecodeException {
        AudioHint hint = format.equals("pcm") ? new AudioHint("x.pcm", "audio/pcm", OptionalInt.of(rate))
                : AudioHint.none();
        return AudioDecoder.decode(bytes, hint);
    }

    private static AudioEncoder encoder(String format, int rate) {
        return switch (format) {
            case "wav" -> AudioEncoder.create(AudioFormat.WAV, rate, 0, true);
            case "wav-file" -> AudioEncoder.create(AudioFormat.WAV, rate, 0, false);
            case "pcm" -> AudioEncoder.create(AudioFormat.PCM, rate, 0, true);
            default -> AudioEncoder.create(AudioFormat.MP3, rate, 192, true);
        };
    }

    @ParameterizedTest(name = "{0} at {1} Hz")
    @CsvSource({
        "wav, 8000", "wav, 16000", "wav, 22050", "wav, 24000", "wav, 32000", "wav, 44100", "wav, 48000",
        "wav-file, 8000", "wav-file, 22050", "wav-file, 24000", "wav-file, 48000",
        "pcm, 8000", "pcm, 16000", "pcm, 22050", "pcm, 24000", "pcm, 44100", "pcm, 48000",
        "mp3, 8000", "mp3, 16000", "mp3, 22050", "mp3, 24000", "mp3, 32000", "mp3, 44100", "mp3, 48000",
    })
    void threeSecondsOfModelAudioBecomeThreeSecondsInTheRequestedFormat(String format, int rate) throws Exception {
        float[] model = TestAudio.tone(MODEL_RATE, 3.0, TONE_HZ, 0.5);
        float[] original = model.clone();

        Run r = run(model, rate, 1.0, 1.0, encoder(format, rate));
        DecodedAudio d = decode(r.all(), format, rate);

        boolean mp3 = format.equals("mp3");
        int expected = 3 * rate;
        // LAME adds its encoder delay (576 + 529 decoder delay) and pads the last frame.
        int slack = mp3 ? 576 + 529 + 2 * MpegFrame.parse(r.all(), 0).samples() : 1;
        int from = rate / 2;
        int to = rate * 5 / 2;
        assertAll(
                () -> assertEquals(rate, d.sampleRate()),
                () -> assertEquals(1, d.channels()),
                () -> assertTrue(d.frames() >= expected - 1 && d.frames() <= expected + slack,
                        d.frames() + " frames, expected " + expected),
                () -> assertEquals(expected, r.pipeline().samplesOut(), 1),
                () -> assertEquals(3.0, r.pipeline().secondsOut(), 1.0 / rate),
                () -> assertEquals(TONE_HZ, TestAudio.zeroCrossingHz(d.samples(), rate, from, to), TONE_HZ * 0.005),
                () -> assertEquals(0.5, TestAudio.toneAmplitude(d.samples(), rate, TONE_HZ, from, to),
                        mp3 ? 0.05 : 0.005),
                () -> assertArrayEquals(original, model, "the model's chunks are not modified"));
        if (!mp3) {
            // Sample-accurate formats: the whole output is the tone, to 16-bit precision.
            float[] s = d.samples();
            double maxErr = 0;
            for (int k = rate / 100; k < s.length - rate / 100; k++) {
                maxErr = Math.max(maxErr, Math.abs(s[k] - 0.5 * Math.sin(2 * Math.PI * TONE_HZ * k / rate)));
            }
            assertTrue(maxErr < 2e-3, "max error " + maxErr);
        }
    }

    @ParameterizedTest(name = "{0} Hz")
    @CsvSource({"8000", "22050", "24000", "48000"})
    void mp3ChunksAreWholeFramesAsTheyArrive(int rate) throws Exception {
        Run r = run(TestAudio.tone(MODEL_RATE, 3.0, 440, 0.5), rate, 1.0, 1.0,
                AudioEncoder.create(AudioFormat.MP3, rate, 384, true));

        int effective = Mp3BitRates.effectiveMp3BitRate(rate, 384);
        int withAudio = 0;
        for (byte[] part : r.parts()) {
            List<MpegFrame> frames = OutputAudio.wholeFrames(part);
            assertNotNull(frames, "a chunk of " + part.length + " bytes is not whole frames");
            for (MpegFrame f : frames) {
                assertEquals(effective * 1000, f.bitrate());
                assertEquals(rate, f.sampleRate());
            }
            withAudio += part.length > 0 ? 1 : 0;
        }
        // Audio flows during the stream, not only at the end.
        assertTrue(withAudio >= r.parts().size() / 2, withAudio + " of " + r.parts().size() + " chunks");
    }

    @Test
    void streamingWavHeaderComesFirstAndOnlyOnce() {
        Run r = run(TestAudio.tone(MODEL_RATE, 1.0, 440, 0.5), 16000, 1.0, 1.0,
                AudioEncoder.create(AudioFormat.WAV, 16000, 0, true));

        byte[] first = r.parts().get(0);
        assertEquals("RIFF", new String(first, 0, 4, java.nio.charset.StandardCharsets.US_ASCII));
        assertEquals(0xFFFFFFFFL, OutputAudio.le32(first, 4));
        assertEquals(0xFFFFFFFFL, OutputAudio.le32(first, 40));
        assertEquals(44 + 2 * 16000, r.all().length, 2);
    }

    @ParameterizedTest(name = "speed {0} -> {2}")
    @CsvSource({"0.5, wav, 16000", "2.0, wav, 16000", "0.5, mp3, 24000", "2.0, mp3, 44100", "1.5, pcm, 48000",
        "0.75, pcm, 8000", "2.0, wav-file, 22050", "0.25, wav, 24000", "4.0, pcm, 24000", "3.0, mp3, 24000",
        "0.3, pcm, 16000"})
    void speedChangesTheDurationNotThePitch(double speed, String format, int rate) throws Exception {
        float[] model = TestAudio.tone(MODEL_RATE, 3.0, 200, 0.5);

        Run r = run(model, rate, speed, 1.0, encoder(format, rate));
        DecodedAudio d = decode(r.all(), format, rate);

        double seconds = 3.0 / speed;
        double slack = format.equals("mp3") ? 0.15 : 0.0;
        int from = d.frames() / 5;
        int to = d.frames() * 4 / 5;
        assertAll(
                () -> assertEquals(rate, d.sampleRate()),
                () -> assertTrue(d.durationSeconds() >= seconds * 0.98 - 0.03
                        && d.durationSeconds() <= seconds * 1.02 + 0.03 + slack, d.durationSeconds() + " s"),
                () -> assertEquals(seconds, r.pipeline().secondsOut(), 0.001),
                () -> assertEquals(200, TestAudio.zeroCrossingHz(d.samples(), rate, from, to), 4),
                () -> assertEquals(0.5, TestAudio.toneAmplitude(d.samples(), rate, 200, from, to), 0.05));
    }

    @ParameterizedTest(name = "volume {0} -> {1} Hz")
    @CsvSource({"1.5, 24000, 0.75", "0.5, 16000, 0.25", "0.1, 44100, 0.05"})
    void volumeScalesQuietAudioLinearly(double volume, int rate, double amplitude) throws Exception {
        Run r = run(TestAudio.tone(MODEL_RATE, 1.0, TONE_HZ, 0.5), rate, 1.0, volume,
                AudioEncoder.create(AudioFormat.PCM, rate, 0, true));
        DecodedAudio d = decode(r.all(), "pcm", rate);

        assertEquals(amplitude, TestAudio.toneAmplitude(d.samples(), rate, TONE_HZ, rate / 10, rate * 9 / 10),
                amplitude * 0.01);
    }

    @ParameterizedTest(name = "volume {0}, speed {1}")
    @CsvSource({"4, 1.0", "10, 1.0", "3, 1.3"})
    void loudVolumeIsLimitedWithoutClipping(double volume, double speed) throws Exception {
        Run r = run(TestAudio.tone(MODEL_RATE, 1.0, 440, 0.5), 48000, speed, volume,
                AudioEncoder.create(AudioFormat.WAV, 48000, 0, false));
        float[] s = decode(r.all(), "wav", 48000).samples();

        float peak = 0;
        for (float v : s) {
            peak = Math.max(peak, Math.abs(v));
        }
        assertTrue(peak <= 1.0f && peak > 0.9f, "peak " + peak);
        // The waveform is still a recognisable, louder 440 Hz tone.
        assertTrue(TestAudio.toneAmplitude(s, 48000, 440, 4800, s.length - 4800) > 0.9);
        assertEquals(440, TestAudio.zeroCrossingHz(s, 48000, 4800, s.length - 4800), 440 * 0.02);
    }

    @Test
    void durationIsCountedAsAudioIsProduced() {
        OutputPipeline p = new OutputPipeline(MODEL_RATE, 16000, 1.0, 1.0,
                AudioEncoder.create(AudioFormat.PCM, 16000, 0, true));
        byte[] a = p.process(TestAudio.tone(MODEL_RATE, 0.5, 440));
        assertEquals(a.length / 2, p.samplesOut());
        assertTrue(p.secondsOut() > 0.49 && p.secondsOut() <= 0.5, p.secondsOut() + " s");
        byte[] b = p.finish();
        assertEquals((a.length + b.length) / 2, p.samplesOut());
        assertEquals(0.5, p.secondsOut(), 1.0 / 16000);
        assertThrows(IllegalStateException.class, () -> p.process(new float[1]));
        assertThrows(IllegalStateException.class, p::finish);
    }

    @Test
    void anEmptyStreamIsStillAValidFile() throws Exception {
        Run wav = run(new float[0], 24000, 1.0, 1.0, AudioEncoder.create(AudioFormat.WAV, 24000, 0, false));
        assertEquals(44, wav.all().length);
        assertEquals(0, AudioDecoder.decode(wav.all(), AudioHint.none()).frames());

        Run streamed = run(new float[0], 24000, 2.0, 1.0, AudioEncoder.create(AudioFormat.WAV, 24000, 0, true));
        assertEquals(44, streamed.all().length);

        Run mp3 = run(new float[0], 24000, 1.0, 1.0, AudioEncoder.create(AudioFormat.MP3, 24000, 64, true));
        assertNotNull(OutputAudio.wholeFrames(mp3.all()));
    }

    @Test
    void rejectsBadSettings() {
        AudioEncoder wav = AudioEncoder.create(AudioFormat.WAV, 16000, 0, true);
        assertThrows(IllegalArgumentException.class, () -> new OutputPipeline(24000, 22050, 1.0, 1.0, wav));
        assertThrows(IllegalArgumentException.class, () -> new OutputPipeline(24000, 16000, 0.2, 1.0, wav));
        assertThrows(IllegalArgumentException.class, () -> new OutputPipeline(24000, 16000, 4.5, 1.0, wav));
        assertThrows(IllegalArgumentException.class, () -> new OutputPipeline(24000, 16000, 1.0, 0.0, wav));
        assertThrows(IllegalArgumentException.class, () -> new OutputPipeline(24000, 16000, 1.0, 11, wav));
        assertThrows(NullPointerException.class, () -> new OutputPipeline(24000, 16000, 1.0, 1.0, null));
    }
}
