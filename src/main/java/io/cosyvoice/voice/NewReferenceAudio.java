package io.cosyvoice.voice;

import io.vertx.core.buffer.Buffer;

import java.util.OptionalInt;

/**
 * An upload as the client sent it, not yet validated.
 *
 * @param filename      the client's name for the file: metadata only, never a path
 * @param contentType   the part's declared type, if any
 * @param pcmSampleRate the rate of raw PCM, when the client declared one
 * @param name          the alias the client asked for, or null for none
 */
public record NewReferenceAudio(String filename, String contentType, Buffer data, String text, OptionalInt pcmSampleRate,
                                String name) {

    /** An upload without a name. */
    public NewReferenceAudio(String filename, String contentType, Buffer data, String text, OptionalInt pcmSampleRate) {
        this(filename, contentType, data, text, pcmSampleRate, null);
    }
}
