package io.cosyvoice.engine;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.ToIntFunction;

/**
 * Runs graph calls of many requests on one thread of its own, batching calls of equal shape.
 * Continuous, with no timer: whenever the thread is free it takes the oldest waiting call and every
 * other waiting call of the same shape (up to {@code maxBatch}), runs them as one batch and hands
 * each caller its own result. A lone call therefore waits for nothing but the batch in progress.
 *
 * <p>Callers block in {@link #call} until their result is ready. A cancelled caller leaves at once
 * (its call is skipped if it has not started); a batch that fails is run again call by call, so a
 * failure reaches only the request that caused it; {@link #close} fails every waiting call.
 *
 * @param <C> one request's call (its inputs)
 * @param <R> one request's result
 */
final class ShapeBatcher<C, R> implements AutoCloseable {

    /** Runs calls of one shape as a single graph call: one result per call, in order. */
    @FunctionalInterface
    interface Batch<C, R> {
        List<R> run(List<C> calls) throws Exception;
    }

    /** Counts since start: calls made, graph calls run, and the largest batch. */
    record Stats(long calls, long batches, int largestBatch) {}

    private static final long POLL_MILLIS = 20;

    private final String name;
    private final int maxBatch;
    private final ToIntFunction<C> limit;
    private final Function<C, Object> shape;
    private final Batch<C, R> batch;
    private final Thread thread;
    private final LinkedList<Pending<C, R>> queue = new LinkedList<>();
    private boolean closed;
    private boolean paused;
    private long calls;
    private long batches;
    private int largestBatch;

    private static final class Pending<C, R> {
        final C call;
        final Object shape;
        final CompletableFuture<R> result = new CompletableFuture<>();

        Pending(C call, Object shape) {
            this.call = call;
            this.shape = shape;
        }
    }

    /**
     * @param shape calls whose shapes are {@code equal} may share a batch
     */
    ShapeBatcher(String name, int maxBatch, Function<C, Object> shape, Batch<C, R> batch) {
        this(name, maxBatch, call -> maxBatch, shape, batch);
    }

    /**
     * @param limit how many calls of a call's shape one batch may carry at most (below
     *              {@code maxBatch} for large shapes, so a batch's memory stays bounded; at least 1)
     */
    ShapeBatcher(String name, int maxBatch, ToIntFunction<C> limit, Function<C, Object> shape, Batch<C, R> batch) {
        if (maxBatch < 1) {
            throw new IllegalArgumentException("maxBatch must be at least 1, got " + maxBatch);
        }
        this.name = name;
        this.maxBatch = maxBatch;
        this.limit = limit;
        this.shape = shape;
        this.batch = batch;
        this.thread = new Thread(this::loop, name);
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * Runs {@code call} (batched with others of its shape) and returns its result.
     *
     * @param cancelled looked at while waiting: once true the caller leaves with {@link CancellationException}
     * @throws IllegalStateException when the batcher is closed, or closes before the call ran
     * @throws Exception             what running the call alone threw
     */
    R call(C call, BooleanSupplier cancelled) throws Exception {
        Pending<C, R> pending = new Pending<>(call, shape.apply(call));
        synchronized (queue) {
            if (closed) {
                throw new IllegalStateException(name + " is closed: the engine is shutting down");
            }
            queue.add(pending);
            queue.notifyAll();
        }
        while (true) {
            try {
                return pending.result.get(POLL_MILLIS, TimeUnit.MILLISECONDS);
            } catch (TimeoutException | InterruptedException e) {
                // a wake-up (e.g. the job was cancelled) or just time to look at the flag again
                if (cancelled.getAsBoolean()) {
                    synchronized (queue) {
                        queue.remove(pending); // not started: nobody runs it; started: its result is dropped
                    }
                    pending.result.cancel(false);
                    throw new CancellationException("the request was cancelled");
                }
            } catch (ExecutionException e) {
                Throwable cause = e.getCause();
                if (cause instanceof Exception ex) {
                    throw ex;
                }
                throw (Error) cause;
            }
        }
    }

    Stats stats() {
        synchronized (queue) {
            return new Stats(calls, batches, largestBatch);
        }
    }

    /** Calls waiting for the thread (not counting a batch in progress). */
    int waiting() {
        synchronized (queue) {
            return queue.size();
        }
    }

    /** Tests only: while paused the thread starts no new batch, so calls gather. */
    void pause(boolean pause) {
        synchronized (queue) {
            paused = pause;
            queue.notifyAll();
        }
    }

    private void loop() {
        while (true) {
            List<Pending<C, R>> next = new ArrayList<>();
            synchronized (queue) {
                while (!closed && (paused || queue.isEmpty())) {
                    try {
                        queue.wait();
                    } catch (InterruptedException e) {
                        // only close() matters, and it notifies
                    }
                }
                if (closed) {
                    return;
                }
                Object first = queue.getFirst().shape;
                int most = Math.max(1, Math.min(maxBatch, limit.applyAsInt(queue.getFirst().call)));
                for (Iterator<Pending<C, R>> it = queue.iterator(); it.hasNext() && next.size() < most; ) {
                    Pending<C, R> p = it.next();
                    if (p.shape.equals(first)) {
                        next.add(p);
                        it.remove();
                    }
                }
            }
            runBatch(next);
        }
    }

    private void runBatch(List<Pending<C, R>> pending) {
        pending.removeIf(p -> p.result.isDone()); // cancelled while queued
        if (pending.isEmpty()) {
            return;
        }
        synchronized (queue) {
            calls += pending.size();
            batches++;
            largestBatch = Math.max(largestBatch, pending.size());
        }
        try {
            complete(pending, batch.run(pending.stream().map(p -> p.call).toList()));
        } catch (Throwable batchFailure) {
            if (pending.size() == 1) {
                pending.getFirst().result.completeExceptionally(batchFailure);
                return;
            }
            // which call broke the batch is unknown: each alone, so only that request fails
            for (Pending<C, R> p : pending) {
                try {
                    synchronized (queue) {
                        batches++;
                    }
                    complete(List.of(p), batch.run(List.of(p.call)));
                } catch (Throwable alone) {
                    p.result.completeExceptionally(alone);
                }
            }
        }
    }

    private static <C, R> void complete(List<Pending<C, R>> pending, List<R> results) {
        if (results.size() != pending.size()) {
            throw new IllegalStateException(results.size() + " results for " + pending.size() + " calls");
        }
        for (int i = 0; i < pending.size(); i++) {
            pending.get(i).result.complete(results.get(i));
        }
    }

    /** Fails every waiting call, lets a batch in progress finish (its sessions are still open), stops the thread. */
    @Override
    public void close() {
        List<Pending<C, R>> failed;
        synchronized (queue) {
            if (closed) {
                return;
            }
            closed = true;
            failed = new ArrayList<>(queue);
            queue.clear();
            queue.notifyAll();
        }
        IllegalStateException closing = new IllegalStateException(name + " closed: the engine is shutting down");
        failed.forEach(p -> p.result.completeExceptionally(closing));
        try {
            thread.join(TimeUnit.MINUTES.toMillis(2));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
