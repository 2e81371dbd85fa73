package io.cosyvoice.engine;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Manual measurement (not a test): N concurrent token-to-audio conversions with the flow estimator
 * and HiFT batched across requests (vocoder batching on) and each request on its own thread (off),
 * over any model directory, e.g. the full-size twin. Run from the project root:
 * <pre>
 * mvn -q dependency:build-classpath -Dmdep.outputFile=cp.txt
 * CLASSPATH=target/classes:target/test-classes:$(cat cp.txt) java io.cosyvoice.engine.VocoderBatchingBenchmark \
 *     models/random/full [concurrency list, e.g. 1,2,4] [intra-op threads, 0: one per core] [max batch] [rounds] \
 *     [off-first | on-first] [warmup | no-warmup]
 * </pre>
 * Every request uses the golden prompt (75 tokens) and its own random speech tokens, streaming, with
 * lengths spread from 60 to 100 tokens (request {@code i} of N: {@code 60 + 40·i/(N-1)}), all fed at
 * once (the LLM is not part of this: it runs on its own thread in the server). The requests start
 * together; each mode runs once to warm up (unless {@code no-warmup}), then {@code rounds} times,
 * alternating, off first unless {@code on-first}. It prints the
 * audio throughput (audio seconds per wall second), each request's first-chunk and total latency, the
 * batches the batchers ran, and how far the batched audio is from the solo audio (mel and samples).
 * With {@code calls} as the concurrency list it times the graph calls alone instead, on one thread:
 * four requests' estimator steps (200 frames) as four calls of batch 2 vs one call of batch 8, and
 * four HiFT calls (50 frames) vs one batch of four, alternating, five times each.
 * The command line must stay under 4 KB (ONNX Runtime 1.29): pass the class path in {@code CLASSPATH}.
 */
final class VocoderBatchingBenchmark {

