package io.cosyvoice.api;

import io.cosyvoice.audio.DecodedAudio;
import io.cosyvoice.support.TestServer;
import io.cosyvoice.synthesis.FakeSynthesisBackend;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Base64;
import java.util.List;
import java.util.UUID;

import static io.cosyvoice.api.ReferenceAudioApiTest.assertError;
import static io.cosyvoice.api.SpeechTestSupport.TEXT;
import static io.cosyvoice.api.SpeechTestSupport.body;
import static io.cosyvoice.api.SpeechTestSupport.decode;
import static io.cosyvoice.api.SpeechTestSupport.events;
import static io.cosyvoice.api.SpeechTestSupport.expectedSeconds;
import static io.cosyvoice.api.SpeechTestSupport.input;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code POST /api/v1/audio/speech} against the test backend: formats, rates, speed, volume, errors. */
class SpeechApiTest {

    private static TestServer server;
    private static String voice;

    @BeforeAll
    static void start() {
        server = TestServer.start();
        voice = SpeechTestSupport.uploadVoice(server);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @ParameterizedTest
    @CsvSource({"wav,24000", "wav,8000", "wav,44100", "pcm,16000", "pcm,48000", "mp3,24000", "mp3,22050", "mp3,48000"})
    void nonStreamingReturnsOneFileOfTheRequestedFormatAndRate(String format, int rate) throws Exception {
        JsonObject in = input("fast_replication", TEXT, voice).put("output_format", format).put("sample_rate", rate);
        HttpResponse<Buffer> response = server.speech(body(in, false));
        assertEquals(200, response.statusCode(), response.bodyAsString());
        JsonObject json = response.bodyAsJsonObject();
        assertNotNull(UUID.fromString(json.getString("request_id")));
        assertNull(json.getJsonObject("output").getValue("finish_reason"));
        byte[] file = Base64.getDecoder().decode(json.getJsonObject("output").getJsonObject("audio").getString("data"));
        assertEquals(file.length, json.getLong("usage"));
        DecodedAudio audio = decode(file, format, rate);
        assertEquals(rate, audio.sampleRate());
        assertEquals(expectedSeconds(TEXT), audio.durationSeconds(), "mp3".equals(format) ? 0.15 : 0.01);
        if ("wav".equals(format)) {
            assertEquals(file.length - 8, java.nio.ByteBuffer.wrap(file, 4, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt(),
                    "a whole WAV file has its real RIFF size");
        }
    }

    @ParameterizedTest
    @CsvSource({"wav,24000", "wav,16000", "pcm,22050", "mp3,24000", "mp3,44100"})
    void streamingEventsConcatenateToOneValidFile(String format, int rate) throws Exception {
        JsonObject in = input("cross_lingual_replication", TEXT + TEXT, voice).put("output_format", format).put("sample_rate", rate);
        HttpResponse<Buffer> response = server.speech(body(in, true));
        assertEquals(200, response.statusCode(), response.bodyAsString());
        assertTrue(response.getHeader("Content-Type").startsWith("text/event-stream"));
        List<JsonObject> events = events(response.bodyAsString());
        assertTrue(events.size() > 3, "one event per chunk: " + events.size());
        for (int i = 0; i < events.size(); i++) {
            JsonObject event = events.get(i);
            assertTrue(event.containsKey("error"), "the error key is always present");
            assertNull(event.getValue("error"));
            assertEquals(i == events.size() - 1 ? "stop" : null, event.getJsonObject("output").getValue("finish_reason"));
            String data = event.getJsonObject("output").getJsonObject("audio").getString("data");
            assertEquals(Base64.getDecoder().decode(data).length, event.getLong("usage"));
        }
        byte[] file = SpeechTestSupport.audio(events);
        if ("wav".equals(format)) {
            assertEquals(0xFFFFFFFF, java.nio.ByteBuffer.wrap(file, 40, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt(),
                    "streaming WAV header: unknown data length");
        }
        DecodedAudio audio = decode(file, format, rate);
        assertEquals(rate, audio.sampleRate());
        assertEquals(expectedSeconds(TEXT + TEXT), audio.durationSeconds(), "mp3".equals(format) ? 0.15 : 0.01);
    }

    @ParameterizedTest
    @CsvSource({"0.5", "2.0", "1.25"})
    void speedChangesTheDuration(double speed) throws Exception {
        JsonObject in = input("fast_replication", TEXT, voice).put("speed", speed);
        byte[] file = wholeFile(server.speech(body(in, false)));
        double seconds = decode(file, "wav", 24000).durationSeconds();
        assertEquals(expectedSeconds(TEXT) / speed, seconds, 0.03 * seconds + 0.05);
    }

    @Test
    void volumeScalesTheLevel() throws Exception {
        double normal = SpeechTestSupport.rms(decode(wholeFile(server.speech(body(input("fast_replication", TEXT, voice), false))), "wav", 24000).samples());
        double half = SpeechTestSupport.rms(decode(wholeFile(server.speech(body(input("fast_replication", TEXT, voice).put("volume", 0.5), false))), "wav", 24000).samples());
        double loud = SpeechTestSupport.rms(decode(wholeFile(server.speech(body(input("fast_replication", TEXT, voice).put("volume", 3.0), false))), "wav", 24000).samples());
        assertEquals(normal / 2, half, normal * 0.02);
        assertTrue(loud > normal * 2.5, "louder: " + loud + " vs " + normal);
    }

    @Test
    void mp3BitRateAboveWhatTheRateAllowsIsLoweredAndReported() {
        JsonObject in = input("fast_replication", TEXT, voice).put("output_format", "mp3").put("sample_rate", 24000).put("bit_rate", "384k");
        HttpResponse<Buffer> response = server.speech(body(in, false));
        assertEquals(200, response.statusCode());
        assertEquals("160k", response.getHeader("X-Audio-Bit-Rate"));
    }

    @Test
    void everyModeAndBothModelNamesWork() {
        for (String mode : List.of("fast_replication", "cross_lingual_replication", "natural_language_replication")) {
            for (String model : List.of("CosyVoice2-0.5B", "cosyvoice-v2")) {
                HttpResponse<Buffer> response = server.speech(body(input(mode, "你好。", voice), false).put("model", model));
                assertEquals(200, response.statusCode(), mode + " " + model + ": " + response.bodyAsString());
            }
        }
    }

    @Test
    void streamIsTheDefault() {
        JsonObject body = body(input("fast_replication", "你好。", voice), true);
        body.remove("stream");
        HttpResponse<Buffer> response = server.speech(body);
        assertTrue(response.getHeader("Content-Type").startsWith("text/event-stream"));
    }

    @Test
    void aBackendFailureAfterTheStreamStartedIsOneErrorEvent() {
        JsonObject in = input("fast_replication", "第一句很正常。" + FakeSynthesisBackend.FAIL_WORD + "。", voice);
        HttpResponse<Buffer> response = server.speech(body(in, true));
        assertEquals(200, response.statusCode());
        List<JsonObject> events = events(response.bodyAsString());
        JsonObject last = events.getLast();
        assertEquals("error", last.getJsonObject("output").getString("finish_reason"));
        assertEquals("InternalError", last.getJsonObject("error").getString("code"));
        events.subList(0, events.size() - 1).forEach(e -> assertNull(e.getValue("error")));
    }

    @Test
    void aBackendFailureBeforeAnyAudioIsAnHttpError() {
        HttpResponse<Buffer> response = server.speech(body(input("fast_replication", FakeSynthesisBackend.FAIL_WORD + "。", voice), false));
        assertError(response, 500, "InternalError", "synthesis failed");
    }

    // ---- every bad input of API.md's table ----

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "{}|model",
            "{\"model\":\"gpt-4\",\"input\":{}}|model",
            "{\"model\":\"CosyVoice2-0.5B\"}|input",
            "{\"model\":\"CosyVoice2-0.5B\",\"input\":\"hi\"}|input",
            "{\"model\":\"CosyVoice2-0.5B\",\"input\":{\"text\":\"hi\",\"reference_audio_id\":\"VOICE\"}}|input.mode",
            "{\"model\":\"CosyVoice2-0.5B\",\"input\":{\"mode\":\"karaoke\",\"text\":\"hi\",\"reference_audio_id\":\"VOICE\"}}|input.mode",
            "{\"model\":\"CosyVoice2-0.5B\",\"input\":{\"mode\":\"fast_replication\",\"reference_audio_id\":\"VOICE\"}}|input.text",
            "{\"model\":\"CosyVoice2-0.5B\",\"input\":{\"mode\":\"fast_replication\",\"text\":\"  \",\"reference_audio_id\":\"VOICE\"}}|input.text",
            "{\"model\":\"CosyVoice2-0.5B\",\"input\":{\"mode\":\"fast_replication\",\"text\":\"hi\"}}|input.reference_audio_id",
            "{\"model\":\"CosyVoice2-0.5B\",\"input\":{\"mode\":\"fast_replication\",\"text\":\"hi\",\"reference_audio_id\":\"nope\"}}|input.reference_audio_id",
            "{\"model\":\"CosyVoice2-0.5B\",\"input\":{\"mode\":\"natural_language_replication\",\"text\":\"hi\",\"reference_audio_id\":\"VOICE\"}}|input.instruct",
            "{\"model\":\"CosyVoice2-0.5B\",\"input\":{\"mode\":\"natural_language_replication\",\"instruct\":\"\",\"text\":\"hi\",\"reference_audio_id\":\"VOICE\"}}|input.instruct",
            "{\"model\":\"CosyVoice2-0.5B\",\"input\":{\"mode\":\"fast_replication\",\"text\":\"hi\",\"reference_audio_id\":\"VOICE\",\"sample_rate\":12345}}|input.sample_rate",
            "{\"model\":\"CosyVoice2-0.5B\",\"input\":{\"mode\":\"fast_replication\",\"text\":\"hi\",\"reference_audio_id\":\"VOICE\",\"sample_rate\":\"fast\"}}|input.sample_rate",
            "{\"model\":\"CosyVoice2-0.5B\",\"input\":{\"mode\":\"fast_replication\",\"text\":\"hi\",\"reference_audio_id\":\"VOICE\",\"bit_rate\":\"100k\"}}|input.bit_rate",
            "{\"model\":\"CosyVoice2-0.5B\",\"input\":{\"mode\":\"fast_replication\",\"text\":\"hi\",\"reference_audio_id\":\"VOICE\",\"bit_rate\":192}}|input.bit_rate",
            "{\"model\":\"CosyVoice2-0.5B\",\"input\":{\"mode\":\"fast_replication\",\"text\":\"hi\",\"reference_audio_id\":\"VOICE\",\"volume\":0}}|input.volume",
            "{\"model\":\"CosyVoice2-0.5B\",\"input\":{\"mode\":\"fast_replication\",\"text\":\"hi\",\"reference_audio_id\":\"VOICE\",\"volume\":10.5}}|input.volume",
            "{\"model\":\"CosyVoice2-0.5B\",\"input\":{\"mode\":\"fast_replication\",\"text\":\"hi\",\"reference_audio_id\":\"VOICE\",\"speed\":0.4}}|input.speed",
            "{\"model\":\"CosyVoice2-0.5B\",\"input\":{\"mode\":\"fast_replication\",\"text\":\"hi\",\"reference_audio_id\":\"VOICE\",\"speed\":2.5}}|input.speed",
            "{\"model\":\"CosyVoice2-0.5B\",\"input\":{\"mode\":\"fast_replication\",\"text\":\"hi\",\"reference_audio_id\":\"VOICE\",\"output_format\":\"ogg\"}}|input.output_format",
            "{\"model\":\"CosyVoice2-0.5B\",\"input\":{\"mode\":\"fast_replication\",\"text\":\"hi\",\"reference_audio_id\":\"VOICE\",\"seed\":1.5}}|input.seed",
            "{\"model\":\"CosyVoice2-0.5B\",\"input\":{\"mode\":\"fast_replication\",\"text\":\"hi\",\"reference_audio_id\":\"VOICE\"},\"stream\":\"yes\"}|stream",
            "[1,2]|body",
            "not json|body"})
    void badInputIs400NamingTheField(String json, String field) {
        HttpResponse<Buffer> response = server.request(io.vertx.core.http.HttpMethod.POST, "/api/v1/audio/speech")
                .putHeader("Content-Type", "application/json")
                .sendBuffer(Buffer.buffer(json.replace("VOICE", voice))).await();
        assertError(response, 400, "InvalidParameter", field);
    }

    @Test
    void unknownReferenceAudioIs404() {
        assertError(server.speech(body(input("fast_replication", "你好。", UUID.randomUUID().toString()), false)),
                404, "NotFound", "reference_audio_id");
    }

    @Test
    void noTokenIs401() {
        HttpResponse<Buffer> response = server.client().post("/api/v1/audio/speech")
                .sendJsonObject(body(input("fast_replication", "你好。", voice), false)).await();
        assertError(response, 401, "Unauthorized", "Authorization");
    }

    static byte[] wholeFile(HttpResponse<Buffer> response) {
        assertEquals(200, response.statusCode(), response.bodyAsString());
        return Base64.getDecoder().decode(response.bodyAsJsonObject().getJsonObject("output").getJsonObject("audio").getString("data"));
    }
}
