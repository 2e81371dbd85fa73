package io.cosyvoice.audio;

import static io.cosyvoice.audio.AudioDecodeException.Kind.MALFORMED;
import static io.cosyvoice.audio.AudioDecodeException.Kind.NOT_AUDIO;
import static io.cosyvoice.audio.AudioDecodeException.Kind.TRUNCATED;
import static io.cosyvoice.audio.AudioDecodeException.Kind.UNSUPPORTED;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Locale;

/**
 * RIFF/WAVE (and RF64/BW64) parser and PCM / IEEE-float sample decoder. Works directly on the byte
 * array; the result is the mono mixdown.
 */
final class WavDecoder {

    static final int MIN_SAMPLE_RATE = 8000;
    static final int MAX_SAMPLE_RATE = 192000;
    static final int MAX_CHANNELS = 8;

    private static final int TAG_PCM = 0x0001;
    private static final int TAG_FLOAT = 0x0003;
    private static final int TAG_EXTENSIBLE = 0xFFFE;

    /** Bytes 2..15 of every KSDATAFORMAT_SUBTYPE_* GUID derived from a WAVE format tag. */
    private static final byte[] GUID_TAIL = {
        0x00, 0x00, 0x00, 0x00, 0x10, 0x00, (byte) 0x80, 0x00, 0x00, (byte) 0xAA, 0x00, 0x38, (byte) 0x9B, 0x71
    };

    private static final long UNKNOWN_SIZE = 0xFFFFFFFFL;

    private WavDecoder() {}

    /** True when the content starts like a RIFF-family file (which may still turn out not to be WAVE). */
    static boolean isRiff(byte[] d) {
        return d.length >= 4 && (Bytes.matches(d, 0, "RIFF") || Bytes.matches(d, 0, "RF64") || Bytes.matches(d, 0, "BW64"));
    }

    static DecodedAudio decode(byte[] d) throws AudioDecodeException {
        int len = d.length;
        if (len < 12) {
            throw new AudioDecodeException(TRUNCATED,
                    "WAV header is truncated: only " + len + " bytes present");
        }
        if (!Bytes.matches(d, 8, "WAVE")) {
            throw new AudioDecodeException(NOT_AUDIO,
                    "RIFF file is not WAVE audio (form type '" + printableId(d, 8) + "')");
        }
        boolean rf64 = !Bytes.matches(d, 0, "RIFF");
        ByteBuffer bb = ByteBuffer.wrap(d).order(ByteOrder.LITTLE_ENDIAN);

        Fmt fmt = null;
        long ds64DataSize = -1;
        long dataStart = -1;
        long dataSize = -1;
        long pos = 12;
        while (true) {
            long remaining = len - pos;
            if (remaining < 8) {
                if (remaining > 0 && (fmt == null || dataStart < 0)) {
                    throw new AudioDecodeException(TRUNCATED, "WAV header is truncated");
                }
                break;
            }
            int p = (int) pos;
            long size = bb.getInt(p + 4) & 0xFFFFFFFFL;
            long body = pos + 8;
            if (Bytes.matches(d, p, "data")) {
                dataStart = body;
                long present = len - body;
                if (rf64 && size == UNKNOWN_SIZE && ds64DataSize >= 0) {
                    size = ds64DataSize;
                } else if (size == UNKNOWN_SIZE || (size == 0 && present > 0)) {
                    size = present; // streaming writer: data runs to the end of the file
                }
                if (size > present) {
                    throw new AudioDecodeException(TRUNCATED, "WAV data chunk is truncated: header declares "
                            + size + " bytes, " + present + " present");
                }
                dataSize = size;
                if (fmt != null) {
                    break; // everything needed; trailing chunks (LIST, id3...) are ignored
                }
            } else if (Bytes.matches(d, p, "fmt ")) {
                if (body + size > len) {
                    throw new AudioDecodeException(TRUNCATED, "WAV fmt chunk is truncated");
                }
                fmt = parseFmt(bb, p + 8, (int) size);
                if (dataStart >= 0) {
                    break;
                }
            } else if (Bytes.matches(d, p, "ds64") && rf64) {
                if (body + size > len || size < 24) {
                    throw new AudioDecodeException(TRUNCATED, "RF64 ds64 chunk is truncated");
                }
                ds64DataSize = bb.getLong(p + 16);
            } else if (body + size > len && dataStart < 0) {
                // An unknown chunk (LIST, fact, junk...) that runs past the end before any audio data.
                throw new AudioDecodeException(TRUNCATED, "WAV header is truncated: chunk '"
                        + printableId(d, p) + "' declares " + size + " bytes, " + (len - body) + " present");
            }
            pos = body + size + (size & 1); // chunks are word aligned: odd sizes are followed by a pad byte
        }
        if (fmt == null) {
            throw new AudioDecodeException(MALFORMED, "WAV file has no fmt chunk");
        }
        if (dataStart < 0) {
            throw new AudioDecodeException(MALFORMED, "WAV file has no data chunk");
        }
        int frameBytes = fmt.channels * fmt.bytesPerSample;
        if (dataSize % frameBytes != 0) {
            throw new AudioDecodeException(TRUNCATED, "WAV data ends with a partial sample frame: " + dataSize
                    + " bytes is not a multiple of the " + frameBytes + "-byte frame size");
        }
        long frames = dataSize / frameBytes;
        float[] out = new float[(int) frames];
        convert(bb, (int) dataStart, out, fmt);
        return new DecodedAudio(AudioFormat.WAV, fmt.sampleRate, fmt.channels, fmt.encoding, out);
    }

