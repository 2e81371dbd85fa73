package io.cosyvoice.batching;

import static io.cosyvoice.batching.SlotPoolFixture.get;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtException;
import io.cosyvoice.engine.LlmGraph;
import io.cosyvoice.engine.ModelConfig;
import java.lang.foreign.ValueLayout;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The IoBinding pool over ONNX Runtime's C API, on the CPU: its cache (memory of the session's
 * allocator) is written in place by the graph, exactly as the Java binding's; moves are device-side
 * copies; closing gives the memory back to the allocator; a runtime without the C API version is refused.
 */
class DeviceSlotPoolTest {

    private static final float SENTINEL = 1234.5f;
    private static final int SLOTS = 4;
    private static final int CAPACITY = 24;

    private static TinyLlm tiny;
    private static LlmGraph graph;
    private static ModelConfig.Llm llm;
    private static NativeLlmSession session;

    @BeforeAll
    static void open() throws Exception {
        tiny = TinyLlm.open();
        graph = tiny.graph();
        llm = graph.config();
        session = NativeLlmSession.open(graph);
    }

    @AfterAll
    static void close() {
        session.close();
        tiny.close();
    }

    private static DeviceSlotPool pool() throws OrtException {
        return new DeviceSlotPool(session, llm, graph.scalarTotalLength(), SLOTS, CAPACITY, 16);
    }

    private static KvSlotPool javaPool() {
        return javaPool(CAPACITY, false);
    }

    private static KvSlotPool javaPool(int capacity, boolean onGpu) {
        return new KvSlotPool(graph.environment(), llm, graph.scalarTotalLength(), SLOTS, capacity, 16,
                StepRunner.of(graph.session()), onGpu);
    }

    private static void forEach(SlotPool pool, SlotPoolFixture.Visit visit) {
        SlotPoolFixture.forEach(pool, llm, SLOTS, CAPACITY, visit);
    }

    /** Feeds {@code rows} sequences at slots [first, first + rows): row r has {@code past[r]} positions and adds {@code n[r]}. */
    private static void step(SlotPool pool, boolean decode, int first, int[] past, int[] n) throws Exception {
        int width = SlotPoolFixture.writeInputs(graph, pool, past, n);
        pool.step(decode, first, past.length, width);
    }

    /** Two prefills, a chunk on a past and a decode, as the scheduler runs them; returns the logits of the last step's rows. */
    private static float[][] script(SlotPool pool) throws Exception {
        forEach(pool, (cache, index, slot, pos) -> cache.setAtIndex(ValueLayout.JAVA_FLOAT, index, SENTINEL));
        step(pool, false, 0, new int[] {0, 0}, new int[] {5, 5});
        step(pool, false, 1, new int[] {5}, new int[] {3});
        step(pool, true, 0, new int[] {5, 8}, new int[] {1, 1});
        float[][] logits = new float[2][graph.vocab()];
        pool.readLogits(0, logits[0], 0);
        pool.readLogits(1, logits[1], 0);
        return logits;
    }

    @Test
    void theGraphWritesTheAllocatorsCacheInPlaceExactlyAsTheJavaBinding() throws Exception {
        try (DeviceSlotPool device = pool(); KvSlotPool host = javaPool()) {
            assertFalse(device.onGpu());
            float[][] deviceLogits = script(device);
            float[][] hostLogits = script(host);
            assertArrayEquals(hostLogits[0], deviceLogits[0]);
            assertArrayEquals(hostLogits[1], deviceLogits[1]);
            forEach(device, (cache, index, slot, pos) -> {
                boolean written = slot == 0 && pos <= 5 || slot == 1 && pos <= 8;
                if (written) {
                    assertNotEquals(SENTINEL, get(cache, index), "slot " + slot + " position " + pos + " not written");
                } else {
                    assertEquals(SENTINEL, get(cache, index), "slot " + slot + " position " + pos + " overwritten");
                }
            });
            for (int layer = 0; layer < llm.numLayers(); layer++) {
                assertEquals(-1, device.keys(layer).mismatch(host.keys(layer)), "keys of layer " + layer);
                assertEquals(-1, device.values(layer).mismatch(host.values(layer)), "values of layer " + layer);
            }
            assertEquals(0, device.cacheBytes(), "no step moves cache");
        }
        assertEquals(0, DeviceSlotPool.openValues());
        assertEquals(0, KvSlotPool.openTensors());
    }

