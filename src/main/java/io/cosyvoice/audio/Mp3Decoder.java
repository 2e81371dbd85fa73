package io.cosyvoice.audio;

import static io.cosyvoice.audio.AudioDecodeException.Kind.MALFORMED;
import static io.cosyvoice.audio.AudioDecodeException.Kind.TRUNCATED;
import static io.cosyvoice.audio.AudioDecodeException.Kind.UNSUPPORTED;

import java.io.ByteArrayInputStream;
import java.util.Arrays;

import javazoom.jl.decoder.Bitstream;
import javazoom.jl.decoder.Decoder;
import javazoom.jl.decoder.Header;
import javazoom.jl.decoder.SampleBuffer;

/**
 * MPEG audio detection and decoding. Our own frame scanner finds and validates the frame chain
 * (which is what tells MP3 apart from other bytes and detects truncation); JLayer decodes exactly
 * the validated frames.
 */
final class Mp3Decoder {

    /** How far past the start (or the ID3v2 tag) the first frame may be. */
    static final int MAX_LEADING_JUNK = 4096;
    /** How far a lost sync may be searched for in the middle of a stream. */
    private static final int MAX_RESYNC = 4096;

    private Mp3Decoder() {}

    static boolean startsWithId3v2(byte[] d) {
        return d.length >= 3 && d[0] == 'I' && d[1] == 'D' && d[2] == '3';
    }

    /**
     * Decodes the content as MPEG audio. Returns null when the content has no ID3v2 tag and no
     * chain of MPEG frames near its start (i.e. it is not MP3). With an ID3v2 tag the content is
     * taken to be MP3 and problems are reported as errors.
     */
    static DecodedAudio tryDecode(byte[] d) throws AudioDecodeException {
        boolean tagged = startsWithId3v2(d);
        int start = skipId3v2(d);
        int end = audioEnd(d, start);
        int first = findFirstFrame(d, start, end);
        if (first < 0) {
            if (!tagged) {
                return null;
            }
            MpegFrame lone = MpegFrame.parse(d, start);
            if (lone != null && start + lone.length() > end) {
                throw new AudioDecodeException(TRUNCATED, "MP3 stream is truncated: the first frame declares "
                        + lone.length() + " bytes, " + (end - start) + " present");
            }
            String other = AudioDecoder.otherFormatName(d, start);
            if (other != null) {
                throw new AudioDecodeException(UNSUPPORTED,
                        other + " audio is not supported; upload WAV, MP3 or PCM");
            }
            throw new AudioDecodeException(MALFORMED, start >= end
                    ? "MP3 file contains an ID3 tag but no audio"
                    : "MP3 file contains no valid MPEG audio frames after its ID3 tag");
        }
        return decodeFrames(d, walk(d, first, end));
    }

    /** Offsets of the frames to decode, in order, plus the stream's first header. */
    private record Frames(int[] offsets, int[] lengths, int count, MpegFrame firstHeader, long samples,
            boolean contiguous) {}

    /** Skips any ID3v2 tags at the start; returns the offset just after them. */
    private static int skipId3v2(byte[] d) throws AudioDecodeException {
        int pos = 0;
        while (d.length - pos >= 3 && d[pos] == 'I' && d[pos + 1] == 'D' && d[pos + 2] == '3') {
            if (d.length - pos < 10) {
                throw new AudioDecodeException(TRUNCATED, "MP3 ID3 tag is truncated");
            }
            int major = d[pos + 3] & 0xFF;
            int flags = d[pos + 5] & 0xFF;
            int size = 0;
            for (int i = 6; i < 10; i++) {
                int b = d[pos + i] & 0xFF;
                if (b >= 0x80 || major == 0xFF) {
                    throw new AudioDecodeException(MALFORMED, "MP3 ID3 tag header is invalid");
                }
                size = size << 7 | b;
            }
            long tagEnd = (long) pos + 10 + size + ((flags & 0x10) != 0 ? 10 : 0);
            if (tagEnd > d.length) {
                throw new AudioDecodeException(TRUNCATED, "MP3 ID3 tag is truncated: tag declares "
                        + (tagEnd - pos) + " bytes, " + (d.length - pos) + " present");
            }
            pos = (int) tagEnd;
        }
        return pos;
    }

    /** The end of the audio: the content length minus trailing ID3v1, APEv2 and Lyrics3v2 tags. */
    private static int audioEnd(byte[] d, int start) {
        int end = d.length;
        boolean changed = true;
        while (changed) {
            changed = false;
            if (end - start >= 128 && d[end - 128] == 'T' && d[end - 127] == 'A' && d[end - 126] == 'G') {
                end -= 128;
                changed = true;
            }
            if (end - start >= 32 && Bytes.matches(d, end - 32, "APETAGEX")) {
                long size = le32(d, end - 32 + 12);
                long flags = le32(d, end - 32 + 20);
                long total = size + ((flags & 0x80000000L) != 0 ? 32 : 0);
                if (size >= 32 && total <= end - start) {
                    end -= (int) total;
                    changed = true;
                }
            }
            if (end - start >= 15 && Bytes.matches(d, end - 9, "LYRICS200")) {
                int size = 0;
                boolean digits = true;
                for (int i = end - 15; i < end - 9; i++) {
                    int c = d[i] - '0';
                    if (c < 0 || c > 9) {
                        digits = false;
                        break;
                    }
                    size = size * 10 + c;
                }
                if (digits && size + 15 <= end - start) {
                    end -= size + 15;
                    changed = true;
                }
            }
        }
        return end;
    }

