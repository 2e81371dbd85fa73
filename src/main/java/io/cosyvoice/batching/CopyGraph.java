package io.cosyvoice.batching;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A tiny ONNX model, made in memory, whose only work is {@code count} {@code Identity} nodes:
 * {@code x_i → y_i}, float tensors of any length. Run on the LLM's execution provider with inputs
 * and outputs bound to device memory, it is a device-to-device copy (a {@code cudaMemcpyAsync} on
 * CUDA, a {@code memcpy} on the CPU) of many regions in one call: how {@link DeviceSlotPool} moves a
 * sequence's cache between slots without it touching the host. (ONNX Runtime 1.29's C API has
 * {@code CopyTensors}, but it only copies between devices whose data transfer is registered with
 * the environment by a plugin execution-provider library: the CPU and the CUDA EP appended to a
 * session's options have none, and it answers {@code ORT_NOT_IMPLEMENTED}.)
 *
 * <p>The protobuf is written by hand (a handful of fields of {@code onnx.proto}), which spares a
 * dependency for 30 lines.
 */
final class CopyGraph {

    private CopyGraph() {
    }

    static String input(int i) {
        return "x" + i;
    }

    static String output(int i) {
        return "y" + i;
    }

    /** The serialised {@code ModelProto} (IR version 8, opset 13). */
    static byte[] model(int count) {
        Proto graph = new Proto();
        for (int i = 0; i < count; i++) {
            graph.message(1, new Proto().string(1, input(i)).string(2, output(i)).string(3, "copy" + i).string(4, "Identity"));
        }
        graph.string(2, "device_copy");
        for (int i = 0; i < count; i++) {
            graph.message(11, floatVector(input(i), "n" + i));
        }
        for (int i = 0; i < count; i++) {
            graph.message(12, floatVector(output(i), "n" + i));
        }
        return new Proto()
                .varint(1, 8)                                          // ir_version
                .message(8, new Proto().string(1, "").varint(2, 13))  // opset_import: ai.onnx 13
                .message(7, graph)
                .bytes();
    }

    /** {@code ValueInfoProto}: a float tensor of one dimension named {@code dim}. */
    private static Proto floatVector(String name, String dim) {
        Proto shape = new Proto().message(1, new Proto().string(2, dim));       // dim { dim_param }
        Proto tensor = new Proto().varint(1, 1).message(2, shape);               // elem_type FLOAT, shape
        return new Proto().string(1, name).message(2, new Proto().message(1, tensor)); // name, type { tensor_type }
    }

    /** Protobuf wire format: varint (type 0) and length-delimited (type 2) fields. */
    private static final class Proto {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Proto varint(int field, long value) {
            raw((long) field << 3);
            raw(value);
            return this;
        }

        Proto string(int field, String value) {
            return delimited(field, value.getBytes(StandardCharsets.UTF_8));
        }

        Proto message(int field, Proto value) {
            return delimited(field, value.bytes());
        }

        private Proto delimited(int field, byte[] value) {
            raw((long) field << 3 | 2);
            raw(value.length);
            out.writeBytes(value);
            return this;
        }

        private void raw(long value) {
            while ((value & ~0x7FL) != 0) {
                out.write((int) (value & 0x7F) | 0x80);
                value >>>= 7;
            }
            out.write((int) value);
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }
}
