package io.cosyvoice.audio;

import java.util.Arrays;

/**
 * The constant bit rates an MPEG Layer III stream can carry at each sample rate, and the mapping of
 * a requested bit rate onto them.
 *
 * <ul>
 *   <li>MPEG-1 (32000, 44100, 48000 Hz): 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256,
 *       320 kbps (ISO/IEC 11172-3).
 *   <li>MPEG-2 (16000, 22050, 24000 Hz): 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160
 *       kbps (ISO/IEC 13818-3, lower sampling frequencies).
 *   <li>MPEG-2.5 (8000, 11025, 12000 Hz): 8 .. 64 kbps. The unofficial MPEG-2.5 extension shares the
 *       MPEG-2 table, but LAME (and so jump3r) never encodes it above 64 kbps, so 64 is the highest
 *       rate we can actually deliver.
 * </ul>
 */
public final class Mp3BitRates {

    private static final int[] MPEG1 = {32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320};
    private static final int[] MPEG2 = {8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160};
    private static final int[] MPEG25 = {8, 16, 24, 32, 40, 48, 56, 64};

    private static final int[] SAMPLE_RATES = {8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000};

    private Mp3BitRates() {}

    /** Whether MP3 can be written at {@code sampleRate} Hz without resampling. */
    public static boolean isSupportedSampleRate(int sampleRate) {
        return Arrays.binarySearch(SAMPLE_RATES, sampleRate) >= 0;
    }

    /** The MPEG version used at {@code sampleRate}: 1, 2 or 25 (MPEG-2.5). */
    static int mpegVersion(int sampleRate) {
        return switch (sampleRate) {
            case 32000, 44100, 48000 -> 1;
            case 16000, 22050, 24000 -> 2;
            case 8000, 11025, 12000 -> 25;
            default -> throw new IllegalArgumentException("MP3 does not support a sample rate of " + sampleRate
                    + " Hz; use one of " + Arrays.toString(SAMPLE_RATES));
        };
    }

    /** The legal constant bit rates in kbps at {@code sampleRate}, ascending (a copy). */
    public static int[] legalBitRates(int sampleRate) {
        return table(sampleRate).clone();
    }

    /**
     * The bit rate an MP3 at {@code sampleRate} will actually use for {@code requestedKbps}: the
     * requested rate when legal, else the highest legal rate below it, else (below the minimum) the
     * minimum.
     *
     * @throws IllegalArgumentException when MP3 does not support {@code sampleRate}
     */
    public static int effectiveMp3BitRate(int sampleRate, int requestedKbps) {
        int[] t = table(sampleRate);
        int best = t[0];
        for (int r : t) {
            if (r <= requestedKbps) {
                best = r;
            }
        }
        return best;
    }

    private static int[] table(int sampleRate) {
        return switch (mpegVersion(sampleRate)) {
            case 1 -> MPEG1;
            case 2 -> MPEG2;
            default -> MPEG25;
        };
    }
}
