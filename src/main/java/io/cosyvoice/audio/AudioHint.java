package io.cosyvoice.audio;

import java.util.OptionalInt;

/**
 * What the client said about an upload. Every part may be null or empty; the decoder detects the
 * format from the bytes and uses the hint only to recognise headerless PCM and its sample rate.
 *
 * @param filename      the uploaded file name, e.g. "voice.wav" (may be null)
 * @param contentType   the declared MIME type, e.g. "audio/L16; rate=24000" (may be null)
 * @param pcmSampleRate the sample rate the client declared for raw PCM (null is treated as empty)
 */
public record AudioHint(String filename, String contentType, OptionalInt pcmSampleRate) {

    private static final AudioHint NONE = new AudioHint(null, null, OptionalInt.empty());

    public AudioHint {
        if (pcmSampleRate == null) {
            pcmSampleRate = OptionalInt.empty();
        }
    }

    /** A hint that says nothing: the format must be recognisable from the content. */
    public static AudioHint none() {
        return NONE;
    }

    /** A hint with a file name and content type (either may be null) and no declared PCM rate. */
    public static AudioHint of(String filename, String contentType) {
        return new AudioHint(filename, contentType, OptionalInt.empty());
    }
}
