package io.cosyvoice.batching;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * ONNX Runtime's C API ({@code OrtApi}) through Java's foreign-function API, for what the Java API
 * does not offer: device-resident tensors bound with {@code IoBinding}, allocated by a session's
 * device allocator.
 *
 * <p>It binds the very library the Java API loaded (its {@code System.load} makes the symbols
 * visible to this class loader; the soname {@code libonnxruntime.so.1} is the fallback), so both
 * APIs share one {@code OrtEnv}. {@code OrtApi} is a table of function pointers that ONNX Runtime
 * only ever appends to (its {@code onnxruntime_c_api.cc} asserts every shipped version's size), so
 * the indices below, read from that table, hold for every runtime that offers {@link #API_VERSION}.
 * Each function is looked up once, on first use.
 *
 * <p>Thread-safe: the handles are immutable; the C functions used are documented thread-safe per
 * object as ONNX Runtime documents them (a session's {@code RunWithBinding} concurrently with
 * different bindings).
 */
final class OrtNative {

    /** {@code OrtApi} version requested: 23 is the first with {@code AllocatorGetStats}. */
    static final int API_VERSION = 23;

    // Indices into OrtApi (pointer slots), from ort_api_1_to_N in onnxruntime_c_api.cc; checked there
    // by static_asserts e.g. ReleaseCustomOpDomain = 101, SynchronizeBoundOutputs = 203, GetEpApi = 317.
    private static final int GET_ERROR_CODE = 1;
    private static final int GET_ERROR_MESSAGE = 2;
    private static final int CREATE_ENV = 3;
    private static final int CREATE_SESSION = 7;
    private static final int CREATE_SESSION_FROM_ARRAY = 8;
    private static final int CREATE_SESSION_OPTIONS = 10;
    private static final int SET_SESSION_GRAPH_OPTIMIZATION_LEVEL = 23;
    private static final int SET_INTRA_OP_NUM_THREADS = 24;
    private static final int CREATE_TENSOR_WITH_DATA_AS_ORT_VALUE = 49;
    private static final int CREATE_MEMORY_INFO = 68;
    private static final int ALLOCATOR_ALLOC = 75;
    private static final int ALLOCATOR_FREE = 76;
    private static final int RELEASE_ENV = 92;
    private static final int RELEASE_STATUS = 93;
    private static final int RELEASE_MEMORY_INFO = 94;
    private static final int RELEASE_SESSION = 95;
    private static final int RELEASE_VALUE = 96;
    private static final int RELEASE_SESSION_OPTIONS = 100;
    private static final int CREATE_ALLOCATOR = 131;
    private static final int RELEASE_ALLOCATOR = 132;
    private static final int RUN_WITH_BINDING = 133;
    private static final int CREATE_IO_BINDING = 134;
    private static final int RELEASE_IO_BINDING = 135;
    private static final int BIND_INPUT = 136;
    private static final int BIND_OUTPUT = 137;
    private static final int SYNCHRONIZE_BOUND_OUTPUTS = 203;
    private static final int APPEND_EXECUTION_PROVIDER_CUDA_V2 = 204;
    private static final int CREATE_CUDA_PROVIDER_OPTIONS = 205;
    private static final int UPDATE_CUDA_PROVIDER_OPTIONS = 206;
    private static final int RELEASE_CUDA_PROVIDER_OPTIONS = 208;
    private static final int GET_KEY_VALUE_PAIRS = 298;
    private static final int RELEASE_KEY_VALUE_PAIRS = 300;
    private static final int ALLOCATOR_GET_STATS = 319;

    /** ONNXTensorElementDataType */
    static final int FLOAT = 1;
    static final int INT32 = 6;
    static final int INT64 = 7;

    /** OrtAllocatorType.OrtArenaAllocator, OrtMemType.OrtMemTypeDefault, ORT_ENABLE_ALL, ORT_LOGGING_LEVEL_WARNING */
    private static final int ARENA_ALLOCATOR = 1;
    private static final int MEM_TYPE_DEFAULT = 0;
    static final int ENABLE_ALL = 99;
    static final int DISABLE_ALL = 0;
    private static final int LOGGING_WARNING = 2;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final Pattern VERSION = Pattern.compile("(\\d+)\\.(\\d+)(?:\\.(\\d+))?.*");
    private static volatile OrtNative instance;

    private final MemorySegment api;
    private final String version;
    private final MethodHandle[] handles = new MethodHandle[ALLOCATOR_GET_STATS + 1];

    private OrtNative(MemorySegment api, String version) {
        this.api = api.reinterpret(ADDRESS.byteSize() * (ALLOCATOR_GET_STATS + 1));
        this.version = version;
    }

    /** The C API of the ONNX Runtime the Java API loaded, at {@link #API_VERSION}. */
    static OrtNative get() throws OrtException {
        OrtNative api = instance;
        if (api == null) {
            synchronized (OrtNative.class) {
                api = instance;
                if (api == null) {
                    api = load(API_VERSION);
                    instance = api;
                }
            }
        }
        return api;
    }

    /**
     * Binds the C API at {@code apiVersion}, refusing a runtime that does not offer it.
     *
     * @throws OrtException naming the runtime's version and the one needed
     */
    static OrtNative load(int apiVersion) throws OrtException {
        OrtEnvironment.getEnvironment(); // loads libonnxruntime (extracted from the jar) into this class loader
        MemorySegment getApiBase = SymbolLookup.loaderLookup().find("OrtGetApiBase")
                .or(() -> soname().flatMap(lib -> lib.find("OrtGetApiBase")))
                .orElseThrow(() -> new OrtException("the ONNX Runtime native library is loaded but OrtGetApiBase is not found"));
        try {
            MemorySegment base = (MemorySegment) LINKER.downcallHandle(getApiBase, FunctionDescriptor.of(ADDRESS)).invokeExact();
            base = base.reinterpret(2 * ADDRESS.byteSize());
            MethodHandle getVersion = LINKER.downcallHandle(base.getAtIndex(ADDRESS, 1), FunctionDescriptor.of(ADDRESS));
            String version = ((MemorySegment) getVersion.invokeExact()).reinterpret(Integer.MAX_VALUE).getString(0);
            checkVersion(version);
            MethodHandle getApi = LINKER.downcallHandle(base.getAtIndex(ADDRESS, 0), FunctionDescriptor.of(ADDRESS, JAVA_INT));
            MemorySegment api = (MemorySegment) getApi.invokeExact(apiVersion);
            if (api.equals(MemorySegment.NULL)) {
                throw new OrtException("ONNX Runtime " + version + " does not offer C API version " + apiVersion
                        + " (kv-binding=iobinding needs ONNX Runtime 1." + API_VERSION + " or newer; set engine.kv-binding=java)");
            }
            return new OrtNative(api, version);
        } catch (OrtException e) {
            throw e;
        } catch (Throwable e) {
            throw new OrtException("cannot bind ONNX Runtime's C API: " + e);
        }
    }

    private static Optional<SymbolLookup> soname() {
        try {
            return Optional.of(SymbolLookup.libraryLookup("libonnxruntime.so.1", Arena.global()));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /**
     * Refuses a runtime older than 1.{@value #API_VERSION} or of another major version: the table's
     * indices are only known for 1.x.
     */
    static void checkVersion(String version) throws OrtException {
        Matcher m = VERSION.matcher(version);
        if (!m.matches() || Integer.parseInt(m.group(1)) != 1 || Integer.parseInt(m.group(2)) < API_VERSION) {
            throw new OrtException("ONNX Runtime " + version + " is not supported by kv-binding=iobinding: it needs 1."
                    + API_VERSION + " or a newer 1.x (set engine.kv-binding=java)");
        }
    }

    String version() {
        return version;
    }

    private MethodHandle fn(int index, FunctionDescriptor descriptor) {
        MethodHandle h = handles[index];
        if (h == null) {
            MemorySegment pointer = api.getAtIndex(ADDRESS, index);
            if (pointer.equals(MemorySegment.NULL)) {
                throw new IllegalStateException("OrtApi slot " + index + " is empty in ONNX Runtime " + version);
            }
            h = LINKER.downcallHandle(pointer, descriptor);
            handles[index] = h;
        }
        return h;
    }

    private static FunctionDescriptor status(MemoryLayout... args) {
        return FunctionDescriptor.of(ADDRESS, args);
    }

    /** Throws the status's message as an {@link OrtException} (and frees it) when it is not success. */
    void check(MemorySegment status, String what) throws OrtException {
        if (status.equals(MemorySegment.NULL)) {
            return;
        }
        try {
            int code = (int) fn(GET_ERROR_CODE, FunctionDescriptor.of(JAVA_INT, ADDRESS)).invokeExact(status);
            MemorySegment message = (MemorySegment) fn(GET_ERROR_MESSAGE, FunctionDescriptor.of(ADDRESS, ADDRESS)).invokeExact(status);
            String text = message.reinterpret(Integer.MAX_VALUE).getString(0);
            throw new OrtException(code, what + ": " + text);
        } catch (OrtException e) {
            throw e;
        } catch (Throwable e) {
            throw new OrtException("cannot read ONNX Runtime's error of " + what + ": " + e);
        } finally {
            release(RELEASE_STATUS, status);
        }
    }

    private void release(int index, MemorySegment object) {
        if (object == null || object.equals(MemorySegment.NULL)) {
            return;
        }
        try {
            fn(index, FunctionDescriptor.ofVoid(ADDRESS)).invokeExact(object);
        } catch (Throwable e) {
            throw new IllegalStateException("releasing an ONNX Runtime object failed", e);
        }
    }

    private static RuntimeException rethrow(Throwable e) {
        if (e instanceof RuntimeException r) {
            return r;
        }
        if (e instanceof Error err) {
            throw err;
        }
        return new IllegalStateException(e);
    }

    // ---- environment, session -------------------------------------------------------------

    /** The process's {@code OrtEnv} (ONNX Runtime keeps one, shared with the Java API, counted by reference). */
    MemorySegment createEnv() throws OrtException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            MemorySegment s = (MemorySegment) fn(CREATE_ENV, status(JAVA_INT, ADDRESS, ADDRESS))
                    .invokeExact(LOGGING_WARNING, a.allocateFrom("cosyvoice-iobinding"), out);
            check(s, "CreateEnv");
            return out.get(ADDRESS, 0);
        } catch (OrtException e) {
            throw e;
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    void releaseEnv(MemorySegment env) {
        release(RELEASE_ENV, env);
    }

    /**
     * A session over {@code modelPath}: every optimisation, {@code threads} intra-op threads (0: the
     * default), and on {@code cuda} the CUDA execution provider on {@code deviceId} with its arena
     * capped at {@code memoryLimit} bytes (0: no cap).
     */
    MemorySegment createSession(MemorySegment env, String modelPath, int threads, boolean cuda, int deviceId,
            long memoryLimit) throws OrtException {
        return createSession(env, modelPath, null, ENABLE_ALL, threads, cuda, deviceId, memoryLimit);
    }

    /** A session over {@code model}'s bytes (as {@link #createSession(MemorySegment, String, int, boolean, int, long)}). */
    MemorySegment createSession(MemorySegment env, byte[] model, int optimization, int threads, boolean cuda, int deviceId,
            long memoryLimit) throws OrtException {
        return createSession(env, null, model, optimization, threads, cuda, deviceId, memoryLimit);
    }

    private MemorySegment createSession(MemorySegment env, String modelPath, byte[] model, int optimization, int threads,
            boolean cuda, int deviceId, long memoryLimit) throws OrtException {
        MemorySegment options = MemorySegment.NULL;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            check((MemorySegment) fn(CREATE_SESSION_OPTIONS, status(ADDRESS)).invokeExact(out), "CreateSessionOptions");
            options = out.get(ADDRESS, 0);
            check((MemorySegment) fn(SET_SESSION_GRAPH_OPTIMIZATION_LEVEL, status(ADDRESS, JAVA_INT))
                    .invokeExact(options, optimization), "SetSessionGraphOptimizationLevel");
            if (threads > 0) {
                check((MemorySegment) fn(SET_INTRA_OP_NUM_THREADS, status(ADDRESS, JAVA_INT)).invokeExact(options, threads),
                        "SetIntraOpNumThreads");
            }
            if (cuda) {
                appendCuda(a, options, deviceId, memoryLimit);
            }
            if (modelPath != null) {
                check((MemorySegment) fn(CREATE_SESSION, status(ADDRESS, ADDRESS, ADDRESS, ADDRESS))
                        .invokeExact(env, a.allocateFrom(modelPath), options, out), "CreateSession(" + modelPath + ")");
            } else {
                MemorySegment bytes = a.allocateFrom(java.lang.foreign.ValueLayout.JAVA_BYTE, model);
                check((MemorySegment) fn(CREATE_SESSION_FROM_ARRAY, status(ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS))
                        .invokeExact(env, bytes, (long) model.length, options, out), "CreateSessionFromArray");
            }
            return out.get(ADDRESS, 0);
        } catch (OrtException e) {
            throw e;
        } catch (Throwable e) {
            throw rethrow(e);
        } finally {
            release(RELEASE_SESSION_OPTIONS, options);
        }
    }

    private void appendCuda(Arena a, MemorySegment options, int deviceId, long memoryLimit) throws Throwable {
        MemorySegment out = a.allocate(ADDRESS);
        check((MemorySegment) fn(CREATE_CUDA_PROVIDER_OPTIONS, status(ADDRESS)).invokeExact(out), "CreateCUDAProviderOptions");
        MemorySegment cuda = out.get(ADDRESS, 0);
        try {
            Map<String, String> settings = new LinkedHashMap<>();
            settings.put("device_id", Integer.toString(deviceId));
            if (memoryLimit > 0) {
                settings.put("gpu_mem_limit", Long.toString(memoryLimit));
            }
            MemorySegment keys = a.allocate(ADDRESS, settings.size());
            MemorySegment values = a.allocate(ADDRESS, settings.size());
            int i = 0;
            for (var e : settings.entrySet()) {
                keys.setAtIndex(ADDRESS, i, a.allocateFrom(e.getKey()));
                values.setAtIndex(ADDRESS, i++, a.allocateFrom(e.getValue()));
            }
            check((MemorySegment) fn(UPDATE_CUDA_PROVIDER_OPTIONS, status(ADDRESS, ADDRESS, ADDRESS, JAVA_LONG))
                    .invokeExact(cuda, keys, values, (long) settings.size()), "UpdateCUDAProviderOptions");
            check((MemorySegment) fn(APPEND_EXECUTION_PROVIDER_CUDA_V2, status(ADDRESS, ADDRESS)).invokeExact(options, cuda),
                    "SessionOptionsAppendExecutionProvider_CUDA_V2");
        } finally {
            release(RELEASE_CUDA_PROVIDER_OPTIONS, cuda);
        }
    }

    void releaseSession(MemorySegment session) {
        release(RELEASE_SESSION, session);
    }

    // ---- memory -----------------------------------------------------------------------------

    /** {@code OrtMemoryInfo} of {@code name} ("Cpu", "Cuda") on device {@code id}, default memory, arena. */
    MemorySegment createMemoryInfo(String name, int id) throws OrtException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            check((MemorySegment) fn(CREATE_MEMORY_INFO, status(ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS))
                    .invokeExact(a.allocateFrom(name), ARENA_ALLOCATOR, id, MEM_TYPE_DEFAULT, out), "CreateMemoryInfo(" + name + ")");
            return out.get(ADDRESS, 0);
        } catch (OrtException e) {
            throw e;
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    void releaseMemoryInfo(MemorySegment info) {
        release(RELEASE_MEMORY_INFO, info);
    }

    /** The session's allocator for {@code memoryInfo}'s device (on CUDA: device memory). */
    MemorySegment createAllocator(MemorySegment session, MemorySegment memoryInfo) throws OrtException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            check((MemorySegment) fn(CREATE_ALLOCATOR, status(ADDRESS, ADDRESS, ADDRESS)).invokeExact(session, memoryInfo, out),
                    "CreateAllocator");
            return out.get(ADDRESS, 0);
        } catch (OrtException e) {
            throw e;
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    void releaseAllocator(MemorySegment allocator) {
        release(RELEASE_ALLOCATOR, allocator);
    }

    /** {@code bytes} of the allocator's memory (a device pointer on CUDA: never dereference it here). */
    MemorySegment alloc(MemorySegment allocator, long bytes) throws OrtException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            check((MemorySegment) fn(ALLOCATOR_ALLOC, status(ADDRESS, JAVA_LONG, ADDRESS)).invokeExact(allocator, bytes, out),
                    "AllocatorAlloc(" + bytes + " bytes)");
            return out.get(ADDRESS, 0);
        } catch (OrtException e) {
            throw e;
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    void free(MemorySegment allocator, MemorySegment pointer) throws OrtException {
        try {
            check((MemorySegment) fn(ALLOCATOR_FREE, status(ADDRESS, ADDRESS)).invokeExact(allocator, pointer), "AllocatorFree");
        } catch (OrtException e) {
            throw e;
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** The allocator's statistics (for an arena: "InUse", "TotalAllocated", "NumAllocs"…); empty when it keeps none. */
    Map<String, String> allocatorStats(MemorySegment allocator) throws OrtException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            check((MemorySegment) fn(ALLOCATOR_GET_STATS, status(ADDRESS, ADDRESS)).invokeExact(allocator, out), "AllocatorGetStats");
            MemorySegment pairs = out.get(ADDRESS, 0);
            try {
                MemorySegment keys = a.allocate(ADDRESS);
                MemorySegment values = a.allocate(ADDRESS);
                MemorySegment count = a.allocate(JAVA_LONG);
                fn(GET_KEY_VALUE_PAIRS, FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS, ADDRESS))
                        .invokeExact(pairs, keys, values, count);
                long n = count.get(JAVA_LONG, 0);
                MemorySegment k = keys.get(ADDRESS, 0).reinterpret(n * ADDRESS.byteSize());
                MemorySegment v = values.get(ADDRESS, 0).reinterpret(n * ADDRESS.byteSize());
                Map<String, String> stats = new LinkedHashMap<>();
                for (long i = 0; i < n; i++) {
                    stats.put(k.getAtIndex(ADDRESS, i).reinterpret(Integer.MAX_VALUE).getString(0),
                            v.getAtIndex(ADDRESS, i).reinterpret(Integer.MAX_VALUE).getString(0));
                }
                return stats;
            } finally {
                release(RELEASE_KEY_VALUE_PAIRS, pairs);
            }
        } catch (OrtException e) {
            throw e;
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    // ---- values, binding, run ------------------------------------------------------------------

    /** A tensor over {@code bytes} at {@code data} (in {@code memoryInfo}'s memory), no copy; the caller keeps the memory alive. */
    MemorySegment tensor(MemorySegment memoryInfo, MemorySegment data, long bytes, long[] shape, int type) throws OrtException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            MemorySegment dims = shape.length == 0 ? a.allocate(JAVA_LONG) : a.allocateFrom(JAVA_LONG, shape);
            check((MemorySegment) fn(CREATE_TENSOR_WITH_DATA_AS_ORT_VALUE,
                    status(ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS))
                    .invokeExact(memoryInfo, data, bytes, dims, (long) shape.length, type, out), "CreateTensorWithDataAsOrtValue");
            return out.get(ADDRESS, 0);
        } catch (OrtException e) {
            throw e;
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    void releaseValue(MemorySegment value) {
        release(RELEASE_VALUE, value);
    }

    MemorySegment createIoBinding(MemorySegment session) throws OrtException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            check((MemorySegment) fn(CREATE_IO_BINDING, status(ADDRESS, ADDRESS)).invokeExact(session, out), "CreateIoBinding");
            return out.get(ADDRESS, 0);
        } catch (OrtException e) {
            throw e;
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    void releaseIoBinding(MemorySegment binding) {
        release(RELEASE_IO_BINDING, binding);
    }

    /** Binds {@code value} as input {@code name} (a C string); a host value bound for a device graph is copied now. */
    void bindInput(MemorySegment binding, MemorySegment name, MemorySegment value) throws OrtException {
        try {
            check((MemorySegment) fn(BIND_INPUT, status(ADDRESS, ADDRESS, ADDRESS)).invokeExact(binding, name, value), "BindInput");
        } catch (OrtException e) {
            throw e;
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    void bindOutput(MemorySegment binding, MemorySegment name, MemorySegment value) throws OrtException {
        try {
            check((MemorySegment) fn(BIND_OUTPUT, status(ADDRESS, ADDRESS, ADDRESS)).invokeExact(binding, name, value), "BindOutput");
        } catch (OrtException e) {
            throw e;
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    void runWithBinding(MemorySegment session, MemorySegment binding) throws OrtException {
        try {
            check((MemorySegment) fn(RUN_WITH_BINDING, status(ADDRESS, ADDRESS, ADDRESS))
                    .invokeExact(session, MemorySegment.NULL, binding), "RunWithBinding");
        } catch (OrtException e) {
            throw e;
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** Waits until the bound outputs (the logits copied back to the host) are complete. */
    void synchronizeBoundOutputs(MemorySegment binding) throws OrtException {
        try {
            check((MemorySegment) fn(SYNCHRONIZE_BOUND_OUTPUTS, status(ADDRESS)).invokeExact(binding), "SynchronizeBoundOutputs");
        } catch (OrtException e) {
            throw e;
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }
}
