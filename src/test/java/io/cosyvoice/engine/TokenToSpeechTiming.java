package io.cosyvoice.engine;

import java.nio.file.Path;

/**
 * Manual timing of the flow and HiFT (not a test: it reads a model directory given on the command
 * line, e.g. the generated full-size twin). Run from the project root:
 * <pre>
 * CLASSPATH=target/classes:target/test-classes:$(cat cp.txt) java io.cosyvoice.engine.TokenToSpeechTiming \
 *     models/random/full [intra-op threads]
 * </pre>
 * It feeds the golden prompt and the long golden case's 91 tokens, streaming and not, each twice
 * (the first run of a shape includes ONNX Runtime's allocations). The command line must stay under
 * 4 KB (ONNX Runtime 1.29 crashes on a longer one): pass a long class path in {@code CLASSPATH}.
 */
final class TokenToSpeechTiming {

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args.length > 0 ? args[0] : "models/random/tiny");
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 0;
        long t0 = System.nanoTime();
        ModelDirectory model = ModelDirectory.open(dir, false);
        try (OnnxGraphs graphs = OnnxGraphs.open(model, new EngineOptions(threads, "cpu", 0, 0, false))) {
            TokenToSpeech t2s = TokenToSpeech.open(model, graphs);
            System.out.printf("%s opened in %.1f s, %d intra-op threads%n", model.describe(), (System.nanoTime() - t0) / 1e9, threads);
            FlowPrompt prompt = FlowGoldens.prompt();
            int[] tokens = FlowGoldens.load("zero_shot_long_stream").speechTokens();
            SplitMix64 rng = SplitMix64.vocoder(0);
            FlowMatching flow = t2s.flow();
            flow.generate(prompt, tokens, 25, 0, true, 25); // warm-up
            for (int upto : new int[] {25, 25, 75, 75, 91, 91}) {
                long a = System.nanoTime();
                Mel mel = flow.generate(prompt, tokens, upto, 0, upto < 91, upto < 91 ? 25 : 0);
                long b = System.nanoTime();
                t2s.hift().run(mel, new float[0], rng);
                long c = System.nanoTime();
                System.out.printf("flow: %d prompt + %d tokens (%d frames in, %d out): %.0f ms; hift %d frames: %.0f ms%n",
                        prompt.tokenCount(), upto, 2 * (prompt.tokenCount() + upto), mel.frames(), (b - a) / 1e6, mel.frames(),
                        (c - b) / 1e6);
            }
            for (boolean stream : new boolean[] {true, false, true, false}) {
                java.util.List<Long> at = new java.util.ArrayList<>();
                long start = System.nanoTime();
                SpeechStream s = t2s.open(prompt, 3, stream, 1.0, chunk -> at.add(System.nanoTime()));
                for (int token : tokens) {
                    s.offer(token);
                }
                s.finish();
                double total = (System.nanoTime() - start) / 1e9;
                System.out.printf("%s: %d tokens -> %.2f s of audio in %.2f s (flow %.2f s, hift %.2f s, %d chunks, RTF %.2f), "
                        + "chunks ready at %s ms%n", stream ? "streaming" : "non-streaming", tokens.length, s.secondsEmitted(), total,
                        s.flowNanos() / 1e9, s.hiftNanos() / 1e9, s.chunksEmitted(), total / s.secondsEmitted(),
                        at.stream().map(t -> (t - start) / 1_000_000).toList());
            }
        }
    }
}
