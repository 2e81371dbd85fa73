package io.cosyvoice.engine;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.cosyvoice.synthesis.SynthesisMode;
import java.nio.FloatBuffer;
import java.util.function.BooleanSupplier;
import java.util.function.IntConsumer;

/**
 * The LLM half of CosyVoice2: speech tokens from text tokens (models/README.md, "LLM input per mode"
 * and "Sampling (RAS), exactly"; {@code generate_tokens} in models/reference/pipeline.py). A request
 * prefills {@code [sos] + text(prompt_text + text) + [task_id] + speech_embedding(prompt_tokens)} in
 * one step, then decodes one token per step on its own {@link LlmSequence}, handing each token to the
 * caller as soon as it is drawn.
 *
 * <p>Thread-safe: the session and the memory-mapped tables are shared and read-only, everything a
 * request changes is its own. {@link #generate} runs on the calling thread, which it occupies for
 * the whole generation; callers run it on engine worker threads, never on an event loop.
 */
final class SpeechTokenGenerator {

    /** Why a generation ended. */
    enum Stop {
        /** The model drew a stop token (not emitted). */
        STOP_TOKEN,
        /** {@code max_len} tokens were emitted. */
        MAX_LEN,
        /** {@code cancelled} answered true between two steps. */
        CANCELLED
    }

    /** {@code min_len} and {@code max_len} of a request's generated tokens. */
    record Limits(int minLen, int maxLen) {}

    /**
     * @param tokens        the generated speech tokens, stop token excluded
     * @param prefixLength  positions of the prefill
     * @param prefillNanos  time of the prefill step
     * @param decodeSteps   single-token steps after the prefill
     * @param decodeNanos   their total time (graph calls and sampling)
     */
    record Result(int[] tokens, Stop stop, int prefixLength, long prefillNanos, int decodeSteps, long decodeNanos) {}

    private final LlmGraph graph;
    private final OrtEnvironment env;
    private final OrtSession session;
    private final ModelConfig.Llm llm;
    private final boolean scalarTotal;

    SpeechTokenGenerator(ModelDirectory model, OnnxGraphs graphs) throws ModelException {
        this.graph = LlmGraph.open(model, graphs);
        this.env = graph.environment();
        this.session = graph.session();
        this.llm = graph.config();
        this.scalarTotal = graph.scalarTotalLength();
    }

    /** The graph and tables this generator steps, for other step loops (the continuous batcher). */
    LlmGraph graph() {
        return graph;
    }

    /**
     * The text the LLM reads before the text to speak: the reference's transcript (zero-shot), the
     * instruction ending in {@code endOfPrompt} (instruct; appended when missing), nothing
     * (cross-lingual).
     */
    static String llmPromptText(SynthesisMode mode, String promptText, String instructText, String endOfPrompt) {
        return switch (mode) {
            case ZERO_SHOT -> promptText;
            case CROSS_LINGUAL -> "";
            case INSTRUCT -> {
                if (instructText.isBlank()) {
                    throw new IllegalArgumentException("instruct mode needs an instruct text");
                }
                yield instructText.endsWith(endOfPrompt) ? instructText : instructText + endOfPrompt;
            }
        };
    }

    /** {@code min_len} and {@code max_len} of a request (see {@link LlmGraph#limits}). */
    Limits limits(int textLength, int promptMelFrames) {
        return graph.limits(textLength, promptMelFrames);
    }

    /**
     * Generates the speech tokens of one request.
     *
     * @param mode               decides what of the prompt the LLM reads: zero-shot reads the prompt text
     *                           and speech tokens, instruct reads the prompt text (the instruction, see
     *                           {@link #llmPromptText}) only, cross-lingual reads neither
     * @param textTokens         the text to speak (at least one token)
     * @param promptTextTokens   the prompt text or instruction, as {@link #llmPromptText} chose it
     * @param promptSpeechTokens the reference's speech tokens (aligned to its mel)
     * @param promptMelFrames    the reference's mel frames, which the flow noise must also hold
     * @param seed               the request's sampling seed
     * @param onToken            receives each token as soon as it is drawn, on this thread
     * @param cancelled          asked before every step; true ends the generation with what it has
     */
    Result generate(SynthesisMode mode, long[] textTokens, long[] promptTextTokens, long[] promptSpeechTokens,
            int promptMelFrames, long seed, IntConsumer onToken, BooleanSupplier cancelled) throws OrtException {
        return generate(mode, textTokens, promptTextTokens, promptSpeechTokens, promptMelFrames, seed, onToken, cancelled,
                Engine.LlmSteps.NONE);
    }

    /** {@link #generate}, telling {@code steps} about every LLM step as it ends. */
    Result generate(SynthesisMode mode, long[] textTokens, long[] promptTextTokens, long[] promptSpeechTokens,
            int promptMelFrames, long seed, IntConsumer onToken, BooleanSupplier cancelled, Engine.LlmSteps steps)
            throws OrtException {
        LlmRequest request = graph.request(mode, textTokens, promptTextTokens, promptSpeechTokens, promptMelFrames, seed);
        int prefixLength = request.prefixLength();
        Stop stop = Stop.MAX_LEN;
        long prefillNanos = 0;
        long decodeNanos = 0;
        int decodeSteps = 0;
        if (request.maxLength() > 0) {
            float[] logits = new float[llm.speechVocab()];
            float[] embed = new float[llm.hiddenSize()];
            FloatBuffer embedBuffer = FloatBuffer.wrap(embed);
            try (LlmSequence sequence = new LlmSequence(env, session, llm, request.capacityNeeded(), scalarTotal)) {
                boolean prefilled = false;
                while (true) {
                    if (cancelled.getAsBoolean()) {
                        stop = Stop.CANCELLED;
                        break;
                    }
                    long t0 = System.nanoTime();
                    if (!prefilled) {
                        sequence.append(request.prefix(), prefixLength, logits);
                    } else {
                        request.lastTokenEmbedding(embedBuffer, 0);
                        sequence.append(embed, 1, logits);
                    }
                    int token = request.next(logits, 0);
                    long elapsed = System.nanoTime() - t0;
                    steps.step(prefilled ? 0 : prefixLength, elapsed);
                    if (!prefilled) {
                        prefillNanos = elapsed;
                        prefilled = true;
                    } else {
                        decodeNanos += elapsed;
                        decodeSteps++;
                    }
                    if (token == LlmRequest.STOP) {
                        stop = Stop.STOP_TOKEN;
                        break;
                    }
                    onToken.accept(token);
                    if (request.finished()) {
                        break;
                    }
                }
            }
        }
        return new Result(request.tokens(), stop, prefixLength, prefillNanos, decodeSteps, decodeNanos);
    }
}
