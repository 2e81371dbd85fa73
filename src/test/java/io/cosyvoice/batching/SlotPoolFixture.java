package io.cosyvoice.batching;

import io.cosyvoice.engine.LlmGraph;
import io.cosyvoice.engine.ModelConfig;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** What the two slot-pool tests share: walking every cached value, and writing one step's inputs. */
final class SlotPoolFixture {

    private SlotPoolFixture() {
    }

    interface Visit {
        void at(MemorySegment cache, long index, int slot, int position);
    }

    /** Every K and V value of every layer, slot, head and position of a host-readable pool. */
    static void forEach(SlotPool pool, ModelConfig.Llm llm, int slots, int capacity, Visit visit) {
        int d = llm.headDim();
        for (int layer = 0; layer < llm.numLayers(); layer++) {
            for (MemorySegment cache : new MemorySegment[] {pool.keys(layer), pool.values(layer)}) {
                for (int slot = 0; slot < slots; slot++) {
                    for (int h = 0; h < llm.numKvHeads(); h++) {
                        for (int pos = 0; pos < capacity; pos++) {
                            for (int i = 0; i < d; i++) {
                                long index = (((long) slot * llm.numKvHeads() + h) * capacity + pos) * d + i;
                                visit.at(cache, index, slot, pos);
                            }
                        }
                    }
                }
            }
        }
    }

    static float get(MemorySegment cache, long index) {
        return cache.getAtIndex(ValueLayout.JAVA_FLOAT, index);
    }

    /**
     * Writes the inputs of one step over {@code past.length} rows: row r has {@code past[r]} positions
     * and adds {@code n[r]} (speech embeddings of made-up tokens); returns the step's width.
     */
    static int writeInputs(LlmGraph graph, SlotPool pool, int[] past, int[] n) {
        ModelConfig.Llm llm = graph.config();
        int width = 0;
        for (int x : n) {
            width = Math.max(width, x);
        }
        int total = 0;
        for (int r = 0; r < past.length; r++) {
            for (int i = 0; i < width; i++) {
                graph.speechEmbedding(100 + r * 7 + i, pool.embeds(), (r * width + i) * llm.hiddenSize());
                pool.position(r * width + i, past[r] + i);
            }
            pool.seqlen(r, past[r] + n[r] - 1);
            pool.lastIndex(r, n[r] - 1);
            total = Math.max(total, past[r] + n[r]);
        }
        pool.total(total);
        return width;
    }
}
