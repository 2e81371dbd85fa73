package io.cosyvoice.audio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Full-length (30 s) uploads decode completely and correctly. Speed is for benchmarks, not unit tests. */
class LongAudioDecodeTest {

    @Test
    void thirtySecondsOf48kStereoWav() throws Exception {
        byte[] wav = TestAudio.wav(TestAudio.tone(48000, 30.0, 440), 48000, 2, 16, false);

        DecodedAudio a = AudioDecoder.decode(wav, AudioHint.of("long.wav", "audio/wav"));

        assertEquals(AudioFormat.WAV, a.format());
        assertEquals(48000, a.sampleRate());
        assertEquals(2, a.channels());
        assertEquals(30.0, a.durationSeconds());
        assertEquals(1_440_000, a.frames());
        assertEquals(440, TestAudio.zeroCrossingHz(a.samples(), 48000, 0, a.frames()), 0.5);
        assertEquals(0.5, TestAudio.toneAmplitude(a.samples(), 48000, 440, 0, 48000), 0.001);
        assertEquals(0.5, TestAudio.toneAmplitude(a.samples(), 48000, 440, a.frames() - 48000, a.frames()), 0.001);
    }

    @Test
    void thirtySecondsOfStereoMp3() throws Exception {
        byte[] mp3 = TestAudio.mp3(30.0, 44100, 2, 128);

        DecodedAudio a = AudioDecoder.decode(mp3, AudioHint.none());

        assertEquals(AudioFormat.MP3, a.format());
        assertEquals(44100, a.sampleRate());
        assertEquals(2, a.channels());
        assertTrue(a.durationSeconds() >= 30.0 && a.durationSeconds() < 30.1, "duration " + a.durationSeconds());
        assertEquals(440, TestAudio.zeroCrossingHz(a.samples(), 44100, 44100, 29 * 44100), 0.5);
    }
}
