package io.cosyvoice.api;

import io.cosyvoice.error.ServiceException;
import io.cosyvoice.metrics.SynthesisMetrics;
import io.cosyvoice.metrics.SynthesisMetrics.Api;
import io.cosyvoice.metrics.SynthesisMetrics.Outcome;
import io.cosyvoice.synthesis.SynthesisClient;
import io.cosyvoice.synthesis.SynthesisMessages;
import io.cosyvoice.synthesis.SynthesisMessages.Chunk;
import io.cosyvoice.synthesis.SynthesisMessages.Failure;
import io.cosyvoice.synthesis.SynthesisStream;
import io.cosyvoice.voice.VoiceLibrary;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

import java.util.List;
import java.util.UUID;

/**
 * {@code POST /api/v1/audio/speech}: one JSON response with the whole file, or a Server-Sent
 * Events stream with one event per chunk as soon as it exists. Each request is one
 * {@link SynthesisMetrics.Request}: its first audio written, the audio and compute behind it, and
 * how it ended (from the response's status, an SSE error event, or the connection closing first).
 */
final class SpeechRoutes {

    static final String PATH = "/api/v1/audio/speech";
    private static final long MAX_BODY_BYTES = 1024 * 1024;

    private final VoiceLibrary library;
    private final SynthesisClient synthesis;
    private final SynthesisMetrics metrics;

    SpeechRoutes(VoiceLibrary library, SynthesisClient synthesis, SynthesisMetrics metrics) {
        this.library = library;
        this.synthesis = synthesis;
        this.metrics = metrics;
    }

    void mount(Router router) {
        router.post(PATH).handler(BodyHandler.create(false).setBodyLimit(MAX_BODY_BYTES)).handler(this::speech);
    }

    private void speech(RoutingContext ctx) {
        SynthesisMetrics.Request request = metrics.start(Api.HTTP);
        // the explicit outcomes (an SSE error event) come first; else the status, or cancelled when the connection closed first
        ctx.addEndHandler(done -> request.finish(done.succeeded()
                ? Outcome.ofStatus(ctx.response().getStatusCode()) : Outcome.CANCELLED));
        JsonObject body = JsonBodies.object(ctx);
        boolean stream = SpeechParameters.stream(body);
        request.api(stream ? Api.SSE : Api.HTTP);
        SpeechParameters params = SpeechParameters.fromHttp(body);
        List<String> sentences = TextPreparation.sentences(params.text(), "input.text");
        library.get(params.referenceAudioId())
                .compose(voice -> library.promptFeatures(voice)
                        .compose(prompt -> synthesis.start(new SynthesisClient.Request(voice.id(), voice.text(),
                                prompt.orElse(null), params.mode(), params.instruct(), params.seed(), params.speed(),
                                sentences, true, stream))))
                .onSuccess(job -> {
                    if (stream) {
                        new SseWriter(ctx, params, job, request).start();
                    } else {
                        whole(ctx, params, job, request);
                    }
                })
                .onFailure(ctx::fail);
    }

    /** Non-streaming: collect the file, then answer once. */
    private static void whole(RoutingContext ctx, SpeechParameters params, SynthesisStream job,
                              SynthesisMetrics.Request request) {
        AudioOutput out = new AudioOutput(params, job.speedApplied(), false);
        Buffer file = Buffer.buffer();
        ctx.response().closeHandler(v -> job.cancel("client disconnected"));
        job.chunkHandler(chunk -> {
            request.produced(chunk.samples().length, SynthesisMessages.SAMPLE_RATE, chunk.generateSeconds());
            file.appendBytes(out.chunk(chunk.samples()));
            job.credit(1);
        }).endHandler(end -> {
            file.appendBytes(out.finish());
            String bitRate = AudioOutput.effectiveBitRateHeader(params);
            if (bitRate != null) {
                ctx.response().putHeader("X-Audio-Bit-Rate", bitRate);
            }
            JsonObject audio = new JsonObject().put("id", UUID.randomUUID().toString()).put("data", AudioJson.AUDIO);
            if (file.length() > 0) {
                request.audioWritten();
            }
            ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                    .end(AudioJson.buffer("", new JsonObject()
                            .put("request_id", RequestIds.of(ctx))
                            .put("output", new JsonObject().put("finish_reason", null).put("audio", audio))
                            .put("usage", file.length()), file.getBytes(), ""));
        }).failureHandler(failure -> ctx.fail(new ServiceException(failure.code(), failure.message())));
        job.open();
    }

    /** Streaming: one SSE event per chunk, flushed at once, with credits only while the socket keeps up. */
    private static final class SseWriter {
        private final RoutingContext ctx;
        private final HttpServerResponse response;
        private final SpeechParameters params;
        private final SynthesisStream job;
        private final AudioOutput out;
        private final SynthesisMetrics.Request request;
        private final String audioId = UUID.randomUUID().toString();

        SseWriter(RoutingContext ctx, SpeechParameters params, SynthesisStream job, SynthesisMetrics.Request request) {
            this.ctx = ctx;
            this.response = ctx.response();
            this.params = params;
            this.job = job;
            this.request = request;
            this.out = new AudioOutput(params, job.speedApplied(), true);
        }

        void start() {
            String bitRate = AudioOutput.effectiveBitRateHeader(params);
            if (bitRate != null) {
                response.putHeader("X-Audio-Bit-Rate", bitRate);
            }
            response.setChunked(true)
                    .putHeader(HttpHeaders.CONTENT_TYPE, "text/event-stream; charset=utf-8")
                    .putHeader(HttpHeaders.CACHE_CONTROL, "no-cache")
                    .putHeader("X-Accel-Buffering", "no");
            response.closeHandler(v -> job.cancel("client disconnected"));
            job.chunkHandler(this::chunk).endHandler(end -> finish()).failureHandler(this::failed);
            job.open();
        }

        private void chunk(Chunk chunk) {
            request.produced(chunk.samples().length, SynthesisMessages.SAMPLE_RATE, chunk.generateSeconds());
            byte[] bytes = out.chunk(chunk.samples());
            if (bytes.length > 0) {
                event(bytes, null, null);
            }
            if (response.writeQueueFull()) {
                response.drainHandler(v -> job.credit(1));
            } else {
                job.credit(1);
            }
        }

        private void finish() {
            event(out.finish(), "stop", null);
            response.end();
        }

        private void failed(Failure failure) {
            request.finish(Outcome.ofStatus(ApiErrors.status(failure.code())));
            event(null, "error", new JsonObject().put("code", failure.code().apiName()).put("message", failure.message()));
            response.end();
        }

        private void event(byte[] bytes, String finishReason, JsonObject error) {
            if (response.closed() || response.ended()) {
                return;
            }
            JsonObject audio = bytes == null ? null : new JsonObject().put("id", audioId).put("data", AudioJson.AUDIO);
            if (bytes != null && bytes.length > 0) {
                request.audioWritten();
            }
            JsonObject event = new JsonObject()
                    .put("request_id", RequestIds.of(ctx))
                    .put("output", new JsonObject().put("finish_reason", finishReason).put("audio", audio))
                    .put("usage", bytes == null ? 0 : bytes.length)
                    .put("error", error);
            response.write(bytes == null ? Buffer.buffer("data: " + event.encode() + "\n\n")
                    : AudioJson.buffer("data: ", event, bytes, "\n\n"));
        }
    }
}
