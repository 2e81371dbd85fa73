package io.cosyvoice.audio;

import java.util.Objects;

/**
 * An upload could not be decoded. The message is short, user-facing and safe to return to the
 * client; it never contains stack or library internals (a library failure is kept as the cause).
 */
public final class AudioDecodeException extends Exception {

    /** Why decoding failed. */
    public enum Kind {
        /** The bytes are not audio in any accepted format (empty, text, an image, random bytes...). */
        NOT_AUDIO,
        /** Recognisable audio, but a codec, sample format, rate or channel count we do not decode. */
        UNSUPPORTED,
        /** The file ends before the data its headers declare (an incomplete upload). */
        TRUNCATED,
        /** The structure is broken or inconsistent (missing chunks, undecodable frames...). */
        MALFORMED
    }

    private final Kind kind;

    public AudioDecodeException(Kind kind, String message) {
        this(kind, message, null);
    }

    public AudioDecodeException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = Objects.requireNonNull(kind, "kind");
    }

    public Kind kind() {
        return kind;
    }
}
