package io.cosyvoice.batching;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.util.Map;

/** Runs one graph call with every output pinned; a seam for tests to inject failures. */
@FunctionalInterface
interface StepRunner {

    /**
     * @param decode whether this is a decode call (else a prefill or chunk)
     * @param rows   sequences in the call
     */
    void run(boolean decode, int rows, Map<String, OnnxTensor> inputs, Map<String, OnnxTensor> outputs) throws OrtException;

    static StepRunner of(OrtSession session) {
        return (decode, rows, inputs, outputs) -> {
            // every output is pinned: the result owns nothing, closing it is only bookkeeping
            try (OrtSession.Result ignored = session.run(inputs, outputs)) {
                // outputs are already in place
            }
        };
    }
}
