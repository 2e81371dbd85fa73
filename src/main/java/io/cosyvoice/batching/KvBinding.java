package io.cosyvoice.batching;

/**
 * How the batcher binds its KV cache to the LLM graph ({@code engine.kv-binding}).
 */
public enum KvBinding {
    /**
     * Host memory bound through ONNX Runtime's Java API (pinned outputs over direct buffers): in
     * place on the CPU; on a GPU ONNX Runtime copies the whole bound cache to the device and back
     * every step.
     */
    JAVA,
    /**
     * The session's device memory bound with IoBinding through ONNX Runtime's C API (Java's
     * foreign-function API): in place on the device, on the CPU and on a GPU alike; only the step's
     * inputs and logits cross between host and device.
     */
    IOBINDING;

    /** {@code auto} (IoBinding on a GPU, the Java binding on the CPU), {@code java} or {@code iobinding}. */
    public static KvBinding resolve(String configured, boolean cuda) {
        return switch (configured) {
            case "auto" -> cuda ? IOBINDING : JAVA;
            case "java" -> JAVA;
            case "iobinding" -> IOBINDING;
            default -> throw new IllegalArgumentException("kv-binding must be auto, java or iobinding, not " + configured);
        };
    }
}
