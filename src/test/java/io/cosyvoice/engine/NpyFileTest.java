package io.cosyvoice.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpyFileTest {

    @TempDir Path dir;

    private Path write(String descr, String shape, float... values) throws IOException {
        String header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + shape + "), }";
        int pad = 16 - (10 + header.length() + 1) % 16;
        header = header + " ".repeat(pad % 16) + "\n";
        ByteBuffer buf = ByteBuffer.allocate(10 + header.length() + values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        buf.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0});
        buf.putShort((short) header.length());
        buf.put(header.getBytes(StandardCharsets.ISO_8859_1));
        for (float v : values) {
            buf.putFloat(v);
        }
        Path file = dir.resolve("a.npy");
        Files.write(file, buf.array());
        return file;
    }

    @Test
    void readsShapeAndRows() throws IOException {
        NpyFile npy = NpyFile.map(write("<f4", "2, 3", 1, 2, 3, 4, 5, 6));
        assertArrayEquals(new long[] {2, 3}, npy.shape());
        float[] row = new float[5];
        npy.copyRow(1, row, 2);
        assertArrayEquals(new float[] {0, 0, 4, 5, 6}, row);
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, npy.toArray());
        assertThrows(IndexOutOfBoundsException.class, () -> npy.copyRow(2, row, 0));
    }

    @Test
    void refusesOtherDtypesAndShortFiles() throws IOException {
        IOException dtype = assertThrows(IOException.class, () -> NpyFile.map(write("<f8", "1,", 0f, 0f)));
        assertTrue(dtype.getMessage().contains("<f8"), dtype.getMessage());
        IOException size = assertThrows(IOException.class, () -> NpyFile.map(write("<f4", "4,", 1, 2)));
        assertTrue(size.getMessage().contains("needs 16 bytes"), size.getMessage());
    }

    @Test
    void mapsTheCommittedTinyTwinsTables() throws IOException {
        NpyFile noise = NpyFile.map(Path.of("models/random/tiny/flow_noise.npy"));
        assertEquals(80, noise.shape()[0]);
        assertEquals(3000, noise.shape()[1]);
        NpyFile speech = NpyFile.map(Path.of("models/random/tiny/llm_speech_embedding.npy"));
        assertEquals(6564, speech.shape()[0]);
    }
}
