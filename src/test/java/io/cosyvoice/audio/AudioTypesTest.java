package io.cosyvoice.audio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.OptionalInt;

import org.junit.jupiter.api.Test;

class AudioTypesTest {

    @Test
    void formatsKnowTheirExtensionAndMimeType() {
        assertEquals("wav", AudioFormat.WAV.extension());
        assertEquals("audio/wav", AudioFormat.WAV.mimeType());
        assertEquals("mp3", AudioFormat.MP3.extension());
        assertEquals("audio/mpeg", AudioFormat.MP3.mimeType());
        assertEquals("pcm", AudioFormat.PCM.extension());
        assertEquals("audio/pcm", AudioFormat.PCM.mimeType());
    }

    @Test
    void hintNoneSaysNothingAndANullRateIsEmpty() {
        AudioHint none = AudioHint.none();
        assertNull(none.filename());
        assertNull(none.contentType());
        assertTrue(none.pcmSampleRate().isEmpty());
        assertEquals(OptionalInt.empty(), new AudioHint("a.pcm", null, null).pcmSampleRate());
        assertEquals(new AudioHint("a.wav", "audio/wav", OptionalInt.empty()), AudioHint.of("a.wav", "audio/wav"));
    }

    @Test
    void decodedAudioReportsFramesAndDuration() {
        DecodedAudio a = new DecodedAudio(AudioFormat.PCM, 16000, 1, "pcm_s16le", new float[24000]);
        assertEquals(24000, a.frames());
        assertEquals(1.5, a.durationSeconds());
        assertEquals(a, new DecodedAudio(AudioFormat.PCM, 16000, 1, "pcm_s16le", new float[24000]));
        assertEquals(a.hashCode(), new DecodedAudio(AudioFormat.PCM, 16000, 1, "pcm_s16le", new float[24000]).hashCode());
        assertNotEquals(a, new DecodedAudio(AudioFormat.PCM, 16000, 1, "pcm_s16le", new float[24001]));
        assertTrue(a.toString().contains("frames=24000"), a.toString());
        assertThrows(IllegalArgumentException.class, () -> new DecodedAudio(AudioFormat.WAV, 0, 1, "x", new float[1]));
        assertThrows(NullPointerException.class, () -> new DecodedAudio(AudioFormat.WAV, 8000, 1, "x", null));
    }

    @Test
    void exceptionCarriesItsKind() {
        AudioDecodeException e = new AudioDecodeException(AudioDecodeException.Kind.TRUNCATED, "cut short");
        assertEquals(AudioDecodeException.Kind.TRUNCATED, e.kind());
        assertEquals("cut short", e.getMessage());
    }
}
