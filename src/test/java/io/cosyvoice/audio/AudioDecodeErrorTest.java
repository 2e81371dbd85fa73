package io.cosyvoice.audio;

import static io.cosyvoice.audio.AudioDecodeException.Kind.MALFORMED;
import static io.cosyvoice.audio.AudioDecodeException.Kind.NOT_AUDIO;
import static io.cosyvoice.audio.AudioDecodeException.Kind.TRUNCATED;
import static io.cosyvoice.audio.AudioDecodeException.Kind.UNSUPPORTED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.OptionalInt;
import java.util.Random;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class AudioDecodeErrorTest {

    private static byte[] mp3;

    @BeforeAll
    static void encode() {
        mp3 = TestAudio.mp3(1.0, 24000, 1, 48);
    }

    @Test
    void emptyInputIsNotAudio() {
        assertFails(NOT_AUDIO, new byte[0], AudioHint.none(), "empty");
        assertFails(NOT_AUDIO, null, null, "empty");
        assertFails(NOT_AUDIO, new byte[0], new AudioHint("v.pcm", "audio/pcm", OptionalInt.of(16000)), "empty");
    }

    @Test
    void aTextFileIsNotAudioEvenWhenNamedPcm() {
        byte[] text = "Hello, this is the transcript of my reference recording.\nSecond line: é ü 你好.\n"
                .repeat(50).getBytes(StandardCharsets.UTF_8);
        assertFails(NOT_AUDIO, text, AudioHint.of("voice.pcm", "audio/pcm"), "text");
        assertFails(NOT_AUDIO, text, new AudioHint("notes.txt", "text/plain", OptionalInt.of(16000)), "text");
        assertFails(NOT_AUDIO, text, AudioHint.of("notes.txt", "text/plain"), "not a WAV, MP3 or PCM audio file");
        byte[] oddText = "odd length text!!".getBytes(StandardCharsets.US_ASCII);
        assertEquals(1, oddText.length & 1);
        assertFails(NOT_AUDIO, oddText, AudioHint.of("x.raw", null), "text");
    }

    @Test
    void randomBytesAreNotAudio() {
        byte[] random = new byte[50_000];
        new Random(42).nextBytes(random);
        assertFails(NOT_AUDIO, random, AudioHint.of("upload.bin", "application/octet-stream"),
                "not a WAV, MP3 or PCM audio file");
    }

    @Test
    void aPngImageIsNotAudio() {
        byte[] png = new byte[2000];
        new Random(1).nextBytes(png);
        byte[] header = {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, 'I', 'H', 'D', 'R'};
        System.arraycopy(header, 0, png, 0, header.length);
        assertFails(NOT_AUDIO, png, AudioHint.of("voice.wav", "audio/wav"), "PNG");
    }

    @Test
    void otherAudioFormatsAreUnsupported() {
        byte[] flac = Arrays.copyOf("fLaC\0\0\0\"".getBytes(StandardCharsets.ISO_8859_1), 500);
        assertFails(UNSUPPORTED, flac, AudioHint.of("voice.flac", null), "FLAC");
        byte[] ogg = Arrays.copyOf("OggS\0\u0002".getBytes(StandardCharsets.ISO_8859_1), 500);
        assertFails(UNSUPPORTED, ogg, AudioHint.none(), "Ogg");
        byte[] m4a = Arrays.copyOf("\0\0\0\u0020ftypM4A ".getBytes(StandardCharsets.ISO_8859_1), 500);
        assertFails(UNSUPPORTED, m4a, AudioHint.none(), "M4A");
        byte[] flacWithId3 = TestAudio.withId3v2(flac, "flac", 0);
        assertFails(UNSUPPORTED, flacWithId3, AudioHint.none(), "FLAC");
    }

    @Test
    void wavTruncatedInTheData() {
        byte[] wav = TestAudio.wav16(3.0, 16000); // 96000 data bytes
        byte[] cut = Arrays.copyOf(wav, wav.length - 1000);
        assertFails(TRUNCATED, cut, AudioHint.of("voice.wav", "audio/wav"),
                "WAV data chunk is truncated: header declares 96000 bytes, 95000 present");
    }

    @Test
    void wavCutInsideTheHeader() {
        byte[] wav = TestAudio.wav16(1.0, 16000);
        for (int length : new int[] {4, 11, 16, 30, 38, 40}) {
            assertFails(TRUNCATED, Arrays.copyOf(wav, length), AudioHint.none(), "truncated");
        }
    }

    @Test
    void wavWithAPartialSampleFrameAtTheEnd() {
        byte[] wav = TestAudio.wav(TestAudio.tone(16000, 1, 440), 16000, 2, 24, false);
        byte[] streaming = Arrays.copyOf(wav, wav.length - 2);
        ByteBuffer.wrap(streaming).order(ByteOrder.LITTLE_ENDIAN).putInt(TestAudio.chunkOffset(wav, "data") + 4, -1);
        assertFails(TRUNCATED, streaming, AudioHint.none(), "partial sample frame");
        byte[] declared = wav.clone();
        ByteBuffer.wrap(declared).order(ByteOrder.LITTLE_ENDIAN).putInt(TestAudio.chunkOffset(wav, "data") + 4,
                16000 * 6 - 3);
        assertFails(TRUNCATED, declared, AudioHint.none(), "partial sample frame");
    }

    @Test
    void wavWithAdpcmIsUnsupported() {
        byte[] wav = TestAudio.wav16(1.0, 16000);
        wav[TestAudio.chunkOffset(wav, "fmt ") + 8] = 2; // format tag 0x0002
        assertFails(UNSUPPORTED, wav, AudioHint.none(), "0x0002");
    }

    @Test
    void wavWithoutFmtOrDataIsMalformed() {
        byte[] data = TestAudio.chunk("data", new byte[1000]);
        byte[] fmt = TestAudio.chunk("fmt ", WavDecodeTest.fmt16(1, 1, 16000, 16));
        assertFails(MALFORMED, TestAudio.riff(data), AudioHint.none(), "no fmt chunk");
        assertFails(MALFORMED, TestAudio.riff(fmt, TestAudio.chunk("LIST", new byte[10])), AudioHint.none(),
                "no data chunk");
        byte[] shortFmt = TestAudio.riff(TestAudio.chunk("fmt ", new byte[12]), data);
        assertFails(MALFORMED, shortFmt, AudioHint.none(), "too short");
        byte[] avi = TestAudio.riff(data);
        System.arraycopy("AVI ".getBytes(StandardCharsets.US_ASCII), 0, avi, 8, 4);
        assertFails(NOT_AUDIO, avi, AudioHint.none(), "not WAVE");
    }

    @Test
    void mp3CutMidFrameIsTruncated() {
        MpegFrame h = MpegFrame.parse(mp3, 0);
        byte[] cut = Arrays.copyOf(mp3, mp3.length - h.length() / 2);
        assertFails(TRUNCATED, cut, AudioHint.of("voice.mp3", "audio/mpeg"), "truncated");
        assertFails(TRUNCATED, TestAudio.withId3v2(cut, "cut", 10), AudioHint.none(), "truncated");
        // a tagged file cut inside its first frame
        assertFails(TRUNCATED, TestAudio.withId3v2(Arrays.copyOf(mp3, h.length() - 10), "short", 0),
                AudioHint.none(), "truncated");
        // cut inside the last frame's header
        assertFails(TRUNCATED, Arrays.copyOf(mp3, mp3.length - h.length() + 2), AudioHint.none(), "truncated");
    }

    @Test
    void mp3WithOnlyJunkAfterTheId3TagIsMalformed() {
        byte[] junk = new byte[3000];
        new Random(3).nextBytes(junk);
        assertFails(MALFORMED, TestAudio.withId3v2(junk, "no audio", 100), AudioHint.of("voice.mp3", null),
                "no valid MPEG audio frames");
        assertFails(MALFORMED, TestAudio.withId3v2(new byte[0], "empty", 100), AudioHint.none(), "no audio");
    }

    @Test
    void anId3TagClaimingMoreBytesThanPresentIsTruncated() {
        byte[] tagged = TestAudio.withId3v2(mp3, "big", 0);
        int claimed = tagged.length * 2;
        tagged[6] = (byte) (claimed >> 21 & 0x7F);
        tagged[7] = (byte) (claimed >> 14 & 0x7F);
        tagged[8] = (byte) (claimed >> 7 & 0x7F);
        tagged[9] = (byte) (claimed & 0x7F);
        assertFails(TRUNCATED, tagged, AudioHint.none(), "ID3 tag is truncated");
        assertFails(TRUNCATED, Arrays.copyOf(tagged, 7), AudioHint.none(), "ID3 tag is truncated");
    }

    @Test
    void corruptMp3FramesAreReportedWithoutInternals() throws Exception {
        // Keep every frame header valid but scramble the frame bodies.
        byte[] corrupt = mp3.clone();
        Random random = new Random(11);
        int p = 0;
        while (p < corrupt.length) {
            MpegFrame h = MpegFrame.parse(corrupt, p);
            for (int i = p + 4; i < p + h.length(); i++) {
                corrupt[i] = (byte) random.nextInt(256);
            }
            p += h.length();
        }
        try {
            DecodedAudio a = AudioDecoder.decode(corrupt, AudioHint.none());
            assertEquals(AudioFormat.MP3, a.format()); // JLayer may well decode noise: still MP3
            for (float v : a.samples()) {
                assertTrue(v >= -1f && v <= 1f);
            }
        } catch (AudioDecodeException e) {
            assertEquals(MALFORMED, e.kind());
            assertClean(e.getMessage());
        }
    }

    private static void assertFails(AudioDecodeException.Kind kind, byte[] data, AudioHint hint, String messagePart) {
        AudioDecodeException e = assertThrows(AudioDecodeException.class, () -> AudioDecoder.decode(data, hint));
        assertEquals(kind, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains(messagePart), "message '" + e.getMessage() + "' lacks '" + messagePart + "'");
        assertClean(e.getMessage());
    }

    private static void assertClean(String message) {
        assertTrue(message.length() < 160, message);
        assertFalse(message.contains("Exception"), message);
        assertFalse(message.contains("javazoom"), message);
        assertFalse(message.contains("\n"), message);
    }
}
