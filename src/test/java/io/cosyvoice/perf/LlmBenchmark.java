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

/**
 * The server's side of the issue-6 benchmark (perf/README.md): the continuous batcher on a model
 * directory, with batching on (32 slots) and off (1 slot), at 1, 4, 16 and 32 concurrent clients.
 * Each client sends its next request as soon as the previous one is done, the first ones spread
 * over a second, so requests arrive at different times and N are always in flight; the figures
 * count a window of {@code --max-seconds} after every client has been served once. Every request
 * has the same shape as the Python references': a {@code --prefix}-position prefix, then exactly
 * {@code --tokens} speech tokens (end-of-speech is masked for that long, then the request is cut).
 * One JSON line per configuration on stdout, in the references' format, so perf/report.py can put
 * them in one table. Not a test: perf/run.sh runs it.
 */
public final class LlmBenchmark {

    /** Tokens a request needs before its first audio chunk can start: the first hop (25) plus 3 of look-ahead. */
    static final int FIRST_CHUNK_TOKENS = 28;
    /** The window starts when every client has been served once, or after this long. */
    static final long WARM_UP_SECONDS = 30;

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(option(args, "--model-dir", "models/random/full"));
        int prefix = Integer.parseInt(option(args, "--prefix", "150"));
        int tokens = Integer.parseInt(option(args, "--tokens", "60"));
        int threads = Integer.parseInt(option(args, "--threads", "2"));
        double maxSeconds = Double.parseDouble(option(args, "--max-seconds", "60"));
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
            String systems = option(args, "--batching", "both"); // on, off or both
            for (int n : levels) {
                if (!systems.equals("off")) {
                    System.out.println(run(graph, base.withMaxBatchSize(maxLevel), n, prefix, tokens, maxSeconds, "cosyvoice-batching"));
                }
                if (!systems.equals("on")) {
                    System.out.println(run(graph, base.withMaxBatchSize(1), n, prefix, tokens, maxSeconds, "cosyvoice-no-batching"));
                }
            }
        }
    }

    /**
     * N clients in a closed loop: client i sends its first request at i/N of a second, and each sends
     * its next request as soon as the previous one has its {@code tokens}, so requests keep arriving
     * at different times and N are in flight. The first requests of every client are a warm-up; the
     * figures count the window that follows (at most {@code maxSeconds}).
     */
    private static String run(LlmGraph graph, BatcherOptions options, int n, int prefix, int tokens, double maxSeconds,
                              String system) throws Exception {
        // cross-lingual: the prefix is [sos, text, task_id]; eos stays masked for 2 × text tokens > tokens
        int textTokens = prefix - 2;
        List<Long> ttft = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Long> firstChunks = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Long> decodeSteps = java.util.Collections.synchronizedList(new ArrayList<>());
        AtomicLong produced = new AtomicLong();
        AtomicLong finished = new AtomicLong();
        AtomicLong copied = new AtomicLong();
        AtomicLong steps = new AtomicLong();
        // the measured window (nanoTime): set once the warm-up is over
        AtomicLong from = new AtomicLong(Long.MAX_VALUE);
        AtomicLong to = new AtomicLong(Long.MAX_VALUE);
        java.util.concurrent.atomic.AtomicInteger warmClients = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.ScheduledExecutorService clients = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
        BatcherListener listener = new BatcherListener() {
            @Override
            public void onStep(Step step) {
                long now = System.nanoTime();
                if (now >= from.get() && now < to.get()) {
                    steps.incrementAndGet();
                    copied.addAndGet(step.bytesCopied());
                    // the decode rate at full batch: steps that only decode, every slot busy
                    if (step.prefillTokens() == 0 && step.batchSize() == Math.min(n, options.maxBatchSize())) {
                        decodeSteps.add(step.nanos());
                    }
                }
            }
        };
        CountDownLatch over = new CountDownLatch(1);
        try (ContinuousBatcher batcher = ContinuousBatcher.start(graph, options, listener)) {
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
            Runnable startWindow = () -> {
                long now = System.nanoTime();
                if (from.compareAndSet(Long.MAX_VALUE, now)) {
                    to.set(now + (long) (maxSeconds * 1e9));
                    clients.schedule(over::countDown, (long) (maxSeconds * 1000), TimeUnit.MILLISECONDS);
                }
            };
            // or at the latest after WARM_UP_SECONDS (one slot at 32 clients takes minutes to serve each once)
            clients.schedule(startWindow, WARM_UP_SECONDS, TimeUnit.SECONDS);
            AtomicLong requestSeed = new AtomicLong();
            class Client {
                final int id;
                boolean warm;

                Client(int id) {
                    this.id = id;
                }

                void send() {
                    if (System.nanoTime() >= to.get() || over.getCount() == 0) {
                        return;
                    }
                    long seed = requestSeed.incrementAndGet();
                    long[] text = new long[textTokens];
                    for (int t = 0; t < textTokens; t++) {
                        text[t] = 100 + (31L * t + 7L * seed) % 1000;
                    }
                    LlmRequest request = graph.request(SynthesisMode.CROSS_LINGUAL, text, new long[0], new long[0], 0, seed);
                    long submitted = System.nanoTime();
                    boolean measured = submitted >= from.get();
                    int[] count = {0};
                    BatchedGeneration[] self = new BatchedGeneration[1];
                    self[0] = batcher.submit(request, token -> {
                        long now = System.nanoTime();
                        count[0]++;
                        if (now >= from.get() && now < to.get()) {
                            produced.incrementAndGet();
                        }
                        if (measured && count[0] == 1) {
                            ttft.add(now - submitted);
                        }
                        if (measured && count[0] == FIRST_CHUNK_TOKENS) {
                            firstChunks.add(now - submitted);
                        }
                        if (count[0] == tokens && self[0] != null) {
                            self[0].cancel();
                        }
                    });
                    self[0].completion().whenComplete((g, e) -> clients.execute(() -> {
                        if (measured && count[0] >= tokens) {
                            finished.incrementAndGet();
                        }
                        if (!warm) {
                            warm = true;
                            if (warmClients.incrementAndGet() == n) {
                                startWindow.run(); // steady state: every client has been served once
                            }
                        }
                        send();
                    }));
                }
            }
            for (int i = 0; i < n; i++) {
                Client client = new Client(i);
                clients.schedule(client::send, n == 1 ? 0 : 1000L * i / n, TimeUnit.MILLISECONDS);
            }
            if (!over.await(WARM_UP_SECONDS + (long) maxSeconds + 60, TimeUnit.SECONDS)) {
                throw new IllegalStateException(system + " at " + n + ": the window did not end");
            }
        } finally {
            clients.shutdownNow();
        }
        double seconds = (to.get() - from.get()) / 1e9;
        double decodeStep = median(decodeSteps);
        return String.format(Locale.ROOT,
                "{\"system\": \"%s\", \"concurrency\": %d, \"tokens_per_second\": %.2f, \"decode_tokens_per_second\": %.2f, "
                        + "\"decode_step_ms_p50\": %.1f, \"ttft_p50_ms\": %.1f, \"first_chunk_p50_ms\": %.1f, "
                        + "\"first_chunk_p90_ms\": %.1f, \"requests\": %d, \"tokens\": %d, \"seconds\": %.1f, "
                        + "\"bytes_copied_per_step\": %d}",
                system, n, produced.get() / seconds, Math.min(n, options.maxBatchSize()) / (decodeStep / 1e9), decodeStep / 1e6,
                percentile(ttft, 0.5) / 1e6, percentile(firstChunks, 0.5) / 1e6, percentile(firstChunks, 0.9) / 1e6,
                finished.get(), produced.get(), seconds, steps.get() == 0 ? 0 : copied.get() / steps.get());
    }

    private static double median(List<Long> values) {
        return percentile(values, 0.5);
    }

    /** Nearest rank; NaN when nothing was measured. */
    private static double percentile(List<Long> values, double p) {
        long[] v;
        synchronized (values) {
            v = values.stream().mapToLong(Long::longValue).sorted().toArray();
        }
        return v.length == 0 ? Double.NaN : v[Math.max(0, (int) Math.ceil(p * v.length) - 1)];
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
