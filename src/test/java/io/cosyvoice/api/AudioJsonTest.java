package io.cosyvoice.api;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AudioJsonTest {

    private static final byte[] AUDIO = new byte[1001];

    static {
        for (int i = 0; i < AUDIO.length; i++) {
            AUDIO[i] = (byte) (i * 37);
        }
    }

    /** Text a client controls (a request id) sits in the same message: quotes, escapes, non-ASCII. */
    private static JsonObject message(Object audio) {
        return new JsonObject().put("request_id", "a\"b\\c\u0001 你好 \"data\":\"")
                .put("output", new JsonObject().put("finish_reason", null).put("audio", new JsonObject().put("data", audio)))
                .put("usage", AUDIO.length);
    }

    @Test
    void theSplicedBufferIsTheMessageAnEncoderWouldWrite() {
        String expected = "data: " + message(Base64.getEncoder().encodeToString(AUDIO)).encode() + "\n\n";
        String spliced = AudioJson.buffer("data: ", message(AudioJson.AUDIO), AUDIO, "\n\n").toString(StandardCharsets.UTF_8);
        assertEquals(expected, spliced);
        JsonObject parsed = new JsonObject(spliced.substring("data: ".length()).trim());
        assertEquals("a\"b\\c\u0001 你好 \"data\":\"", parsed.getString("request_id"));
        assertTrue(java.util.Arrays.equals(AUDIO, Base64.getDecoder().decode(parsed.getJsonObject("output").getJsonObject("audio").getString("data"))));
    }

    @Test
    void theSplicedTextIsTheMessageAnEncoderWouldWrite() {
        assertEquals(message(Base64.getEncoder().encodeToString(AUDIO)).encode(), AudioJson.text(message(AudioJson.AUDIO), AUDIO));
        assertEquals(message("").encode(), AudioJson.text(message(AudioJson.AUDIO), new byte[0]));
    }

    @Test
    void aMessageWithoutThePlaceholderIsAProgrammingError() {
        assertThrows(IllegalArgumentException.class, () -> AudioJson.text(message("x"), AUDIO));
    }
}
