package io.cosyvoice.batching;

import io.cosyvoice.engine.EngineOptions;
import io.cosyvoice.engine.LlmGraph;
import io.cosyvoice.engine.ModelDirectory;
import io.cosyvoice.engine.OnnxGraphs;

/** The committed tiny twin's LLM graph on the CPU, one ONNX Runtime thread, for tests; close it to free its sessions. */
record TinyLlm(OnnxGraphs graphs, LlmGraph graph) implements AutoCloseable {

    static TinyLlm open() throws Exception {
        ModelDirectory model = ModelDirectory.open(GoldenCases.TINY, false);
        OnnxGraphs graphs = OnnxGraphs.open(model, new EngineOptions(1, "cpu", 0, 0, false));
        return new TinyLlm(graphs, LlmGraph.open(model, graphs));
    }

    @Override
    public void close() {
        graphs.close();
    }
}
