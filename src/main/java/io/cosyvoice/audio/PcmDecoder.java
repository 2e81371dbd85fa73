package io.cosyvoice.audio;

import static io.cosyvoice.audio.AudioDecodeException.Kind.NOT_AUDIO;
import static io.cosyvoice.audio.AudioDecodeException.Kind.TRUNCATED;
import static io.cosyvoice.audio.AudioDecodeException.Kind.UNSUPPORTED;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Locale;
import java.util.OptionalInt;

/** Headerless 16-bit signed little-endian mono PCM, recognised only through the client's hint. */
final class PcmDecoder {

    private PcmDecoder() {}

    /** Whether the client said the upload is raw PCM (by name, content type or a declared rate). */
    static boolean hinted(AudioHint hint) {
        if (hint.pcmSampleRate().isPresent()) {
            return true;
        }
        String name = hint.filename();
        if (name != null) {
            String n = name.strip().toLowerCase(Locale.ROOT);
            if (n.endsWith(".pcm") || n.endsWith(".raw")) {
                return true;
            }
        }
        String type = mediaType(hint.contentType());
        return type.equals("audio/pcm") || type.equals("audio/l16") || type.equals("audio/x-pcm");
    }

    static DecodedAudio decode(byte[] d, AudioHint hint) throws AudioDecodeException {
        int sampleRate = sampleRate(hint);
        if (d.length == 0) {
            throw new AudioDecodeException(NOT_AUDIO, "the PCM file is empty");
        }
        if (TextSniffer.looksLikeText(d)) {
            throw new AudioDecodeException(NOT_AUDIO, "the file contains text, not PCM audio");
        }
        if ((d.length & 1) != 0) {
            throw new AudioDecodeException(TRUNCATED, "PCM data ends with a partial sample: " + d.length
                    + " bytes is not a multiple of 2 (16-bit samples)");
        }
        ByteBuffer bb = ByteBuffer.wrap(d).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[d.length / 2];
        for (int i = 0, p = 0; i < out.length; i++, p += 2) {
            out[i] = bb.getShort(p) * (1f / 32768f);
        }
        return new DecodedAudio(AudioFormat.PCM, sampleRate, 1, "pcm_s16le", out);
    }

    /**
     * The declared rate: {@code hint.pcmSampleRate()}, else a {@code rate=} parameter of the content
     * type (as in "audio/L16; rate=24000"), else {@link AudioDecoder#DEFAULT_PCM_SAMPLE_RATE}.
     */
    static int sampleRate(AudioHint hint) throws AudioDecodeException {
        OptionalInt declared = hint.pcmSampleRate();
        String channels = parameter(hint.contentType(), "channels");
        if (channels != null && !channels.equals("1")) {
            throw new AudioDecodeException(UNSUPPORTED,
                    "raw PCM with " + channels + " channels is not supported (16-bit mono only)");
        }
        int rate;
        if (declared.isPresent()) {
            rate = declared.getAsInt();
        } else {
            String param = parameter(hint.contentType(), "rate");
            if (param == null) {
                return AudioDecoder.DEFAULT_PCM_SAMPLE_RATE;
            }
            try {
                rate = Integer.parseInt(param);
            } catch (NumberFormatException e) {
                throw new AudioDecodeException(UNSUPPORTED, "PCM sample rate '" + abbreviate(param)
                        + "' in the content type is not a number");
            }
        }
        if (rate < WavDecoder.MIN_SAMPLE_RATE || rate > WavDecoder.MAX_SAMPLE_RATE) {
            throw new AudioDecodeException(UNSUPPORTED, "PCM sample rate " + rate + " Hz is not supported ("
                    + WavDecoder.MIN_SAMPLE_RATE + ".." + WavDecoder.MAX_SAMPLE_RATE + " Hz)");
        }
        return rate;
    }

    /** The lower-case type/subtype of a content type, without parameters; "" for null. */
    static String mediaType(String contentType) {
        if (contentType == null) {
            return "";
        }
        int semi = contentType.indexOf(';');
        String t = semi < 0 ? contentType : contentType.substring(0, semi);
        return t.strip().toLowerCase(Locale.ROOT);
    }

    /** A parameter of a content type ("rate" in "audio/L16; rate=8000"), or null. */
    private static String parameter(String contentType, String name) {
        if (contentType == null) {
            return null;
        }
        String[] parts = contentType.split(";");
        for (int i = 1; i < parts.length; i++) {
            String part = parts[i];
            int eq = part.indexOf('=');
            if (eq > 0 && part.substring(0, eq).strip().equalsIgnoreCase(name)) {
                String value = part.substring(eq + 1).strip();
                if (value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")) {
                    value = value.substring(1, value.length() - 1).strip();
                }
                return value;
            }
        }
        return null;
    }

    private static String abbreviate(String s) {
        return s.length() <= 16 ? s : s.substring(0, 16) + "...";
    }
}