    /**
     * The offset of the first frame of a chain starting within {@link #MAX_LEADING_JUNK} bytes of
     * {@code start}, or -1. At {@code start} itself two chained headers suffice (or one frame that
     * exactly fills the content); after junk, three are required to rule out chance matches.
     */
    static int findFirstFrame(byte[] d, int start, int end) {
        int limit = Math.min(end - MpegFrame.HEADER_BYTES, start + MAX_LEADING_JUNK);
        for (int s = start; s <= limit; s++) {
            if (d[s] != (byte) 0xFF) {
                continue;
            }
            if (chains(d, s, end, s == start ? 2 : 3)) {
                return s;
            }
        }
        return -1;
    }

    /** Whether {@code needed} consistent headers chain from {@code s} (or the chain exactly fills to end). */
    private static boolean chains(byte[] d, int s, int end, int needed) {
        MpegFrame first = MpegFrame.parse(d, s);
        if (first == null) {
            return false;
        }
        int p = s;
        MpegFrame h = first;
        int count = 1;
        while (count < needed) {
            p += h.length();
            if (p == end) {
                return count >= needed - 1;
            }
            if (p + MpegFrame.HEADER_BYTES > end) {
                return false;
            }
            h = MpegFrame.parse(d, p);
            if (!first.sameStream(h)) {
                return false;
            }
            count++;
        }
        return true;
    }

    /** Walks the frame chain from {@code first} to {@code end}, detecting truncation. */
    private static Frames walk(byte[] d, int first, int end) throws AudioDecodeException {
        MpegFrame head = MpegFrame.parse(d, first);
        int cap = Math.max(16, (end - first) / Math.max(1, head.length()) + 16);
        int[] offsets = new int[cap];
        int[] lengths = new int[cap];
        int count = 0;
        long samples = 0;
        boolean contiguous = true;
        int p = first;
        while (p < end) {
            MpegFrame h = MpegFrame.parse(d, p);
            if (!head.sameStream(h)) {
                if (end - p < MpegFrame.HEADER_BYTES && looksLikePartialHeader(d, p, end)) {
                    throw new AudioDecodeException(TRUNCATED,
                            "MP3 stream is truncated: the last frame is cut off inside its header");
                }
                int next = findFirstFrame(d, p + 1, end, MAX_RESYNC, head);
                if (next < 0) {
                    break; // trailing bytes that are not audio: ignored
                }
                contiguous = false;
                p = next;
                continue;
            }
            if (p + h.length() > end) {
                throw new AudioDecodeException(TRUNCATED, "MP3 stream is truncated: the last frame declares "
                        + h.length() + " bytes, " + (end - p) + " present");
            }
            if (count == offsets.length) {
                offsets = Arrays.copyOf(offsets, count * 2);
                lengths = Arrays.copyOf(lengths, count * 2);
            }
            offsets[count] = p;
            lengths[count] = h.length();
            count++;
            samples += h.samples();
            p += h.length();
        }
        // A Xing/Info/VBRI frame at the start carries stream information, not audio.
        if (count > 0 && isInfoFrame(d, offsets[0], head)) {
            samples -= head.samples();
            offsets = Arrays.copyOfRange(offsets, 1, count);
            lengths = Arrays.copyOfRange(lengths, 1, count);
            count--;
        }
        return new Frames(offsets, lengths, count, head, samples, contiguous);
    }

    /** Like {@link #findFirstFrame(byte[], int, int)} but only accepts frames of the given stream. */
    private static int findFirstFrame(byte[] d, int from, int end, int maxJunk, MpegFrame stream) {
        int limit = Math.min(end - MpegFrame.HEADER_BYTES, from + maxJunk);
        for (int s = from; s <= limit; s++) {
            if (d[s] == (byte) 0xFF && stream.sameStream(MpegFrame.parse(d, s)) && chains(d, s, end, 3)) {
                return s;
            }
        }
        return -1;
    }

    private static boolean looksLikePartialHeader(byte[] d, int p, int end) {
        return d[p] == (byte) 0xFF && (end - p < 2 || (d[p + 1] & 0xE0) == 0xE0);
    }

    private static boolean isInfoFrame(byte[] d, int off, MpegFrame h) {
        if (h.layer() != 3) {
            return false;
        }
        int side = off + MpegFrame.HEADER_BYTES + h.sideInfoBytes();
        return Bytes.matches(d, side, "Xing") || Bytes.matches(d, side, "Info")
                || (h.crc() && (Bytes.matches(d, side + 2, "Xing") || Bytes.matches(d, side + 2, "Info")))
                || Bytes.matches(d, off + 36, "VBRI");
    }

