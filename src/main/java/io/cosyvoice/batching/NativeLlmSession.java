package io.cosyvoice.batching;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.cosyvoice.engine.EngineOptions;
import io.cosyvoice.engine.LlmGraph;
import java.lang.foreign.MemorySegment;
import java.util.Map;

/**
 * {@code llm.onnx} opened through ONNX Runtime's C API ({@link OrtNative}) for
 * {@code engine.kv-binding=iobinding}: the session (the CUDA execution provider appended on
 * {@code device=cuda}), the {@code OrtMemoryInfo} of its device ("Cuda" or "Cpu") and of the host,
 * the session's allocator for the device, from which {@link DeviceSlotPool}s take their KV cache,
 * and a {@link CopyGraph} session on the same device for moving a sequence's cache between slots.
 *
 * <p>Shared by every replica of a batcher (a session runs concurrent calls with different
 * bindings); closed by the batcher after its replicas, which free their cache first.
 */
final class NativeLlmSession implements AutoCloseable {

    private final OrtNative api;
    private final boolean cuda;
    private final MemorySegment env;
    private MemorySegment session = MemorySegment.NULL;
    private MemorySegment copySession = MemorySegment.NULL;
    private int copies;
    private MemorySegment deviceInfo = MemorySegment.NULL;
    private MemorySegment hostInfo = MemorySegment.NULL;
    private MemorySegment allocator = MemorySegment.NULL;
    private boolean closed;

    private NativeLlmSession(OrtNative api, boolean cuda) throws OrtException {
        this.api = api;
        this.cuda = cuda;
        this.env = api.createEnv();
    }

    /** Opens the graph's {@code llm.onnx} on the engine's device. */
    static NativeLlmSession open(LlmGraph graph) throws OrtException {
        EngineOptions options = graph.options();
        if (options.cuda()) {
            // ONNX Runtime loads the CUDA provider from beside libonnxruntime; the Java API puts it there
            // (extracted from its jar) when first asked for CUDA, as the engine's own sessions already did
            try (OrtSession.SessionOptions java = new OrtSession.SessionOptions()) {
                java.addCUDA(options.cudaDeviceId());
            }
        }
        NativeLlmSession s = new NativeLlmSession(OrtNative.get(), options.cuda());
        try {
            s.session = s.api.createSession(s.env, graph.modelFile().toString(), options.intraOpThreads(), options.cuda(),
                    options.cudaDeviceId(), options.cudaMemoryLimit());
            s.deviceInfo = s.api.createMemoryInfo(options.cuda() ? "Cuda" : "Cpu", options.cuda() ? options.cudaDeviceId() : 0);
            s.hostInfo = s.api.createMemoryInfo("Cpu", 0);
            s.allocator = s.api.createAllocator(s.session, s.deviceInfo);
            // K and V of every layer and head: a slot move in one call
            s.copies = 2 * graph.config().numLayers() * graph.config().numKvHeads();
            // no graph optimisation: it would fold the Identity nodes away
            s.copySession = s.api.createSession(s.env, CopyGraph.model(s.copies), OrtNative.DISABLE_ALL, 1, options.cuda(),
                    options.cudaDeviceId(), options.cudaMemoryLimit());
            return s;
        } catch (OrtException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    OrtNative api() {
        return api;
    }

    MemorySegment env() {
        return env;
    }

    MemorySegment session() {
        return session;
    }

    /** The session of {@link CopyGraph}: {@link #copies()} device-side copies in one call. */
    MemorySegment copySession() {
        return copySession;
    }

    int copies() {
        return copies;
    }

    /** Whether the cache lives in GPU memory (else the device is the host). */
    boolean cuda() {
        return cuda;
    }

    MemorySegment deviceInfo() {
        return deviceInfo;
    }

    MemorySegment hostInfo() {
        return hostInfo;
    }

    /** The session's allocator of device memory. */
    MemorySegment allocator() {
        return allocator;
    }

    /** The device allocator's statistics ("InUse", "NumAllocs"… for ONNX Runtime's arena). */
    Map<String, String> allocatorStats() throws OrtException {
        return api.allocatorStats(allocator);
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        api.releaseAllocator(allocator);
        api.releaseMemoryInfo(hostInfo);
        api.releaseMemoryInfo(deviceInfo);
        api.releaseSession(copySession);
        api.releaseSession(session);
        api.releaseEnv(env);
    }
}
