package io.cosyvoice.batching;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import io.cosyvoice.engine.ModelConfig;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One replica's KV cache and step buffers, in one {@link Arena}: per layer a K and a V buffer of
 * {@code [maxBatch, kv_heads, C, head_dim]}, a slot per sequence. Because the batch is the outermost
 * dimension any run of consecutive slots is one contiguous block, so a step binds slots
 * {@code [first, first + rows)} as both {@code past_*} and {@code present_*} (the same tensor) and
 * ONNX Runtime writes the new positions in place, as {@code LlmSequence} does for one sequence.
 *
 * <p>Decode bindings (slots {@code [0, B)}, one per {@code B}) are made once and reused; a prefill
 * binding is made per call and closed after it. The pool counts every byte the step loop copies:
 * inputs written, logits read, and slot moves ({@link #move}), the only cache copies there are.
 *
 * <p>Owned by one scheduler thread; not thread-safe.
 */
final class KvSlotPool implements AutoCloseable {

    private static final AtomicInteger OPEN_TENSORS = new AtomicInteger();

    /** Tensors made by pools and not yet closed, over the whole JVM (tests check it returns to 0). */
    static int openTensors() {
        return OPEN_TENSORS.get();
    }

    /** Bytes of KV cache one slot of capacity {@code capacity} takes over all layers, K and V. */
    static long bytesPerSlot(ModelConfig.Llm llm, int capacity) {
        return 2L * llm.numLayers() * llm.numKvHeads() * capacity * llm.headDim() * Float.BYTES;
    }

    private final OrtEnvironment env;
    private final int maxBatch;
    private final int capacity;
    private final int layers;
    private final int kvHeads;
    private final int headDim;
    private final int hidden;
    private final int vocab;
    private final boolean scalarTotal;
    private final long slotBytes;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment[] keys;
    private final MemorySegment[] values;
    private final MemorySegment embeds;
    private final FloatBuffer embedsView;
    private final MemorySegment positions;
    private final MemorySegment seqlens;
    private final MemorySegment total;
    private final MemorySegment decodeLast;
    private final MemorySegment prefillLast;
    private final MemorySegment logits;
    private final FloatBuffer logitsView;
    private final Binding[] decode;
    private final int rowsCapacity;
    private long ioBytes;
    private long cacheBytes;
    private boolean closed;

    /** The tensors of one step's call: inputs, pinned outputs, and which of them this binding owns. */
    record Binding(Map<String, OnnxTensor> inputs, Map<String, OnnxTensor> outputs, List<OnnxTensor> owned) {}

    /**
     * @param maxRows the most input positions a step feeds (rows × positions per row)
     */
    KvSlotPool(OrtEnvironment env, ModelConfig.Llm llm, boolean scalarTotal, int maxBatch, int capacity, int maxRows) {
        this.env = env;
        this.maxBatch = maxBatch;
        this.capacity = capacity;
        this.layers = llm.numLayers();
        this.kvHeads = llm.numKvHeads();
        this.headDim = llm.headDim();
        this.hidden = llm.hiddenSize();
        this.vocab = llm.speechVocab();
        this.scalarTotal = scalarTotal;
        this.slotBytes = (long) kvHeads * capacity * headDim * Float.BYTES;
        this.rowsCapacity = Math.max(maxRows, maxBatch);
        keys = new MemorySegment[layers];
        values = new MemorySegment[layers];
        // zeroed by the arena; 64-byte alignment suits ONNX Runtime's vectorised kernels
        for (int i = 0; i < layers; i++) {
            keys[i] = arena.allocate(maxBatch * slotBytes, 64);
            values[i] = arena.allocate(maxBatch * slotBytes, 64);
        }
        embeds = arena.allocate((long) rowsCapacity * hidden * Float.BYTES, 64);
        embedsView = embeds.asByteBuffer().order(ByteOrder.nativeOrder()).asFloatBuffer();
        positions = arena.allocate((long) rowsCapacity * Long.BYTES, 64);
        seqlens = arena.allocate((long) maxBatch * Integer.BYTES, 64);
        total = arena.allocate(Integer.BYTES, 64);
        decodeLast = arena.allocate((long) maxBatch * Long.BYTES, 64); // always 0: one position per row
        prefillLast = arena.allocate((long) maxBatch * Long.BYTES, 64);
        logits = arena.allocate((long) maxBatch * vocab * Float.BYTES, 64);
        logitsView = logits.asByteBuffer().order(ByteOrder.nativeOrder()).asFloatBuffer();
        decode = new Binding[maxBatch + 1];
    }

    int maxBatch() {
        return maxBatch;
    }

    int capacity() {
        return capacity;
    }

    /** The most input positions one step may feed. */
    int rowsCapacity() {
        return rowsCapacity;
    }

    /** Bytes of KV cache the pool holds. */
    long cacheSize() {
        return 2L * layers * maxBatch * slotBytes;
    }

    /** Layer {@code i}'s keys, all slots (for tests). */
    MemorySegment keys(int layer) {
        return keys[layer];
    }

    /** Layer {@code i}'s values, all slots (for tests). */
    MemorySegment values(int layer) {
        return values[layer];
    }

    /** Input embeddings, row-major {@code [positions, hidden]}: write a step's rows here, then {@link #wrote}. */
    FloatBuffer embeds() {
        return embedsView;
    }

    /** Counts {@code rows} embeddings written through {@link #embeds}. */
    void wrote(int rows) {
        ioBytes += (long) rows * hidden * Float.BYTES;
    }

    void position(int index, long position) {
        positions.setAtIndex(ValueLayout.JAVA_LONG, index, position);
        ioBytes += Long.BYTES;
    }

    /** Row {@code row}'s {@code seqlens_k}; refuses an index beyond the capacity, which ONNX Runtime would write past. */
    void seqlen(int row, int lastWritten) {
        if (lastWritten < 0 || lastWritten >= capacity) {
            throw new IllegalStateException("position " + lastWritten + " outside the slot capacity " + capacity);
        }
        seqlens.setAtIndex(ValueLayout.JAVA_INT, row, lastWritten);
        ioBytes += Integer.BYTES;
    }

    void lastIndex(int row, long index) {
        prefillLast.setAtIndex(ValueLayout.JAVA_LONG, row, index);
        ioBytes += Long.BYTES;
    }

    void total(int totalLength) {
        total.set(ValueLayout.JAVA_INT, 0, totalLength);
        ioBytes += Integer.BYTES;
    }

    /** Copies row {@code row}'s logits into {@code out} at {@code offset}. */
    void readLogits(int row, float[] out, int offset) {
        logitsView.get(row * vocab, out, offset, vocab);
        ioBytes += (long) vocab * Float.BYTES;
    }

    long ioBytes() {
        return ioBytes;
    }

    long cacheBytes() {
        return cacheBytes;
    }

    /**
     * Moves the first {@code length} positions of slot {@code from} into slot {@code to} (per layer,
     * K and V, each head): one sequence's cache, never the pool's capacity.
     */
    void move(int from, int to, int length) {
        if (from == to || length == 0) {
            return;
        }
        long headBytes = (long) capacity * headDim * Float.BYTES;
        long used = (long) length * headDim * Float.BYTES;
        for (MemorySegment[] kind : new MemorySegment[][] {keys, values}) {
            for (MemorySegment layer : kind) {
                for (int h = 0; h < kvHeads; h++) {
                    MemorySegment.copy(layer, from * slotBytes + h * headBytes, layer, to * slotBytes + h * headBytes, used);
                }
            }
        }
        cacheBytes += 2L * layers * kvHeads * used;
    }

    /** The binding of a decode step over slots {@code [0, rows)}, made on first use and kept. */
    Binding decode(int rows) throws OrtException {
        if (closed) {
            throw new IllegalStateException("pool closed");
        }
        Binding binding = decode[rows];
        if (binding == null) {
            List<OnnxTensor> owned = new ArrayList<>();
            try {
                binding = bind(owned, 0, rows, 1, decodeLast);
            } catch (OrtException | RuntimeException e) {
                close(owned);
                throw e;
            }
            decode[rows] = binding;
        }
        return binding;
    }

    /**
     * A binding of {@code rows} sequences in slots {@code [first, first + rows)}, {@code width}
     * positions each; the caller closes it with {@link #release} after the call.
     */
    Binding prefill(int first, int rows, int width) throws OrtException {
        if (closed) {
            throw new IllegalStateException("pool closed");
        }
        List<OnnxTensor> owned = new ArrayList<>();
        try {
            return bind(owned, first, rows, width, prefillLast);
        } catch (OrtException | RuntimeException e) {
            close(owned);
            throw e;
        }
    }

    void release(Binding binding) {
        close(binding.owned());
    }

    private Binding bind(List<OnnxTensor> owned, int first, int rows, int width, MemorySegment last) throws OrtException {
        if (first < 0 || rows < 1 || first + rows > maxBatch || (long) rows * width > rowsCapacity) {
            throw new IllegalArgumentException("bad step: slots [" + first + ", " + (first + rows) + ") of " + maxBatch
                    + ", " + width + " positions each");
        }
        Map<String, OnnxTensor> inputs = new HashMap<>();
        Map<String, OnnxTensor> outputs = new HashMap<>();
        inputs.put("inputs_embeds", tensor(owned, embeds, 0, (long) rows * width * hidden * Float.BYTES,
                new long[] {rows, width, hidden}, OnnxJavaType.FLOAT));
        inputs.put("position_ids", tensor(owned, positions, 0, (long) rows * width * Long.BYTES,
                new long[] {rows, width}, OnnxJavaType.INT64));
        inputs.put("seqlens_k", tensor(owned, seqlens, 0, (long) rows * Integer.BYTES, new long[] {rows}, OnnxJavaType.INT32));
        inputs.put("total_sequence_length", tensor(owned, total, 0, Integer.BYTES,
                scalarTotal ? new long[0] : new long[] {1}, OnnxJavaType.INT32));
        inputs.put("last_index", tensor(owned, last, 0, (long) rows * Long.BYTES, new long[] {rows}, OnnxJavaType.INT64));
        outputs.put("logits", tensor(owned, logits, 0, (long) rows * vocab * Float.BYTES, new long[] {rows, vocab},
                OnnxJavaType.FLOAT));
        long[] kvShape = {rows, kvHeads, capacity, headDim};
        for (int i = 0; i < layers; i++) {
            OnnxTensor k = tensor(owned, keys[i], first * slotBytes, rows * slotBytes, kvShape, OnnxJavaType.FLOAT);
            OnnxTensor v = tensor(owned, values[i], first * slotBytes, rows * slotBytes, kvShape, OnnxJavaType.FLOAT);
            // the same tensor as past and present: ONNX Runtime writes the new positions in place
            inputs.put("past_key_" + i, k);
            outputs.put("present_key_" + i, k);
            inputs.put("past_value_" + i, v);
            outputs.put("present_value_" + i, v);
        }
        return new Binding(inputs, outputs, owned);
    }

    /** A tensor over {@code bytes} bytes of {@code segment} from {@code offset}, no copy. */
    private OnnxTensor tensor(List<OnnxTensor> owned, MemorySegment segment, long offset, long bytes, long[] shape,
            OnnxJavaType type) throws OrtException {
        ByteBuffer data = segment.asSlice(offset, bytes).asByteBuffer().order(ByteOrder.nativeOrder());
        OnnxTensor tensor = OnnxTensor.createTensor(env, data, shape, type);
        owned.add(tensor);
        OPEN_TENSORS.incrementAndGet();
        return tensor;
    }

    private static void close(List<OnnxTensor> tensors) {
        for (OnnxTensor t : tensors) {
            t.close();
            OPEN_TENSORS.decrementAndGet();
        }
        tensors.clear();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Binding binding : decode) {
            if (binding != null) {
                close(binding.owned());
            }
        }
        // only after the tensors: they point into this memory
        arena.close();
    }
}
