package io.cosyvoice.audio;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

class AudioEncoderTest {

    private static String ascii(byte[] d, int off) {
        return new String(d, off, 4, StandardCharsets.US_ASCII);
    }

    @Test
    void streamingWavStartsWithAnUnknownLengthHeaderThenRawSamples() throws Exception {
        AudioEncoder e = AudioEncoder.create(AudioFormat.WAV, 22050, 0, true);
        float[] a = TestAudio.tone(22050, 0.1, 440);
        float[] b = TestAudio.tone(22050, 0.05, 440);

        byte[] first = e.encode(a);
        byte[] second = e.encode(b);
        byte[] last = e.finish();

        assertAll(
                () -> assertEquals(44 + 2 * a.length, first.length),
                () -> assertEquals("RIFF", ascii(first, 0)),
                () -> assertEquals(0xFFFFFFFFL, OutputAudio.le32(first, 4)),
                () -> assertEquals("WAVE", ascii(first, 8)),
                () -> assertEquals("fmt ", ascii(first, 12)),
                () -> assertEquals(16, OutputAudio.le32(first, 16)),
                () -> assertEquals(1, first[20] & 0xFF | (first[21] & 0xFF) << 8),
                () -> assertEquals(1, first[22] & 0xFF | (first[23] & 0xFF) << 8),
                () -> assertEquals(22050, OutputAudio.le32(first, 24)),
                () -> assertEquals(44100, OutputAudio.le32(first, 28)),
                () -> assertEquals(16, first[34] & 0xFF | (first[35] & 0xFF) << 8),
                () -> assertEquals("data", ascii(first, 36)),
                () -> assertEquals(0xFFFFFFFFL, OutputAudio.le32(first, 40)),
                () -> assertArrayEquals(TestAudio.samples(b, 1, 16, false), second),
                () -> assertEquals(0, last.length),
                () -> assertEquals("audio/wav", e.contentType()),
                () -> assertEquals(22050, e.sampleRate()));

        DecodedAudio d = AudioDecoder.decode(OutputAudio.concat(List.of(first, second, last)), AudioHint.none());
        assertEquals(22050, d.sampleRate());
        assertEquals(a.length + b.length, d.frames());
        assertTrue(TestAudio.maxAbsDiff(OutputAudio.concat(a, b), d.samples()) < 1.0 / 32000);
    }

    @Test
    void streamingWavWithNoAudioIsStillAHeader() {
        AudioEncoder e = AudioEncoder.create(AudioFormat.WAV, 16000, 0, true);
        byte[] only = e.finish();
        assertEquals(44, only.length);
        assertEquals(0xFFFFFFFFL, OutputAudio.le32(only, 40));

        AudioEncoder f = AudioEncoder.create(AudioFormat.WAV, 16000, 0, true);
        byte[] header = f.encode(new float[0]);
        assertEquals(44, header.length);
        assertEquals(0, f.encode(new float[3]).length % 2);
        assertEquals(0, f.finish().length);
    }

    @Test
    void nonStreamingWavIsOneFileWithExactSizes() throws Exception {
        AudioEncoder e = AudioEncoder.create(AudioFormat.WAV, 48000, 0, false);
        float[] a = TestAudio.tone(48000, 0.25, 1000);
        float[] b = TestAudio.tone(48000, 0.5, 1000);

        assertEquals(0, e.encode(a).length);
        assertEquals(0, e.encode(b).length);
        byte[] wav = e.finish();

        int data = 2 * (a.length + b.length);
        assertAll(
                () -> assertEquals(44 + data, wav.length),
                () -> assertEquals(36 + data, OutputAudio.le32(wav, 4)),
                () -> assertEquals(data, OutputAudio.le32(wav, 40)),
                () -> assertEquals(48000, OutputAudio.le32(wav, 24)));
        DecodedAudio d = AudioDecoder.decode(wav, AudioHint.none());
        assertEquals(a.length + b.length, d.frames());
        assertEquals(0.5, TestAudio.toneAmplitude(d.samples(), 48000, 1000, 0, d.frames()), 0.001);

        AudioEncoder empty = AudioEncoder.create(AudioFormat.WAV, 8000, 0, false);
        byte[] none = empty.finish();
        assertEquals(44, none.length);
        assertEquals(36, OutputAudio.le32(none, 4));
        assertEquals(0, OutputAudio.le32(none, 40));
    }

    @Test
    void pcmIsRawLittleEndianSamplesWithClamping() throws Exception {
        AudioEncoder e = AudioEncoder.create(AudioFormat.PCM, 16000, 0, true);
        byte[] out = e.encode(new float[] {0f, 1f, -1f, 0.5f, 2f, -3f, Float.NaN});
        assertArrayEquals(new byte[] {0, 0, (byte) 0xFF, 0x7F, 0x01, (byte) 0x80, 0x00, 0x40, (byte) 0xFF, 0x7F,
            0x00, (byte) 0x80, 0, 0}, out);
        assertEquals(0, e.finish().length);
        assertEquals("audio/pcm", e.contentType());

        float[] tone = TestAudio.tone(16000, 0.5, 440);
        AudioEncoder f = AudioEncoder.create(AudioFormat.PCM, 16000, 0, false);
        DecodedAudio d = AudioDecoder.decode(f.encode(tone), new AudioHint("x.pcm", "audio/pcm", OptionalInt.of(16000)));
        assertEquals(tone.length, d.frames());
    }

