package io.cosyvoice.audio;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class Mp3DecodeTest {

    private static byte[] plain;
    private static DecodedAudio plainDecoded;

    @BeforeAll
    static void encodeOnce() throws Exception {
        plain = TestAudio.mp3(1.0, 44100, 2, 128);
        plainDecoded = AudioDecoder.decode(plain, AudioHint.none());
    }

    @ParameterizedTest(name = "{0} Hz x{1} {2} kbps")
    @CsvSource({
        "16000, 1, 32", "16000, 2, 48",
        "24000, 1, 48", "24000, 2, 64",
        "44100, 1, 64", "44100, 2, 128",
        "48000, 1, 64", "48000, 2, 128",
        "22050, 1, 32", "8000, 1, 16",
    })
    void decodesToneWithTheStreamsRateAndChannels(int rate, int channels, int kbps) throws Exception {
        byte[] mp3 = TestAudio.mp3(1.0, rate, channels, kbps);

        DecodedAudio a = AudioDecoder.decode(mp3, AudioHint.none());

        MpegFrame first = MpegFrame.parse(mp3, 0);
        assertNotNull(first);
        // LAME adds its encoder delay (576 samples, plus 529 of decoder delay) and pads the last frame.
        double slack = (576 + 529 + 2.0 * first.samples()) / rate;
        int from = rate / 5;
        int to = rate * 4 / 5;
        assertAll(
                () -> assertEquals(AudioFormat.MP3, a.format()),
                () -> assertEquals("mp3", a.encoding()),
                () -> assertEquals(rate, a.sampleRate()),
                () -> assertEquals(channels, a.channels()),
                () -> assertEquals(0, a.frames() % first.samples(), "whole frames"),
                () -> assertTrue(a.durationSeconds() >= 1.0 && a.durationSeconds() <= 1.0 + slack,
                        "duration " + a.durationSeconds()),
                () -> assertEquals(440, TestAudio.zeroCrossingHz(a.samples(), rate, from, to), 2.0),
                () -> assertEquals(0.5, TestAudio.toneAmplitude(a.samples(), rate, 440, from, to), 0.05),
                () -> assertEquals(0.5 / Math.sqrt(2), TestAudio.rms(a.samples(), from, to), 0.04));
    }

    @Test
    void tagsAroundTheAudioDoNotChangeTheSamples() throws Exception {
        byte[] zeros = new byte[1500];
        List<byte[]> variants = List.of(
                TestAudio.withId3v2(plain, "reference voice", 0),
                TestAudio.withId3v2(plain, "reference voice", 2048),
                TestAudio.withId3v1(plain, "reference voice"),
                TestAudio.withId3v1(TestAudio.withId3v2(plain, "both", 100), "both"),
                // zero padding between the ID3 tag and the first frame, as some taggers write
                TestAudio.withId3v2(WavDecodeTest.concat(zeros, plain), "padded", 0),
                WavDecodeTest.concat(plain, apeTag()),
                TestAudio.withId3v1(WavDecodeTest.concat(plain, apeTag()), "ape and id3v1"));
        for (byte[] v : variants) {
            DecodedAudio a = AudioDecoder.decode(v, AudioHint.of("voice.mp3", "audio/mpeg"));
            assertEquals(44100, a.sampleRate());
            assertEquals(2, a.channels());
            assertArrayEquals(plainDecoded.samples(), a.samples());
        }
    }

    @Test
    void id3v24TagWithFooterIsSkipped() throws Exception {
        byte[] tagged = TestAudio.withId3v2(plain, "v2.4", 64);
        tagged[3] = 4;
        tagged[5] = 0x10; // footer present: 10 more bytes after the tag body
        byte[] footer = {'3', 'D', 'I', 4, 0, 0x10, tagged[6], tagged[7], tagged[8], tagged[9]};
        int tagEnd = tagged.length - plain.length;
        byte[] withFooter = new byte[tagged.length + 10];
        System.arraycopy(tagged, 0, withFooter, 0, tagEnd);
        System.arraycopy(footer, 0, withFooter, tagEnd, 10);
        System.arraycopy(plain, 0, withFooter, tagEnd + 10, plain.length);
        assertArrayEquals(plainDecoded.samples(), AudioDecoder.decode(withFooter, AudioHint.none()).samples());
    }

    @Test
    void aLittleJunkBeforeTheFirstFrameAndAfterTheLastIsTolerated() throws Exception {
        Random random = new Random(7);
        byte[] junk = new byte[700];
        random.nextBytes(junk);
        for (int i = 0; i < junk.length; i++) {
            if (junk[i] == (byte) 0xFF) {
                junk[i] = 0x12; // no sync bytes in the junk
            }
        }
        byte[] leading = WavDecodeTest.concat(junk, plain);
        byte[] trailing = WavDecodeTest.concat(plain, junk);
        assertArrayEquals(plainDecoded.samples(), AudioDecoder.decode(leading, AudioHint.none()).samples());
        assertArrayEquals(plainDecoded.samples(), AudioDecoder.decode(trailing, AudioHint.none()).samples());
    }

    @Test
    void junkBetweenFramesIsSkipped() throws Exception {
        int cut = 0;
        for (int i = 0; i < 10; i++) {
            cut += MpegFrame.parse(plain, cut).length();
        }
        byte[] junk = new byte[300];
        Arrays.fill(junk, (byte) 0x5A);
        byte[] spliced = WavDecodeTest.concat(WavDecodeTest.concat(Arrays.copyOf(plain, cut), junk),
                Arrays.copyOfRange(plain, cut, plain.length));
        assertArrayEquals(plainDecoded.samples(), AudioDecoder.decode(spliced, AudioHint.none()).samples());
    }

    @Test
    void aXingInfoFrameIsNotDecodedAsAudio() throws Exception {
        MpegFrame h = MpegFrame.parse(plain, 0);
        byte[] info = new byte[h.length()];
        System.arraycopy(plain, 0, info, 0, 4);
        int at = 4 + h.sideInfoBytes();
        System.arraycopy("Info".getBytes(StandardCharsets.US_ASCII), 0, info, at, 4);
        byte[] withInfo = WavDecodeTest.concat(info, plain);

        DecodedAudio a = AudioDecoder.decode(withInfo, AudioHint.none());

        assertEquals(plainDecoded.frames(), a.frames());
        assertArrayEquals(plainDecoded.samples(), a.samples());
    }

    @Test
    void detectionIsByContentNotByFileName() throws Exception {
        for (AudioHint hint : List.of(AudioHint.of("voice.wav", "audio/wav"), AudioHint.of("voice.pcm", "audio/pcm"),
                new AudioHint("voice.raw", null, OptionalInt.of(16000)))) {
            DecodedAudio a = AudioDecoder.decode(plain, hint);
            assertEquals(AudioFormat.MP3, a.format());
            assertEquals(44100, a.sampleRate());
        }
    }

    @Test
    void framesAreChainedByTheHeaderScanner() {
        int frames = 0;
        int p = 0;
        MpegFrame first = MpegFrame.parse(plain, 0);
        while (p < plain.length) {
            MpegFrame h = MpegFrame.parse(plain, p);
            assertNotNull(h, "frame header at " + p);
            assertTrue(first.sameStream(h));
            assertEquals(3, h.layer());
            assertEquals(1, h.version());
            assertEquals(128_000, h.bitrate());
            p += h.length();
            frames++;
        }
        assertEquals(plain.length, p, "the last frame ends exactly at the end");
        assertEquals(plainDecoded.frames(), frames * 1152);
        assertEquals(0, Mp3Decoder.findFirstFrame(plain, 0, plain.length));
        byte[] shifted = WavDecodeTest.concat(new byte[] {0x00, (byte) 0xFF, (byte) 0xFB, 0x11}, plain);
        assertEquals(4, Mp3Decoder.findFirstFrame(shifted, 0, shifted.length));
    }

    @Test
    void jlayersLazyTablesAreBuiltOnceBeforeConcurrentUse() throws Exception {
        assertEquals(2, Mp3Decoder.JLayerTables.WARM_UP_FRAMES);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<DecodedAudio>> results = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                results.add(pool.submit(() -> AudioDecoder.decode(plain, AudioHint.none())));
            }
            for (Future<DecodedAudio> r : results) {
                assertArrayEquals(plainDecoded.samples(), r.get(30, TimeUnit.SECONDS).samples());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** An APEv2 tag with one item, header and footer. */
    private static byte[] apeTag() {
        byte[] key = "Title\0".getBytes(StandardCharsets.US_ASCII);
        byte[] value = "voice".getBytes(StandardCharsets.US_ASCII);
        ByteBuffer item = ByteBuffer.allocate(8 + key.length + value.length).order(ByteOrder.LITTLE_ENDIAN);
        item.putInt(value.length).putInt(0).put(key).put(value);
        int size = item.capacity() + 32;
        ByteBuffer tag = ByteBuffer.allocate(32 + size).order(ByteOrder.LITTLE_ENDIAN);
        tag.put("APETAGEX".getBytes(StandardCharsets.US_ASCII)).putInt(2000).putInt(size).putInt(1)
                .putInt(0xA0000000).putLong(0);
        tag.put(item.array());
        tag.put("APETAGEX".getBytes(StandardCharsets.US_ASCII)).putInt(2000).putInt(size).putInt(1)
                .putInt(0x80000000).putLong(0);
        return Arrays.copyOf(tag.array(), tag.capacity());
    }
}
