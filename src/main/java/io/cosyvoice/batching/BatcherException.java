package io.cosyvoice.batching;

/** Why the batcher refused or ended a sequence; {@link #reason} is what a caller maps to a status. */
public final class BatcherException extends RuntimeException {

    public enum Reason {
        /** Every slot is taken and the queue is full: refused at {@code submit} (HTTP 429). */
        QUEUE_FULL,
        /** The request's deadline passed before it finished (waiting or running). */
        DEADLINE_EXCEEDED,
        /** The token consumer threw: this sequence ended, the others go on. */
        CONSUMER_FAILED,
        /** A graph call or sampling failed: the sequences of that call ended, the scheduler goes on. */
        MODEL_FAILED,
        /** The batcher is closing or closed. */
        SHUT_DOWN
    }

    private final Reason reason;

    BatcherException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    BatcherException(Reason reason, String message) {
        this(reason, message, null);
    }

    public Reason reason() {
        return reason;
    }
}
