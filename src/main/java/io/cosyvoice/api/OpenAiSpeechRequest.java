package io.cosyvoice.api;

import io.cosyvoice.audio.AudioFormat;
import io.cosyvoice.audio.OutputPipeline;
import io.cosyvoice.error.ServiceException;
import io.cosyvoice.synthesis.SynthesisMode;
import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.UUID;

/**
 * The validated body of OpenAI's {@code POST /v1/audio/speech}. Every rejection names its field as
 * OpenAI's {@code param}. Fields this server does not know are ignored, as OpenAI clients send
 * more over time.
 *
 * @param voice        a reference audio's id or name
 * @param instructions non-empty: the natural-language (instruct) mode; empty: zero-shot
 * @param sse          {@code stream_format: "sse"}; false for raw audio bytes
 * @param seed         ours, optional: the same seed, voice and input give the same audio
 */
record OpenAiSpeechRequest(String input, String voice, String instructions, AudioFormat format, double speed,
                           boolean sse, OptionalLong seed) {

    /** All name the one engine: OpenAI's names so that clients with a fixed list work unchanged. */
    static final List<String> MODELS = List.of("cosyvoice2", "CosyVoice2-0.5B", "cosyvoice-v2", "tts-1", "tts-1-hd",
            "gpt-4o-mini-tts");
    /** OpenAI's formats that no maintained pure-Java encoder serves here. */
    static final List<String> UNSUPPORTED_FORMATS = List.of("opus", "aac", "flac");
    static final double MIN_SPEED = OutputPipeline.MIN_SPEED;
    static final double MAX_SPEED = OutputPipeline.MAX_SPEED;
    /** OpenAI's {@code pcm}: raw 24 kHz 16-bit little-endian mono, as the model makes it. */
    static final int SAMPLE_RATE = 24000;
    private static final int MP3_KBPS = 192; // lowered to 160k, the most MPEG-2 carries at 24 kHz

    static OpenAiSpeechRequest parse(JsonObject body) {
        Object model = body.getValue("model");
        if (model == null) {
            throw ServiceException.invalid("model", "is required; use one of " + MODELS);
        }
        if (!(model instanceof String name) || MODELS.stream().noneMatch(name::equalsIgnoreCase)) {
            throw ServiceException.invalid("model", "unknown model '" + model + "'; use one of " + MODELS);
        }

        Object inputValue = body.getValue("input");
        if (inputValue == null) {
            throw ServiceException.invalid("input", "is required");
        }
        if (!(inputValue instanceof String input)) {
            throw ServiceException.invalid("input", "must be a string");
        }
        if (input.isBlank()) {
            throw ServiceException.invalid("input", "must not be empty");
        }
        if (input.length() > SpeechParameters.MAX_TEXT_CHARS) {
            throw ServiceException.invalid("input", "must be at most " + SpeechParameters.MAX_TEXT_CHARS
                    + " characters, got " + input.length());
        }

        String voice = voice(body.getValue("voice"));

        Object instructionsValue = body.getValue("instructions");
        if (instructionsValue != null && !(instructionsValue instanceof String)) {
            throw ServiceException.invalid("instructions", "must be a string");
        }
        String instructions = instructionsValue == null ? "" : ((String) instructionsValue).strip();

        AudioFormat format = format(body.getValue("response_format"));

        double speed = 1.0;
        Object speedValue = body.getValue("speed");
        if (speedValue != null) {
            if (!(speedValue instanceof Number n) || !Double.isFinite(n.doubleValue())) {
                throw ServiceException.invalid("speed", "must be a number from " + MIN_SPEED + " to " + MAX_SPEED);
            }
            speed = n.doubleValue();
            if (speed < MIN_SPEED || speed > MAX_SPEED) {
                throw ServiceException.invalid("speed", "must be from " + MIN_SPEED + " to " + MAX_SPEED + ", got " + speed);
            }
        }

        Object streamFormat = body.getValue("stream_format");
        boolean sse;
        if (streamFormat == null || "audio".equals(streamFormat)) {
            sse = false;
        } else if ("sse".equals(streamFormat)) {
            sse = true;
        } else {
            throw ServiceException.invalid("stream_format", "must be audio or sse, got '" + streamFormat + "'");
        }

        OptionalLong seed = OptionalLong.empty();
        Object seedValue = body.getValue("seed");
        if (seedValue != null) {
            if (!(seedValue instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue())
                    || !Double.isFinite(n.doubleValue())) {
                throw ServiceException.invalid("seed", "must be a whole number");
            }
            seed = OptionalLong.of(n.longValue());
        }
        return new OpenAiSpeechRequest(input, voice, instructions, format, speed, sse, seed);
    }

    /** A string, or OpenAI's custom-voice object {@code {"id": "..."}}. */
    private static String voice(Object value) {
        if (value == null) {
            throw ServiceException.invalid("voice", "is required: the id or name of a reference audio (GET /v1/audio/voices)");
        }
        Object id = value instanceof JsonObject object ? object.getValue("id") : value;
        if (!(id instanceof String voice)) {
            throw ServiceException.invalid("voice", "must be a string or {\"id\": \"...\"}");
        }
        if (voice.isBlank()) {
            throw ServiceException.invalid("voice", "must not be empty");
        }
        return voice.strip();
    }

    private static AudioFormat format(Object value) {
        if (value == null) {
            return AudioFormat.MP3; // OpenAI's default
        }
        if (!(value instanceof String name)) {
            throw ServiceException.invalid("response_format", "must be a string: mp3, wav or pcm");
        }
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "mp3" -> AudioFormat.MP3;
            case "wav" -> AudioFormat.WAV;
            case "pcm" -> AudioFormat.PCM;
            default -> throw ServiceException.invalid("response_format", UNSUPPORTED_FORMATS.contains(name.toLowerCase(Locale.ROOT))
                    ? "'" + name + "' is not supported by this server; use mp3, wav or pcm"
                    : "must be mp3, wav or pcm, got '" + name + "'");
        };
    }

    SynthesisMode mode() {
        return instructions.isEmpty() ? SynthesisMode.ZERO_SHOT : SynthesisMode.INSTRUCT;
    }

    /** The synthesis parameters shared with the PAI-EAS API, for the resolved voice. */
    SpeechParameters parameters(UUID voiceId) {
        return new SpeechParameters(mode(), input, voiceId, instructions, SAMPLE_RATE, MP3_KBPS, 1.0, speed, format, seed);
    }

    /** The media type of {@code stream_format: audio}. */
    String contentType() {
        return format.mimeType();
    }
}
