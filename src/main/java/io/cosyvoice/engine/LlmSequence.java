package io.cosyvoice.engine;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One sequence on {@code llm.onnx} (batch 1) with its KV cache of fixed capacity, updated in place:
 * each {@code present_*} output is pinned to the very tensor that is fed as {@code past_*}
 * ({@link OrtSession#run(Map, Set, Map)}), so ONNX Runtime's GroupQueryAttention sees one buffer and
 * writes only the new positions; a step costs its new positions, not a copy of the cache. The
 * logits output is pinned too, and single-position steps reuse input tensors whose memory is
 * rewritten, so a decode step allocates nothing on either side of JNI.
 *
 * <p>All native memory comes from one shared {@link Arena} that {@link #close} frees with the
 * tensors; a sequence may be stepped from any thread, one step at a time.
 */
final class LlmSequence implements AutoCloseable {

    private static final AtomicInteger OPEN_TENSORS = new AtomicInteger();

    /** Tensors created by sequences and not yet closed, over the whole JVM (tests check it returns to 0). */
    static int openTensors() {
        return OPEN_TENSORS.get();
    }

    private final OrtEnvironment env;
    private final OrtSession session;
    private final int hidden;
    private final int vocab;
    private final int capacity;
    private final boolean scalarTotal;
    private final Arena arena = Arena.ofShared();
    private final List<OnnxTensor> tensors = new ArrayList<>();
    private final Map<String, OnnxTensor> cacheInputs = new LinkedHashMap<>();
    private final Map<String, OnnxTensor> outputs = new LinkedHashMap<>();
    private final FloatBuffer[] keys;
    private final FloatBuffer[] values;
    private final FloatBuffer logits;
    private final Map<String, OnnxTensor> decodeInputs = new HashMap<>();
    private final ByteBuffer decodeEmbeds;
    private final ByteBuffer decodePosition;
    private final ByteBuffer decodeSeqlen;
    private final ByteBuffer decodeTotal;
    private int length;
    private boolean closed;

    /**
     * @param scalarTotal whether the graph declares {@code total_sequence_length} as a scalar (else {@code [1]})
     */
    LlmSequence(OrtEnvironment env, OrtSession session, ModelConfig.Llm llm, int capacity, boolean scalarTotal)
            throws OrtException {
        if (capacity < 1 || capacity > llm.maxPosition()) {
            throw new IllegalArgumentException(
                    "KV capacity " + capacity + " outside [1, max_position " + llm.maxPosition() + "]");
        }
        this.env = env;
        this.session = session;
        this.hidden = llm.hiddenSize();
        this.vocab = llm.speechVocab();
        this.capacity = capacity;
        this.scalarTotal = scalarTotal;
        int layers = llm.numLayers();
        keys = new FloatBuffer[layers];
        values = new FloatBuffer[layers];
        try {
            long[] kvShape = {1, llm.numKvHeads(), capacity, llm.headDim()};
            for (int i = 0; i < layers; i++) {
                keys[i] = kv("key", i, kvShape);
                values[i] = kv("value", i, kvShape);
            }
            ByteBuffer logitsBytes = allocate(arena, (long) vocab * Float.BYTES);
            outputs.put("logits", tensor(logitsBytes, new long[] {1, vocab}, OnnxJavaType.FLOAT));
            logits = logitsBytes.asFloatBuffer();

            decodeEmbeds = allocate(arena, (long) hidden * Float.BYTES);
            decodePosition = allocate(arena, Long.BYTES);
            decodeSeqlen = allocate(arena, Integer.BYTES);
            decodeTotal = allocate(arena, Integer.BYTES);
            ByteBuffer lastIndex = allocate(arena, Long.BYTES); // always 0: one position, its logits
            decodeInputs.putAll(cacheInputs);
            decodeInputs.put("inputs_embeds", tensor(decodeEmbeds, new long[] {1, 1, hidden}, OnnxJavaType.FLOAT));
            decodeInputs.put("position_ids", tensor(decodePosition, new long[] {1, 1}, OnnxJavaType.INT64));
            decodeInputs.put("seqlens_k", tensor(decodeSeqlen, new long[] {1}, OnnxJavaType.INT32));
            decodeInputs.put("total_sequence_length", tensor(decodeTotal, totalShape(), OnnxJavaType.INT32));
            decodeInputs.put("last_index", tensor(lastIndex, new long[] {1}, OnnxJavaType.INT64));
        } catch (OrtException | RuntimeException e) {
            close();
            throw e;
        }
    }

    private FloatBuffer kv(String kind, int layer, long[] shape) throws OrtException {
        ByteBuffer bytes = allocate(arena, shape[1] * shape[2] * shape[3] * Float.BYTES);
        OnnxTensor tensor = tensor(bytes, shape, OnnxJavaType.FLOAT);
        cacheInputs.put("past_" + kind + "_" + layer, tensor);
        outputs.put("present_" + kind + "_" + layer, tensor); // the same tensor: in place
        return bytes.asFloatBuffer();
    }

    private static ByteBuffer allocate(Arena arena, long bytes) {
        // zeroed by the arena; 64-byte alignment suits ONNX Runtime's vectorised kernels
        return arena.allocate(bytes, 64).asByteBuffer().order(ByteOrder.nativeOrder());
    }

    /** A tensor over {@code data} (no copy), closed with the sequence. */
    private OnnxTensor tensor(ByteBuffer data, long[] shape, OnnxJavaType type) throws OrtException {
        OnnxTensor tensor = OnnxTensor.createTensor(env, data, shape, type);
        tensors.add(tensor);
        OPEN_TENSORS.incrementAndGet();
        return tensor;
    }

    private long[] totalShape() {
        return scalarTotal ? new long[0] : new long[] {1};
    }

    /** Positions held in the cache. */
    int length() {
        return length;
    }

    int capacity() {
        return capacity;
    }

    /**
     * Appends {@code rows} positions (their input embeddings, row-major {@code [rows, hidden]}) and
     * writes the logits of the last one into {@code logitsOut[0, vocab)}. The first call is the
     * prefill; later calls with one row are decode steps.
     */
    void append(float[] embeds, int rows, float[] logitsOut) throws OrtException {
        if (closed) {
            throw new IllegalStateException("sequence closed");
        }
        if (rows < 1 || embeds.length < rows * hidden || logitsOut.length < vocab) {
            throw new IllegalArgumentException("bad step: " + rows + " rows, " + embeds.length + " values");
        }
        if (length + rows > capacity) {
            // ONNX Runtime does not check seqlens_k against the capacity: writing past it corrupts memory
            throw new IllegalStateException("KV cache full: " + length + " + " + rows + " > " + capacity);
        }
        if (rows == 1) {
            decodeEmbeds.asFloatBuffer().put(0, embeds, 0, hidden);
            decodePosition.putLong(0, length);
            decodeSeqlen.putInt(0, length);
            decodeTotal.putInt(0, length + 1);
            run(decodeInputs);
        } else {
            try (Arena step = Arena.ofConfined()) {
                List<OnnxTensor> temporary = new ArrayList<>(5);
                try {
                    ByteBuffer e = allocate(step, (long) rows * hidden * Float.BYTES);
                    e.asFloatBuffer().put(0, embeds, 0, rows * hidden);
                    ByteBuffer positions = allocate(step, (long) rows * Long.BYTES);
                    for (int i = 0; i < rows; i++) {
                        positions.putLong(i * Long.BYTES, length + i);
                    }
                    Map<String, OnnxTensor> inputs = new HashMap<>(cacheInputs);
                    inputs.put("inputs_embeds", temp(temporary, e, new long[] {1, rows, hidden}, OnnxJavaType.FLOAT));
                    inputs.put("position_ids", temp(temporary, positions, new long[] {1, rows}, OnnxJavaType.INT64));
                    inputs.put("seqlens_k",
                            temp(temporary, scalar(step, length + rows - 1), new long[] {1}, OnnxJavaType.INT32));
                    inputs.put("total_sequence_length",
                            temp(temporary, scalar(step, length + rows), totalShape(), OnnxJavaType.INT32));
                    ByteBuffer last = allocate(step, Long.BYTES).putLong(0, rows - 1);
                    inputs.put("last_index", temp(temporary, last, new long[] {1}, OnnxJavaType.INT64));
                    run(inputs);
                } finally {
                    for (OnnxTensor t : temporary) {
                        t.close();
                        OPEN_TENSORS.decrementAndGet();
                    }
                }
            }
        }
        length += rows;
        logits.get(0, logitsOut, 0, vocab);
    }

    private static ByteBuffer scalar(Arena arena, int value) {
        return allocate(arena, Integer.BYTES).putInt(0, value);
    }

    private OnnxTensor temp(List<OnnxTensor> temporary, ByteBuffer data, long[] shape, OnnxJavaType type)
            throws OrtException {
        OnnxTensor tensor = OnnxTensor.createTensor(env, data, shape, type);
        temporary.add(tensor);
        OPEN_TENSORS.incrementAndGet();
        return tensor;
    }

    private void run(Map<String, OnnxTensor> inputs) throws OrtException {
        // every output is pinned: the result owns nothing, closing it is only bookkeeping
        try (OrtSession.Result ignored = session.run(inputs, Set.of(), outputs)) {
            // outputs are already in place
        }
    }

    /** Layer {@code i}'s keys, {@code [kv_heads, capacity, head_dim]} (a view of the cache, for tests). */
    FloatBuffer keys(int layer) {
        return keys[layer].duplicate();
    }

    /** Layer {@code i}'s values, as {@link #keys}. */
    FloatBuffer values(int layer) {
        return values[layer].duplicate();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (OnnxTensor t : tensors) {
            t.close();
            OPEN_TENSORS.decrementAndGet();
        }
        tensors.clear();
        // only after the tensors: they point into this memory
        arena.close();
    }
}
