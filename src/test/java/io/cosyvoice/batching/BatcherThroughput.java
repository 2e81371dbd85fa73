package io.cosyvoice.batching;

import io.cosyvoice.engine.EngineOptions;
import io.cosyvoice.engine.LlmGraph;
import io.cosyvoice.engine.LlmRequest;
import io.cosyvoice.engine.ModelDirectory;
import io.cosyvoice.engine.OnnxGraphs;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Manual measurement of aggregate decode throughput (not a test: it reads a model directory given on
 * the command line, e.g. the full-size twin). Run from the project root:
 * <pre>
 * CLASSPATH=target/classes:target/test-classes:$(cat cp.txt) java io.cosyvoice.batching.BatcherThroughput \
 *     /work/main/models/random/full [intra-op threads] [seconds per run] [concurrencies, e.g. 1,4,16] [java|iobinding]
 * </pre>
 * For 1, 4 and 16 concurrent sequences (the long golden case's inputs with seeds 0…N−1) it runs the
 * batcher with 16 slots and with 1 slot (batching off), and prints tokens per second over pure
 * decode iterations (no prefill in them) and over the whole run, prefills included. A run stops after
 * the given seconds (default 60), cancelling what is left. Tokens of sequences that finished in both
 * modes are compared. The last argument picks the KV binding ({@link KvBinding}, default java); the
 * iobinding batcher opens its own C API session, which is not counted in the run's time.
 */
final class BatcherThroughput {

    /** {@code medianTokensPerSecond}: tokens per pure decode step over the median step time (robust to interference). */
    record Outcome(double decodeTokensPerSecond, double overallTokensPerSecond, int tokens, double seconds,
            double meanBatch, double stepMillis, double medianStepMillis, double medianTokensPerSecond,
            Map<Long, int[]> finished) {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args.length > 0 ? args[0] : "models/random/tiny");
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 0;
        int seconds = args.length > 2 ? Integer.parseInt(args[2]) : 60;
        int[] concurrencies = Arrays.stream((args.length > 3 ? args[3] : "1,4,16").split(",")).mapToInt(Integer::parseInt)
                .toArray();
        KvBinding binding = KvBinding.resolve(args.length > 4 ? args[4] : "java", false);
        long t0 = System.nanoTime();
        ModelDirectory model = ModelDirectory.open(dir, false);
        try (OnnxGraphs graphs = OnnxGraphs.open(model, new EngineOptions(threads, "cpu", 0, 0, false))) {
            LlmGraph graph = LlmGraph.open(model, graphs);
            GoldenCases c = GoldenCases.get("zero_shot_long_stream");
            LlmRequest probe = c.request(graph);
            System.out.printf("%s opened in %.1f s, %d intra-op threads; each sequence: prefix %d, max_len %d%n",
                    model.describe(), (System.nanoTime() - t0) / 1e9, threads, probe.prefixLength(), probe.maxLength());
            BatcherOptions options = BatcherOptions.DEFAULTS.withKvCapacity(probe.capacityNeeded()).withKvBinding(binding);
            System.out.println("KV binding: " + binding);
            run(graph, c, options, 2, 10); // warm-up: ONNX Runtime's first calls of a shape allocate
            for (int n : concurrencies) {
                Outcome on = run(graph, c, options.withMaxBatchSize(16), n, seconds);
                Outcome off = run(graph, c, options.withMaxBatchSize(1), n, seconds);
                int same = 0;
                int compared = 0;
                for (var e : on.finished().entrySet()) {
                    int[] other = off.finished().get(e.getKey());
                    if (other != null) {
                        compared++;
                        same += Arrays.equals(other, e.getValue()) ? 1 : 0;
                    }
                }
                System.out.printf("%2d concurrent: batch on  %6.1f tok/s decode (%6.1f at the median step), %6.1f tok/s overall "
                        + "(%d tokens in %.1f s, mean batch %.1f, %.0f ms/decode step, median %.0f)%n", n,
                        on.decodeTokensPerSecond(), on.medianTokensPerSecond(), on.overallTokensPerSecond(), on.tokens(),
                        on.seconds(), on.meanBatch(), on.stepMillis(), on.medianStepMillis());
                System.out.printf("%2d concurrent: batch off %6.1f tok/s decode (%6.1f at the median step), %6.1f tok/s overall "
                        + "(%d tokens in %.1f s, %.0f ms/decode step, median %.0f); speed-up %.2fx decode; identical tokens %d/%d%n",
                        n, off.decodeTokensPerSecond(), off.medianTokensPerSecond(), off.overallTokensPerSecond(), off.tokens(),
                        off.seconds(), off.stepMillis(), off.medianStepMillis(),
                        on.decodeTokensPerSecond() / off.decodeTokensPerSecond(), same, compared);
            }
        }
    }

    private static Outcome run(LlmGraph graph, GoldenCases c, BatcherOptions options, int n, int seconds) throws Exception {
        List<BatcherListener.Step> steps = java.util.Collections.synchronizedList(new ArrayList<>());
        BatcherListener listener = new BatcherListener() {
            @Override
            public void onStep(Step step) {
                steps.add(step);
            }
        };
        Map<Long, int[]> finished = new HashMap<>();
        int tokens = 0;
        long start;
        try (ContinuousBatcher batcher = ContinuousBatcher.start(graph, options, listener)) {
            start = System.nanoTime();
            List<BatchedGeneration> runs = new ArrayList<>();
            for (long seed = 0; seed < n; seed++) {
                runs.add(batcher.submit(c.request(graph, seed), t -> { }));
            }
            long deadline = start + TimeUnit.SECONDS.toNanos(seconds);
            for (int i = 0; i < n; i++) {
                BatchedGeneration g = runs.get(i);
                long left = deadline - System.nanoTime();
                try {
                    Generation done = g.completion().get(Math.max(left, 0), TimeUnit.NANOSECONDS);
                    finished.put((long) i, done.tokens());
                } catch (java.util.concurrent.TimeoutException e) {
                    g.cancel();
                }
            }
            for (BatchedGeneration g : runs) {
                tokens += g.completion().get().tokens().length;
            }
        }
        double elapsed = (System.nanoTime() - start) / 1e9;
        long decodeNanos = 0;
        long decodeTokens = 0;
        long rows = 0;
        int decodeSteps = 0;
        List<Long> nanos = new ArrayList<>();
        for (BatcherListener.Step s : steps) {
            if (s.prefillTokens() == 0 && s.batchSize() > 0) {
                nanos.add(s.nanos());
                decodeNanos += s.nanos();
                decodeTokens += s.tokens();
                rows += s.batchSize();
                decodeSteps++;
            }
        }
        nanos.sort(null);
        double median = nanos.isEmpty() ? 0 : nanos.get(nanos.size() / 2) / 1e6;
        double perStep = decodeSteps == 0 ? 0 : (double) decodeTokens / decodeSteps;
        return new Outcome(decodeTokens / (decodeNanos / 1e9), tokens / elapsed, tokens, elapsed,
                decodeSteps == 0 ? 0 : (double) rows / decodeSteps, decodeSteps == 0 ? 0 : decodeNanos / 1e6 / decodeSteps,
                median, median == 0 ? 0 : perStep / (median / 1e3), finished);
    }
}
