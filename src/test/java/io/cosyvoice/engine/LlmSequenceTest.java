package io.cosyvoice.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.TensorInfo;
import java.nio.FloatBuffer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The KV cache is bound in place: ONNX Runtime writes the new positions into it and nothing else. */
class LlmSequenceTest {

    private static final float SENTINEL = 1234.5f;

    private static ModelDirectory model;
    private static OnnxGraphs graphs;
    private static ModelConfig.Llm llm;
    private static NpyFile speechEmbedding;
    private static boolean scalarTotal;

    @BeforeAll
    static void open() throws Exception {
        model = ModelDirectory.open(Goldens.TINY, false);
        graphs = OnnxGraphs.open(model, new EngineOptions(1, "cpu", 0, 0, false));
        llm = model.config().llm();
        speechEmbedding = NpyFile.map(model.file("llm_speech_embedding.npy"));
        scalarTotal = ((TensorInfo) graphs.session("llm.onnx").getInputInfo().get("total_sequence_length").getInfo())
                .getShape().length == 0;
    }

    @AfterAll
    static void close() {
        graphs.close();
    }

    private static LlmSequence sequence(int capacity) throws Exception {
        return new LlmSequence(graphs.environment(), graphs.session("llm.onnx"), llm, capacity, scalarTotal);
    }

    private static float[] embeddings(int firstRow, int rows) {
        float[] out = new float[rows * llm.hiddenSize()];
        for (int i = 0; i < rows; i++) {
            speechEmbedding.copyRow(firstRow + i, out, i * llm.hiddenSize());
        }
        return out;
    }

    private interface PositionCheck {
        void check(String where, int position, float value);
    }

    /** Visits every value of every layer's keys and values at positions {@code [from, to)}. */
    private static void forEach(LlmSequence seq, int from, int to, PositionCheck check) {
        int c = seq.capacity();
        int d = llm.headDim();
        for (int layer = 0; layer < llm.numLayers(); layer++) {
            for (FloatBuffer cache : new FloatBuffer[] {seq.keys(layer), seq.values(layer)}) {
                for (int h = 0; h < llm.numKvHeads(); h++) {
                    for (int pos = from; pos < to; pos++) {
                        for (int i = 0; i < d; i++) {
                            check.check("layer " + layer + " head " + h, pos, cache.get((h * c + pos) * d + i));
                        }
                    }
                }
            }
        }
    }

    private static void fill(LlmSequence seq, int from, int to, float value) {
        int c = seq.capacity();
        int d = llm.headDim();
        for (int layer = 0; layer < llm.numLayers(); layer++) {
            for (FloatBuffer cache : new FloatBuffer[] {seq.keys(layer), seq.values(layer)}) {
                for (int h = 0; h < llm.numKvHeads(); h++) {
                    for (int pos = from; pos < to; pos++) {
                        for (int i = 0; i < d; i++) {
                            cache.put((h * c + pos) * d + i, value);
                        }
                    }
                }
            }
        }
    }

    private static float[] snapshot(LlmSequence seq) {
        int size = llm.numKvHeads() * seq.capacity() * llm.headDim();
        float[] all = new float[2 * llm.numLayers() * size];
        for (int layer = 0; layer < llm.numLayers(); layer++) {
            seq.keys(layer).get(0, all, 2 * layer * size, size);
            seq.values(layer).get(0, all, (2 * layer + 1) * size, size);
        }
        return all;
    }

    @Test
    void stepsWriteOnlyTheirPositionsIntoTheBoundCache() throws Exception {
        int prefix = 12;
        int capacity = prefix + 8;
        int vocab = llm.speechVocab();
        try (LlmSequence seq = sequence(capacity); LlmSequence clean = sequence(capacity)) {
            // Without in-place binding ONNX Runtime returns a fresh present that is zero beyond the last
            // written position; a sentinel there survives only if the step wrote into this very memory.
            fill(seq, 0, capacity, SENTINEL);
            float[] logits = new float[vocab];
            float[] cleanLogits = new float[vocab];
            seq.append(embeddings(0, prefix), prefix, logits);
            clean.append(embeddings(0, prefix), prefix, cleanLogits);
            assertEquals(prefix, seq.length());
            forEach(seq, 0, prefix, (where, pos, v) -> assertNotEquals(SENTINEL, v, where + " position " + pos + " not written"));
            forEach(seq, prefix, capacity, (where, pos, v) -> assertEquals(SENTINEL, v, where + " position " + pos + " overwritten"));
            assertArrayEquals(cleanLogits, logits, "the positions beyond the sequence are never read");

            for (int step = 0; step < 3; step++) {
                int at = seq.length();
                float[] before = snapshot(seq);
                seq.append(embeddings(100 + step, 1), 1, logits);
                clean.append(embeddings(100 + step, 1), 1, cleanLogits);
                assertArrayEquals(cleanLogits, logits);
                forEach(seq, at, at + 1, (where, pos, v) -> assertNotEquals(SENTINEL, v, where + " new position not written"));
                forEach(seq, at + 1, capacity, (where, pos, v) -> assertEquals(SENTINEL, v, where + " position " + pos + " overwritten"));
                // the past stays bit for bit: nothing copied it anywhere and back
                float[] after = snapshot(seq);
                int size = llm.numKvHeads() * capacity * llm.headDim();
                for (int block = 0; block < 2 * llm.numLayers(); block++) {
                    for (int h = 0; h < llm.numKvHeads(); h++) {
                        for (int i = 0; i < at * llm.headDim(); i++) {
                            int index = block * size + h * capacity * llm.headDim() + i;
                            assertEquals(Float.floatToRawIntBits(before[index]), Float.floatToRawIntBits(after[index]));
                        }
                    }
                }
            }
        }
    }

    @Test
    void refusesToStepBeyondItsCapacity() throws Exception {
        try (LlmSequence seq = sequence(4)) {
            float[] logits = new float[llm.speechVocab()];
            seq.append(embeddings(0, 3), 3, logits);
            seq.append(embeddings(3, 1), 1, logits);
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> seq.append(embeddings(4, 1), 1, logits));
            assertTrue(e.getMessage().contains("KV cache full"), e.getMessage());
            assertEquals(4, seq.length());
        }
        assertThrows(IllegalArgumentException.class, () -> sequence(llm.maxPosition() + 1));
    }

    @Test
    void closingReleasesEveryTensorOnce() throws Exception {
        int before = LlmSequence.openTensors();
        LlmSequence seq = sequence(16);
        assertEquals(before + 2 * llm.numLayers() + 6, LlmSequence.openTensors());
        seq.append(embeddings(0, 5), 5, new float[llm.speechVocab()]);
        assertEquals(before + 2 * llm.numLayers() + 6, LlmSequence.openTensors(), "the prefill's tensors are closed");
        seq.close();
        seq.close();
        assertEquals(before, LlmSequence.openTensors());
        assertThrows(IllegalStateException.class, () -> seq.append(embeddings(0, 1), 1, new float[llm.speechVocab()]));
    }
}
