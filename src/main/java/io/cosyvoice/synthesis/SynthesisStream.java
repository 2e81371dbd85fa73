package io.cosyvoice.synthesis;

import io.cosyvoice.error.ErrorCode;
import io.cosyvoice.synthesis.SynthesisMessages.Accepted;
import io.cosyvoice.synthesis.SynthesisMessages.Cancel;
import io.cosyvoice.synthesis.SynthesisMessages.Chunk;
import io.cosyvoice.synthesis.SynthesisMessages.Credit;
import io.cosyvoice.synthesis.SynthesisMessages.End;
import io.cosyvoice.synthesis.SynthesisMessages.Failure;
import io.cosyvoice.synthesis.SynthesisMessages.MoreText;
import io.cosyvoice.synthesis.SynthesisMessages.Output;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;

import java.util.List;

/**
 * One running job as the frontend sees it: audio chunks arrive on the handler in order, then
 * exactly one of end or failure. The frontend grants {@link #credit} as it writes chunks out and
 * calls {@link #cancel} when its client goes away. Not thread-safe: use it on the context that
 * started it.
 */
public final class SynthesisStream {

    private final Vertx vertx;
    private final String jobId;
    private String inputAddress;
    private boolean speedApplied;
    private MessageConsumer<Output> consumer;
    private Runnable onClose = () -> { };
    private Handler<Chunk> chunkHandler = chunk -> { };
    private Handler<End> endHandler = end -> { };
    private Handler<Failure> failureHandler = failure -> { };
    private boolean done;
    private boolean opened;
    private final java.util.ArrayDeque<Output> early = new java.util.ArrayDeque<>();

    /** Watchdog: the backend owes output (all text sent) and holds credits, yet sends nothing. */
    private final long stallTimeoutMs;
    private boolean textComplete;
    private int creditsHeld;
    private long stallTimer = -1;

    SynthesisStream(Vertx vertx, String jobId, long stallTimeoutMs, boolean textComplete, int initialCredits) {
        this.vertx = vertx;
        this.jobId = jobId;
        this.stallTimeoutMs = stallTimeoutMs;
        this.textComplete = textComplete;
        this.creditsHeld = initialCredits;
    }

    SynthesisStream accepted(Accepted accepted, MessageConsumer<Output> consumer) {
        this.inputAddress = accepted.inputAddress();
        this.speedApplied = accepted.speedApplied();
        this.consumer = consumer;
        watch();
        return this;
    }

    /** Runs once when the stream ends, fails or is cancelled. */
    void onClose(Runnable action) {
        this.onClose = action;
        if (done) {
            close();
        }
    }

    public String jobId() {
        return jobId;
    }

    /** Whether the backend already applied the requested speed (else the frontend stretches). */
    public boolean speedApplied() {
        return speedApplied;
    }

    public SynthesisStream chunkHandler(Handler<Chunk> handler) {
        this.chunkHandler = handler;
        return this;
    }

    public SynthesisStream endHandler(Handler<End> handler) {
        this.endHandler = handler;
        return this;
    }

    public SynthesisStream failureHandler(Handler<Failure> handler) {
        this.failureHandler = handler;
        return this;
    }

    /** More prepared sentences for an open job; {@code last} closes its text. */
    public void addSentences(List<String> sentences, boolean last) {
        if (!done && (!sentences.isEmpty() || last)) {
            vertx.eventBus().send(inputAddress, new MoreText(sentences, last));
            textComplete |= last;
            watch();
        }
    }

    /** Lets the backend send {@code chunks} more chunks. */
    public void credit(int chunks) {
        if (!done) {
            vertx.eventBus().send(inputAddress, new Credit(chunks));
            creditsHeld += chunks;
            watch();
        }
    }

    /** Stops the job; no handler is called afterwards. */
    public void cancel(String reason) {
        if (!done) {
            done = true;
            vertx.eventBus().send(inputAddress, new Cancel(reason));
            close();
        }
    }

    public boolean isDone() {
        return done;
    }

    /** Starts delivery to the handlers (set them first); output that arrived earlier is delivered now. */
    public void open() {
        opened = true;
        while (!early.isEmpty() && !done) {
            dispatch(early.poll());
        }
    }

    void receive(Output output) {
        if (done) {
            return;
        }
        if (output instanceof Chunk) {
            creditsHeld--;
        }
        watch();
        if (!opened) {
            early.add(output);
            return;
        }
        dispatch(output);
    }

    private void dispatch(Output output) {
        switch (output) {
            case Chunk chunk -> chunkHandler.handle(chunk);
            case End end -> {
                done = true;
                close();
                endHandler.handle(end);
            }
            case Failure failure -> {
                done = true;
                close();
                failureHandler.handle(failure);
            }
        }
    }

    /** Fails the stream from the frontend's side (e.g. the client-facing encoder broke). */
    public void fail(ErrorCode code, String message) {
        if (!done) {
            cancel(message);
            failureHandler.handle(new Failure(code, message));
        }
    }

    /** (Re)arms the stall watchdog while the backend owes output and may send it; disarms it otherwise. */
    private void watch() {
        if (stallTimer >= 0) {
            vertx.cancelTimer(stallTimer);
            stallTimer = -1;
        }
        if (!done && textComplete && creditsHeld > 0 && inputAddress != null) {
            stallTimer = vertx.setTimer(stallTimeoutMs, id -> {
                stallTimer = -1;
                fail(ErrorCode.SERVICE_UNAVAILABLE, "the synthesis backend stopped responding; try again later");
            });
        }
    }

    private void close() {
        if (stallTimer >= 0) {
            vertx.cancelTimer(stallTimer);
            stallTimer = -1;
        }
        if (consumer != null) {
            consumer.unregister();
        }
        Runnable action = onClose;
        onClose = () -> { };
        action.run();
    }
}