    /** The parts of a fmt chunk that matter, already validated. */
    private record Fmt(int channels, int sampleRate, int bytesPerSample, boolean isFloat, String encoding) {}

    private static Fmt parseFmt(ByteBuffer bb, int off, int size) throws AudioDecodeException {
        if (size < 16) {
            throw new AudioDecodeException(MALFORMED, "WAV fmt chunk is too short (" + size + " bytes)");
        }
        int tag = bb.getShort(off) & 0xFFFF;
        int channels = bb.getShort(off + 2) & 0xFFFF;
        long sampleRate = bb.getInt(off + 4) & 0xFFFFFFFFL;
        int blockAlign = bb.getShort(off + 12) & 0xFFFF;
        int bits = bb.getShort(off + 14) & 0xFFFF;
        int effectiveTag = tag;
        if (tag == TAG_EXTENSIBLE) {
            if (size < 40) {
                throw new AudioDecodeException(MALFORMED,
                        "WAV fmt chunk is too short for WAVE_FORMAT_EXTENSIBLE (" + size + " bytes)");
            }
            int validBits = bb.getShort(off + 18) & 0xFFFF;
            int guid = off + 24;
            effectiveTag = bb.getShort(guid) & 0xFFFF;
            boolean standardGuid = true;
            for (int i = 0; i < GUID_TAIL.length; i++) {
                if (bb.get(guid + 2 + i) != GUID_TAIL[i]) {
                    standardGuid = false;
                    break;
                }
            }
            if (!standardGuid || (effectiveTag != TAG_PCM && effectiveTag != TAG_FLOAT)) {
                throw new AudioDecodeException(UNSUPPORTED, "WAV extensible subformat "
                        + (standardGuid ? tagName(effectiveTag) : "(non-standard GUID)")
                        + " is not supported; use PCM or IEEE float");
            }
            if (validBits > bits) {
                throw new AudioDecodeException(MALFORMED, "WAV fmt chunk declares " + validBits
                        + " valid bits in a " + bits + "-bit container");
            }
        }
        if (effectiveTag != TAG_PCM && effectiveTag != TAG_FLOAT) {
            throw new AudioDecodeException(UNSUPPORTED,
                    "WAV format " + tagName(tag) + " is not supported; use PCM or IEEE float WAV");
        }
        if (channels == 0) {
            throw new AudioDecodeException(MALFORMED, "WAV fmt chunk declares 0 channels");
        }
        if (channels > MAX_CHANNELS) {
            throw new AudioDecodeException(UNSUPPORTED,
                    "WAV with " + channels + " channels is not supported (1.." + MAX_CHANNELS + ")");
        }
        if (sampleRate < MIN_SAMPLE_RATE || sampleRate > MAX_SAMPLE_RATE) {
            throw new AudioDecodeException(UNSUPPORTED, "WAV sample rate " + sampleRate
                    + " Hz is not supported (" + MIN_SAMPLE_RATE + ".." + MAX_SAMPLE_RATE + " Hz)");
        }
        boolean isFloat = effectiveTag == TAG_FLOAT;
        String encoding;
        if (isFloat) {
            encoding = switch (bits) {
                case 32 -> "pcm_f32le";
                case 64 -> "pcm_f64le";
                default -> throw new AudioDecodeException(UNSUPPORTED,
                        bits + "-bit float WAV is not supported (32 or 64 bit)");
            };
        } else {
            encoding = switch (bits) {
                case 8 -> "pcm_u8";
                case 16 -> "pcm_s16le";
                case 24 -> "pcm_s24le";
                case 32 -> "pcm_s32le";
                default -> throw new AudioDecodeException(UNSUPPORTED,
                        bits + "-bit PCM WAV is not supported (8, 16, 24 or 32 bit)");
            };
        }
        int bytesPerSample = bits / 8;
        if (blockAlign != channels * bytesPerSample) {
            throw new AudioDecodeException(MALFORMED, "WAV fmt chunk is inconsistent: block align " + blockAlign
                    + " for " + channels + " channel(s) of " + bits + " bits");
        }
        return new Fmt(channels, (int) sampleRate, bytesPerSample, isFloat, encoding);
    }