    @ParameterizedTest(name = "{0} Hz")
    @ValueSource(ints = {8000, 16000, 22050, 24000, 44100, 48000})
    void everyMp3ChunkIsASequenceOfWholeFrames(int rate) throws Exception {
        AudioEncoder e = AudioEncoder.create(AudioFormat.MP3, rate, 128, true);
        float[] tone = TestAudio.tone(rate, 2.0, 440);
        List<byte[]> parts = new ArrayList<>();
        for (float[] c : OutputAudio.chunks(tone, rate)) {
            parts.add(e.encode(c));
        }
        parts.add(e.finish());

        int nonEmpty = 0;
        for (byte[] p : parts) {
            List<MpegFrame> frames = OutputAudio.wholeFrames(p);
            assertNotNull(frames, "a chunk of " + p.length + " bytes is not whole frames");
            if (p.length > 0) {
                nonEmpty++;
            }
        }
        assertTrue(nonEmpty >= 5, nonEmpty + " non-empty chunks");
        byte[] mp3 = OutputAudio.concat(parts);
        DecodedAudio d = AudioDecoder.decode(mp3, AudioHint.none());
        MpegFrame first = MpegFrame.parse(mp3, 0);
        int slack = 576 + 529 + 2 * first.samples();
        assertAll(
                () -> assertEquals(AudioFormat.MP3, d.format()),
                () -> assertEquals(rate, d.sampleRate()),
                () -> assertEquals(1, d.channels()),
                () -> assertTrue(d.frames() >= tone.length && d.frames() <= tone.length + slack,
                        d.frames() + " frames for " + tone.length),
                () -> assertEquals(0.5, TestAudio.toneAmplitude(d.samples(), rate, 440, rate / 2, rate * 3 / 2), 0.05),
                () -> assertEquals("audio/mpeg", e.contentType()));
    }

    @ParameterizedTest(name = "{0} Hz")
    @ValueSource(ints = {8000, 24000, 44100})
    void mp3AudioStartsAfterOnlyTheCodecDelay(int rate) throws Exception {
        // LAME's empty tag-placeholder frame is not sent: sound starts after the usual 576 + 529
        // samples of encoder and decoder delay, not a frame later.
        AudioEncoder e = AudioEncoder.create(AudioFormat.MP3, rate, 64, true);
        byte[] mp3 = OutputAudio.concat(List.of(e.encode(TestAudio.tone(rate, 0.5, 440)), e.finish()));

        float[] s = AudioDecoder.decode(mp3, AudioHint.none()).samples();
        int first = 0;
        while (first < s.length && Math.abs(s[first]) < 0.01f) {
            first++;
        }
        assertTrue(first >= 1000 && first <= 1200, "sound starts at sample " + first);
    }

    @Test
    void aMidStreamMp3ChunkDecodesOnItsOwn() throws Exception {
        AudioEncoder e = AudioEncoder.create(AudioFormat.MP3, 24000, 64, true);
        e.encode(TestAudio.tone(24000, 0.5, 440));
        byte[] middle = e.encode(TestAudio.tone(24000, 0.5, 440));
        e.finish();

        DecodedAudio d = AudioDecoder.decode(middle, AudioHint.none());
        int frames = OutputAudio.wholeFrames(middle).size();
        assertEquals(24000, d.sampleRate());
        // The first frame may borrow bits from an earlier chunk's bit reservoir: a decoder starting
        // here can lose at most that one frame.
        assertTrue(d.frames() >= (frames - 1) * 576 && d.frames() <= frames * 576, d.frames() + " samples");
        assertEquals(0.5, TestAudio.toneAmplitude(d.samples(), 24000, 440, 1152, d.frames()), 0.05);
    }

    @Test
    void concurrentStreamsDoNotDisturbEachOther() throws Exception {
        // Several streams at once (as on a busy server): each gives the same bytes as when alone.
        float[] model = TestAudio.tone(24000, 1.0, 440, 0.5);
        int[] rates = {44100, 22050, 24000, 16000};
        byte[][] alone = new byte[rates.length][];
        for (int i = 0; i < rates.length; i++) {
            alone[i] = encodeThroughPipeline(model, rates[i]);
        }
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<byte[]>> results = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                int rate = rates[i % rates.length];
                results.add(pool.submit(() -> encodeThroughPipeline(model, rate)));
            }
            for (int i = 0; i < results.size(); i++) {
                assertArrayEquals(alone[i % rates.length], results.get(i).get(60, TimeUnit.SECONDS), "stream " + i);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private static byte[] encodeThroughPipeline(float[] model, int rate) {
        OutputPipeline p = new OutputPipeline(24000, rate, 1.25, 1.5,
                AudioEncoder.create(AudioFormat.MP3, rate, 128, true));
        List<byte[]> parts = new ArrayList<>();
        for (float[] c : OutputAudio.chunks(model, 24000)) {
            parts.add(p.process(c));
        }
        parts.add(p.finish());
        return OutputAudio.concat(parts);
    }

    @ParameterizedTest
    @EnumSource(AudioFormat.class)
    void encodersAreSingleUse(AudioFormat format) {
        AudioEncoder e = AudioEncoder.create(format, 24000, 64, true);
        e.encode(new float[100]);
        e.finish();
        assertThrows(IllegalStateException.class, () -> e.encode(new float[1]));
        assertThrows(IllegalStateException.class, e::finish);
    }

    @Test
    void rejectsBadArguments() {
        assertThrows(IllegalArgumentException.class, () -> AudioEncoder.create(AudioFormat.WAV, 0, 0, true));
        assertThrows(NullPointerException.class, () -> AudioEncoder.create(null, 24000, 0, true));
    }
}
