package io.cosyvoice.batching;

import ai.onnxruntime.OrtException;
import io.cosyvoice.engine.ModelConfig;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * One replica's KV cache and the host buffers of its steps, as the {@link Scheduler} drives them.
 * Per layer a K and a V buffer of {@code [maxBatch, kv_heads, C, head_dim]}, a slot per sequence:
 * because the batch is the outermost dimension any run of consecutive slots is one contiguous
 * block, bound as both {@code past_*} and {@code present_*} so ONNX Runtime writes the new
 * positions in place. Where that cache lives and how a call is bound is the subclass's:
 * {@link KvSlotPool} (host memory, the Java API), {@link DeviceSlotPool} (the session's device
 * memory, IoBinding through the C API).
 *
 * <p>The small per-step inputs (embeddings, positions, {@code seqlens_k}, total length, last
 * indices) and the logits are host memory here, shared by both. The pool counts every byte the
 * step loop copies: inputs written, logits read ({@link #ioBytes}) and slot moves ({@link #cacheBytes}).
 *
 * <p>Owned by one scheduler thread; not thread-safe.
 */
abstract class SlotPool implements AutoCloseable {

    /** Bytes of KV cache one slot of capacity {@code capacity} takes over all layers, K and V. */
    static long bytesPerSlot(ModelConfig.Llm llm, int capacity) {
        return 2L * llm.numLayers() * llm.numKvHeads() * capacity * llm.headDim() * Float.BYTES;
    }

    final int maxBatch;
    final int capacity;
    final int layers;
    final int kvHeads;
    final int headDim;
    final int hidden;
    final int vocab;
    final boolean scalarTotal;
    /** Bytes of one slot of one layer's K (or V): {@code kv_heads · C · head_dim} floats. */
    final long slotBytes;
    final int rowsCapacity;
    private final Arena staging = Arena.ofShared();
    final MemorySegment embeds;
    private final FloatBuffer embedsView;
    final MemorySegment positions;
    final MemorySegment seqlens;
    final MemorySegment total;
    /** Always 0: a decode feeds one position per row. */
    final MemorySegment decodeLast;
    final MemorySegment prefillLast;
    final MemorySegment logits;
    private final FloatBuffer logitsView;
    private long ioBytes;
    private long cacheBytes;

    /**
     * @param maxRows the most input positions a step feeds (rows × positions per row)
     */
    SlotPool(ModelConfig.Llm llm, boolean scalarTotal, int maxBatch, int capacity, int maxRows) {
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
        // 64-byte alignment suits ONNX Runtime's vectorised kernels
        embeds = staging.allocate((long) rowsCapacity * hidden * Float.BYTES, 64);
        embedsView = embeds.asByteBuffer().order(ByteOrder.nativeOrder()).asFloatBuffer();
        positions = staging.allocate((long) rowsCapacity * Long.BYTES, 64);
        seqlens = staging.allocate((long) maxBatch * Integer.BYTES, 64);
        total = staging.allocate(Integer.BYTES, 64);
        decodeLast = staging.allocate((long) maxBatch * Long.BYTES, 64);
        prefillLast = staging.allocate((long) maxBatch * Long.BYTES, 64);
        logits = staging.allocate((long) maxBatch * vocab * Float.BYTES, 64);
        logitsView = logits.asByteBuffer().order(ByteOrder.nativeOrder()).asFloatBuffer();
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

    /** Input embeddings, row-major {@code [positions, hidden]}: write a step's rows here, then {@link #wrote}. */
    FloatBuffer embeds() {
        return embedsView;
    }

    /** Counts {@code rows} embeddings written through {@link #embeds}. */
    void wrote(int rows) {
        staged((long) rows * hidden * Float.BYTES);
    }

    void position(int index, long position) {
        positions.setAtIndex(ValueLayout.JAVA_LONG, index, position);
        staged(Long.BYTES);
    }

    /** Row {@code row}'s {@code seqlens_k}; refuses an index beyond the capacity, which ONNX Runtime would write past. */
    void seqlen(int row, int lastWritten) {
        if (lastWritten < 0 || lastWritten >= capacity) {
            throw new IllegalStateException("position " + lastWritten + " outside the slot capacity " + capacity);
        }
        seqlens.setAtIndex(ValueLayout.JAVA_INT, row, lastWritten);
        staged(Integer.BYTES);
    }

    void lastIndex(int row, long index) {
        prefillLast.setAtIndex(ValueLayout.JAVA_LONG, row, index);
        staged(Long.BYTES);
    }

    void total(int totalLength) {
        total.set(ValueLayout.JAVA_INT, 0, totalLength);
        staged(Integer.BYTES);
    }

    /** Copies row {@code row}'s logits into {@code out} at {@code offset}. */
    void readLogits(int row, float[] out, int offset) {
        logitsView.get(row * vocab, out, offset, vocab);
        staged((long) vocab * Float.BYTES);
    }

    long ioBytes() {
        return ioBytes;
    }

    long cacheBytes() {
        return cacheBytes;
    }

    /**
     * Counts bytes the loop wrote into (or read from) the host buffers. The Java binding hands these
     * very buffers to ONNX Runtime, so they are its copies; a device pool counts what it transfers instead.
     */
    void staged(long bytes) {
        ioBytes += bytes;
    }

    /** Counts bytes of the step's own traffic beyond what the loop wrote and read (e.g. host → device copies). */
    void countIo(long bytes) {
        ioBytes += bytes;
    }

    void countCache(long bytes) {
        cacheBytes += bytes;
    }

    /** Refuses a call outside the pool: slots {@code [first, first + rows)}, {@code width} positions each. */
    void checkStep(int first, int rows, int width) {
        if (first < 0 || rows < 1 || first + rows > maxBatch || width < 1 || (long) rows * width > rowsCapacity) {
            throw new IllegalArgumentException("bad step: slots [" + first + ", " + (first + rows) + ") of " + maxBatch
                    + ", " + width + " positions each");
        }
    }

    /**
     * One graph call over slots {@code [first, first + rows)}, {@code width} positions each, with
     * the inputs written beforehand; the logits are readable after it returns. A decode is slots
     * {@code [0, rows)} with one position each.
     */
    abstract void step(boolean decode, int first, int rows, int width) throws OrtException;

    /**
     * Moves the first {@code length} positions of slot {@code from} into slot {@code to} (per layer,
     * K and V, each head): one sequence's cache, never the pool's capacity.
     */
    abstract void move(int from, int to, int length) throws OrtException;

    /** Layer {@code i}'s keys, all slots, readable from Java when the cache is in host memory (for tests). */
    abstract MemorySegment keys(int layer);

    /** Layer {@code i}'s values, all slots (as {@link #keys}). */
    abstract MemorySegment values(int layer);

    /** Frees the host buffers; subclasses free their cache first, then call this. */
    void closeStaging() {
        staging.close();
    }

    @Override
    public abstract void close();
}
