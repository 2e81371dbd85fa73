package io.cosyvoice.engine;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A little-endian float32 NumPy array (format 1.0/2.0, C order), memory-mapped: the model's
 * embedding tables and flow noise are read where they lie, never copied onto the heap.
 */
public final class NpyFile {

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    private final Path path;
    private final long[] shape;
    private final FloatBuffer data;

    private NpyFile(Path path, long[] shape, FloatBuffer data) {
        this.path = path;
        this.shape = shape;
        this.data = data;
    }

    /** Maps a float32 array; a file of any other kind fails with a message naming it. */
    public static NpyFile map(Path path) throws IOException {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = channel.size();
            MappedByteBuffer bytes = channel.map(FileChannel.MapMode.READ_ONLY, 0, size);
            bytes.order(ByteOrder.LITTLE_ENDIAN);
            for (byte b : MAGIC) {
                if (bytes.remaining() == 0 || bytes.get() != b) {
                    throw new IOException(path + ": not a .npy file");
                }
            }
            int major = bytes.get() & 0xff;
            bytes.get(); // minor
            long headerLength = major == 1 ? bytes.getShort() & 0xffff : bytes.getInt() & 0xffffffffL;
            if (major < 1 || major > 3 || headerLength > bytes.remaining()) {
                throw new IOException(path + ": unsupported .npy version " + major);
            }
            byte[] headerBytes = new byte[(int) headerLength];
            bytes.get(headerBytes);
            String header = new String(headerBytes, StandardCharsets.ISO_8859_1);
            String descr = group(DESCR, header, path, "descr");
            if (!descr.equals("<f4")) {
                throw new IOException(path + ": dtype " + descr + ", expected little-endian float32 (<f4)");
            }
            if (group(FORTRAN, header, path, "fortran_order").equals("True")) {
                throw new IOException(path + ": Fortran order is not supported");
            }
            long[] shape = Arrays.stream(group(SHAPE, header, path, "shape").split(","))
                    .map(String::trim).filter(s -> !s.isEmpty()).mapToLong(Long::parseLong).toArray();
            long elements = Arrays.stream(shape).reduce(1, Math::multiplyExact);
            if (elements * Float.BYTES != bytes.remaining()) {
                throw new IOException(path + ": shape " + Arrays.toString(shape) + " needs " + elements * Float.BYTES
                        + " bytes of data, the file has " + bytes.remaining());
            }
            FloatBuffer data = bytes.slice().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
            return new NpyFile(path, shape, data);
        }
    }

    private static String group(Pattern pattern, String header, Path path, String field) throws IOException {
        Matcher m = pattern.matcher(header);
        if (!m.find()) {
            throw new IOException(path + ": .npy header has no " + field);
        }
        return m.group(1);
    }

    public Path path() {
        return path;
    }

    public long[] shape() {
        return shape.clone();
    }

    /** A read-only view of the whole array in C order. */
    public FloatBuffer data() {
        return data.duplicate();
    }

    /** Row {@code index} of a 2-D array copied into {@code out} at {@code offset}. */
    public void copyRow(long index, float[] out, int offset) {
        if (shape.length != 2 || index < 0 || index >= shape[0]) {
            throw new IndexOutOfBoundsException("row " + index + " of " + path.getFileName() + Arrays.toString(shape));
        }
        int width = (int) shape[1];
        data.get(Math.toIntExact(index * width), out, offset, width);
    }

    /** Row {@code index} of a 2-D array copied into {@code out} from float index {@code offset} (e.g. a native buffer). */
    public void copyRow(long index, FloatBuffer out, int offset) {
        if (shape.length != 2 || index < 0 || index >= shape[0]) {
            throw new IndexOutOfBoundsException("row " + index + " of " + path.getFileName() + Arrays.toString(shape));
        }
        int width = (int) shape[1];
        out.put(offset, data, Math.toIntExact(index * width), width);
    }

    /** The whole array as a new heap array (for small ones: test fixtures, a prompt mel). */
    public float[] toArray() {
        float[] out = new float[data.capacity()];
        data.get(0, out);
        return out;
    }
}
