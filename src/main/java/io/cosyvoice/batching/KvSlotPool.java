package io.cosyvoice.batching;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import io.cosyvoice.engine.ModelConfig;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The KV cache in host memory, bound through ONNX Runtime's Java API ({@code engine.kv-binding=java}):
 * per layer one K and one V buffer in an {@link Arena}; each call binds slots
 * {@code [first, first + rows)} of them as both {@code past_*} and pinned {@code present_*} (the
 * same tensor), so ONNX Runtime writes the new positions in place, as {@code LlmSequence} does for
 * one sequence. On a CUDA session this memory is the host's: ONNX Runtime then copies the bound
 * cache to the device and back every call, which {@link DeviceSlotPool} avoids.
 *
 * <p>Decode bindings (slots {@code [0, B)}, one per {@code B}) are made once and reused; a prefill
 * binding is made per call and closed after it. Slot moves are {@code memcpy}s of one sequence's positions.
 *
 * <p>Owned by one scheduler thread; not thread-safe.
 */
final class KvSlotPool extends SlotPool {

    private static final AtomicInteger OPEN_TENSORS = new AtomicInteger();

    /** Tensors made by pools and not yet closed, over the whole JVM (tests check it returns to 0). */
    static int openTensors() {
        return OPEN_TENSORS.get();
    }

    private final OrtEnvironment env;
    private final StepRunner runner;
    private final boolean cacheCrossesToDevice;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment[] keys;
    private final MemorySegment[] values;
    private final Binding[] decode;
    private boolean closed;

    /** The tensors of one step's call: inputs, pinned outputs, and which of them this binding owns. */
    record Binding(Map<String, OnnxTensor> inputs, Map<String, OnnxTensor> outputs, List<OnnxTensor> owned) {}

    /** A pool whose calls the caller runs ({@link #decode}, {@link #prefill}); {@link #step} is refused. */
    KvSlotPool(OrtEnvironment env, ModelConfig.Llm llm, boolean scalarTotal, int maxBatch, int capacity, int maxRows) {
        this(env, llm, scalarTotal, maxBatch, capacity, maxRows, null, false);
    }

    /**
     * @param maxRows the most input positions a step feeds (rows × positions per row)
     * @param runner  runs {@link #step}'s calls
     * @param cacheCrossesToDevice the session runs on a GPU: ONNX Runtime copies every bound cache
     *                tensor to the device and back per call, and {@link #ioBytes} counts it
     */
    KvSlotPool(OrtEnvironment env, ModelConfig.Llm llm, boolean scalarTotal, int maxBatch, int capacity, int maxRows,
            StepRunner runner, boolean cacheCrossesToDevice) {
        super(llm, scalarTotal, maxBatch, capacity, maxRows);
        this.env = env;
        this.runner = runner;
        this.cacheCrossesToDevice = cacheCrossesToDevice;
        keys = new MemorySegment[layers];
        values = new MemorySegment[layers];
        // zeroed by the arena; 64-byte alignment suits ONNX Runtime's vectorised kernels
        for (int i = 0; i < layers; i++) {
            keys[i] = arena.allocate(maxBatch * slotBytes, 64);
            values[i] = arena.allocate(maxBatch * slotBytes, 64);
        }
        decode = new Binding[maxBatch + 1];
    }

    /** Layer {@code i}'s keys, all slots (for tests). */
    @Override
    MemorySegment keys(int layer) {
        return keys[layer];
    }

    /** Layer {@code i}'s values, all slots (for tests). */
    @Override
    MemorySegment values(int layer) {
        return values[layer];
    }

    @Override
    void step(boolean isDecode, int first, int rows, int width) throws OrtException {
        if (runner == null) {
            throw new IllegalStateException("this pool has no step runner");
        }
        if (isDecode) {
            Binding binding = decode(rows);
            runner.run(true, rows, binding.inputs(), binding.outputs());
        } else {
            Binding binding = prefill(first, rows, width);
            try {
                runner.run(false, rows, binding.inputs(), binding.outputs());
            } finally {
                release(binding);
            }
        }
        if (cacheCrossesToDevice) {
            // the rows' whole slots, every layer, K and V: in as past, back out as present
            countIo(2 * 2L * layers * rows * slotBytes);
        }
    }

    @Override
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
        countCache(2L * layers * kvHeads * used);
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
        checkStep(first, rows, width);
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
        closeStaging();
    }
}
