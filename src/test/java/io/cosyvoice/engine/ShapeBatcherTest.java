package io.cosyvoice.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * The batcher's scheduling on its own: calls are "(shape, value)" pairs and a batch returns each
 * value squared, so every result shows whose call it was; the batches it ran are recorded. The graph
 * calls behind it are tested in {@link VocoderBatchingTest}.
 */
class ShapeBatcherTest {

    record Call(int shape, int value) {}

    private final List<List<Call>> batches = new CopyOnWriteArrayList<>();

    private ShapeBatcher<Call, Integer> batcher(int maxBatch) {
        return new ShapeBatcher<>("test-batcher", maxBatch, Call::shape, calls -> {
            batches.add(List.copyOf(calls));
            if (calls.stream().anyMatch(c -> c.value() < 0)) {
                throw new IllegalArgumentException("negative value in " + calls);
            }
            return calls.stream().map(c -> c.value() * c.value()).toList();
        });
    }

    private static void awaitWaiting(ShapeBatcher<?, ?> batcher, int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (batcher.waiting() < n) {
            assertTrue(System.nanoTime() < deadline, "only " + batcher.waiting() + " calls arrived, expected " + n);
            Thread.sleep(2);
        }
    }

    @Test
    void aLoneCallRunsAtOnce() throws Exception {
        try (ShapeBatcher<Call, Integer> b = batcher(8)) {
            long start = System.nanoTime();
            assertEquals(49, b.call(new Call(1, 7), () -> false));
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(1));
            assertEquals(List.of(List.of(new Call(1, 7))), batches);
        }
    }

    @Test
    void waitingCallsOfOneShapeShareABatchUpToTheLimitAndShapesNeverMix() throws Exception {
        try (ShapeBatcher<Call, Integer> b = batcher(3); ExecutorService pool = Executors.newFixedThreadPool(6)) {
            b.pause(true);
            List<Future<Integer>> results = new ArrayList<>();
            int[][] calls = {{1, 1}, {2, 2}, {1, 3}, {1, 4}, {1, 5}, {2, 6}};
            for (int[] c : calls) {
                results.add(pool.submit(() -> b.call(new Call(c[0], c[1]), () -> false)));
                awaitWaiting(b, results.size()); // arrival order is the submission order
            }
            b.pause(false);
            for (int i = 0; i < calls.length; i++) {
                assertEquals(calls[i][1] * calls[i][1], results.get(i).get(10, TimeUnit.SECONDS));
            }
            // oldest first: shape 1 (three of its four), then shape 2 (both), then shape 1's rest
            assertEquals(List.of(
                    List.of(new Call(1, 1), new Call(1, 3), new Call(1, 4)),
                    List.of(new Call(2, 2), new Call(2, 6)),
                    List.of(new Call(1, 5))), batches);
            assertEquals(new ShapeBatcher.Stats(6, 3, 3), b.stats());
        }
    }

    @Test
    void aShapesLimitBoundsItsBatches() throws Exception {
        // at most 12 / shape calls of a shape per batch (at least one)
        try (ShapeBatcher<Call, Integer> b = new ShapeBatcher<>("limited", 8, c -> 12 / c.shape(), Call::shape, calls -> {
            batches.add(List.copyOf(calls));
            return calls.stream().map(Call::value).toList();
        }); ExecutorService pool = Executors.newFixedThreadPool(8)) {
            b.pause(true);
            List<Future<Integer>> results = new ArrayList<>();
            int[][] calls = {{4, 1}, {4, 2}, {4, 3}, {4, 4}, {20, 5}, {20, 6}};
            for (int[] c : calls) {
                results.add(pool.submit(() -> b.call(new Call(c[0], c[1]), () -> false)));
                awaitWaiting(b, results.size());
            }
            b.pause(false);
            for (int i = 0; i < calls.length; i++) {
                assertEquals(calls[i][1], results.get(i).get(10, TimeUnit.SECONDS));
            }
            assertEquals(List.of(3, 1, 1, 1), batches.stream().map(List::size).toList());
        }
    }

    @Test
    void aFailingCallFailsOnlyItsOwnRequest() throws Exception {
        try (ShapeBatcher<Call, Integer> b = batcher(8); ExecutorService pool = Executors.newFixedThreadPool(3)) {
            b.pause(true);
            Future<Integer> good1 = pool.submit(() -> b.call(new Call(1, 2), () -> false));
            awaitWaiting(b, 1);
            Future<Integer> bad = pool.submit(() -> b.call(new Call(1, -1), () -> false));
            awaitWaiting(b, 2);
            Future<Integer> good2 = pool.submit(() -> b.call(new Call(1, 3), () -> false));
            awaitWaiting(b, 3);
            b.pause(false);
            assertEquals(4, good1.get(10, TimeUnit.SECONDS));
            assertEquals(9, good2.get(10, TimeUnit.SECONDS));
            ExecutionException e = assertThrows(ExecutionException.class, () -> bad.get(10, TimeUnit.SECONDS));
            assertTrue(e.getCause() instanceof IllegalArgumentException, e.toString());
            assertTrue(e.getCause().getMessage().contains("Call[shape=1, value=-1]"), e.getCause().getMessage());
            // the batch of three failed, then each ran alone
            assertEquals(4, batches.size());
            assertEquals(3, batches.getFirst().size());
            // and the batcher goes on serving
            assertEquals(25, b.call(new Call(1, 5), () -> false));
        }
    }

    @Test
    void aCancelledCallLeavesAtOnceAndIsNotRun() throws Exception {
        try (ShapeBatcher<Call, Integer> b = batcher(8); ExecutorService pool = Executors.newFixedThreadPool(2)) {
            b.pause(true);
            AtomicBoolean cancelled = new AtomicBoolean();
            Future<Integer> doomed = pool.submit(() -> b.call(new Call(1, 4), cancelled::get));
            awaitWaiting(b, 1);
            Future<Integer> other = pool.submit(() -> b.call(new Call(1, 6), () -> false));
            awaitWaiting(b, 2);
            cancelled.set(true);
            ExecutionException e = assertThrows(ExecutionException.class, () -> doomed.get(5, TimeUnit.SECONDS));
            assertTrue(e.getCause() instanceof CancellationException, e.toString());
            assertEquals(1, b.waiting());
            b.pause(false);
            assertEquals(36, other.get(10, TimeUnit.SECONDS));
            assertEquals(List.of(List.of(new Call(1, 6))), batches);
        }
    }

    @Test
    void closingFailsWaitingCallsClearlyAndRefusesNewOnes() throws Exception {
        ShapeBatcher<Call, Integer> b = batcher(8);
        try (ExecutorService pool = Executors.newFixedThreadPool(2)) {
            b.pause(true);
            Future<Integer> first = pool.submit(() -> b.call(new Call(1, 2), () -> false));
            Future<Integer> second = pool.submit(() -> b.call(new Call(2, 3), () -> false));
            awaitWaiting(b, 2);
            long start = System.nanoTime();
            b.close();
            for (Future<Integer> f : List.of(first, second)) {
                ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(5, TimeUnit.SECONDS));
                assertTrue(e.getCause() instanceof IllegalStateException, e.toString());
                assertTrue(e.getCause().getMessage().contains("shutting down"), e.getCause().getMessage());
            }
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5));
            IllegalStateException refused = assertThrows(IllegalStateException.class, () -> b.call(new Call(1, 1), () -> false));
            assertTrue(refused.getMessage().contains("closed"), refused.getMessage());
            assertTrue(batches.isEmpty());
        }
    }

    @Test
    void closeLetsTheBatchInProgressFinish() throws Exception {
        java.util.concurrent.CountDownLatch running = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        ShapeBatcher<Call, Integer> b = new ShapeBatcher<>("slow-batcher", 4, Call::shape, calls -> {
            running.countDown();
            release.await();
            return calls.stream().map(Call::value).toList();
        });
        try (ExecutorService pool = Executors.newFixedThreadPool(2)) {
            Future<Integer> inProgress = pool.submit(() -> b.call(new Call(1, 5), () -> false));
            assertTrue(running.await(5, TimeUnit.SECONDS));
            Future<?> closing = pool.submit(b::close);
            Thread.sleep(50);
            assertTrue(!closing.isDone(), "close waits for the batch that uses the sessions");
            release.countDown();
            closing.get(5, TimeUnit.SECONDS);
            assertEquals(5, inProgress.get(5, TimeUnit.SECONDS));
        }
    }
}