    /** Decodes interleaved samples at {@code off} into the mono mixdown {@code out}. */
    private static void convert(ByteBuffer bb, int off, float[] out, Fmt fmt) {
        int ch = fmt.channels;
        int n = out.length;
        float inv = 1f / ch;
        switch (fmt.encoding) {
            case "pcm_s16le" -> {
                if (ch == 1) {
                    for (int i = 0, p = off; i < n; i++, p += 2) {
                        out[i] = bb.getShort(p) * (1f / 32768f);
                    }
                } else {
                    for (int i = 0, p = off; i < n; i++) {
                        int sum = 0;
                        for (int c = 0; c < ch; c++, p += 2) {
                            sum += bb.getShort(p);
                        }
                        out[i] = sum * inv * (1f / 32768f);
                    }
                }
            }
            case "pcm_u8" -> {
                byte[] d = bb.array();
                for (int i = 0, p = off; i < n; i++) {
                    int sum = 0;
                    for (int c = 0; c < ch; c++, p++) {
                        sum += (d[p] & 0xFF) - 128;
                    }
                    out[i] = sum * inv * (1f / 128f);
                }
            }
            case "pcm_s24le" -> {
                byte[] d = bb.array();
                for (int i = 0, p = off; i < n; i++) {
                    int sum = 0; // at most 8 * 2^23: fits an int
                    for (int c = 0; c < ch; c++, p += 3) {
                        sum += (d[p] & 0xFF) | (d[p + 1] & 0xFF) << 8 | d[p + 2] << 16;
                    }
                    out[i] = sum * inv * (1f / 8388608f);
                }
            }
            case "pcm_s32le" -> {
                for (int i = 0, p = off; i < n; i++) {
                    long sum = 0;
                    for (int c = 0; c < ch; c++, p += 4) {
                        sum += bb.getInt(p);
                    }
                    out[i] = (float) (sum / (ch * 2147483648.0));
                }
            }
            case "pcm_f32le" -> {
                for (int i = 0, p = off; i < n; i++) {
                    float sum = 0;
                    for (int c = 0; c < ch; c++, p += 4) {
                        sum += clamp(bb.getFloat(p));
                    }
                    out[i] = sum * inv;
                }
            }
            case "pcm_f64le" -> {
                for (int i = 0, p = off; i < n; i++) {
                    double sum = 0;
                    for (int c = 0; c < ch; c++, p += 8) {
                        sum += clamp(bb.getDouble(p));
                    }
                    out[i] = (float) (sum / ch);
                }
            }
            default -> throw new IllegalStateException("unhandled encoding " + fmt.encoding);
        }
    }

    /** Clamps to [-1, 1]; NaN becomes silence. */
    private static float clamp(float v) {
        return v >= -1f ? (v <= 1f ? v : 1f) : (v < -1f ? -1f : 0f);
    }

    private static double clamp(double v) {
        return v >= -1.0 ? (v <= 1.0 ? v : 1.0) : (v < -1.0 ? -1.0 : 0.0);
    }

    private static String tagName(int tag) {
        String name = switch (tag) {
            case 0x0002 -> "Microsoft ADPCM";
            case 0x0006 -> "A-law";
            case 0x0007 -> "mu-law";
            case 0x0011 -> "IMA ADPCM";
            case 0x0031 -> "GSM 6.10";
            case 0x0050 -> "MPEG audio";
            case 0x0055 -> "MPEG Layer III";
            case 0x00FF, 0x1610 -> "AAC";
            case 0x0160, 0x0161, 0x0162, 0x0163 -> "Windows Media Audio";
            case 0xF1AC -> "FLAC";
            default -> null;
        };
        String hex = String.format(Locale.ROOT, "0x%04X", tag);
        return name == null ? "tag " + hex : "tag " + hex + " (" + name + ")";
    }

    private static String printableId(byte[] d, int off) {
        StringBuilder sb = new StringBuilder(4);
        for (int i = off; i < off + 4 && i < d.length; i++) {
            int c = d[i] & 0xFF;
            sb.append(c >= 0x20 && c < 0x7F ? (char) c : '?');
        }
        return sb.toString();
    }
}
