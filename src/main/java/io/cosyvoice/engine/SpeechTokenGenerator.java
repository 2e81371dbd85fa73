package io.cosyvoice.engine;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.cosyvoice.synthesis.SynthesisMode;
import java.io.IOException;
import java.util.Arrays;
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

    private final OrtEnvironment env;
    private final OrtSession session;
    private final ModelConfig.Llm llm;
    private final RasSampler.Params sampling;
    private final double minRatio;
    private final double maxRatio;
    private final int noiseFrames;
    private final int tokenMelRatio;
    private final boolean scalarTotal;
    private final NpyFile textEmbedding;
    private final NpyFile speechEmbedding;
    private final NpyFile specialEmbedding;

    SpeechTokenGenerator(ModelDirectory model, OnnxGraphs graphs) throws ModelException {
        ModelConfig config = model.config();
        this.env = graphs.environment();
        this.session = graphs.session("llm.onnx");
        this.llm = config.llm();
        this.sampling = RasSampler.Params.of(config);
        this.minRatio = config.sampling().minTokenTextRatio();
        this.maxRatio = config.sampling().maxTokenTextRatio();
        this.noiseFrames = config.flow().noiseFrames();
        this.tokenMelRatio = config.audio().tokenMelRatio();
        try {
            TensorInfo total = (TensorInfo) session.getInputInfo().get("total_sequence_length").getInfo();
            this.scalarTotal = total.getShape().length == 0;
            this.textEmbedding = NpyFile.map(model.file("llm_text_embedding.npy"));
            this.speechEmbedding = NpyFile.map(model.file("llm_speech_embedding.npy"));
            this.specialEmbedding = NpyFile.map(model.file("llm_special_embedding.npy"));
        } catch (OrtException | IOException e) {
            throw new ModelException(model.path() + ": cannot prepare the LLM: " + e.getMessage(), e);
        }
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

    /**
     * {@code min_len = int(text_len · min_ratio)}, {@code max_len = int(text_len · max_ratio)} capped
     * so that the prompt's and the output's mel frames fit in the flow noise.
     */
    Limits limits(int textLength, int promptMelFrames) {
        int cap = (noiseFrames - promptMelFrames) / tokenMelRatio;
        if (cap <= 0) {
            throw new IllegalArgumentException("a prompt of " + promptMelFrames + " mel frames leaves no room in the "
                    + noiseFrames + " frames of flow noise");
        }
        return new Limits((int) (textLength * minRatio), Math.min((int) (textLength * maxRatio), cap));
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
        if (textTokens.length == 0) {
            throw new IllegalArgumentException("nothing to speak: no text tokens");
        }
        long[] promptText = mode == SynthesisMode.CROSS_LINGUAL ? new long[0] : promptTextTokens;
        long[] promptSpeech = mode == SynthesisMode.ZERO_SHOT ? promptSpeechTokens : new long[0];
        Limits limits = limits(textTokens.length, promptMelFrames);
        float[] prefix = prefix(promptText, textTokens, promptSpeech);
        int prefixLength = prefix.length / llm.hiddenSize();
        int capacity = prefixLength + Math.max(limits.maxLen(), 1);
        if (capacity > llm.maxPosition()) {
            throw new IllegalArgumentException("prefix " + prefixLength + " + max_len " + limits.maxLen()
                    + " exceeds the model's " + llm.maxPosition() + " positions");
        }

        int[] tokens = new int[limits.maxLen()];
        int count = 0;
        Stop stop = Stop.MAX_LEN;
        long prefillNanos = 0;
        long decodeNanos = 0;
        int decodeSteps = 0;
        if (limits.maxLen() > 0) {
            SplitMix64 rng = new SplitMix64(seed);
            RasSampler sampler = new RasSampler(sampling, llm.speechVocab());
            float[] logits = new float[llm.speechVocab()];
            float[] embed = new float[llm.hiddenSize()];
            try (LlmSequence sequence = new LlmSequence(env, session, llm, capacity, scalarTotal)) {
                while (true) {
                    if (cancelled.getAsBoolean()) {
                        stop = Stop.CANCELLED;
                        break;
                    }
                    long t0 = System.nanoTime();
                    if (count == 0) {
                        sequence.append(prefix, prefixLength, logits);
                    } else {
                        speechEmbedding.copyRow(tokens[count - 1], embed, 0);
                        sequence.append(embed, 1, logits);
                    }
                    int token = sampler.sample(logits, 0, tokens, count, limits.minLen(), rng);
                    long elapsed = System.nanoTime() - t0;
                    steps.step(count == 0 ? prefixLength : 0, elapsed);
                    if (count == 0) {
                        prefillNanos = elapsed;
                    } else {
                        decodeNanos += elapsed;
                        decodeSteps++;
                    }
                    if (isStop(token)) {
                        stop = Stop.STOP_TOKEN;
                        break;
                    }
                    tokens[count++] = token;
                    onToken.accept(token);
                    if (count == limits.maxLen()) {
                        break;
                    }
                }
            }
        }
        return new Result(Arrays.copyOf(tokens, count), stop, prefixLength, prefillNanos, decodeSteps, decodeNanos);
    }

    private boolean isStop(int token) {
        return llm.stopTokens().contains(token);
    }

    /** The prefill's input embeddings, row-major {@code [L, hidden]}, gathered from the mapped tables. */
    private float[] prefix(long[] promptText, long[] text, long[] promptSpeech) {
        int hidden = llm.hiddenSize();
        int rows = 2 + promptText.length + text.length + promptSpeech.length;
        float[] out = new float[rows * hidden];
        int row = 0;
        specialEmbedding.copyRow(llm.sos(), out, row++ * hidden);
        for (long[] part : new long[][] {promptText, text}) {
            for (long id : part) {
                if (id < 0 || id >= llm.textVocab()) {
                    throw new IllegalArgumentException("text token " + id + " outside the vocabulary of " + llm.textVocab());
                }
                textEmbedding.copyRow(id, out, row++ * hidden);
            }
        }
        specialEmbedding.copyRow(llm.taskId(), out, row++ * hidden);
        for (long id : promptSpeech) {
            if (id < 0 || id >= llm.speechTokenSize()) {
                throw new IllegalArgumentException("prompt speech token " + id + " outside [0, " + llm.speechTokenSize() + ")");
            }
            speechEmbedding.copyRow(id, out, row++ * hidden);
        }
        return out;
    }
}
