package io.cosyvoice.batching;

import ai.onnxruntime.OrtException;
import io.cosyvoice.engine.ModelConfig;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The KV cache where the model runs ({@code engine.kv-binding=iobinding}): per layer one K and one V
 * buffer taken from the session's device allocator (GPU memory on CUDA), bound with an
 * {@code IoBinding} as both {@code past_*} and {@code present_*} (the same {@code OrtValue}), so
 * the GroupQueryAttention kernels write the new positions in place and the cache never crosses to
 * the host. Only the small per-step inputs (bound from host memory) and the logits (bound to host
 * memory) cross: that is what {@link #ioBytes} counts per call, {@code rows · (hidden · 4 +
 * width · 8 + 12) + 4} bytes in and {@code rows · vocab · 4} out, whatever the cache's size.
 *
 * <p>A slot move is a device-side copy: one call of the {@link CopyGraph} session, an {@code Identity}
 * per layer, K and V, head over the moved sequence's positions, inputs and outputs bound to the
 * device memory; on the CPU the same call is a {@code memcpy}.
 *
 * <p>Decode bindings (slots {@code [0, B)}, one per {@code B}) are made once and kept; their host
 * inputs are re-bound before every call, because binding a host value to a device graph copies it
 * at bind time. A prefill binding is made per call and released after it.
 *
 * <p>Owned by one scheduler thread; not thread-safe.
 */
final class DeviceSlotPool extends SlotPool {

    private static final AtomicInteger OPEN_VALUES = new AtomicInteger();
    private static final String[] INPUTS = {"inputs_embeds", "position_ids", "seqlens_k", "total_sequence_length", "last_index"};

    /** {@code OrtValue}s and {@code IoBinding}s made by device pools and not yet released, over the whole JVM. */
    static int openValues() {
        return OPEN_VALUES.get();
    }

    private final NativeLlmSession nativeSession;
    private final OrtNative api;
    private final Arena names = Arena.ofShared();
    private final MemorySegment[] inputNames = new MemorySegment[INPUTS.length];
    private final MemorySegment logitsName;
    private final MemorySegment[] pastKey;
    private final MemorySegment[] pastValue;
    private final MemorySegment[] presentKey;
    private final MemorySegment[] presentValue;
    private final MemorySegment[] keys;
    private final MemorySegment[] values;
    private final Binding[] decode;
    private MemorySegment[] copyInputs;
    private MemorySegment[] copyOutputs;
    private boolean closed;

    /** One call's binding, its host inputs (re-bound per call) and everything to release with it. */
    private record Binding(MemorySegment io, MemorySegment[] inputs, long transferBytes, List<MemorySegment> values) {}

