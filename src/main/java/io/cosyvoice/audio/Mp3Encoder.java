package io.cosyvoice.audio;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

import javax.sound.sampled.AudioSystem;

import de.sciss.jump3r.lowlevel.LameEncoder;

/**
 * Constant-bit-rate mono MP3 through jump3r (a Java port of LAME), at the given sample rate (never
 * resampled). {@link #encode} returns only whole MP3 frames: LAME's output is scanned frame header
 * by frame header and a trailing partial frame is kept for the next call, so each chunk is a
 * sequence of complete frames. (Frames may still borrow bits from the previous frame's bit
 * reservoir, as in any MP3 stream, so a chunk played on its own may glitch at its start.)
 *
 * <p>The stream carries LAME's usual encoder delay (576 + 529 samples of leading silence as
 * decoded) and pads the last frame. There is no Xing/LAME tag, since the first frame is sent before
 * the length is known: the all-zero frame LAME reserves for it is dropped.
 */
final class Mp3Encoder implements AudioEncoder {

    /** Samples handed to LAME per call, to bound its output per call. */
    private static final int MAX_SAMPLES_PER_CALL = 4608;
    private static final int OUT_BUFFER_BYTES = 64 * 1024;

    private final int sampleRate;
    private final int bitRateKbps;
    private final LameEncoder lame;
    private final byte[] pcm = new byte[MAX_SAMPLES_PER_CALL * 2];
    private final byte[] out = new byte[OUT_BUFFER_BYTES];
    /** LAME output not yet returned: whole frames and at most one trailing partial frame. */
    private byte[] pending = new byte[16 * 1024];
    private int pendingLen;
    /** Whether the first frame has been looked at (for the tag placeholder). */
    private boolean firstFrameSeen;
    private boolean finished;

    /**
     * @param sampleRate  an MP3 sample rate ({@link Mp3BitRates#isSupportedSampleRate})
     * @param bitRateKbps a legal rate at that sample rate ({@link Mp3BitRates#effectiveMp3BitRate})
     */
    Mp3Encoder(int sampleRate, int bitRateKbps) {
        Mp3BitRates.mpegVersion(sampleRate); // validates the rate
        if (Mp3BitRates.effectiveMp3BitRate(sampleRate, bitRateKbps) != bitRateKbps) {
            throw new IllegalArgumentException(bitRateKbps + " kbps is not a legal MP3 bit rate at " + sampleRate
                    + " Hz");
        }
        this.sampleRate = sampleRate;
        this.bitRateKbps = bitRateKbps;
        javax.sound.sampled.AudioFormat source = new javax.sound.sampled.AudioFormat(
                javax.sound.sampled.AudioFormat.Encoding.PCM_SIGNED, sampleRate, 16, 1, 2, sampleRate, false);
        Map<String, Object> props = new HashMap<>();
        props.put(LameEncoder.P_BITRATE, bitRateKbps);
        props.put(LameEncoder.P_VBR, false);
        props.put(LameEncoder.P_QUALITY, LameEncoder.QUALITY_MIDDLE);
        props.put(LameEncoder.P_CHMODE, "mono");
        javax.sound.sampled.AudioFormat target = new javax.sound.sampled.AudioFormat(LameEncoder.MPEG1L3,
                sampleRate, AudioSystem.NOT_SPECIFIED, 1, AudioSystem.NOT_SPECIFIED, AudioSystem.NOT_SPECIFIED,
                false, props);
        LameEncoder encoder = new LameEncoder(source, target);
        if (encoder.getEffectiveSampleRate() != sampleRate || encoder.getEffectiveBitRate() != bitRateKbps) {
            encoder.close();
            throw new IllegalStateException("the MP3 encoder would write " + encoder.getEffectiveSampleRate()
                    + " Hz at " + encoder.getEffectiveBitRate() + " kbps instead of " + sampleRate + " Hz at "
                    + bitRateKbps + " kbps");
        }
        this.lame = encoder;
    }

    /** The constant bit rate of the stream, in kbps. */
    int bitRateKbps() {
        return bitRateKbps;
    }

    @Override
    public byte[] encode(float[] samples) {
        if (finished) {
            throw new IllegalStateException("encoder already finished");
        }
        for (int off = 0; off < samples.length; off += MAX_SAMPLES_PER_CALL) {
            int n = Math.min(MAX_SAMPLES_PER_CALL, samples.length - off);
            Pcm16.write(samples, off, off + n, pcm, 0);
            int written = lame.encodeBuffer(pcm, 0, n * 2, out);
            append(out, written);
        }
        return takeWholeFrames();
    }

    @Override
    public byte[] finish() {
        if (finished) {
            throw new IllegalStateException("encoder already finished");
        }
        finished = true;
        try {
            int written = lame.encodeFinish(out);
            append(out, written);
        } finally {
            lame.close();
        }
        if (!firstFrameSeen) {
            dropTagPlaceholder();
        }
        byte[] rest = Arrays.copyOf(pending, pendingLen);
        pendingLen = 0;
        return rest;
    }

    /** Removes and returns the whole frames at the start of the pending bytes. */
    private byte[] takeWholeFrames() {
        if (!firstFrameSeen) {
            dropTagPlaceholder();
        }
        int end = 0;
        while (end + MpegFrame.HEADER_BYTES <= pendingLen) {
            MpegFrame f = MpegFrame.parse(pending, end);
            if (f == null) {
                // Not a frame boundary: never expected from LAME; pass everything on rather than stall.
                end = pendingLen;
                break;
            }
            if (end + f.length() > pendingLen) {
                break;
            }
            end += f.length();
        }
        if (end == 0) {
            return new byte[0];
        }
        byte[] frames = Arrays.copyOf(pending, end);
        System.arraycopy(pending, end, pending, 0, pendingLen - end);
        pendingLen -= end;
        return frames;
    }

    /**
     * LAME starts the stream with a frame of zeros, a placeholder for the Xing/LAME tag it would
     * write there once the length is known (by seeking back in a file). A stream cannot be
     * rewritten, and the placeholder would only decode to one frame of extra silence at the start,
     * so it is dropped. (It holds no main data for later frames: LAME's bit reservoir starts empty
     * after it.)
     */
    private void dropTagPlaceholder() {
        MpegFrame f = pendingLen >= MpegFrame.HEADER_BYTES ? MpegFrame.parse(pending, 0) : null;
        if (f == null || pendingLen < f.length()) {
            return; // wait for the whole first frame
        }
        firstFrameSeen = true;
        for (int i = MpegFrame.HEADER_BYTES; i < f.length(); i++) {
            if (pending[i] != 0) {
                return;
            }
        }
        System.arraycopy(pending, f.length(), pending, 0, pendingLen - f.length());
        pendingLen -= f.length();
    }

    private void append(byte[] src, int n) {
        if (n <= 0) {
            return;
        }
        if (pendingLen + n > pending.length) {
            pending = Arrays.copyOf(pending, Math.max(pending.length * 2, pendingLen + n));
        }
        System.arraycopy(src, 0, pending, pendingLen, n);
        pendingLen += n;
    }

    @Override
    public String contentType() {
        return AudioFormat.MP3.mimeType();
    }

    @Override
    public int sampleRate() {
        return sampleRate;
    }
}
