package io.cosyvoice.audio;

import static io.cosyvoice.audio.AudioDecodeException.Kind.NOT_AUDIO;
import static io.cosyvoice.audio.AudioDecodeException.Kind.UNSUPPORTED;

/**
 * Decodes an uploaded voice recording (WAV, MP3 or raw 16-bit PCM) completely, to validate it and to
 * obtain its samples as a mono mixdown.
 *
 * <p>The format is detected from the content, never from the file name: a RIFF/WAVE (or RF64)
 * header means WAV; an ID3v2 tag or a chain of MPEG audio frame headers near the start means MP3.
 * Only content that is neither is taken as headerless PCM, and only when the hint says so (a
 * ".pcm"/".raw" name, an audio/pcm, audio/L16 or audio/x-pcm content type, or a declared PCM rate).
 *
 * <p>Thread-safe and stateless; all work happens on the calling thread.
 */
public final class AudioDecoder {

    /** The sample rate assumed for raw PCM when the client declares none. */
    public static final int DEFAULT_PCM_SAMPLE_RATE = 16000;

    private AudioDecoder() {}

    /**
     * Decodes {@code data} fully.
     *
     * @param data the uploaded bytes (null is treated as empty)
     * @param hint what the client said about the upload (null means {@link AudioHint#none()})
     * @return the decoded audio, samples mixed down to mono
     * @throws AudioDecodeException with a short, user-facing message when the bytes are not audio,
     *         are in an unsupported encoding, are truncated or are malformed
     */
    public static DecodedAudio decode(byte[] data, AudioHint hint) throws AudioDecodeException {
        AudioHint h = hint == null ? AudioHint.none() : hint;
        if (data == null || data.length == 0) {
            throw new AudioDecodeException(NOT_AUDIO, "the uploaded file is empty");
        }
        if (WavDecoder.isRiff(data)) {
            return WavDecoder.decode(data);
        }
        DecodedAudio mp3 = Mp3Decoder.tryDecode(data);
        if (mp3 != null) {
            return mp3;
        }
        String other = otherFormatName(data, 0);
        if (other != null) {
            throw new AudioDecodeException(UNSUPPORTED, other + " audio is not supported; upload WAV, MP3 or PCM");
        }
        if (PcmDecoder.hinted(h)) {
            return PcmDecoder.decode(data, h);
        }
        String looksLike = nonAudioName(data);
        throw new AudioDecodeException(NOT_AUDIO, "not a WAV, MP3 or PCM audio file"
                + (looksLike == null ? "" : " (it looks like " + looksLike + ")"));
    }

    /** Names an audio format we recognise but do not decode, starting at {@code off}; else null. */
    static String otherFormatName(byte[] d, int off) {
        if (Bytes.matches(d, off, "fLaC")) {
            return "FLAC";
        }
        if (Bytes.matches(d, off, "OggS")) {
            return "Ogg (Vorbis/Opus)";
        }
        if (Bytes.matches(d, off, "FORM") && (Bytes.matches(d, off + 8, "AIFF") || Bytes.matches(d, off + 8, "AIFC"))) {
            return "AIFF";
        }
        if (Bytes.matches(d, off + 4, "ftyp")) {
            return "MP4/M4A";
        }
        if (Bytes.matches(d, off, "#!AMR")) {
            return "AMR";
        }
        if (Bytes.matches(d, off, "caff")) {
            return "CAF";
        }
        if (off + 4 <= d.length && (d[off] & 0xFF) == 0x1A && (d[off + 1] & 0xFF) == 0x45
                && (d[off + 2] & 0xFF) == 0xDF && (d[off + 3] & 0xFF) == 0xA3) {
            return "WebM/Matroska";
        }
        if (isAdtsChain(d, off)) {
            return "AAC";
        }
        return null;
    }

    /** Two chained AAC ADTS frame headers at {@code off}. */
    private static boolean isAdtsChain(byte[] d, int off) {
        int p = off;
        for (int i = 0; i < 2; i++) {
            if (p + 7 > d.length || (d[p] & 0xFF) != 0xFF || (d[p + 1] & 0xF6) != 0xF0) {
                return false;
            }
            int len = (d[p + 3] & 0x03) << 11 | (d[p + 4] & 0xFF) << 3 | (d[p + 5] & 0xFF) >> 5;
            if (len < 7) {
                return false;
            }
            p += len;
        }
        return true;
    }

    /** Names common non-audio content for a friendlier error message; else null. */
    private static String nonAudioName(byte[] d) {
        if (d.length >= 8 && (d[0] & 0xFF) == 0x89 && Bytes.matches(d, 1, "PNG")) {
            return "a PNG image";
        }
        if (d.length >= 3 && (d[0] & 0xFF) == 0xFF && (d[1] & 0xFF) == 0xD8 && (d[2] & 0xFF) == 0xFF) {
            return "a JPEG image";
        }
        if (Bytes.matches(d, 0, "GIF8")) {
            return "a GIF image";
        }
        if (Bytes.matches(d, 0, "%PDF")) {
            return "a PDF document";
        }
        if (Bytes.matches(d, 0, "PK\u0003\u0004")) {
            return "a ZIP archive";
        }
        if (TextSniffer.looksLikeText(d)) {
            return "text";
        }
        return null;
    }
}
