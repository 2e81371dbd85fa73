package io.cosyvoice.api;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.UUID;

/**
 * JSON messages that carry audio in base64. The message is encoded with a placeholder where the
 * audio goes and the base64 bytes are spliced in: a chunk's audio is most of the message, and
 * passing it through the JSON encoder would copy it five times (as chars, as a string, as UTF-8)
 * for every chunk of every stream.
 */
final class AudioJson {

    /** Put this where the base64 audio goes. Unguessable, so no text a client sends can contain it. */
    static final String AUDIO = "audio-" + UUID.randomUUID();

    private AudioJson() {
    }

    /** {@code prefix}, the message with the audio in place of {@link #AUDIO}, then {@code suffix}, as UTF-8. */
    static Buffer buffer(String prefix, JsonObject message, byte[] audio, String suffix) {
        String json = message.encode();
        int at = placeholder(json);
        byte[] head = (prefix + json.substring(0, at)).getBytes(StandardCharsets.UTF_8);
        byte[] tail = (json.substring(at + AUDIO.length()) + suffix).getBytes(StandardCharsets.UTF_8);
        byte[] base64 = Base64.getEncoder().encode(audio);
        return Buffer.buffer(head.length + base64.length + tail.length)
                .appendBytes(head).appendBytes(base64).appendBytes(tail);
    }

    /** The message with the audio in place of {@link #AUDIO}, as a string (for a WebSocket text message). */
    static String text(JsonObject message, byte[] audio) {
        String json = message.encode();
        int at = placeholder(json);
        // base64 is ASCII: a Latin-1 string of it is a single copy, and the concatenation is sized exactly
        return json.substring(0, at) + new String(Base64.getEncoder().encode(audio), StandardCharsets.ISO_8859_1)
                + json.substring(at + AUDIO.length());
    }

    private static int placeholder(String json) {
        int at = json.indexOf(AUDIO);
        if (at < 0) {
            throw new IllegalArgumentException("the message has no audio placeholder");
        }
        return at;
    }
}
