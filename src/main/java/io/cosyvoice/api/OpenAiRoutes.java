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
import io.cosyvoice.voice.ReferenceAudio;
import io.cosyvoice.voice.VoiceLibrary;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

import java.util.List;

/**
 * The OpenAI-compatible speech API beside the PAI-EAS one, on the same voice library, synthesis
 * backend, admission limits and audio output: {@code POST /v1/audio/speech} (raw audio streamed as
 * it is made, or Server-Sent Events) and {@code GET /v1/audio/voices}. Errors on {@code /v1/} have
 * OpenAI's shape ({@link ApiErrors}).
 */
final class OpenAiRoutes {

    static final String PREFIX = "/v1/";
    static final String SPEECH_PATH = "/v1/audio/speech";
    static final String VOICES_PATH = "/v1/audio/voices";
    /** HiFT makes 480 samples per mel frame and the flow 2 frames per speech token: 960 samples a token. */
    static final int SAMPLES_PER_SPEECH_TOKEN = 960;
    private static final long MAX_BODY_BYTES = 1024 * 1024;

    private final VoiceLibrary library;
    private final SynthesisClient synthesis;
    private final SynthesisMetrics metrics;

    OpenAiRoutes(VoiceLibrary library, SynthesisClient synthesis, SynthesisMetrics metrics) {
        this.library = library;
        this.synthesis = synthesis;
        this.metrics = metrics;
    }

    void mount(Router router) {
        router.post(SPEECH_PATH).handler(BodyHandler.create(false).setBodyLimit(MAX_BODY_BYTES)).handler(this::speech);
        router.get(VOICES_PATH).handler(this::voices);
    }

    static boolean isOpenAiPath(String path) {
        return path != null && path.startsWith(PREFIX);
    }

    private void speech(RoutingContext ctx) {
        SynthesisMetrics.Request request = metrics.start(Api.HTTP);
        ctx.addEndHandler(done -> request.finish(done.succeeded()
                ? Outcome.ofStatus(ctx.response().getStatusCode()) : Outcome.CANCELLED));
        OpenAiSpeechRequest speech = OpenAiSpeechRequest.parse(JsonBodies.object(ctx));
        request.api(speech.sse() ? Api.SSE : Api.HTTP);
        List<String> sentences = TextPreparation.sentences(speech.input(), "input");
        library.find(speech.voice(), "voice")
                .compose(voice -> library.promptFeatures(voice).compose(prompt -> {
                    SpeechParameters params = speech.parameters(voice.id());
                    return synthesis.start(new SynthesisClient.Request(voice.id(), voice.text(), prompt.orElse(null),
                                    params.mode(), params.instruct(), params.seed(), AudioOutput.engineSpeed(params.speed()),
                                    sentences, true, true))
                            .map(job -> new Writer(ctx, speech, params, job, request));
                }))
                .onSuccess(Writer::start)
                .onFailure(ctx::fail);
    }

    private void voices(RoutingContext ctx) {
        int limit = ReferenceAudioRoutes.limit(ReferenceAudioRoutes.single(ctx, "limit"));
        library.list(limit, ReferenceAudioRoutes.order(ReferenceAudioRoutes.single(ctx, "order")))
                .onSuccess(items -> {
                    JsonArray data = new JsonArray();
                    items.forEach(item -> data.add(voice(item)));
                    ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                            .end(new JsonObject().put("object", "list").put("data", data).encode());
                })
                .onFailure(ctx::fail);
    }

    static JsonObject voice(ReferenceAudio audio) {
        return new JsonObject()
                .put("id", audio.id().toString())
                .put("object", "voice")
                .put("name", audio.name())
                .put("text", audio.text())
                .put("created_at", audio.createdAt().getEpochSecond())
                .put("duration_seconds", audio.durationSeconds());
    }

    /**
     * Writes one synthesis as it is made: raw bytes of the file, or {@code speech.audio.delta}
     * events then {@code speech.audio.done}. The status line waits for the first audio, so a
     * failure before it is still a proper error response; a failure after it ends an SSE stream
     * with an {@code error} event and cuts a raw stream short (the client sees an incomplete body).
     * Credits go back to the backend only while the socket keeps up.
     */
    private static final class Writer {
        private final RoutingContext ctx;
        private final HttpServerResponse response;
        private final OpenAiSpeechRequest speech;
        private final SynthesisStream job;
        private final AudioOutput out;
        private final SynthesisMetrics.Request request;
        private boolean begun;
        private long modelSamples;

        Writer(RoutingContext ctx, OpenAiSpeechRequest speech, SpeechParameters params, SynthesisStream job,
               SynthesisMetrics.Request request) {
            this.ctx = ctx;
            this.response = ctx.response();
            this.speech = speech;
            this.job = job;
            this.request = request;
            this.out = new AudioOutput(params, job.speedApplied(), true);
        }

        void start() {
            response.closeHandler(v -> job.cancel("client disconnected"));
            job.chunkHandler(this::chunk).endHandler(end -> finish()).failureHandler(this::failed);
            job.open();
        }

        private void chunk(Chunk chunk) {
            request.produced(chunk.samples().length, SynthesisMessages.SAMPLE_RATE, chunk.generateSeconds());
            modelSamples += chunk.samples().length;
            write(out.chunk(chunk.samples()));
            if (response.writeQueueFull()) {
                response.drainHandler(v -> job.credit(1));
            } else {
                job.credit(1);
            }
        }

        private void finish() {
            write(out.finish());
            if (response.closed() || response.ended()) {
                return;
            }
            begin();
            if (speech.sse()) {
                long inputTokens = speech.input().codePointCount(0, speech.input().length());
                long outputTokens = Math.round(modelSamples / (double) SAMPLES_PER_SPEECH_TOKEN);
                event(new JsonObject().put("type", "speech.audio.done").put("usage", new JsonObject()
                        .put("input_tokens", inputTokens).put("output_tokens", outputTokens)
                        .put("total_tokens", inputTokens + outputTokens)));
            }
            response.end();
        }

        private void failed(Failure failure) {
            ServiceException error = new ServiceException(failure.code(), failure.message());
            if (!begun) {
                ctx.fail(error);
                return;
            }
            request.finish(Outcome.ofStatus(ApiErrors.status(failure.code())));
            if (response.closed() || response.ended()) {
                return;
            }
            if (speech.sse()) {
                event(new JsonObject().put("type", "error").put("error", ApiErrors.openAiError(error)));
                response.end();
            } else {
                response.reset(); // a raw stream has no way to say "error" but to stop short
            }
        }

        private void write(byte[] bytes) {
            if (bytes.length == 0 || response.closed() || response.ended()) {
                return;
            }
            begin();
            request.audioWritten();
            if (speech.sse()) {
                response.write(AudioJson.buffer("data: ", new JsonObject().put("type", "speech.audio.delta")
                        .put("audio", AudioJson.AUDIO), bytes, "\n\n"));
            } else {
                response.write(Buffer.buffer(bytes));
            }
        }

        private void begin() {
            if (begun) {
                return;
            }
            begun = true;
            response.setChunked(true)
                    .putHeader(HttpHeaders.CONTENT_TYPE, speech.sse() ? "text/event-stream; charset=utf-8" : speech.contentType())
                    .putHeader(HttpHeaders.CACHE_CONTROL, "no-cache")
                    .putHeader("X-Accel-Buffering", "no");
        }

        private void event(JsonObject event) {
            response.write("data: " + event.encode() + "\n\n");
        }
    }
}
