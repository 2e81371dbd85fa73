package io.cosyvoice.audio;

/**
 * One parsed MPEG audio frame header (MPEG-1, MPEG-2, MPEG-2.5; Layers I, II and III).
 *
 * @param version     1 = MPEG-1, 2 = MPEG-2, 25 = MPEG-2.5
 * @param layer       1, 2 or 3
 * @param sampleRate  in Hz
 * @param bitrate     in bits per second
 * @param length      the whole frame in bytes, header included
 * @param samples     PCM samples per channel the frame decodes to
 * @param channels    1 (single channel) or 2
 * @param crc         whether a 16-bit CRC follows the header
 */
record MpegFrame(int version, int layer, int sampleRate, int bitrate, int length, int samples, int channels,
        boolean crc) {

    static final int HEADER_BYTES = 4;

    private static final int[][] BITRATES_KBPS = {
        // MPEG-1 Layer I, II, III
        {0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448},
        {0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384},
        {0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320},
        // MPEG-2 / 2.5 Layer I, then II and III
        {0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256},
        {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
    };

    private static final int[] MPEG1_RATES = {44100, 48000, 32000};

    /**
     * Parses the 4-byte header at {@code off}, or returns null when there is no valid header there
     * (no sync, reserved version/layer/rate, free-format or bad bitrate, reserved emphasis). Needs
     * only the 4 header bytes to be present.
     */
    static MpegFrame parse(byte[] d, int off) {
        if (off < 0 || off + HEADER_BYTES > d.length) {
            return null;
        }
        int b1 = d[off + 1] & 0xFF;
        if ((d[off] & 0xFF) != 0xFF || (b1 & 0xE0) != 0xE0) {
            return null;
        }
        int b2 = d[off + 2] & 0xFF;
        int b3 = d[off + 3] & 0xFF;
        int versionBits = (b1 >> 3) & 3;
        int layerBits = (b1 >> 1) & 3;
        int bitrateIndex = b2 >> 4;
        int rateIndex = (b2 >> 2) & 3;
        if (versionBits == 1 || layerBits == 0 || bitrateIndex == 0 || bitrateIndex == 15 || rateIndex == 3
                || (b3 & 3) == 2) {
            return null;
        }
        int version = switch (versionBits) {
            case 3 -> 1;
            case 2 -> 2;
            default -> 25;
        };
        int layer = 4 - layerBits;
        int sampleRate = MPEG1_RATES[rateIndex] >> (version == 1 ? 0 : version == 2 ? 1 : 2);
        int table = version == 1 ? layer - 1 : (layer == 1 ? 3 : 4);
        int bitrate = BITRATES_KBPS[table][bitrateIndex] * 1000;
        int padding = (b2 >> 1) & 1;
        int length;
        int samples;
        if (layer == 1) {
            length = (12 * bitrate / sampleRate + padding) * 4;
            samples = 384;
        } else if (layer == 2 || version == 1) {
            length = 144 * bitrate / sampleRate + padding;
            samples = 1152;
        } else {
            length = 72 * bitrate / sampleRate + padding;
            samples = 576;
        }
        int channels = (b3 >> 6) == 3 ? 1 : 2;
        boolean crc = (b1 & 1) == 0;
        return new MpegFrame(version, layer, sampleRate, bitrate, length, samples, channels, crc);
    }

    /** Whether {@code other} plausibly belongs to the same stream (same version, layer and rate). */
    boolean sameStream(MpegFrame other) {
        return other != null && other.version == version && other.layer == layer
                && other.sampleRate == sampleRate;
    }

    /** Layer III side information size in bytes (where a Xing/Info tag would start after the header). */
    int sideInfoBytes() {
        if (version == 1) {
            return channels == 1 ? 17 : 32;
        }
        return channels == 1 ? 9 : 17;
    }

    String encoding() {
        return switch (layer) {
            case 1 -> "mp1";
            case 2 -> "mp2";
            default -> "mp3";
        };
    }
}
