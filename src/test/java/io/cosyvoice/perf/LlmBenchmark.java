package io.cosyvoice.perf;

import io.cosyvoice.batching.BatchedGeneration;
import io.cosyvoice.batching.BatcherListener;
import io.cosyvoice.batching.BatcherOptions;
import io.cosyvoice.batching.ContinuousBatcher;
import io.cosyvoice.engine.EngineOptions;
import io.cosyvoice.engine.LlmGraph;
import io.cosyvoice.engine.LlmRequest;
import io.cosyvoice.engine.ModelDirectory;
import io.cosyvoice.engine.OnnxGraphs;
import io.cosyvoice.synthesis.SynthesisMode;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The server's side of the issue-6 benchmark (perf/README.md): the continuous batcher on a model
 * directory, with batching on (32 slots) and off (1 slot), at 1, 4, 16 and 32 concurrent requests
 * arriving over the first second. Every request has the same shape as the Python references':
 * a {@code --prefix}-position prefix, then exactly {@code --tokens} speech tokens (end-of-speech is
 * masked for that long, then the request is cut). One JSON line per configuration on stdout, in
 * the references' format, so perf/report.py can put them in one table:
 * {@code {"system", "concurrency", "tokens_per_second", "ttft_p50_ms", "first_chunk_p50_ms", "requests"}}.
 * Not a test: perf/run.sh runs it.
 */
public final class LlmBenchmark {

    /** Tokens a request needs before its first audio chunk can start: the first hop (25) plus 3 of look-ahead. */
    static final int FIRST_CHUNK_TOKENS = 28;

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(option(args, "--model-dir", "models/random/full"));
        int prefix = Integer.parseInt(option(args, "--prefix", "150"));
        int tokens = Integer.parseInt(option(args, "--tokens", "60"));
        int threads = Integer.parseInt(option(args, "--threads", "2"));
        double maxSeconds = Double.parseDouble(option(args, "--max-seconds", "180"));
        int[] levels = Arrays.stream(option(args, "--concurrency", "1,4,16,32").split(",")).mapToInt(Integer::parseInt).toArray();
        ModelDirectory model = ModelDirectory.open(dir, false);
        try (OnnxGraphs graphs = OnnxGraphs.open(model, new EngineOptions(threads, "cpu", 0, 0, false))) {
            LlmGraph graph = LlmGraph.open(model, graphs);
            int maxLevel = Arrays.stream(levels).max().orElse(1);
            // a slot must hold the request's prefix plus its max_len (20 × text tokens), though we cut at --tokens
            int capacity = graph.request(SynthesisMode.CROSS_LINGUAL, new long[prefix - 2], new long[0], new long[0], 0, 0)
                    .capacityNeeded();
            BatcherOptions base = new BatcherOptions(maxLevel, 256, maxLevel, capacity, 1);
            run(graph, base.withMaxBatchSize(Math.min(4, maxLevel)), 2, prefix, tokens, 30, "warm-up"); // first shapes allocate
            for (int n : levels) {
                System.out.println(run(graph, base.withMaxBatchSize(maxLevel), n, prefix, tokens, maxSeconds, "cosyvoice-batching"));
                System.out.println(run(graph, base.withMaxBatchSize(1), n, prefix, tokens, maxSeconds, "cosyvoice-no-batching"));
            }
        }
    }

    private static String run(LlmGraph graph, BatcherOptions options, int n, int prefix, int tokens, double maxSeconds,
                              String system) throws Exception {
        // cross-lingual: the prefix is [sos, text, task_id]; eos stays masked for 2 × text tokens > tokens
        int textTokens = prefix - 2;
        AtomicLongArray first = new AtomicLongArray(n);
        AtomicLongArray firstChunk = new AtomicLongArray(n);
        long[] submitted = new long[n];
        AtomicLong produced = new AtomicLong();
        CountDownLatch done = new CountDownLatch(n);
        List<BatchedGeneration> runs = new ArrayList<>();
        long start;
        try (ContinuousBatcher batcher = ContinuousBatcher.start(graph, options, BatcherListener.NONE)) {
            // the clock starts once the KV pool exists and has served a request: a server allocates
            // the pool once, at start-up, and ONNX Runtime sizes its buffers on the first calls
            LlmRequest warmUp = graph.request(SynthesisMode.CROSS_LINGUAL, new long[textTokens], new long[0], new long[0], 0, -1);
            BatchedGeneration[] warm = new BatchedGeneration[1];
            int[] seen = {0};
            warm[0] = batcher.submit(warmUp, token -> {
                if (++seen[0] == 2 && warm[0] != null) {
                    warm[0].cancel();
                }
            });
            warm[0].completion().get(120, TimeUnit.SECONDS);
            start = System.nanoTime();
            for (int i = 0; i < n; i++) {
                // arrivals spread over the first second, as users do, not one burst
                long due = start + (n == 1 ? 0 : TimeUnit.MILLISECONDS.toNanos(1000L * i / n));
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                }
                long[] text = new long[textTokens];
                for (int t = 0; t < textTokens; t++) {
                    text[t] = 100 + (31L * t + 7L * i) % 1000;
                }
                LlmRequest request = graph.request(SynthesisMode.CROSS_LINGUAL, text, new long[0], new long[0], 0, i);
                int index = i;
                int[] count = {0};
                BatchedGeneration[] self = new BatchedGeneration[1];
                submitted[i] = System.nanoTime();
                self[0] = batcher.submit(request, token -> {
                    long now = System.nanoTime();
                    count[0]++;
                    produced.incrementAndGet();
                    if (count[0] == 1) {
                        first.set(index, now - submitted[index]);
                    }
                    if (count[0] == FIRST_CHUNK_TOKENS) {
                        firstChunk.set(index, now - submitted[index]);
                    }
                    if (count[0] == tokens && self[0] != null) {
                        self[0].cancel();
                    }
                });
                self[0].completion().whenComplete((g, e) -> done.countDown());
                runs.add(self[0]);
            }
            if (!done.await((long) (maxSeconds * 1000), TimeUnit.MILLISECONDS)) {
                runs.forEach(BatchedGeneration::cancel);
                done.await(30, TimeUnit.SECONDS);
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        return String.format(Locale.ROOT,
                "{\"system\": \"%s\", \"concurrency\": %d, \"tokens_per_second\": %.2f, \"ttft_p50_ms\": %.1f, "
                        + "\"first_chunk_p50_ms\": %.1f, \"requests\": %d, \"tokens\": %d, \"seconds\": %.1f}",
                system, n, produced.get() / seconds, median(first) / 1e6, median(firstChunk) / 1e6, n, produced.get(), seconds);
    }

    private static double median(AtomicLongArray values) {
        long[] v = new long[values.length()];
        int k = 0;
        for (int i = 0; i < v.length; i++) {
            if (values.get(i) > 0) {
                v[k++] = values.get(i);
            }
        }
        if (k == 0) {
            return Double.NaN;
        }
        long[] seen = Arrays.copyOf(v, k);
        Arrays.sort(seen);
        return seen[k / 2];
    }

    private static String option(String[] args, String name, String fallback) {
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equals(name)) {
                return args[i + 1];
            }
        }
        return fallback;
    }
}