    private static DecodedAudio decodeFrames(byte[] d, Frames frames) throws AudioDecodeException {
        JLayerTables.ensureInitialised();
        MpegFrame head = frames.firstHeader();
        if (frames.count() == 0) {
            return new DecodedAudio(AudioFormat.MP3, head.sampleRate(), head.channels(), head.encoding(),
                    new float[0]);
        }
        byte[] src = d;
        int off = frames.offsets()[0];
        int last = frames.count() - 1;
        int len = frames.offsets()[last] + frames.lengths()[last] - off;
        if (!frames.contiguous()) {
            // Drop the junk between frames so the decoder never sees it.
            int total = 0;
            for (int i = 0; i < frames.count(); i++) {
                total += frames.lengths()[i];
            }
            src = new byte[total];
            for (int i = 0, p = 0; i < frames.count(); i++) {
                System.arraycopy(d, frames.offsets()[i], src, p, frames.lengths()[i]);
                p += frames.lengths()[i];
            }
            off = 0;
            len = total;
        }

        float[] out = new float[(int) Math.min(Integer.MAX_VALUE - 8, frames.samples())];
        int n = 0;
        int sampleRate = head.sampleRate();
        int channels = head.channels();
        int decoded = 0;
        Bitstream bitstream = new Bitstream(new ByteArrayInputStream(src, off, len));
        Decoder decoder = new Decoder();
        try {
            Header header;
            while ((header = bitstream.readFrame()) != null) {
                SampleBuffer buffer = (SampleBuffer) decoder.decodeFrame(header, bitstream);
                short[] pcm = buffer.getBuffer();
                int ch = buffer.getChannelCount();
                int count = buffer.getBufferLength() / ch;
                if (n + count > out.length) {
                    out = Arrays.copyOf(out, Math.max(n + count, out.length + out.length / 2));
                }
                if (ch == 1) {
                    for (int i = 0; i < count; i++) {
                        out[n + i] = pcm[i] * (1f / 32768f);
                    }
                } else {
                    float scale = 1f / (32768f * ch);
                    for (int i = 0, j = 0; i < count; i++) {
                        int sum = 0;
                        for (int c = 0; c < ch; c++) {
                            sum += pcm[j++];
                        }
                        out[n + i] = sum * scale;
                    }
                }
                n += count;
                if (decoded++ == 0) {
                    sampleRate = buffer.getSampleFrequency();
                    channels = ch;
                }
                bitstream.closeFrame();
            }
        } catch (Exception e) {
            // JLayer reports corrupt data with its own exceptions and, on some inputs, with
            // ArrayIndexOutOfBoundsException and friends.
            throw new AudioDecodeException(MALFORMED,
                    "MP3 audio could not be decoded: frame " + (decoded + 1) + " is corrupt", e);
        } finally {
            try {
                bitstream.close();
            } catch (Exception ignored) {
                // nothing to release for an in-memory stream
            }
        }
        if (n != out.length) {
            out = Arrays.copyOf(out, n);
        }
        return new DecodedAudio(AudioFormat.MP3, sampleRate, channels, head.encoding(), out);
    }

    /**
     * JLayer fills some static tables lazily and without synchronisation (the synthesis window in
     * SynthesisFilter, the Huffman tables, LayerIIIDecoder's reorder table); two threads decoding
     * their first MP3 at the same time can see a half-built table and fail. Decoding two silent
     * frames once, inside this class's initialisation (which the JVM runs exactly once and
     * publishes safely), builds them before any concurrent use.
     */
    static final class JLayerTables {
        /** How many silent frames the warm-up decoded (2 when the tables are built). */
        static final int WARM_UP_FRAMES = warmUp();

        private JLayerTables() {}

        static void ensureInitialised() {
            // Referencing the constant (not a compile-time constant) triggers class initialisation.
            if (WARM_UP_FRAMES < 0) {
                throw new AssertionError();
            }
        }

        private static int warmUp() {
            // MPEG-1 Layer III, 44.1 kHz, 128 kbps, single channel, no CRC: 417-byte frames whose
            // all-zero side information and main data decode to silence.
            int length = 417;
            byte[] silent = new byte[2 * length];
            for (int f = 0; f < 2; f++) {
                silent[f * length] = (byte) 0xFF;
                silent[f * length + 1] = (byte) 0xFB;
                silent[f * length + 2] = (byte) 0x90;
                silent[f * length + 3] = (byte) 0xC0;
            }
            int frames = 0;
            Bitstream bitstream = new Bitstream(new ByteArrayInputStream(silent));
            try {
                Decoder decoder = new Decoder();
                Header header;
                while ((header = bitstream.readFrame()) != null) {
                    decoder.decodeFrame(header, bitstream);
                    bitstream.closeFrame();
                    frames++;
                }
                bitstream.close();
            } catch (Exception e) {
                // Tables are then built by the first real decode; nothing else to do.
            }
            return frames;
        }
    }

    private static long le32(byte[] d, int off) {
        return (d[off] & 0xFFL) | (d[off + 1] & 0xFFL) << 8 | (d[off + 2] & 0xFFL) << 16 | (d[off + 3] & 0xFFL) << 24;
    }
}
