package io.cosyvoice.api;

import io.cosyvoice.audio.AudioFormat;
import io.cosyvoice.error.ServiceException;
import io.cosyvoice.voice.NewReferenceAudio;
import io.cosyvoice.voice.ReferenceAudio;
import io.cosyvoice.voice.SortOrder;
import io.cosyvoice.voice.VoiceLibrary;
import io.vertx.core.Future;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

import java.util.List;
import java.util.Locale;
import java.util.OptionalInt;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * The four reference-audio calls of the PAI-EAS API, and ours: naming a reference audio ({@code PATCH})
 * and the stored audio itself, for playback. The PAI-EAS responses keep exactly the documented fields;
 * the name is shown by {@code PATCH} and by the OpenAI-compatible {@code GET /v1/audio/voices}.
 */
final class ReferenceAudioRoutes {

    static final String PATH = "/api/v1/audio/reference_audio";
    private static final Pattern UUID_TEXT = Pattern.compile(
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
    private static final int DEFAULT_LIMIT = 100;

    private final VoiceLibrary library;
    private final long maxUploadBytes;

    ReferenceAudioRoutes(VoiceLibrary library, long maxUploadBytes) {
        this.library = library;
        this.maxUploadBytes = maxUploadBytes;
    }

    void mount(Router router) {
        router.post(PATH).handler(this::upload);
        router.get(PATH).handler(this::list);
        router.get(PATH + "/:id").handler(this::get);
        router.get(PATH + "/:id/audio").handler(this::audio);
        router.delete(PATH + "/:id").handler(this::delete);
        router.patch(PATH + "/:id").handler(BodyHandler.create(false).setBodyLimit(64 * 1024)).handler(this::rename);
    }

    private void upload(RoutingContext ctx) {
        MultipartUpload.read(ctx.request(), "file", maxUploadBytes)
                .compose(form -> {
                    if (form.file() == null) {
                        return Future.failedFuture(ServiceException.invalid("file", "is required (a WAV, MP3 or PCM file part named 'file')"));
                    }
                    OptionalInt pcmRate = sampleRate(form.fields().get("sample_rate"));
                    return library.upload(new NewReferenceAudio(form.file().filename(), form.file().contentType(),
                            form.file().data(), form.fields().get("text"), pcmRate, form.fields().get("name")));
                })
                .onSuccess(audio -> json(ctx, toJson(audio)))
                .onFailure(ctx::fail);
    }

    private static OptionalInt sampleRate(String value) {
        if (value == null || value.isBlank()) {
            return OptionalInt.empty();
        }
        try {
            int rate = Integer.parseInt(value.trim());
            if (rate >= 8000 && rate <= 192000) {
                return OptionalInt.of(rate);
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw ServiceException.invalid("sample_rate", "must be a whole number of Hz from 8000 to 192000, got '" + value + "'");
    }

    private void list(RoutingContext ctx) {
        int limit = limit(single(ctx, "limit"));
        SortOrder order = order(single(ctx, "order"));
        library.list(limit, order)
                .onSuccess(items -> {
                    JsonArray array = new JsonArray();
                    items.forEach(item -> array.add(toJson(item)));
                    json(ctx, array.encode());
                })
                .onFailure(ctx::fail);
    }

    private void get(RoutingContext ctx) {
        library.get(id(ctx))
                .onSuccess(audio -> json(ctx, toJson(audio)))
                .onFailure(ctx::fail);
    }

    /**
     * The uploaded bytes, unchanged. Raw PCM carries no header, so its type says how to play it:
     * {@code audio/pcm;rate=16000;channels=1} (16-bit little-endian samples).
     */
    private void audio(RoutingContext ctx) {
        library.get(id(ctx))
                .compose(audio -> library.audio(audio).map(bytes -> {
                    String type = audio.format().mimeType();
                    if (audio.format() == AudioFormat.PCM) {
                        type += ";rate=" + audio.sampleRate() + ";channels=" + audio.channels();
                    }
                    ctx.response()
                            .putHeader(HttpHeaders.CONTENT_TYPE, type)
                            .putHeader("X-Content-Type-Options", "nosniff")
                            // a voice is personal data: no cache keeps a copy after it is deleted
                            .putHeader(HttpHeaders.CACHE_CONTROL, "no-store")
                            .end(bytes);
                    return audio;
                }))
                .onFailure(ctx::fail);
    }

    private void delete(RoutingContext ctx) {
        library.delete(id(ctx))
                .onSuccess(audio -> json(ctx, new JsonObject()
                        .put("code", "OK")
                        .put("message", "reference audio: " + audio.id() + " deleted.")
                        .put("data", new JsonObject())))
                .onFailure(ctx::fail);
    }

    /** {@code PATCH {"name": "..."}} names a reference audio; {@code {"name": null}} takes its name away. */
    private void rename(RoutingContext ctx) {
        UUID id = id(ctx);
        JsonObject body = JsonBodies.object(ctx);
        if (!body.containsKey("name")) {
            throw ServiceException.invalid("name", "is required (a string, or null to remove the name)");
        }
        Object name = body.getValue("name");
        if (name != null && !(name instanceof String)) {
            throw ServiceException.invalid("name", "must be a string or null");
        }
        library.rename(id, (String) name)
                .onSuccess(audio -> json(ctx, toJson(audio).put("name", audio.name())))
                .onFailure(ctx::fail);
    }

    static JsonObject toJson(ReferenceAudio audio) {
        return new JsonObject()
                .put("id", audio.id().toString())
                .put("filename", audio.filename())
                .put("bytes", audio.bytes())
                .put("created_at", audio.createdAt().getEpochSecond())
                .put("text", audio.text());
    }

    private static void json(RoutingContext ctx, JsonObject body) {
        json(ctx, body.encode());
    }

    private static void json(RoutingContext ctx, String body) {
        ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/json").end(body);
    }

    /** A query parameter given at most once; null when absent. */
    static String single(RoutingContext ctx, String name) {
        List<String> values = ctx.queryParam(name);
        if (values.size() > 1) {
            throw ServiceException.invalid(name, "give it once");
        }
        return values.isEmpty() ? null : values.getFirst();
    }

    static int limit(String value) {
        if (value == null) {
            return DEFAULT_LIMIT;
        }
        try {
            int limit = Integer.parseInt(value.trim());
            if (limit >= 1 && limit <= VoiceLibrary.MAX_LIST_LIMIT) {
                return limit;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw ServiceException.invalid("limit", "must be an integer from 1 to " + VoiceLibrary.MAX_LIST_LIMIT + ", got '" + value + "'");
    }

    static SortOrder order(String value) {
        if (value == null) {
            return SortOrder.DESC;
        }
        return switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "asc" -> SortOrder.ASC;
            case "desc" -> SortOrder.DESC;
            default -> throw ServiceException.invalid("order", "must be asc or desc, got '" + value + "'");
        };
    }

    static UUID id(RoutingContext ctx) {
        String value = ctx.pathParam("id");
        if (value == null || !UUID_TEXT.matcher(value).matches()) {
            throw ServiceException.invalid("reference_audio_id", "malformed id '" + abbreviate(value) + "'; expected a UUID");
        }
        return UUID.fromString(value);
    }

    private static String abbreviate(String value) {
        if (value == null) {
            return "";
        }
        return value.length() > 64 ? value.substring(0, 64) + "..." : value;
    }
}
