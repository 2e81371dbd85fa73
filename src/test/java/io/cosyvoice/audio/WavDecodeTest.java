package io.cosyvoice.audio;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class WavDecodeTest {

    private static final int[] RATES = {8000, 16000, 22050, 24000, 44100, 48000};

    /** bits, float, encoding name */
    private static final Object[][] FORMATS = {
        {8, false, "pcm_u8"},
        {16, false, "pcm_s16le"},
        {24, false, "pcm_s24le"},
        {32, false, "pcm_s32le"},
        {32, true, "pcm_f32le"},
        {64, true, "pcm_f64le"},
    };

    static List<Arguments> formats() {
        List<Arguments> cases = new ArrayList<>();
        for (Object[] f : FORMATS) {
            for (int rate : RATES) {
                for (int channels : new int[] {1, 2}) {
                    cases.add(Arguments.of(f[0], f[1], f[2], rate, channels, false));
                }
            }
            cases.add(Arguments.of(f[0], f[1], f[2], 48000, 2, true));
            cases.add(Arguments.of(f[0], f[1], f[2], 16000, 1, true));
        }
        cases.add(Arguments.of(16, false, "pcm_s16le", 48000, 6, true));
        cases.add(Arguments.of(24, false, "pcm_s24le", 44100, 8, false));
        return cases;
    }

    @ParameterizedTest(name = "{2} {3} Hz x{4} extensible={5}")
    @MethodSource("formats")
    void decodesEverySupportedSampleFormatRateAndLayout(int bits, boolean isFloat, String encoding, int rate,
            int channels, boolean extensible) throws Exception {
        float[] tone = TestAudio.tone(rate, 0.5, 440);
        byte[] wav = TestAudio.wav(tone, rate, channels, bits, isFloat, extensible);

        DecodedAudio a = AudioDecoder.decode(wav, AudioHint.none());

        double quantum = Math.max(1e-6, 1.0 / (1L << (bits - 1)));
        assertAll(
                () -> assertEquals(AudioFormat.WAV, a.format()),
                () -> assertEquals(rate, a.sampleRate()),
                () -> assertEquals(channels, a.channels()),
                () -> assertEquals(encoding, a.encoding()),
                () -> assertEquals(tone.length, a.frames()),
                () -> assertEquals(0.5, a.durationSeconds(), 1.0 / rate),
                () -> assertEquals(440, TestAudio.zeroCrossingHz(a.samples(), rate, 0, a.frames()), 1.0),
                () -> assertEquals(0.5, TestAudio.toneAmplitude(a.samples(), rate, 440, 0, a.frames()), 0.01),
                () -> assertTrue(TestAudio.maxAbsDiff(tone, a.samples()) <= 1.5 * quantum,
                        "max error " + TestAudio.maxAbsDiff(tone, a.samples()) + " > quantum " + quantum));
    }

    @Test
    void stereoIsMixedDownByAveragingTheChannels() throws Exception {
        float[] left = TestAudio.tone(16000, 1.0, 440, 0.8);
        ByteBuffer data = ByteBuffer.allocate(left.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : left) {
            data.putShort((short) Math.round(v * 32767)).putShort((short) 0); // right channel silent
        }
        byte[] wav = TestAudio.riff(TestAudio.chunk("fmt ", fmt16(1, 2, 16000, 16)), TestAudio.chunk("data", data.array()));

        DecodedAudio a = AudioDecoder.decode(wav, AudioHint.none());

        assertEquals(2, a.channels());
        assertEquals(16000, a.frames());
        assertEquals(0.4, TestAudio.toneAmplitude(a.samples(), 16000, 440, 0, a.frames()), 0.005);
        assertEquals(0.4, max(a.samples()), 0.005);
    }

    @Test
    void fullScaleValuesStayWithinMinusOneToOne() throws Exception {
        ByteBuffer data = ByteBuffer.allocate(8 * 4).order(ByteOrder.LITTLE_ENDIAN);
        short[] values = {Short.MIN_VALUE, Short.MAX_VALUE, 0, -1, Short.MIN_VALUE, Short.MIN_VALUE, Short.MAX_VALUE,
            Short.MAX_VALUE};
        for (short v : values) {
            data.putShort(v).putShort(v);
        }
        DecodedAudio a = AudioDecoder.decode(
                TestAudio.riff(TestAudio.chunk("fmt ", fmt16(1, 2, 8000, 16)), TestAudio.chunk("data", data.array())),
                AudioHint.none());
        assertEquals(-1.0f, a.samples()[0]);
        assertTrue(a.samples()[1] < 1.0f && a.samples()[1] > 0.9999f);
        for (float v : a.samples()) {
            assertTrue(v >= -1f && v <= 1f);
        }
    }

    @Test
    void floatSamplesOutsideTheRangeAreClampedAndNanIsSilenced() throws Exception {
        float[] s = {1.5f, -3f, Float.NaN, Float.POSITIVE_INFINITY, 0.25f};
        DecodedAudio a = AudioDecoder.decode(TestAudio.wav(s, 16000, 1, 32, true), AudioHint.none());
        assertEquals(List.of(1f, -1f, 0f, 1f, 0.25f), boxed(a.samples()));
    }

    @Test
    void unknownChunksBeforeAndAfterTheDataAreSkipped() throws Exception {
        float[] tone = TestAudio.tone(22050, 1.0, 440);
        byte[] list = TestAudio.chunk("LIST", "INFOISFT\u000e\u0000\u0000\u0000Lavf58.76.100\u0000"
                .getBytes(StandardCharsets.ISO_8859_1));
        byte[] odd = TestAudio.chunk("junk", new byte[] {1, 2, 3}); // odd size: a pad byte follows
        byte[] fact = TestAudio.chunk("fact", new byte[] {0x22, 0x56, 0, 0});
        byte[] wav = TestAudio.riff(odd, TestAudio.chunk("fmt ", fmt16(1, 1, 22050, 16)), list, fact, odd,
                TestAudio.chunk("data", TestAudio.samples(tone, 1, 16, false)), list);
        assertEquals(0, wav[12 + 8 + 3], "a pad byte follows the odd-sized chunk");
        assertEquals("fmt ", new String(wav, 12 + 8 + 4, 4, StandardCharsets.US_ASCII));

        DecodedAudio a = AudioDecoder.decode(wav, AudioHint.none());

        assertEquals(22050, a.frames());
        assertTrue(TestAudio.maxAbsDiff(tone, a.samples()) < 1e-4);
    }

    @Test
    void anOddSizedDataChunkIsFollowedByItsPadByte() throws Exception {
        float[] tone = TestAudio.tone(8000, 1.0 + 1.0 / 8000, 440); // 8001 one-byte frames
        byte[] wav = TestAudio.wav(tone, 8000, 1, 8, false);
        assertEquals(44 + 8001 + 1, wav.length, "the file ends with a pad byte");
        byte[] withTrailer = concat(wav, TestAudio.chunk("LIST", new byte[] {'I', 'N', 'F', 'O'}));

        for (byte[] file : List.of(wav, withTrailer)) {
            DecodedAudio a = AudioDecoder.decode(file, AudioHint.none());
            assertEquals(8001, a.frames());
            assertEquals("pcm_u8", a.encoding());
        }
    }

    @Test
    void theFmtChunkMayFollowTheDataChunk() throws Exception {
        float[] tone = TestAudio.tone(16000, 0.25, 440);
        byte[] wav = TestAudio.riff(TestAudio.chunk("data", TestAudio.samples(tone, 1, 16, false)),
                TestAudio.chunk("fmt ", fmt16(1, 1, 16000, 16)));
        assertEquals(tone.length, AudioDecoder.decode(wav, AudioHint.none()).frames());
    }

    @Test
    void streamingWritersDataSizeMeansToTheEndOfTheFile() throws Exception {
        float[] tone = TestAudio.tone(24000, 1.0, 440);
        for (int declared : new int[] {0xFFFFFFFF, 0}) {
            byte[] wav = TestAudio.wav(tone, 24000, 2, 16, false);
            ByteBuffer.wrap(wav).order(ByteOrder.LITTLE_ENDIAN).putInt(4, declared) // RIFF size unknown as well
                    .putInt(TestAudio.chunkOffset(wav, "data") + 4, declared);

            DecodedAudio a = AudioDecoder.decode(wav, AudioHint.none());

            assertEquals(24000, a.frames(), "declared " + Integer.toHexString(declared));
            assertEquals(1.0, a.durationSeconds(), 1e-9);
        }
    }

    @Test
    void aWrongRiffSizeIsIgnored() throws Exception {
        byte[] wav = TestAudio.wav16(0.5, 16000);
        ByteBuffer.wrap(wav).order(ByteOrder.LITTLE_ENDIAN).putInt(4, 12345);
        assertEquals(8000, AudioDecoder.decode(wav, AudioHint.none()).frames());
    }

    @Test
    void rf64IsAccepted() throws Exception {
        float[] tone = TestAudio.tone(48000, 0.5, 440);
        byte[] data = TestAudio.samples(tone, 2, 24, false);
        ByteBuffer ds64 = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN);
        ds64.putLong(0).putLong(data.length).putLong(tone.length).putInt(0);
        byte[] fmt = fmt16(1, 2, 48000, 24);
        byte[] dataChunk = TestAudio.chunk("data", data);
        ByteBuffer.wrap(dataChunk).order(ByteOrder.LITTLE_ENDIAN).putInt(4, 0xFFFFFFFF);
        byte[] file = TestAudio.riff(TestAudio.chunk("ds64", ds64.array()), TestAudio.chunk("fmt ", fmt), dataChunk);
        System.arraycopy("RF64".getBytes(StandardCharsets.US_ASCII), 0, file, 0, 4);
        ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).putInt(4, 0xFFFFFFFF);

        DecodedAudio a = AudioDecoder.decode(file, AudioHint.none());

        assertEquals(tone.length, a.frames());
        assertEquals("pcm_s24le", a.encoding());
    }

    @Test
    void detectionIsByContentNotByFileName() throws Exception {
        byte[] wav = TestAudio.wav16(0.5, 16000);
        for (AudioHint hint : List.of(AudioHint.of("voice.mp3", "audio/mpeg"), AudioHint.of("voice.pcm", "audio/pcm"),
                new AudioHint("x.raw", "application/octet-stream", OptionalInt.of(8000)))) {
            DecodedAudio a = AudioDecoder.decode(wav, hint);
            assertEquals(AudioFormat.WAV, a.format());
            assertEquals(16000, a.sampleRate());
        }
    }

    @Test
    void extensibleWithValidBitsBelowTheContainerIsDecoded() throws Exception {
        float[] tone = TestAudio.tone(48000, 0.25, 440);
        byte[] wav = TestAudio.wav(tone, 48000, 2, 24, false, true);
        int fmt = TestAudio.chunkOffset(wav, "fmt ");
        ByteBuffer.wrap(wav).order(ByteOrder.LITTLE_ENDIAN).putShort(fmt + 8 + 18, (short) 20); // 20 valid bits
        DecodedAudio a = AudioDecoder.decode(wav, AudioHint.none());
        assertEquals(tone.length, a.frames());
        assertTrue(TestAudio.maxAbsDiff(tone, a.samples()) < 1e-5);
    }

    @Test
    void unsupportedParametersAreNamed() {
        assertUnsupported(TestAudio.wav(new float[100], 4000, 1, 16, false), "4000");
        assertUnsupported(TestAudio.wav(new float[100], 384000, 1, 16, false), "384000");
        assertUnsupported(TestAudio.riff(TestAudio.chunk("fmt ", fmt16(1, 12, 16000, 16)),
                TestAudio.chunk("data", new byte[24 * 10])), "12 channels");
        assertUnsupported(TestAudio.riff(TestAudio.chunk("fmt ", fmt16(1, 1, 16000, 12)),
                TestAudio.chunk("data", new byte[20])), "12-bit");
        assertUnsupported(TestAudio.riff(TestAudio.chunk("fmt ", fmt16(3, 1, 16000, 16)),
                TestAudio.chunk("data", new byte[20])), "16-bit float");
        assertUnsupported(TestAudio.riff(TestAudio.chunk("fmt ", fmt16(7, 1, 8000, 8)),
                TestAudio.chunk("data", new byte[20])), "mu-law");
        byte[] ext = TestAudio.wav(new float[100], 16000, 1, 16, false, true);
        ext[TestAudio.chunkOffset(ext, "fmt ") + 8 + 24] = 2; // subformat GUID: MS ADPCM
        assertUnsupported(ext, "0x0002");
    }

    private static void assertUnsupported(byte[] wav, String named) {
        AudioDecodeException e = assertThrows(AudioDecodeException.class, () -> AudioDecoder.decode(wav, AudioHint.none()));
        assertEquals(AudioDecodeException.Kind.UNSUPPORTED, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains(named), e.getMessage());
    }

    /** A 16-byte fmt chunk body. */
    static byte[] fmt16(int tag, int channels, int rate, int bits) {
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        int align = channels * ((bits + 7) / 8);
        b.putShort((short) tag).putShort((short) channels).putInt(rate).putInt(rate * align).putShort((short) align)
                .putShort((short) bits);
        return b.array();
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static float max(float[] s) {
        float m = Float.NEGATIVE_INFINITY;
        for (float v : s) {
            m = Math.max(m, v);
        }
        return m;
    }

    private static List<Float> boxed(float[] s) {
        List<Float> out = new ArrayList<>();
        for (float v : s) {
            out.add(v);
        }
        return out;
    }
}
