package io.cosyvoice.api;

import io.cosyvoice.audio.AudioFormat;
import io.cosyvoice.error.ServiceException;
import io.cosyvoice.synthesis.SynthesisMode;
import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * The validated parameters of one synthesis, shared by the HTTP and WebSocket APIs. Every
 * rejection names its field.
 *
 * @param text         the whole text (HTTP) or empty (WebSocket: text comes in continue-task)
 * @param bitRateKbps  the requested MP3 bit rate; the encoder may lower it to a legal one
 */
record SpeechParameters(SynthesisMode mode, String text, UUID referenceAudioId, String instruct, int sampleRate,
                        int bitRateKbps, double volume, double speed, AudioFormat format, OptionalLong seed) {

    static final List<String> MODELS = List.of("CosyVoice2-0.5B", "cosyvoice-v2");
    static final List<Integer> SAMPLE_RATES = List.of(8000, 16000, 22050, 24000, 32000, 44100, 48000);
    static final List<Integer> BIT_RATES = List.of(16, 32, 48, 64, 128, 192, 256, 320, 384);
    static final int MAX_TEXT_CHARS = 20_000;
    private static final Pattern BIT_RATE = Pattern.compile("(\\d+)k");
    private static final Pattern UUID_TEXT = Pattern.compile(
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

    /** {@code {"model", "input": {...}, "stream"}} of {@code POST /api/v1/audio/speech}. */
    static SpeechParameters fromHttp(JsonObject body) {
        checkModel(body.getValue("model"), "model");
        Object input = body.getValue("input");
        if (!(input instanceof JsonObject in)) {
            throw ServiceException.invalid("input", input == null ? "is required" : "must be an object");
        }
        return parse(in, "input.", true);
    }

    /** The {@code payload} of a WebSocket run-task: {@code model} and {@code parameters}. */
    static SpeechParameters fromRunTask(JsonObject payload) {
        checkModel(payload.getValue("model"), "payload.model");
        Object parameters = payload.getValue("parameters");
        if (!(parameters instanceof JsonObject p)) {
            throw ServiceException.invalid("payload.parameters", parameters == null ? "is required" : "must be an object");
        }
        return parse(p, "payload.parameters.", false);
    }

    /** {@code stream} of the HTTP body: default true. */
    static boolean stream(JsonObject body) {
        Object value = body.getValue("stream");
        if (value == null) {
            return true;
        }
        if (value instanceof Boolean b) {
            return b;
        }
        throw ServiceException.invalid("stream", "must be true or false");
    }

    private static void checkModel(Object model, String field) {
        if (model == null) {
            throw ServiceException.invalid(field, "is required; use CosyVoice2-0.5B");
        }
        if (!(model instanceof String name) || !MODELS.contains(name)) {
            throw ServiceException.invalid(field, "unknown model '" + model + "'; use one of " + MODELS);
        }
    }

    private static SpeechParameters parse(JsonObject in, String prefix, boolean textRequired) {
        String modeName = string(in, prefix, "mode", null);
        if (modeName == null) {
            throw ServiceException.invalid(prefix + "mode", "is required: fast_replication, cross_lingual_replication "
                    + "or natural_language_replication");
        }
        SynthesisMode mode = SynthesisMode.fromApiName(modeName).orElseThrow(() -> ServiceException.invalid(prefix + "mode",
                "unknown mode '" + modeName + "'; use fast_replication, cross_lingual_replication or natural_language_replication"));

        String text = string(in, prefix, "text", "");
        if (textRequired && text.isBlank()) {
            throw ServiceException.invalid(prefix + "text", in.containsKey("text") ? "must not be empty" : "is required");
        }
        if (text.length() > MAX_TEXT_CHARS) {
            throw ServiceException.invalid(prefix + "text", "must be at most " + MAX_TEXT_CHARS + " characters, got " + text.length());
        }

        String id = string(in, prefix, "reference_audio_id", null);
        if (id == null || id.isBlank()) {
            throw ServiceException.invalid(prefix + "reference_audio_id", "is required");
        }
        if (!UUID_TEXT.matcher(id).matches()) {
            throw ServiceException.invalid(prefix + "reference_audio_id", "malformed id '" + abbreviate(id) + "'; expected a UUID");
        }

        String instruct = string(in, prefix, "instruct", "").strip();
        if (mode == SynthesisMode.INSTRUCT && instruct.isEmpty()) {
            throw ServiceException.invalid(prefix + "instruct", "is required in natural_language_replication mode");
        }
        if (mode != SynthesisMode.INSTRUCT) {
            instruct = ""; // used only by natural_language_replication
        }

        int sampleRate = (int) integer(in, prefix, "sample_rate", 24000);
        if (!SAMPLE_RATES.contains(sampleRate)) {
            throw ServiceException.invalid(prefix + "sample_rate", "must be one of " + SAMPLE_RATES + ", got " + sampleRate);
        }
        int bitRate = bitRate(in.getValue("bit_rate"), prefix + "bit_rate");
        double volume = number(in, prefix, "volume", 1.0);
        if (!(volume > 0 && volume <= 10)) {
            throw ServiceException.invalid(prefix + "volume", "must be greater than 0 and at most 10, got " + volume);
        }
        double speed = number(in, prefix, "speed", 1.0);
        if (!(speed >= 0.5 && speed <= 2.0)) {
            throw ServiceException.invalid(prefix + "speed", "must be within [0.5, 2.0], got " + speed);
        }
        String formatName = string(in, prefix, "output_format", "wav");
        AudioFormat format = switch (formatName.toLowerCase(Locale.ROOT)) {
            case "wav" -> AudioFormat.WAV;
            case "mp3" -> AudioFormat.MP3;
            case "pcm" -> AudioFormat.PCM;
            default -> throw ServiceException.invalid(prefix + "output_format", "must be wav, mp3 or pcm, got '" + formatName + "'");
        };
        OptionalLong seed = in.getValue("seed") == null ? OptionalLong.empty()
                : OptionalLong.of(integer(in, prefix, "seed", 0));
        return new SpeechParameters(mode, text, UUID.fromString(id), instruct, sampleRate, bitRate, volume, speed, format, seed);
    }

    private static String string(JsonObject in, String prefix, String name, String fallback) {
        Object value = in.getValue(name);
        if (value == null) {
            return fallback;
        }
        if (value instanceof String s) {
            return s;
        }
        throw ServiceException.invalid(prefix + name, "must be a string");
    }

    private static double number(JsonObject in, String prefix, String name, double fallback) {
        Object value = in.getValue(name);
        if (value == null) {
            return fallback;
        }
        if (value instanceof Number n && Double.isFinite(n.doubleValue())) {
            return n.doubleValue();
        }
        throw ServiceException.invalid(prefix + name, "must be a number");
    }

    private static long integer(JsonObject in, String prefix, String name, long fallback) {
        Object value = in.getValue(name);
        if (value == null) {
            return fallback;
        }
        if (value instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue()) && Double.isFinite(n.doubleValue())) {
            return n.longValue();
        }
        throw ServiceException.invalid(prefix + name, "must be a whole number");
    }

    private static int bitRate(Object value, String field) {
        if (value == null) {
            return 192;
        }
        if (value instanceof String s) {
            var m = BIT_RATE.matcher(s.strip().toLowerCase(Locale.ROOT));
            if (m.matches() && BIT_RATES.contains(Integer.parseInt(m.group(1)))) {
                return Integer.parseInt(m.group(1));
            }
        }
        throw ServiceException.invalid(field, "must be one of 16k, 32k, 48k, 64k, 128k, 192k, 256k, 320k, 384k; got '" + value + "'");
    }

    private static String abbreviate(String value) {
        return value.length() > 64 ? value.substring(0, 64) + "..." : value;
    }
}
