package io.cosyvoice.audio;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

import de.sciss.jump3r.lowlevel.LameEncoder;

/**
 * Makes real audio files for tests (WAV in all supported sample formats, raw PCM, MP3 through the
 * jump3r LAME port, ID3 tags) and measures decoded signals. Shared by tests across the project.
 */
public final class TestAudio {

    /** The amplitude of the tones made by the convenience methods. */
    public static final double DEFAULT_AMPLITUDE = 0.5;
    /** The frequency of the tones made by the convenience methods. */
    public static final double DEFAULT_HZ = 440.0;

    private TestAudio() {}

    // ---------------------------------------------------------------- signals

    /** A sine tone of amplitude {@value #DEFAULT_AMPLITUDE}: {@code round(sampleRate * seconds)} samples. */
    public static float[] tone(int sampleRate, double seconds, double hz) {
        return tone(sampleRate, seconds, hz, DEFAULT_AMPLITUDE);
    }

    /** A sine tone of the given amplitude (0..1): {@code round(sampleRate * seconds)} samples. */
    public static float[] tone(int sampleRate, double seconds, double hz, double amplitude) {
        int n = (int) Math.round(sampleRate * seconds);
        float[] s = new float[n];
        double w = 2 * Math.PI * hz / sampleRate;
        for (int i = 0; i < n; i++) {
            s[i] = (float) (amplitude * Math.sin(w * i));
        }
        return s;
    }

    // ---------------------------------------------------------------- WAV

    /**
     * A complete RIFF/WAVE file holding {@code mono} (values in [-1, 1]) in every one of
     * {@code channels} channels. Integer formats: 8-bit unsigned, 16/24/32-bit signed; float
     * formats ({@code isFloat}): 32/64-bit IEEE. Uses a plain 16-byte fmt chunk.
     */
    public static byte[] wav(float[] mono, int sampleRate, int channels, int bitsPerSample, boolean isFloat) {
        return wav(mono, sampleRate, channels, bitsPerSample, isFloat, false);
    }

    /**
     * Like {@link #wav(float[], int, int, int, boolean)}; with {@code extensible} the fmt chunk is
     * WAVE_FORMAT_EXTENSIBLE (40 bytes, PCM or IEEE-float subformat GUID, a standard channel mask).
     */
    public static byte[] wav(float[] mono, int sampleRate, int channels, int bitsPerSample, boolean isFloat,
            boolean extensible) {
        byte[] data = samples(mono, channels, bitsPerSample, isFloat);
        int blockAlign = channels * bitsPerSample / 8;
        ByteBuffer fmt = ByteBuffer.allocate(extensible ? 40 : 16).order(ByteOrder.LITTLE_ENDIAN);
        int tag = isFloat ? 3 : 1;
        fmt.putShort((short) (extensible ? 0xFFFE : tag));
        fmt.putShort((short) channels);
        fmt.putInt(sampleRate);
        fmt.putInt(sampleRate * blockAlign);
        fmt.putShort((short) blockAlign);
        fmt.putShort((short) bitsPerSample);
        if (extensible) {
            fmt.putShort((short) 22);
            fmt.putShort((short) bitsPerSample);
            fmt.putInt(channels == 1 ? 0x4 : (1 << channels) - 1);
            fmt.putShort((short) tag);
            fmt.put(new byte[] {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, (byte) 0x80, 0x00, 0x00, (byte) 0xAA, 0x00,
                0x38, (byte) 0x9B, 0x71});
        }
        return riff(chunk("fmt ", fmt.array()), chunk("data", data));
    }

    /** A mono 16-bit WAV of a {@value #DEFAULT_HZ} Hz tone, amplitude {@value #DEFAULT_AMPLITUDE}. */
    public static byte[] wav16(double seconds, int sampleRate) {
        return wav(tone(sampleRate, seconds, DEFAULT_HZ), sampleRate, 1, 16, false);
    }