    record Outcome(double wallSeconds, double audioSeconds, double[] firstChunk, double[] total, List<List<float[]>> audio,
                   List<List<Mel>> mels) {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args.length > 0 ? args[0] : "models/random/tiny");
        boolean callsOnly = args.length > 1 && args[1].equals("calls");
        int[] concurrency = callsOnly ? new int[0]
                : Arrays.stream((args.length > 1 ? args[1] : "1,2,4").split(",")).mapToInt(Integer::parseInt).toArray();
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : 0;
        int maxBatch = args.length > 3 ? Integer.parseInt(args[3]) : 8;
        int rounds = args.length > 4 ? Integer.parseInt(args[4]) : 1;
        boolean onFirst = args.length > 5 && args[5].equals("on-first");
        boolean warmup = !(args.length > 6 && args[6].equals("no-warmup"));
        long t0 = System.nanoTime();
        ModelDirectory model = ModelDirectory.open(dir, false);
        try (OnnxGraphs graphs = OnnxGraphs.open(model, new EngineOptions(threads, "cpu", 0, 0, false));
             TokenToSpeech solo = TokenToSpeech.open(model, graphs);
             TokenToSpeech batched = TokenToSpeech.open(model, graphs, TensorScope.NO_OBSERVER, new VocoderBatching(true, maxBatch))) {
            System.out.printf("%s opened in %.1f s; %d intra-op threads (0: one per core), %d cores, vocoder max batch %d%n",
                    model.describe(), (System.nanoTime() - t0) / 1e9, threads, Runtime.getRuntime().availableProcessors(), maxBatch);
            FlowPrompt prompt = FlowGoldens.prompt();
            if (callsOnly) {
                timeCalls(batched);
                return;
            }
            for (int n : concurrency) {
                List<int[]> requests = new ArrayList<>();
                Random random = new Random(n);
                for (int i = 0; i < n; i++) {
                    int length = n == 1 ? 80 : 60 + 40 * i / (n - 1);
                    requests.add(random.ints(length, 0, 6561).toArray());
                }
                if (warmup) {
                    run(solo, prompt, requests); // ONNX Runtime's first run of each shape allocates
                    run(batched, prompt, requests);
                }
                for (int round = 0; round < rounds; round++) {
                    ShapeBatcher.Stats flowBefore = batched.flow().batcher().stats();
                    ShapeBatcher.Stats hiftBefore = batched.hift().batcher().stats();
                    Outcome on = onFirst ? run(batched, prompt, requests) : null;
                    Outcome off = run(solo, prompt, requests);
                    if (!onFirst) {
                        on = run(batched, prompt, requests);
                    }
                    ShapeBatcher.Stats flow = batched.flow().batcher().stats();
                    ShapeBatcher.Stats hift = batched.hift().batcher().stats();
                    double melDiff = 0;
                    double audioDiff = 0;
                    for (int i = 0; i < n; i++) {
                        for (int c = 0; c < off.mels().get(i).size(); c++) {
                            melDiff = Math.max(melDiff, maxAbs(off.mels().get(i).get(c).data(), on.mels().get(i).get(c).data()));
                        }
                        for (int c = 0; c < off.audio().get(i).size(); c++) {
                            audioDiff = Math.max(audioDiff, maxAbs(off.audio().get(i).get(c), on.audio().get(i).get(c)));
                        }
                    }
                    print(n, "off", off, "");
                    print(n, "on", on, String.format("; flow: %d calls in %d batches (largest %d), hift: %d calls in %d batches "
                                    + "(largest %d); vs off: mel max abs diff %.2g, audio %.2g", flow.calls() - flowBefore.calls(),
                            flow.batches() - flowBefore.batches(), flow.largestBatch(), hift.calls() - hiftBefore.calls(),
                            hift.batches() - hiftBefore.batches(), hift.largestBatch(), melDiff, audioDiff));
                }
            }
        }
    }

    private static void timeCalls(TokenToSpeech t2s) throws Exception {
        Random random = new Random(7);
        int frames = 200;
        int melFrames = 50;
        List<FlowMatching.EstimatorStep> steps = new ArrayList<>();
        List<HiftVocoder.Call> calls = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            steps.add(new FlowMatching.EstimatorStep(frames, gaussian(random, 80 * frames), 0.3f, gaussian(random, 80 * frames),
                    gaussian(random, 80), gaussian(random, 80 * frames)));
            float[] mel = gaussian(random, 80 * melFrames);
            for (int k = 0; k < mel.length; k++) {
                mel[k] = mel[k] * 2 - 5;
            }
            java.nio.FloatBuffer noise = java.nio.ByteBuffer.allocateDirect(480 * melFrames * 9 * 4)
                    .order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
            noise.put(gaussian(random, 480 * melFrames * 9)).flip();
            calls.add(new HiftVocoder.Call(new Mel(80, melFrames, mel), new float[0], new float[9], noise));
        }
        ShapeBatcher.Batch<FlowMatching.EstimatorStep, float[]> estimate = list -> {
            var m = FlowMatching.class.getDeclaredMethod("estimate", List.class);
            m.setAccessible(true);
            @SuppressWarnings("unchecked") List<float[]> r = (List<float[]>) m.invoke(t2s.flow(), list);
            return r;
        };
        ShapeBatcher.Batch<HiftVocoder.Call, HiftVocoder.Output> vocode = list -> {
            var m = HiftVocoder.class.getDeclaredMethod("vocode", List.class);
            m.setAccessible(true);
            @SuppressWarnings("unchecked") List<HiftVocoder.Output> r = (List<HiftVocoder.Output>) m.invoke(t2s.hift(), list);
            return r;
        };
        estimate.run(steps); // warm-up of both shapes
        estimate.run(steps.subList(0, 1));
        vocode.run(calls);
        vocode.run(calls.subList(0, 1));
        for (int rep = 0; rep < 5; rep++) {
            long a = System.nanoTime();
            for (int i = 0; i < 4; i++) {
                estimate.run(steps.subList(i, i + 1));
            }
            long b = System.nanoTime();
            estimate.run(steps);
            long c = System.nanoTime();
            for (int i = 0; i < 4; i++) {
                vocode.run(calls.subList(i, i + 1));
            }
            long d = System.nanoTime();
            vocode.run(calls);
            long e = System.nanoTime();
            System.out.printf("estimator %d frames: 4 calls of batch 2 %.0f ms, 1 call of batch 8 %.0f ms (%.2f×); "
                    + "hift %d frames: 4 calls %.0f ms, 1 batch of 4 %.0f ms (%.2f×)%n", frames, (b - a) / 1e6, (c - b) / 1e6,
                    (double) (b - a) / (c - b), melFrames, (d - c) / 1e6, (e - d) / 1e6, (double) (d - c) / (e - d));
        }
    }

    private static float[] gaussian(Random random, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) random.nextGaussian();
        }
        return a;
    }

    private static void print(int n, String mode, Outcome o, String extra) {
        System.out.printf("N=%d batching %-3s: %.1f s of audio in %.1f s = %.2f audio s/s; first chunk mean %.1f s, max %.1f s; "
                        + "request done mean %.1f s, max %.1f s%s%n", n, mode, o.audioSeconds(), o.wallSeconds(),
                o.audioSeconds() / o.wallSeconds(), mean(o.firstChunk()), max(o.firstChunk()), mean(o.total()), max(o.total()), extra);
    }

    private static Outcome run(TokenToSpeech t2s, FlowPrompt prompt, List<int[]> requests) throws Exception {
        int n = requests.size();
        CyclicBarrier start = new CyclicBarrier(n);
        double[] first = new double[n];
        double[] total = new double[n];
        List<List<float[]>> audio = new ArrayList<>();
        List<List<Mel>> mels = new ArrayList<>();
        long began = System.nanoTime();
        try (ExecutorService pool = Executors.newFixedThreadPool(n)) {
            List<Future<?>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int index = i;
                List<float[]> chunks = new ArrayList<>();
                List<Mel> mel = new ArrayList<>();
                audio.add(chunks);
                mels.add(mel);
                futures.add(pool.submit(() -> {
                    start.await();
                    long t = System.nanoTime();
                    SpeechStream s = t2s.open(prompt, index, true, 1.0, chunk -> {
                        if (chunks.isEmpty()) {
                            first[index] = (System.nanoTime() - t) / 1e9;
                        }
                        chunks.add(chunk);
                    }, mel::add);
                    for (int token : requests.get(index)) {
                        s.offer(token);
                    }
                    s.finish();
                    total[index] = (System.nanoTime() - t) / 1e9;
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        }
        double wall = (System.nanoTime() - began) / 1e9;
        double seconds = audio.stream().flatMap(List::stream).mapToInt(c -> c.length).sum() / 24000.0;
        return new Outcome(wall, seconds, first, total, audio, mels);
    }

    private static double maxAbs(float[] a, float[] b) {
        if (a.length != b.length) {
            return Double.POSITIVE_INFINITY;
        }
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs((double) a[i] - b[i]));
        }
        return m;
    }

    private static double mean(double[] v) {
        return Arrays.stream(v).average().orElse(0);
    }

    private static double max(double[] v) {
        return Arrays.stream(v).max().orElse(0);
    }
}
