package io.cosyvoice.engine;

import ai.onnxruntime.OrtException;
import io.cosyvoice.synthesis.SynthesisMessages.EngineInfo;
import io.cosyvoice.synthesis.SynthesisMode;
import io.cosyvoice.text.TextNormalizer;
import io.cosyvoice.voice.PromptFeatures;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * CosyVoice2 on ONNX Runtime in this JVM: one model directory, its graphs' sessions (shared and
 * thread-safe), and per-call state only, so any number of threads may synthesise at once.
 *
 * <p>{@link #speak} runs one sentence: text tokens, LLM speech tokens streamed straight into the
 * flow + HiFT stream, which emits 24 kHz audio chunk by chunk on the calling thread.
 */
public final class Engine implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Engine.class);

    private final ModelDirectory model;
    private final OnnxGraphs graphs;
    private final TextTokenizer tokenizer;
    private final SpeechTokenGenerator llm;
    private final TokenToSpeech vocoder;
    private final PromptAnalyzer prompts;
    private final EngineInfo info;
    /** Null: each sentence decodes its tokens on the speaking thread. */
    private final TokenSource tokens;
    private static final int END = Integer.MIN_VALUE;

    /**
     * One sentence to speak.
     *
     * @param text       normalised text of one sentence
     * @param promptText the reference's transcript (zero-shot)
     * @param instruct   the instruction (instruct mode); {@code <|endofprompt|>} is added when missing
     * @param prompt     the voice, from {@link #promptFeatures} of this model version
     * @param seed       the sentence's seed: sampling and vocoder noise follow from it
     * @param speed      speaking rate, applied in the mel domain
     * @param streaming  chunks as soon as the hop schedule allows, or one chunk at the end
     */
    public record Utterance(String text, SynthesisMode mode, String promptText, String instruct, PromptFeatures prompt,
                            long seed, double speed, boolean streaming) {
    }

    /** Hears of every LLM step of a {@link #speak} call, on its thread, as the step ends. */
    @FunctionalInterface
    public interface LlmSteps {
        LlmSteps NONE = (prefillTokens, nanos) -> { };

        /**
         * @param prefillTokens prompt positions the step read (the first step of a sentence), else 0
         * @param nanos         the step's duration: graph call and sampling
         */
        void step(int prefillTokens, long nanos);
    }

    private Engine(ModelDirectory model, OnnxGraphs graphs, TextTokenizer tokenizer, SpeechTokenGenerator llm,
                   TokenToSpeech vocoder, java.util.function.Function<LlmGraph, TokenSource> tokenSources)
            throws ModelException {
        this.tokens = tokenSources == null ? null : tokenSources.apply(llm.graph());
        this.model = model;
        this.graphs = graphs;
        this.tokenizer = tokenizer;
        this.llm = llm;
        this.vocoder = vocoder;
        this.prompts = new PromptAnalyzer(graphs, model.config());
        ModelConfig.Model m = model.config().model();
        this.info = new EngineInfo(m.version(), model.describe(), m.randomWeights());
    }

    /** Loads and checks a model directory and opens its sessions; says loudly when the weights are random. */
    public static Engine open(Path dir, EngineOptions options) throws ModelException {
        return open(dir, options, null);
    }

    /**
     * {@link #open(Path, EngineOptions)} with speech tokens from a shared source (the continuous
     * batcher) built over the model's LLM graph; {@code null}: each sentence decodes on its own thread.
     */
    public static Engine open(Path dir, EngineOptions options,
                              java.util.function.Function<LlmGraph, TokenSource> tokenSources) throws ModelException {
        return open(dir, options, tokenSources, VocoderBatching.OFF);
    }

    /**
     * As above, with the flow estimator and HiFT calls of concurrent sentences batched on threads of
     * their own as {@code vocoderBatching} says.
     */
    public static Engine open(Path dir, EngineOptions options,
                              java.util.function.Function<LlmGraph, TokenSource> tokenSources,
                              VocoderBatching vocoderBatching) throws ModelException {
        long started = System.nanoTime();
        ModelDirectory model = ModelDirectory.open(dir, options.verifyHashes());
        OnnxGraphs graphs = OnnxGraphs.open(model, options);
        TextTokenizer tokenizer = null;
        TokenToSpeech vocoder = null;
        try {
            tokenizer = TextTokenizer.open(model);
            vocoder = TokenToSpeech.open(model, graphs, TensorScope.NO_OBSERVER, vocoderBatching);
            Engine engine = new Engine(model, graphs, tokenizer, new SpeechTokenGenerator(model, graphs),
                    vocoder, tokenSources);
            log.atInfo().addKeyValue("model", model.describe()).addKeyValue("dir", model.path())
                    .addKeyValue("device", options.device())
                    .addKeyValue("ms", (System.nanoTime() - started) / 1_000_000).log("model loaded");
            if (model.config().model().randomWeights()) {
                log.warn("""

                        ************************************************************************
                        *  RANDOM WEIGHTS: {} is a random-weight twin of CosyVoice2.
                        *  It has the real model's files and shapes but its audio is NOISE, not
                        *  speech. Export the real model (models/README.md) and set
                        *  COSYVOICE_MODEL_DIR to synthesise speech.
                        ************************************************************************""",
                        model.describe());
            }
            return engine;
        } catch (ModelException | RuntimeException e) {
            if (vocoder != null) {
                vocoder.close();
            }
            if (tokenizer != null) {
                tokenizer.close();
            }
            graphs.close();
            throw e;
        }
    }

    public EngineInfo info() {
        return info;
    }

    /** The LLM's graph and tables, for a step loop outside the engine (the continuous batcher). */
    public LlmGraph llmGraph() {
        return llm.graph();
    }

    /** Flow and HiFT over the shared sessions (tests reach the vocoder batchers through it). */
    TokenToSpeech vocoder() {
        return vocoder;
    }

    /** "random-tiny e4126f10c218d4f9": the model's variant and version. */
    public String describe() {
        return model.describe();
    }

    /**
     * A voice's prompt features from mono audio in [-1, 1].
     *
     * @throws IllegalArgumentException when the model cannot use the audio, naming why
     */
    public PromptFeatures promptFeatures(float[] mono, int sampleRate) {
        return prompts.analyze(mono, sampleRate);
    }

    /**
     * Speaks one sentence, calling {@code chunks} with 24 kHz audio on this thread as it is made.
     * Stops between model steps once {@code cancelled} says so. A chunk consumer may throw to
     * abandon the sentence; every native resource is released either way.
     */
    public void speak(Utterance utterance, Consumer<float[]> chunks, BooleanSupplier cancelled) {
        speak(utterance, chunks, cancelled, LlmSteps.NONE);
    }

    /** {@link #speak(Utterance, Consumer, BooleanSupplier)}, telling {@code steps} about every LLM step. */
    public void speak(Utterance utterance, Consumer<float[]> chunks, BooleanSupplier cancelled, LlmSteps steps) {
        PromptFeatures voice = utterance.prompt();
        if (!voice.modelVersion().equals(info.modelVersion())) {
            throw new IllegalArgumentException("prompt features of model " + voice.modelVersion() + ", this is "
                    + info.modelVersion());
        }
        long[] text = tokenizer.encode(utterance.text());
        String llmPrompt = SpeechTokenGenerator.llmPromptText(utterance.mode(), TextNormalizer.normalize(utterance.promptText()),
                utterance.instruct(), model.config().text().endofprompt());
        long[] promptText = llmPrompt.isEmpty() ? new long[0] : tokenizer.encode(llmPrompt);
        long[] promptTokens = Arrays.stream(voice.speechTokens()).asLongStream().toArray();
        FlowPrompt flowPrompt = new FlowPrompt(promptTokens, voice.speakerEmbedding(), voice.promptMel());
        SpeechStream stream = new SpeechStream(vocoder, flowPrompt, utterance.seed(), utterance.streaming(),
                utterance.speed(), chunks, mel -> { }, cancelled);
        try {
            speak(utterance, stream, text, promptText, promptTokens, voice, cancelled, steps);
        } catch (java.util.concurrent.CancellationException e) {
            if (!cancelled.getAsBoolean()) {
                throw e;
            }
            // cancelled while waiting for a batched flow or HiFT call: the sentence just stops
        }
    }

    private void speak(Utterance utterance, SpeechStream stream, long[] text, long[] promptText, long[] promptTokens,
                       PromptFeatures voice, BooleanSupplier cancelled, LlmSteps steps) {
        if (tokens != null) {
            speakFromSource(llm.graph().request(utterance.mode(), text, promptText, promptTokens, voice.promptMelFrames(),
                    utterance.seed()), stream, cancelled);
            return;
        }
        try {
            llm.generate(utterance.mode(), text, promptText, promptTokens, voice.promptMelFrames(), utterance.seed(),
                    token -> offer(stream, token), cancelled, steps);
            if (!cancelled.getAsBoolean()) {
                stream.finish();
            }
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed: " + e.getMessage(), e);
        }
    }

    /**
     * Tokens come from the shared source on its thread; this thread only turns them into audio, so
     * the LLM loop never waits for flow or HiFT.
     */
    private void speakFromSource(LlmRequest request, SpeechStream stream, BooleanSupplier cancelled) {
        java.util.concurrent.LinkedBlockingQueue<Integer> queue = new java.util.concurrent.LinkedBlockingQueue<>();
        TokenSource.Running running = tokens.start(request, queue::add);
        running.completion().whenComplete((result, error) -> queue.add(END));
        boolean ended = false;
        try {
            while (true) {
                if (cancelled.getAsBoolean()) {
                    return;
                }
                Integer token;
                try {
                    token = queue.poll(50, java.util.concurrent.TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    continue; // woken to look at cancellation
                }
                if (token == null) {
                    continue;
                }
                if (token == END) {
                    ended = true;
                    break;
                }
                offer(stream, token);
            }
            try {
                running.completion().join();
            } catch (java.util.concurrent.CompletionException e) {
                Throwable cause = e.getCause() == null ? e : e.getCause();
                throw new IllegalStateException("speech token generation failed: " + cause.getMessage(), cause);
            }
            try {
                stream.finish();
            } catch (OrtException e) {
                throw new IllegalStateException("ONNX Runtime failed: " + e.getMessage(), e);
            }
        } finally {
            if (!ended) {
                running.cancel();
            }
        }
    }

    private static void offer(SpeechStream stream, int token) {
        try {
            stream.offer(token);
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        if (tokens != null) {
            tokens.close();
        }
        vocoder.close(); // before the sessions: a batch in progress finishes, waiting calls fail
        tokenizer.close();
        graphs.close();
    }
}