    /** Interleaved little-endian sample bytes: {@code mono} repeated in each channel. */
    public static byte[] samples(float[] mono, int channels, int bitsPerSample, boolean isFloat) {
        int bytes = bitsPerSample / 8;
        if (isFloat ? bitsPerSample != 32 && bitsPerSample != 64
                : bitsPerSample != 8 && bitsPerSample != 16 && bitsPerSample != 24 && bitsPerSample != 32) {
            throw new IllegalArgumentException("unsupported sample format: " + bitsPerSample + (isFloat ? "f" : ""));
        }
        ByteBuffer b = ByteBuffer.allocate(mono.length * channels * bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : mono) {
            double v = Math.max(-1.0, Math.min(1.0, f));
            for (int c = 0; c < channels; c++) {
                if (isFloat) {
                    if (bitsPerSample == 32) {
                        b.putFloat((float) v);
                    } else {
                        b.putDouble(v);
                    }
                    continue;
                }
                switch (bitsPerSample) {
                    case 8 -> b.put((byte) (Math.round(v * 127) + 128));
                    case 16 -> b.putShort((short) Math.round(v * 32767));
                    case 24 -> {
                        int s = (int) Math.round(v * 8388607);
                        b.put((byte) s).put((byte) (s >> 8)).put((byte) (s >> 16));
                    }
                    default -> b.putInt((int) Math.round(v * 2147483647.0));
                }
            }
        }
        return b.array();
    }

    /** One RIFF chunk: id, little-endian size, body, and a pad byte when the size is odd. */
    public static byte[] chunk(String id, byte[] body) {
        ByteBuffer b = ByteBuffer.allocate(8 + body.length + (body.length & 1)).order(ByteOrder.LITTLE_ENDIAN);
        b.put(id.getBytes(StandardCharsets.US_ASCII)).putInt(body.length).put(body);
        return b.array();
    }

    /** A RIFF/WAVE file made of the given (already encoded) chunks, in order. */
    public static byte[] riff(byte[]... chunks) {
        int size = 4;
        for (byte[] c : chunks) {
            size += c.length;
        }
        ByteBuffer b = ByteBuffer.allocate(8 + size).order(ByteOrder.LITTLE_ENDIAN);
        b.put("RIFF".getBytes(StandardCharsets.US_ASCII)).putInt(size).put("WAVE".getBytes(StandardCharsets.US_ASCII));
        for (byte[] c : chunks) {
            b.put(c);
        }
        return b.array();
    }

    /** The offset of the first chunk with this id in a RIFF file (of its 8-byte header), or -1. */
    public static int chunkOffset(byte[] riff, String id) {
        ByteBuffer b = ByteBuffer.wrap(riff).order(ByteOrder.LITTLE_ENDIAN);
        int p = 12;
        while (p + 8 <= riff.length) {
            if (new String(riff, p, 4, StandardCharsets.US_ASCII).equals(id)) {
                return p;
            }
            long size = b.getInt(p + 4) & 0xFFFFFFFFL;
            p += (int) (8 + size + (size & 1));
        }
        return -1;
    }

    // ---------------------------------------------------------------- raw PCM

    /** Headerless 16-bit signed little-endian mono PCM of a {@value #DEFAULT_HZ} Hz tone. */
    public static byte[] pcm16(double seconds, int sampleRate) {
        return samples(tone(sampleRate, seconds, DEFAULT_HZ), 1, 16, false);
    }

    // ---------------------------------------------------------------- MP3

    /**
     * A constant-bitrate MP3 (no tags) of a {@value #DEFAULT_HZ} Hz tone, amplitude
     * {@value #DEFAULT_AMPLITUDE}, encoded by jump3r at the given rate (no resampling), with 1
     * (mono) or 2 (joint stereo, same signal in both) channels. The MP3 is a little longer than
     * {@code seconds}: LAME adds encoder delay and pads the last frame.
     */
    public static byte[] mp3(double seconds, int sampleRate, int channels, int kbps) {
        return mp3(tone(sampleRate, seconds, DEFAULT_HZ), sampleRate, channels, kbps);
    }

