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
import io.vertx.core.eventbus.ReplyFailure;

import java.util.List;
import java.util.OptionalLong;
import java.util.UUID;

/**
 * The frontend's end of the synthesis contract: starts jobs on the backend {@link Backends} chooses
 * (this process's, or the cluster's with the most free capacity) and hands back a
 * {@link SynthesisStream}; when that backend stops, the stream fails at once. Call from the Vert.x context that will
 * consume the audio (an HTTP request's or a WebSocket's): output is delivered there.
 */
public final class SynthesisClient {

    /** Chunks a backend may send ahead of the client: enough to hide a round trip, no more. */
    public static final int INITIAL_CREDITS = 4;
    private static final long START_TIMEOUT_MS = 10_000;

    private final Vertx vertx;
    private final java.time.Duration stallTimeout;
    private final Backends backends;

    /** @param stallTimeout how long a job that owes audio may stay silent before it fails */
    public SynthesisClient(Vertx vertx, java.time.Duration stallTimeout) {
        this(vertx, stallTimeout, Backends.SINGLE_PROCESS);
    }

    /**
     * @param stallTimeout how long a job that owes audio may stay silent before it fails
     * @param backends     where jobs go
     */
    public SynthesisClient(Vertx vertx, java.time.Duration stallTimeout, Backends backends) {
        this.vertx = vertx;
        this.stallTimeout = stallTimeout;
        this.backends = backends;
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
        MessageConsumer<Output> consumer = vertx.eventBus().consumer(outputAddress, message -> stream.receive(message.body()));
        Job job = new Job(jobId, outputAddress, backends.localNode(), request.voiceId(), request.promptText(), request.prompt(),
                false, request.mode(), request.instruct(), request.seed(), request.speed(), request.sentences(), request.textComplete(),
                INITIAL_CREDITS, request.streaming());
        return consumer.completion()
                .compose(v -> send(job, stream, consumer, MAX_PLACEMENTS))
                .recover(err -> consumer.unregister().transform(ignored -> Future.failedFuture(startFailure(err))));
    }

    /** Backends tried for one job when the chosen one turns out full or gone. */
    private static final int MAX_PLACEMENTS = 3;

    /** Places the job on the backend with the most room; a refusal for lack of room tries the next one. */
    private Future<SynthesisStream> send(Job job, SynthesisStream stream, MessageConsumer<Output> consumer, int attemptsLeft) {
        Backends.Target target;
        try {
            target = backends.placeJob();
        } catch (ServiceException e) {
            return Future.failedFuture(e);
        }
        return deliver(job, target)
                .andThen(answer -> backends.answered(target, answer.succeeded() ? answer.result().capacity() : null))
                .map(accepted -> {
                    stream.accepted(accepted, consumer);
                    stream.onClose(backends.watch(target, () -> stream.fail(ErrorCode.SERVICE_UNAVAILABLE,
                            "the synthesis backend running this request stopped (it left the cluster); try again")));
                    return stream;
                })
                .recover(err -> {
                    if (attemptsLeft > 1 && err instanceof ReplyException reply && !target.nodeId().isEmpty()
                            && (reply.failureType() == ReplyFailure.NO_HANDLERS
                            || reply.failureType() == ReplyFailure.RECIPIENT_FAILURE && reply.failureCode() == 429)) {
                        backends.refused(target);
                        return send(job, stream, consumer, attemptsLeft - 1);
                    }
                    return Future.failedFuture(err);
                });
    }

    /**
     * Sends the job to one backend. A backend of another process that said it keeps the voice's prompt
     * features gets the job without them (they are ~160 KB for a 10 s voice); if it no longer has them
     * it refuses with {@link SynthesisMessages#PROMPT_NEEDED}, and gets the job again with them, once.
     * This process's backend always gets them: delivery here copies nothing.
     */
    private Future<Accepted> deliver(Job job, Backends.Target target) {
        PromptFeatures prompt = job.prompt();
        boolean remote = prompt != null && !target.nodeId().isEmpty() && !target.nodeId().equals(backends.localNode());
        if (!remote) {
            return request(job, target);
        }
        Future<Accepted> withFeatures;
        if (backends.withholdPrompt(target, job.voiceId(), prompt.modelVersion())) {
            withFeatures = request(job.withholdingPrompt(), target).recover(err -> {
                if (err instanceof ReplyException reply && reply.failureType() == ReplyFailure.RECIPIENT_FAILURE
                        && reply.failureCode() == SynthesisMessages.PROMPT_NEEDED) {
                    backends.promptHeld(target, job.voiceId(), prompt.modelVersion(), false);
                    return request(job, target);
                }
                return Future.failedFuture(err);
            });
        } else {
            withFeatures = request(job, target);
        }
        return withFeatures.onSuccess(accepted -> backends.promptHeld(target, job.voiceId(), prompt.modelVersion(),
                accepted.promptKept()));
    }

    private Future<Accepted> request(Job job, Backends.Target target) {
        return vertx.eventBus().<Accepted>request(target.jobsAddress(), job, new DeliveryOptions().setSendTimeout(START_TIMEOUT_MS))
                .map(reply -> reply.body());
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
