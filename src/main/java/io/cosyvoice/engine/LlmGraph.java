package io.cosyvoice.engine;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.cosyvoice.synthesis.SynthesisMode;
import java.io.IOException;
import java.nio.file.Path;
import java.nio.FloatBuffer;

/**
 * {@code llm.onnx} and its embedding tables, as a step loop outside this package needs them (the
 * continuous batcher in {@code io.cosyvoice.batching}): the session, the layer sizes, and
 * {@link LlmRequest}s. Everything that decides a token (prefix layout, limits, RAS sampling, the
 * seed's stream) is here and in {@link LlmRequest}, shared with {@link SpeechTokenGenerator}, so
 * batched and one-sequence generation cannot drift apart.
 *
 * <p>Thread-safe: the session and the memory-mapped tables are read-only.
 */
public final class LlmGraph {

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
    private final Path modelFile;
    private final EngineOptions options;

    private LlmGraph(ModelDirectory model, OrtSession session, OrtEnvironment env, EngineOptions options)
            throws OrtException, IOException {
        ModelConfig config = model.config();
        this.env = env;
        this.options = options;
        this.modelFile = model.file("llm.onnx");
        this.session = session;
        this.llm = config.llm();
        this.sampling = RasSampler.Params.of(config);
        this.minRatio = config.sampling().minTokenTextRatio();
        this.maxRatio = config.sampling().maxTokenTextRatio();
        this.noiseFrames = config.flow().noiseFrames();
        this.tokenMelRatio = config.audio().tokenMelRatio();
        TensorInfo total = (TensorInfo) session.getInputInfo().get("total_sequence_length").getInfo();
        this.scalarTotal = total.getShape().length == 0;
        this.textEmbedding = NpyFile.map(model.file("llm_text_embedding.npy"));
        this.speechEmbedding = NpyFile.map(model.file("llm_speech_embedding.npy"));
        this.specialEmbedding = NpyFile.map(model.file("llm_special_embedding.npy"));
    }

    /** The LLM of an opened model: its session from {@code graphs}, its tables mapped from the directory. */
    public static LlmGraph open(ModelDirectory model, OnnxGraphs graphs) throws ModelException {
        try {
            return new LlmGraph(model, graphs.session("llm.onnx"), graphs.environment(), graphs.options());
        } catch (OrtException | IOException e) {
            throw new ModelException(model.path() + ": cannot prepare the LLM: " + e.getMessage(), e);
        }
    }

    public OrtEnvironment environment() {
        return env;
    }

    /** {@code llm.onnx}, for a step loop that opens its own session (through ONNX Runtime's C API). */
    public Path modelFile() {
        return modelFile;
    }

    /** How the engine runs its graphs: the device, its id and memory limit, threads. */
    public EngineOptions options() {
        return options;
    }

    /** The shared {@code llm.onnx} session ({@code run} is thread-safe). */
    public OrtSession session() {
        return session;
    }

    /** Layer sizes, vocabularies and special tokens. */
    public ModelConfig.Llm config() {
        return llm;
    }

    /** Whether {@code total_sequence_length} is declared as a scalar (else as {@code [1]}). */
    public boolean scalarTotalLength() {
        return scalarTotal;
    }

    /** Width of the logits: speech tokens plus eos, a spare and fill. */
    public int vocab() {
        return llm.speechVocab();
    }

    /** Copies speech token {@code token}'s embedding ({@code hidden} floats) into {@code out} from {@code offset}. */
    public void speechEmbedding(int token, FloatBuffer out, int offset) {
        speechEmbedding.copyRow(token, out, offset);
    }

    /**
     * Prepares one sequence: its prefix per mode, its limits and its sampling state (see
     * {@link SpeechTokenGenerator#generate} for the arguments).
     *
     * @throws IllegalArgumentException for an empty text, a token outside its vocabulary, or a
     *                                  prompt that leaves no room in the flow noise
     */
    public LlmRequest request(SynthesisMode mode, long[] textTokens, long[] promptTextTokens, long[] promptSpeechTokens,
            int promptMelFrames, long seed) {
        if (textTokens.length == 0) {
            throw new IllegalArgumentException("nothing to speak: no text tokens");
        }
        long[] promptText = mode == SynthesisMode.CROSS_LINGUAL ? new long[0] : promptTextTokens;
        long[] promptSpeech = mode == SynthesisMode.ZERO_SHOT ? promptSpeechTokens : new long[0];
        for (long[] part : new long[][] {promptText, textTokens}) {
            for (long id : part) {
                if (id < 0 || id >= llm.textVocab()) {
                    throw new IllegalArgumentException("text token " + id + " outside the vocabulary of " + llm.textVocab());
                }
            }
        }
        for (long id : promptSpeech) {
            if (id < 0 || id >= llm.speechTokenSize()) {
                throw new IllegalArgumentException("prompt speech token " + id + " outside [0, " + llm.speechTokenSize() + ")");
            }
        }
        SpeechTokenGenerator.Limits limits = limits(textTokens.length, promptMelFrames);
        LlmRequest request = new LlmRequest(this, promptText.clone(), textTokens.clone(), promptSpeech.clone(),
                limits.minLen(), limits.maxLen(), new RasSampler(sampling, llm.speechVocab()), new SplitMix64(seed));
        if (request.capacityNeeded() > llm.maxPosition()) {
            throw new IllegalArgumentException("prefix " + request.prefixLength() + " + max_len " + limits.maxLen()
                    + " exceeds the model's " + llm.maxPosition() + " positions");
        }
        return request;
    }

    /**
     * {@code min_len = int(text_len · min_ratio)}, {@code max_len = int(text_len · max_ratio)} capped
     * so that the prompt's and the output's mel frames fit in the flow noise.
     */
    SpeechTokenGenerator.Limits limits(int textLength, int promptMelFrames) {
        int cap = (noiseFrames - promptMelFrames) / tokenMelRatio;
        if (cap <= 0) {
            throw new IllegalArgumentException("a prompt of " + promptMelFrames + " mel frames leaves no room in the "
                    + noiseFrames + " frames of flow noise");
        }
        return new SpeechTokenGenerator.Limits((int) (textLength * minRatio), Math.min((int) (textLength * maxRatio), cap));
    }

    boolean isStop(int token) {
        return llm.stopTokens().contains(token);
    }

    void textEmbedding(long id, FloatBuffer out, int offset) {
        textEmbedding.copyRow(id, out, offset);
    }

    void specialEmbedding(int row, FloatBuffer out, int offset) {
        specialEmbedding.copyRow(row, out, offset);
    }
}
