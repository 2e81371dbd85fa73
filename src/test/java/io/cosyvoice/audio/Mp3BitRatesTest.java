package io.cosyvoice.audio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class Mp3BitRatesTest {

    /** The server's allowed requests and sample rates. */
    private static final int[] REQUESTS = {16, 32, 48, 64, 128, 192, 256, 320, 384};
    private static final int[] RATES = {8000, 16000, 22050, 24000, 32000, 44100, 48000};

    @ParameterizedTest(name = "{1}k at {0} Hz -> {2}k")
    @CsvSource({
        // MPEG-2 (24 kHz) tops out at 160
        "24000, 384, 160", "24000, 192, 160", "24000, 160, 160", "24000, 128, 128", "24000, 16, 16",
        // MPEG-1
        "44100, 192, 192", "48000, 384, 320", "48000, 16, 32", "32000, 320, 320", "44100, 144, 128",
        "48000, 48, 48", "44100, 33, 32", "48000, 0, 32",
        // MPEG-2
        "16000, 256, 160", "22050, 144, 144", "22050, 150, 144", "16000, 8, 8", "16000, 1, 8",
        // MPEG-2.5 (LAME's ceiling is 64)
        "8000, 384, 64", "8000, 128, 64", "8000, 64, 64", "8000, 48, 48", "8000, 16, 16", "11025, 60, 56",
        "12000, 4, 8",
    })
    void mapsRequestsOntoTheLegalTable(int rate, int requested, int effective) {
        assertEquals(effective, Mp3BitRates.effectiveMp3BitRate(rate, requested));
    }

    @Test
    void tablesAreTheStandardOnes() {
        assertArrayEquals(new int[] {32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320},
                Mp3BitRates.legalBitRates(44100));
        assertArrayEquals(new int[] {8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
                Mp3BitRates.legalBitRates(22050));
        assertArrayEquals(new int[] {8, 16, 24, 32, 40, 48, 56, 64}, Mp3BitRates.legalBitRates(11025));
    }

    @Test
    void unsupportedSampleRatesAreRejected() {
        assertFalse(Mp3BitRates.isSupportedSampleRate(96000));
        assertTrue(Mp3BitRates.isSupportedSampleRate(22050));
        assertThrows(IllegalArgumentException.class, () -> Mp3BitRates.effectiveMp3BitRate(96000, 128));
        assertThrows(IllegalArgumentException.class, () -> AudioEncoder.create(AudioFormat.MP3, 96000, 128, true));
        assertThrows(IllegalArgumentException.class, () -> AudioEncoder.create(AudioFormat.MP3, 23000, 128, true));
    }

    @Test
    void theEncoderWritesFramesAtTheEffectiveRateForEveryServerRequest() {
        float[] tone = TestAudio.tone(48000, 0.1, 440);
        for (int rate : RATES) {
            float[] samples = Resampler.resample(tone, 48000, rate);
            for (int requested : REQUESTS) {
                int effective = Mp3BitRates.effectiveMp3BitRate(rate, requested);
                AudioEncoder e = AudioEncoder.create(AudioFormat.MP3, rate, requested, true);
                byte[] mp3 = OutputAudio.concat(List.of(e.encode(samples), e.finish()));
                List<MpegFrame> frames = OutputAudio.wholeFrames(mp3);
                assertNotNull(frames, rate + " Hz " + requested + "k");
                assertFalse(frames.isEmpty());
                for (MpegFrame f : frames) {
                    assertEquals(effective * 1000, f.bitrate(), rate + " Hz " + requested + "k");
                    assertEquals(rate, f.sampleRate());
                    assertEquals(1, f.channels());
                    assertEquals(3, f.layer());
                }
            }
        }
    }
}