    @Test
    void aStepTransfersItsInputsAndLogitsWhateverTheCacheSize() throws Exception {
        int hidden = llm.hiddenSize();
        int vocab = graph.vocab();
        for (int capacity : new int[] {CAPACITY, 8 * CAPACITY}) {
            try (DeviceSlotPool pool = new DeviceSlotPool(session, llm, graph.scalarTotalLength(), SLOTS, capacity, 16)) {
                step(pool, false, 0, new int[] {0, 0, 0}, new int[] {4, 2, 3});
                long prefill = pool.ioBytes();
                // rows · width · (embedding + position) + rows · (seqlens_k + last_index) + total, and rows of logits
                assertEquals(3L * 4 * (hidden * 4 + 8) + 3L * (4 + 8) + 4 + 3L * vocab * 4, prefill);
                step(pool, true, 0, new int[] {4, 2, 3}, new int[] {1, 1, 1});
                assertEquals(3L * (hidden * 4 + 8 + 4 + 8) + 4 + 3L * vocab * 4, pool.ioBytes() - prefill);
                assertEquals(0, pool.cacheBytes());
            }
            // the Java binding's host cache, were the session on a GPU, crosses whole: both slots-runs, in and out
            try (KvSlotPool cpu = javaPool(capacity, false); KvSlotPool gpu = javaPool(capacity, true)) {
                for (KvSlotPool p : new KvSlotPool[] {cpu, gpu}) {
                    step(p, false, 0, new int[] {0, 0, 0}, new int[] {4, 2, 3});
                    step(p, true, 0, new int[] {4, 2, 3}, new int[] {1, 1, 1});
                }
                // two steps of three rows, each row's slot in and out
                assertEquals(2 * 3 * 2 * SlotPool.bytesPerSlot(llm, capacity), gpu.ioBytes() - cpu.ioBytes());
            }
        }
    }

    @Test
    void aMoveIsADeviceSideCopyOfOneSequencesPositions() throws Exception {
        try (DeviceSlotPool pool = pool()) {
            forEach(pool, (cache, index, slot, pos) -> cache.setAtIndex(ValueLayout.JAVA_FLOAT, index, slot * 100 + pos));
            pool.move(3, 1, 7);
            forEach(pool, (cache, index, slot, pos) -> {
                float expected = slot == 1 && pos < 7 ? 300 + pos : slot * 100 + pos;
                assertEquals(expected, get(cache, index), "slot " + slot + " position " + pos);
            });
            assertEquals(7 * SlotPool.bytesPerSlot(llm, 1), pool.cacheBytes());
            assertEquals(0, pool.ioBytes());
        }
        assertEquals(0, DeviceSlotPool.openValues());
    }

    @Test
    void closingGivesTheCacheBackToTheSessionsAllocator() throws Exception {
        long before = inUse();
        for (int round = 0; round < 5; round++) {
            try (DeviceSlotPool pool = pool()) {
                step(pool, false, 0, new int[] {0, 0}, new int[] {5, 5});
                step(pool, true, 0, new int[] {5, 5}, new int[] {1, 1});
                assertTrue(inUse() - before >= pool.cacheSize(), "the cache is the allocator's: " + session.allocatorStats());
            }
            assertEquals(before, inUse(), "round " + round + ": " + session.allocatorStats());
            assertEquals(0, DeviceSlotPool.openValues());
        }
    }

    private static long inUse() throws OrtException {
        Map<String, String> stats = session.allocatorStats();
        assertTrue(stats.containsKey("InUse"), "the CPU arena keeps statistics: " + stats);
        return Long.parseLong(stats.get("InUse"));
    }

    @Test
    void refusesAStepOutsideThePoolAndAPositionBeyondTheCapacity() throws Exception {
        try (DeviceSlotPool pool = pool()) {
            pool.seqlen(0, CAPACITY - 1);
            assertThrows(IllegalStateException.class, () -> pool.seqlen(0, CAPACITY));
            assertThrows(IllegalArgumentException.class, () -> pool.step(false, 3, 2, 1));
            assertThrows(IllegalArgumentException.class, () -> pool.step(false, 0, 2, 9)); // 18 positions > 16
        }
        assertEquals(0, DeviceSlotPool.openValues());
    }

    @Test
    void aRuntimeWithoutTheCApiVersionIsRefusedClearly() {
        OrtException e = assertThrows(OrtException.class, () -> OrtNative.load(10_000));
        assertTrue(e.getMessage().contains("does not offer C API version 10000"), e.getMessage());
        assertTrue(e.getMessage().contains("engine.kv-binding=java"), e.getMessage());
        for (String old : new String[] {"1.22.1", "0.5.0", "2.0.0", "garbage"}) {
            OrtException v = assertThrows(OrtException.class, () -> OrtNative.checkVersion(old));
            assertTrue(v.getMessage().contains(old) && v.getMessage().contains("1." + OrtNative.API_VERSION), v.getMessage());
        }
    }

    @Test
    void theCudaProviderIsAskedForAndItsAbsenceNamed() throws Exception {
        // no CUDA here: the CPU build refuses at CreateCUDAProviderOptions (slot 205), a -Pcuda build at
        // UpdateCUDAProviderOptions (206), which loads the CUDA provider; either way by name
        OrtNative api = OrtNative.get();
        var env = api.createEnv();
        try {
            OrtException e = assertThrows(OrtException.class, () -> api.createSession(env, graph.modelFile().toString(), 1, true, 0,
                    1L << 30));
            assertTrue(e.getMessage().contains("CreateCUDAProviderOptions: CUDA execution provider is not enabled in this build")
                    || e.getMessage().contains("UpdateCUDAProviderOptions:") && e.getMessage().contains("providers_cuda"), e.getMessage());
        } finally {
            api.releaseEnv(env);
        }
    }

    @Test
    void bindsTheRuntimeTheJavaApiLoaded() throws Exception {
        String version = OrtNative.get().version();
        assertEquals(ai.onnxruntime.OrtEnvironment.getEnvironment().getVersion(), version);
        OrtNative.checkVersion(version);
    }
}
