package io.cosyvoice.audio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;

import org.junit.jupiter.api.Test;

class PcmDecodeTest {

    @Test
    void pcmNamedByFileNameDecodesAtTheDefaultRate() throws Exception {
        byte[] pcm = TestAudio.pcm16(2.0, 16000);
        for (String name : List.of("voice.pcm", "VOICE.RAW", "clip.Pcm")) {
            DecodedAudio a = AudioDecoder.decode(pcm, AudioHint.of(name, null));
            assertEquals(AudioFormat.PCM, a.format());
            assertEquals(AudioDecoder.DEFAULT_PCM_SAMPLE_RATE, a.sampleRate());
            assertEquals(1, a.channels());
            assertEquals("pcm_s16le", a.encoding());
            assertEquals(32000, a.frames());
            assertEquals(2.0, a.durationSeconds(), 1e-9);
            assertEquals(440, TestAudio.zeroCrossingHz(a.samples(), 16000, 0, a.frames()), 1.0);
            assertEquals(0.5, TestAudio.toneAmplitude(a.samples(), 16000, 440, 0, a.frames()), 0.001);
        }
    }

    @Test
    void aDeclaredSampleRateIsUsed() throws Exception {
        byte[] pcm = TestAudio.pcm16(1.5, 24000);
        DecodedAudio a = AudioDecoder.decode(pcm, new AudioHint(null, null, OptionalInt.of(24000)));
        assertEquals(24000, a.sampleRate());
        assertEquals(1.5, a.durationSeconds(), 1e-9);
        assertEquals(440, TestAudio.zeroCrossingHz(a.samples(), 24000, 0, a.frames()), 1.0);
    }

    @Test
    void pcmContentTypesAreRecognisedAndL16RateParameterIsHonoured() throws Exception {
        byte[] pcm = TestAudio.pcm16(1.0, 8000);
        assertEquals(16000, AudioDecoder.decode(pcm, AudioHint.of(null, "audio/pcm")).sampleRate());
        assertEquals(16000, AudioDecoder.decode(pcm, AudioHint.of("upload", "audio/x-pcm")).sampleRate());
        assertEquals(16000, AudioDecoder.decode(pcm, AudioHint.of("a.pcm", "application/octet-stream")).sampleRate());
        DecodedAudio l16 = AudioDecoder.decode(pcm, AudioHint.of(null, "Audio/L16; rate=8000; channels=1"));
        assertEquals(8000, l16.sampleRate());
        assertEquals(1.0, l16.durationSeconds(), 1e-9);
        // an explicitly declared rate wins over the content type parameter
        assertEquals(22050, AudioDecoder.decode(pcm,
                new AudioHint(null, "audio/L16;rate=8000", OptionalInt.of(22050))).sampleRate());
    }

    @Test
    void withoutAPcmHintHeaderlessBytesAreNotAudio() {
        byte[] pcm = TestAudio.pcm16(1.0, 16000);
        for (AudioHint hint : List.of(AudioHint.none(), AudioHint.of("voice.wav", "audio/wav"),
                AudioHint.of("voice.bin", "application/octet-stream"))) {
            AudioDecodeException e = assertThrows(AudioDecodeException.class, () -> AudioDecoder.decode(pcm, hint));
            assertEquals(AudioDecodeException.Kind.NOT_AUDIO, e.kind());
            assertTrue(e.getMessage().contains("not a WAV, MP3 or PCM audio file"), e.getMessage());
        }
    }

    @Test
    void silenceIsValidPcm() throws Exception {
        DecodedAudio a = AudioDecoder.decode(new byte[32000], AudioHint.of("silence.pcm", null));
        assertEquals(16000, a.frames());
        assertEquals(0.0, TestAudio.rms(a.samples(), 0, a.frames()));
    }

    @Test
    void anOddByteCountIsTruncated() {
        byte[] pcm = Arrays.copyOf(TestAudio.pcm16(1.0, 16000), 32001);
        AudioDecodeException e = assertThrows(AudioDecodeException.class,
                () -> AudioDecoder.decode(pcm, AudioHint.of("voice.pcm", null)));
        assertEquals(AudioDecodeException.Kind.TRUNCATED, e.kind());
        assertTrue(e.getMessage().contains("32001"), e.getMessage());
    }

    @Test
    void unsupportedDeclaredRatesAndChannelsAreRejected() {
        byte[] pcm = TestAudio.pcm16(1.0, 16000);
        for (AudioHint hint : List.of(new AudioHint("v.pcm", null, OptionalInt.of(4000)),
                new AudioHint(null, null, OptionalInt.of(0)), AudioHint.of(null, "audio/L16; rate=abc"),
                AudioHint.of(null, "audio/L16; rate=16000; channels=2"))) {
            AudioDecodeException e = assertThrows(AudioDecodeException.class, () -> AudioDecoder.decode(pcm, hint));
            assertEquals(AudioDecodeException.Kind.UNSUPPORTED, e.kind(), hint.toString());
        }
    }
}
