package io.cosyvoice.engine;

import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * One sequence's inputs and sampling state, made by {@link LlmGraph#request}: the prefix
 * {@code [sos] + text(prompt_text + text) + [task_id] + speech_embedding(prompt_tokens)} (gathered
 * from the mapped tables on demand, straight into the caller's step buffer), {@code min_len} and
 * {@code max_len}, and RAS over the request's own {@link SplitMix64} stream. Whoever steps the
 * graph feeds logits to {@link #next} in order and gets exactly the tokens the contract prescribes.
 *
 * <p>Not thread-safe: one thread at a time steps a sequence.
 */
public final class LlmRequest {

    /** What {@link #next} returns when the model drew a stop token (which is not emitted). */
    public static final int STOP = -1;

    private final LlmGraph graph;
    private final long[] promptText;
    private final long[] text;
    private final long[] promptSpeech;
    private final int minLen;
    private final int maxLen;
    private final RasSampler sampler;
    private final SplitMix64 rng;
    private final int[] tokens;
    private int count;
    private boolean stopped;

    LlmRequest(LlmGraph graph, long[] promptText, long[] text, long[] promptSpeech, int minLen, int maxLen,
            RasSampler sampler, SplitMix64 rng) {
        this.graph = graph;
        this.promptText = promptText;
        this.text = text;
        this.promptSpeech = promptSpeech;
        this.minLen = minLen;
        this.maxLen = maxLen;
        this.sampler = sampler;
        this.rng = rng;
        this.tokens = new int[maxLen];
    }

    /** Positions of the prefix (its prefill). */
    public int prefixLength() {
        return 2 + promptText.length + text.length + promptSpeech.length;
    }

    /** Before this many tokens eos cannot be drawn. */
    public int minLength() {
        return minLen;
    }

    /** At most this many tokens are emitted; 0 means none (nothing to run). */
    public int maxLength() {
        return maxLen;
    }

    /** KV positions this sequence may hold: its prefix plus {@code max_len} (the contract's capacity of a request). */
    public int capacityNeeded() {
        return prefixLength() + Math.max(maxLen, 1);
    }

    /**
     * Gathers prefix rows {@code [from, from + rows)} (each {@code hidden} floats) into {@code out}
     * from float index {@code offset}, e.g. into a native input buffer, one chunk of the prefill at a time.
     */
    public void prefixRows(int from, int rows, FloatBuffer out, int offset) {
        if (from < 0 || rows < 0 || from + rows > prefixLength()) {
            throw new IndexOutOfBoundsException("rows [" + from + ", " + (from + rows) + ") of a prefix of " + prefixLength());
        }
        int hidden = graph.config().hiddenSize();
        int textEnd = 1 + promptText.length + text.length;
        for (int r = from; r < from + rows; r++) {
            int at = offset + (r - from) * hidden;
            if (r == 0) {
                graph.specialEmbedding(graph.config().sos(), out, at);
            } else if (r < 1 + promptText.length) {
                graph.textEmbedding(promptText[r - 1], out, at);
            } else if (r < textEnd) {
                graph.textEmbedding(text[r - 1 - promptText.length], out, at);
            } else if (r == textEnd) {
                graph.specialEmbedding(graph.config().taskId(), out, at);
            } else {
                graph.speechEmbedding((int) promptSpeech[r - textEnd - 1], out, at);
            }
        }
    }

    /** The whole prefix, row-major {@code [prefixLength, hidden]}, on the heap. */
    float[] prefix() {
        float[] out = new float[prefixLength() * graph.config().hiddenSize()];
        prefixRows(0, prefixLength(), FloatBuffer.wrap(out), 0);
        return out;
    }

    /**
     * Draws the next token from the logits at {@code logits[offset, offset + vocab)}: a speech
     * token, recorded and returned, or {@link #STOP}. One or two uniforms of the request's stream
     * are consumed, so logits must come in order, one set per emitted token.
     *
     * @throws IllegalStateException when the sequence has finished, or the logits have no finite maximum
     */
    public int next(float[] logits, int offset) {
        if (finished()) {
            throw new IllegalStateException("the sequence has finished");
        }
        int token = sampler.sample(logits, offset, tokens, count, minLen, rng);
        if (graph.isStop(token)) {
            stopped = true;
            return STOP;
        }
        tokens[count++] = token;
        return token;
    }

    /** Whether a stop token was drawn or {@code max_len} tokens were emitted. */
    public boolean finished() {
        return stopped || count == maxLen;
    }

    /** Whether it ended on a stop token (else, once finished, on {@code max_len}). */
    public boolean stopped() {
        return stopped;
    }

    /** Tokens emitted so far. */
    public int count() {
        return count;
    }

    /** A copy of the tokens emitted so far. */
    public int[] tokens() {
        return Arrays.copyOf(tokens, count);
    }

    /** The embedding of the last emitted token (the next decode step's input) into {@code out} from {@code offset}. */
    public void lastTokenEmbedding(FloatBuffer out, int offset) {
        if (count == 0) {
            throw new IllegalStateException("no token emitted yet");
        }
        graph.speechEmbedding(tokens[count - 1], out, offset);
    }
}
