package io.cosyvoice.batching;

import static io.cosyvoice.batching.SlotPoolFixture.get;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.cosyvoice.engine.LlmGraph;
import io.cosyvoice.engine.ModelConfig;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The pool's cache is bound in place: a step writes its rows' new positions and nothing else. */
class KvSlotPoolTest {

    private static final float SENTINEL = 1234.5f;
    private static final int SLOTS = 4;
    private static final int CAPACITY = 24;

    private static TinyLlm tiny;
    private static LlmGraph graph;
    private static ModelConfig.Llm llm;

    @BeforeAll
    static void open() throws Exception {
        tiny = TinyLlm.open();
        graph = tiny.graph();
        llm = graph.config();
    }

    @AfterAll
    static void close() {
        tiny.close();
    }

    private static KvSlotPool pool() {
        return new KvSlotPool(graph.environment(), llm, graph.scalarTotalLength(), SLOTS, CAPACITY, 16);
    }

    private static void forEach(KvSlotPool pool, SlotPoolFixture.Visit visit) {
        SlotPoolFixture.forEach(pool, llm, SLOTS, CAPACITY, visit);
    }

    /** Feeds {@code rows} sequences at slots [first, first + rows): row r has {@code past[r]} positions and adds {@code n[r]}. */
    private static void step(KvSlotPool pool, boolean decode, int first, int[] past, int[] n) throws Exception {
        int width = SlotPoolFixture.writeInputs(graph, pool, past, n);
        StepRunner runner = StepRunner.of(graph.session());
        if (decode) {
            KvSlotPool.Binding b = pool.decode(past.length);
            runner.run(true, past.length, b.inputs(), b.outputs());
        } else {
            KvSlotPool.Binding b = pool.prefill(first, past.length, width);
            try {
                runner.run(false, past.length, b.inputs(), b.outputs());
            } finally {
                pool.release(b);
            }
        }
    }

    @Test
    void stepsWriteTheirRowsNewPositionsInPlaceAndNothingElse() throws Exception {
        try (KvSlotPool pool = pool()) {
            forEach(pool, (cache, index, slot, pos) -> cache.setAtIndex(ValueLayout.JAVA_FLOAT, index, SENTINEL));
            // a fresh prefill of two sequences (5 and 5 positions) in slots 0 and 1
            step(pool, false, 0, new int[] {0, 0}, new int[] {5, 5});
            forEach(pool, (cache, index, slot, pos) -> {
                if (slot < 2 && pos < 5) {
                    assertNotEquals(SENTINEL, get(cache, index), "slot " + slot + " position " + pos + " not written");
                } else {
                    assertEquals(SENTINEL, get(cache, index), "slot " + slot + " position " + pos + " overwritten");
                }
            });
            // a chunk on slot 1's past (B = 1, bound alone): positions 5, 6, 7 of slot 1 only
            step(pool, false, 1, new int[] {5}, new int[] {3});
            // a decode step of slots 0 and 1 at their own lengths 5 and 8
            float[] before = new float[(int) (pool.keys(0).byteSize() / 4)];
            MemorySegment.ofArray(before).copyFrom(pool.keys(0));
            step(pool, true, 0, new int[] {5, 8}, new int[] {1, 1});
            forEach(pool, (cache, index, slot, pos) -> {
                boolean written = slot == 0 && pos <= 5 || slot == 1 && pos <= 8;
                if (written) {
                    assertNotEquals(SENTINEL, get(cache, index), "slot " + slot + " position " + pos + " not written");
                } else {
                    assertEquals(SENTINEL, get(cache, index), "slot " + slot + " position " + pos + " overwritten");
                }
            });
            // the past is bit for bit what it was: nothing copied it anywhere and back
            forEach(pool, (cache, index, slot, pos) -> {
                boolean old = slot == 0 && pos < 5 || slot == 1 && pos < 8;
                if (cache == pool.keys(0) && old) {
                    assertEquals(Float.floatToRawIntBits(before[(int) index]), Float.floatToRawIntBits(get(cache, index)));
                }
            });
            assertEquals(0, pool.cacheBytes(), "no step moves cache");
        }
        assertEquals(0, KvSlotPool.openTensors());
    }

    @Test
    void aMoveCopiesOneSequencesPositionsAndCountsThem() {
        try (KvSlotPool pool = pool()) {
            forEach(pool, (cache, index, slot, pos) -> cache.setAtIndex(ValueLayout.JAVA_FLOAT, index, slot * 100 + pos));
            pool.move(3, 1, 7);
            forEach(pool, (cache, index, slot, pos) -> {
                float expected = slot == 1 && pos < 7 ? 300 + pos : slot * 100 + pos;
                assertEquals(expected, get(cache, index), "slot " + slot + " position " + pos);
            });
            assertEquals(7 * KvSlotPool.bytesPerSlot(llm, 1), pool.cacheBytes());
            assertEquals(0, pool.ioBytes());
        }
    }

    @Test
    void refusesAPositionBeyondTheCapacity() {
        try (KvSlotPool pool = pool()) {
            pool.seqlen(0, CAPACITY - 1);
            assertThrows(IllegalStateException.class, () -> pool.seqlen(0, CAPACITY));
            assertThrows(IllegalArgumentException.class, () -> pool.prefill(3, 2, 1));
            assertThrows(IllegalArgumentException.class, () -> pool.prefill(0, 2, 9)); // 18 positions > 16
        }
        assertEquals(0, KvSlotPool.openTensors());
    }
}