    /** Like {@link #mp3(double, int, int, int)} for an arbitrary mono signal. */
    public static byte[] mp3(float[] mono, int sampleRate, int channels, int kbps) {
        if (channels != 1 && channels != 2) {
            throw new IllegalArgumentException("MP3 has 1 or 2 channels, not " + channels);
        }
        byte[] pcm = samples(mono, channels, 16, false);
        javax.sound.sampled.AudioFormat source = new javax.sound.sampled.AudioFormat(
                javax.sound.sampled.AudioFormat.Encoding.PCM_SIGNED, sampleRate, 16, channels, channels * 2,
                sampleRate, false);
        Map<String, Object> props = new HashMap<>();
        props.put(LameEncoder.P_BITRATE, kbps);
        props.put(LameEncoder.P_VBR, false);
        props.put(LameEncoder.P_QUALITY, LameEncoder.QUALITY_MIDDLE);
        props.put(LameEncoder.P_CHMODE, channels == 1 ? "mono" : "jointstereo");
        javax.sound.sampled.AudioFormat target = new javax.sound.sampled.AudioFormat(LameEncoder.MPEG1L3, sampleRate,
                javax.sound.sampled.AudioSystem.NOT_SPECIFIED, channels, javax.sound.sampled.AudioSystem.NOT_SPECIFIED,
                javax.sound.sampled.AudioSystem.NOT_SPECIFIED, false, props);
        LameEncoder encoder = new LameEncoder(source, target);
        try {
            if (encoder.getEffectiveSampleRate() != sampleRate) {
                throw new IllegalArgumentException("LAME would resample " + sampleRate + " Hz to "
                        + encoder.getEffectiveSampleRate() + " Hz at " + kbps + " kbps");
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream(pcm.length / 8 + 1024);
            byte[] buf = new byte[encoder.getMP3BufferSize()];
            int step = encoder.getPCMBufferSize();
            for (int off = 0; off < pcm.length; off += step) {
                int n = encoder.encodeBuffer(pcm, off, Math.min(step, pcm.length - off), buf);
                out.write(buf, 0, n);
            }
            int n = encoder.encodeFinish(buf);
            out.write(buf, 0, n);
            return out.toByteArray();
        } finally {
            encoder.close();
        }
    }

    /**
     * {@code audio} preceded by an ID3v2.3 tag holding a TIT2 (title) frame and {@code padding} zero
     * bytes of tag padding; the tag size is written syncsafe.
     */
    public static byte[] withId3v2(byte[] audio, String title, int padding) {
        byte[] text = title.getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer frame = ByteBuffer.allocate(10 + 1 + text.length);
        frame.put("TIT2".getBytes(StandardCharsets.US_ASCII)).putInt(1 + text.length).putShort((short) 0)
                .put((byte) 0).put(text);
        int size = frame.capacity() + padding;
        byte[] out = new byte[10 + size + audio.length];
        byte[] header = {'I', 'D', '3', 3, 0, 0, (byte) (size >> 21 & 0x7F), (byte) (size >> 14 & 0x7F),
            (byte) (size >> 7 & 0x7F), (byte) (size & 0x7F)};
        System.arraycopy(header, 0, out, 0, 10);
        System.arraycopy(frame.array(), 0, out, 10, frame.capacity());
        System.arraycopy(audio, 0, out, 10 + size, audio.length);
        return out;
    }

    /** {@code audio} followed by a 128-byte ID3v1 tag ("TAG", title, empty artist/album...). */
    public static byte[] withId3v1(byte[] audio, String title) {
        byte[] out = Arrays.copyOf(audio, audio.length + 128);
        int p = audio.length;
        out[p] = 'T';
        out[p + 1] = 'A';
        out[p + 2] = 'G';
        byte[] t = title.getBytes(StandardCharsets.ISO_8859_1);
        System.arraycopy(t, 0, out, p + 3, Math.min(30, t.length));
        out[p + 127] = (byte) 255; // genre: none
        return out;
    }

    // ---------------------------------------------------------------- measurements

    /** The amplitude of the {@code hz} component of {@code s[from, to)} (single-bin DFT). */
    public static double toneAmplitude(float[] s, int sampleRate, double hz, int from, int to) {
        double w = 2 * Math.PI * hz / sampleRate;
        double re = 0;
        double im = 0;
        for (int i = from; i < to; i++) {
            re += s[i] * Math.cos(w * i);
            im += s[i] * Math.sin(w * i);
        }
        return 2 * Math.hypot(re, im) / (to - from);
    }

    /** The frequency estimated from upward zero crossings of {@code s[from, to)}, in Hz. */
    public static double zeroCrossingHz(float[] s, int sampleRate, int from, int to) {
        int first = -1;
        int last = -1;
        int crossings = 0;
        for (int i = Math.max(from, 1); i < to; i++) {
            if (s[i - 1] < 0 && s[i] >= 0) {
                if (first < 0) {
                    first = i;
                } else {
                    crossings++;
                }
                last = i;
            }
        }
        return crossings == 0 ? 0 : crossings * (double) sampleRate / (last - first);
    }

    /** The root mean square of {@code s[from, to)}. */
    public static double rms(float[] s, int from, int to) {
        double sum = 0;
        for (int i = from; i < to; i++) {
            sum += (double) s[i] * s[i];
        }
        return Math.sqrt(sum / (to - from));
    }

    /** The largest absolute difference between {@code a} and {@code b} over their common length. */
    public static double maxAbsDiff(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < Math.min(a.length, b.length); i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }
}
