package io.cosyvoice.synthesis;

import io.cosyvoice.error.ErrorCode;
import io.cosyvoice.error.ServiceException;
import io.cosyvoice.synthesis.SynthesisMessages.Accepted;
import io.cosyvoice.synthesis.SynthesisMessages.Job;
import io.cosyvoice.synthesis.SynthesisMessages.Output;
import io.cosyvoice.voice.PromptFeatures;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.eventbus.ReplyException;

import java.util.List;
import java.util.OptionalLong;
import java.util.UUID;

/**
 * The frontend's end of the synthesis contract: starts jobs on whatever backend listens on the
 * event bus and hands back a {@link SynthesisStream}. Call from the Vert.x context that will
 * consume the audio (an HTTP request's or a WebSocket's): output is delivered there.
 */
public final class SynthesisClient {

    /** Chunks a backend may send ahead of the client: enough to hide a round trip, no more. */
    public static final int INITIAL_CREDITS = 4;
    private static final long START_TIMEOUT_MS = 10_000;

    private final Vertx vertx;
    private final java.time.Duration stallTimeout;

    /** @param stallTimeout how long a job that owes audio may stay silent before it fails */
    public SynthesisClient(Vertx vertx, java.time.Duration stallTimeout) {
        this.vertx = vertx;
        this.stallTimeout = stallTimeout;
        SynthesisMessages.registerCodecs(vertx);
    }

    /** What to synthesise; see {@link Job} for the fields. */
    public record Request(UUID voiceId, String promptText, PromptFeatures prompt, SynthesisMode mode, String instruct,
                          OptionalLong seed, double speed, List<String> sentences, boolean textComplete,
                          boolean streaming) {
    }

    public Future<SynthesisStream> start(Request request) {
        String jobId = UUID.randomUUID().toString();
        String outputAddress = "cosyvoice.synthesis.output." + jobId;
        SynthesisStream stream = new SynthesisStream(vertx, jobId, stallTimeout.toMillis(), request.textComplete(), INITIAL_CREDITS);
        MessageConsumer<Output> consumer = vertx.eventBus().localConsumer(outputAddress, message -> stream.receive(message.body()));
        Job job = new Job(jobId, outputAddress, request.voiceId(), request.promptText(), request.prompt(), request.mode(),
                request.instruct(), request.seed(), request.speed(), request.sentences(), request.textComplete(),
                INITIAL_CREDITS, request.streaming());
        return consumer.completion()
                .compose(v -> vertx.eventBus().<Accepted>request(SynthesisMessages.JOBS_ADDRESS, job,
                        new DeliveryOptions().setSendTimeout(START_TIMEOUT_MS)))
                .map(reply -> stream.accepted(reply.body(), consumer))
                .recover(err -> consumer.unregister().transform(ignored -> Future.failedFuture(startFailure(err))));
    }

    /** Maps an event-bus failure of a backend request to what the API reports. */
    static Throwable startFailure(Throwable err) {
        if (err instanceof ReplyException reply) {
            return switch (reply.failureType()) {
                case NO_HANDLERS -> new ServiceException(ErrorCode.SERVICE_UNAVAILABLE,
                        "no synthesis backend is running; try again later");
                case TIMEOUT -> new ServiceException(ErrorCode.SERVICE_UNAVAILABLE,
                        "the synthesis backend did not answer; try again later");
                case RECIPIENT_FAILURE, ERROR -> backendRefusal(reply);
            };
        }
        return err;
    }

    /** A backend refuses a job with {@code fail(httpLikeStatus, message)}: 429 busy, 404 unknown voice, ... */
    private static ServiceException backendRefusal(ReplyException reply) {
        ErrorCode code = switch (reply.failureCode()) {
            case 400 -> ErrorCode.INVALID_PARAMETER;
            case 404 -> ErrorCode.NOT_FOUND;
            case 429 -> ErrorCode.TOO_MANY_REQUESTS;
            case 503 -> ErrorCode.SERVICE_UNAVAILABLE;
            default -> ErrorCode.INTERNAL_ERROR;
        };
        return new ServiceException(code, reply.getMessage() == null ? "synthesis backend failure" : reply.getMessage());
    }
}
