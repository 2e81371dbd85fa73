package io.cosyvoice.engine;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Owns every tensor and result made inside one try-with-resources block and closes them all at
 * its end: native memory is released by the time a graph call returns, whatever path it takes.
 * Every value is also shown to an observer, which is how tests check that nothing stays open.
 */
final class TensorScope implements AutoCloseable {

    static final Consumer<OnnxValue> NO_OBSERVER = v -> { };

    private final OrtEnvironment env;
    private final Consumer<OnnxValue> observer;
    private final Deque<AutoCloseable> owned = new ArrayDeque<>();

    TensorScope(OrtEnvironment env, Consumer<OnnxValue> observer) {
        this.env = env;
        this.observer = observer;
    }

    OnnxTensor floats(float[] data, long... shape) throws OrtException {
        return floats(FloatBuffer.wrap(data), shape);
    }

    /** A direct buffer in native order is used in place; a heap buffer is copied once. */
    OnnxTensor floats(FloatBuffer data, long... shape) throws OrtException {
        return own(OnnxTensor.createTensor(env, data, shape));
    }

    OnnxTensor longs(long[] data, long... shape) throws OrtException {
        return own(OnnxTensor.createTensor(env, LongBuffer.wrap(data), shape));
    }

    OrtSession.Result run(OrtSession session, Map<String, OnnxTensor> inputs) throws OrtException {
        OrtSession.Result result = session.run(inputs);
        owned.push(result);
        for (var output : result) {
            observer.accept(output.getValue());
        }
        return result;
    }

    private OnnxTensor own(OnnxTensor tensor) {
        owned.push(tensor);
        observer.accept(tensor);
        return tensor;
    }

    /** An output of a result, by name, copied onto the heap. */
    static float[] floatsOf(OrtSession.Result result, String name) {
        FloatBuffer buffer = output(result, name).getFloatBuffer();
        float[] out = new float[buffer.remaining()];
        buffer.get(out);
        return out;
    }

    static long[] shapeOf(OrtSession.Result result, String name) {
        return output(result, name).getInfo().getShape();
    }

    private static OnnxTensor output(OrtSession.Result result, String name) {
        return (OnnxTensor) result.get(name).orElseThrow(() -> new IllegalStateException("no output " + name));
    }

    @Override
    public void close() {
        while (!owned.isEmpty()) {
            try {
                owned.pop().close();
            } catch (Exception ignored) {
                // OnnxTensor and Result close without checked failures; nothing to recover
            }
        }
    }
}