    DeviceSlotPool(NativeLlmSession session, ModelConfig.Llm llm, boolean scalarTotal, int maxBatch, int capacity,
            int maxRows) throws OrtException {
        super(llm, scalarTotal, maxBatch, capacity, maxRows);
        this.nativeSession = session;
        this.api = session.api();
        for (int i = 0; i < INPUTS.length; i++) {
            inputNames[i] = names.allocateFrom(INPUTS[i]);
        }
        logitsName = names.allocateFrom("logits");
        pastKey = new MemorySegment[layers];
        pastValue = new MemorySegment[layers];
        presentKey = new MemorySegment[layers];
        presentValue = new MemorySegment[layers];
        keys = new MemorySegment[layers];
        values = new MemorySegment[layers];
        decode = new Binding[maxBatch + 1];
        try {
            for (int i = 0; i < layers; i++) {
                pastKey[i] = names.allocateFrom("past_key_" + i);
                pastValue[i] = names.allocateFrom("past_value_" + i);
                presentKey[i] = names.allocateFrom("present_key_" + i);
                presentValue[i] = names.allocateFrom("present_value_" + i);
                keys[i] = api.alloc(session.allocator(), maxBatch * slotBytes);
                values[i] = api.alloc(session.allocator(), maxBatch * slotBytes);
            }
        } catch (OrtException | RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Whether the cache is in GPU memory. */
    boolean onGpu() {
        return nativeSession.cuda();
    }

    /** Layer {@code i}'s keys, all slots, readable from Java only when the device is the CPU (for tests). */
    @Override
    MemorySegment keys(int layer) {
        return hostView(keys[layer]);
    }

    /** Layer {@code i}'s values, all slots (as {@link #keys}). */
    @Override
    MemorySegment values(int layer) {
        return hostView(values[layer]);
    }

    private MemorySegment hostView(MemorySegment device) {
        if (nativeSession.cuda()) {
            throw new IllegalStateException("the cache is in GPU memory");
        }
        return device.reinterpret(maxBatch * slotBytes);
    }

    /** The loop's writes into the host buffers are not transfers: {@link #step} counts what crosses. */
    @Override
    void staged(long bytes) {
        // counted per call in step()
    }

    @Override
    void step(boolean isDecode, int first, int rows, int width) throws OrtException {
        if (closed) {
            throw new IllegalStateException("pool closed");
        }
        checkStep(first, rows, width);
        Binding b;
        if (isDecode) {
            b = decode[rows];
            if (b == null) {
                b = bind(0, rows, 1, decodeLast);
                decode[rows] = b;
            }
        } else {
            b = bind(first, rows, width, prefillLast);
        }
        try {
            for (int i = 0; i < INPUTS.length; i++) {
                api.bindInput(b.io(), inputNames[i], b.inputs()[i]);
            }
            api.runWithBinding(nativeSession.session(), b.io());
            if (nativeSession.cuda()) {
                api.synchronizeBoundOutputs(b.io());
            }
            countIo(b.transferBytes());
        } finally {
            if (!isDecode) {
                release(b);
            }
        }
    }

    private Binding bind(int first, int rows, int width, MemorySegment last) throws OrtException {
        List<MemorySegment> owned = new ArrayList<>();
        MemorySegment io = null;
        try {
            MemorySegment host = nativeSession.hostInfo();
            long in = (long) rows * width * hidden * Float.BYTES + (long) rows * width * Long.BYTES
                    + (long) rows * Integer.BYTES + Integer.BYTES + (long) rows * Long.BYTES;
            long out = (long) rows * vocab * Float.BYTES;
            MemorySegment[] inputs = {
                value(owned, host, embeds, (long) rows * width * hidden * Float.BYTES, new long[] {rows, width, hidden}, OrtNative.FLOAT),
                value(owned, host, positions, (long) rows * width * Long.BYTES, new long[] {rows, width}, OrtNative.INT64),
                value(owned, host, seqlens, (long) rows * Integer.BYTES, new long[] {rows}, OrtNative.INT32),
                value(owned, host, total, Integer.BYTES, scalarTotal ? new long[0] : new long[] {1}, OrtNative.INT32),
                value(owned, host, last, (long) rows * Long.BYTES, new long[] {rows}, OrtNative.INT64),
            };
            io = api.createIoBinding(nativeSession.session());
            OPEN_VALUES.incrementAndGet();
            Binding binding = new Binding(io, inputs, in + out, owned);
            api.bindOutput(io, logitsName, value(owned, host, logits, out, new long[] {rows, vocab}, OrtNative.FLOAT));
            long[] kvShape = {rows, kvHeads, capacity, headDim};
            MemorySegment device = nativeSession.deviceInfo();
            for (int i = 0; i < layers; i++) {
                MemorySegment k = value(owned, device, at(keys[i], first * slotBytes), rows * slotBytes, kvShape, OrtNative.FLOAT);
                MemorySegment v = value(owned, device, at(values[i], first * slotBytes), rows * slotBytes, kvShape, OrtNative.FLOAT);
                // the same device tensor as past and present: the attention kernels write the new positions in place
                api.bindInput(io, pastKey[i], k);
                api.bindOutput(io, presentKey[i], k);
                api.bindInput(io, pastValue[i], v);
                api.bindOutput(io, presentValue[i], v);
            }
            return binding;
        } catch (OrtException | RuntimeException e) {
            releaseAll(io, owned);
            throw e;
        }
    }

    /** The address {@code offset} bytes into {@code base} (a device pointer: only ever handed back to ONNX Runtime). */
    private static MemorySegment at(MemorySegment base, long offset) {
        return MemorySegment.ofAddress(base.address() + offset);
    }

    private MemorySegment value(List<MemorySegment> owned, MemorySegment info, MemorySegment data, long bytes, long[] shape,
            int type) throws OrtException {
        MemorySegment v = api.tensor(info, data, bytes, shape, type);
        owned.add(v);
        OPEN_VALUES.incrementAndGet();
        return v;
    }

    private void release(Binding b) {
        releaseAll(b.io(), b.values());
    }

    /** Releases the binding first (it references the values), then the values. */
    private void releaseAll(MemorySegment io, List<MemorySegment> values) {
        if (io != null) {
            api.releaseIoBinding(io);
            OPEN_VALUES.decrementAndGet();
        }
        for (MemorySegment v : values) {
            api.releaseValue(v);
            OPEN_VALUES.decrementAndGet();
        }
        values.clear();
    }

    @Override
    void move(int from, int to, int length) throws OrtException {
        if (from == to || length == 0) {
            return;
        }
        if (copyInputs == null) {
            copyInputs = new MemorySegment[nativeSession.copies()];
            copyOutputs = new MemorySegment[nativeSession.copies()];
            for (int i = 0; i < copyInputs.length; i++) {
                copyInputs[i] = names.allocateFrom(CopyGraph.input(i));
                copyOutputs[i] = names.allocateFrom(CopyGraph.output(i));
            }
        }
        long headBytes = (long) capacity * headDim * Float.BYTES;
        long used = (long) length * headDim * Float.BYTES;
        List<MemorySegment> owned = new ArrayList<>();
        MemorySegment io = null;
        try {
            io = api.createIoBinding(nativeSession.copySession());
            OPEN_VALUES.incrementAndGet();
            MemorySegment device = nativeSession.deviceInfo();
            long[] shape = {(long) length * headDim};
            int n = 0;
            for (MemorySegment[] kind : new MemorySegment[][] {keys, values}) {
                for (MemorySegment layer : kind) {
                    for (int h = 0; h < kvHeads; h++) {
                        api.bindInput(io, copyInputs[n], value(owned, device, at(layer, from * slotBytes + h * headBytes), used, shape,
                                OrtNative.FLOAT));
                        api.bindOutput(io, copyOutputs[n++], value(owned, device, at(layer, to * slotBytes + h * headBytes), used,
                                shape, OrtNative.FLOAT));
                    }
                }
            }
            api.runWithBinding(nativeSession.copySession(), io);
            if (nativeSession.cuda()) {
                api.synchronizeBoundOutputs(io);
            }
        } finally {
            releaseAll(io, owned);
        }
        countCache((long) copyInputs.length * used);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Binding b : decode) {
            if (b != null) {
                release(b);
            }
        }
        // only after the bindings: they point into this memory
        for (MemorySegment[] kind : new MemorySegment[][] {keys, values}) {
            for (int i = 0; i < kind.length; i++) {
                if (kind[i] != null && !kind[i].equals(MemorySegment.NULL)) {
                    try {
                        api.free(nativeSession.allocator(), kind[i]);
                    } catch (OrtException e) {
                        throw new IllegalStateException("freeing the KV cache failed: " + e.getMessage(), e);
                    }
                    kind[i] = null;
                }
            }
        }
        names.close();
        closeStaging();
    }
}
