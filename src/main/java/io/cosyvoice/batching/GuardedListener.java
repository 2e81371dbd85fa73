package io.cosyvoice.batching;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Passes statistics on and swallows a listener's failure: metrics must never end a sequence. */
record GuardedListener(BatcherListener delegate) implements BatcherListener {

    private static final Logger log = LoggerFactory.getLogger(GuardedListener.class);

    private void guard(Runnable call) {
        try {
            call.run();
        } catch (RuntimeException e) {
            log.atWarn().setCause(e).log("the batcher's statistics listener failed");
        }
    }

    @Override
    public void onStep(Step step) {
        guard(() -> delegate.onStep(step));
    }

    @Override
    public void onQueue(int waiting) {
        guard(() -> delegate.onQueue(waiting));
    }

    @Override
    public void onAdmitted(long waitNanos) {
        guard(() -> delegate.onAdmitted(waitNanos));
    }

    @Override
    public void onSlotsInUse(int slots) {
        guard(() -> delegate.onSlotsInUse(slots));
    }

    @Override
    public void onStepFailed(Throwable error, int sequences) {
        guard(() -> delegate.onStepFailed(error, sequences));
    }
}
