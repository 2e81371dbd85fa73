package io.cosyvoice.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelDirectoryTest {

    static final Path TINY = Path.of("models/random/tiny");

    @TempDir Path dir;

    private Path copyOfTiny() throws IOException {
        Path copy = dir.resolve("tiny");
        Files.createDirectories(copy);
        try (Stream<Path> files = Files.list(TINY)) {
            for (Path f : files.toList()) {
                Files.copy(f, copy.resolve(f.getFileName()));
            }
        }
        return copy;
    }

    @Test
    void opensTheCommittedTinyTwinWithAllGraphsChecked() throws Exception {
        ModelDirectory model = ModelDirectory.open(TINY, true);
        assertTrue(model.config().model().randomWeights());
        assertEquals(6561, model.config().llm().speechTokenSize());
        assertTrue(model.describe().startsWith("random-tiny "), model.describe());
        try (OnnxGraphs graphs = OnnxGraphs.open(model, new EngineOptions(1, "cpu", 0, 0, false))) {
            int layers = model.config().llm().numLayers();
            assertEquals(5 + 2 * layers, graphs.session("llm.onnx").getInputNames().size());
            assertEquals(1 + 2 * layers, graphs.session("llm.onnx").getOutputNames().size());
        }
    }

    @Test
    void namesAMissingOrTruncatedFile() throws Exception {
        Path copy = copyOfTiny();
        Files.write(copy.resolve("hift.onnx"), new byte[] {1}, StandardOpenOption.APPEND);
        ModelException grown = assertThrows(ModelException.class, () -> ModelDirectory.open(copy, false));
        assertTrue(grown.getMessage().contains("hift.onnx") && grown.getMessage().contains("bytes"), grown.getMessage());
        Files.delete(copy.resolve("campplus.onnx"));
        ModelException missing = assertThrows(ModelException.class, () -> ModelDirectory.open(copy, false));
        assertTrue(missing.getMessage().contains("campplus.onnx"), missing.getMessage());
    }

    @Test
    void refusesAnotherContractAndAChangedFile() throws Exception {
        Path copy = copyOfTiny();
        byte[] noise = Files.readAllBytes(copy.resolve("flow_noise.npy"));
        noise[noise.length - 1] ^= 1;
        Files.write(copy.resolve("flow_noise.npy"), noise);
        ModelException hash = assertThrows(ModelException.class, () -> ModelDirectory.open(copy, true));
        assertTrue(hash.getMessage().contains("flow_noise.npy: SHA-256"), hash.getMessage());
        Path json = copy.resolve("model.json");
        Files.writeString(json, Files.readString(json).replace("cosyvoice2-onnx/1", "cosyvoice2-onnx/9"));
        ModelException contract = assertThrows(ModelException.class, () -> ModelDirectory.open(copy, false));
        assertTrue(contract.getMessage().contains("cosyvoice2-onnx/9"), contract.getMessage());
    }

    @Test
    void refusesAGraphWithOtherNames() throws Exception {
        Path copy = copyOfTiny();
        // campplus's graph in the place of hift's: same directory listing, wrong inputs
        Files.copy(copy.resolve("campplus.onnx"), copy.resolve("hift.onnx"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Path json = copy.resolve("model.json");
        long size = Files.size(copy.resolve("hift.onnx"));
        Files.writeString(json, Files.readString(json).replaceAll(
                "(\"hift.onnx\": \\{\\s*\"sha256\": \"[0-9a-f]+\",\\s*\"bytes\": )\\d+", "$1" + size));
        ModelDirectory model = ModelDirectory.open(copy, false);
        ModelException e = assertThrows(ModelException.class, () -> OnnxGraphs.open(model, EngineOptions.DEFAULTS));
        assertTrue(e.getMessage().contains("hift.onnx: inputs are [fbank]"), e.getMessage());
    }

    @Test
    void opensTheQuantisedTinyTwinAndRefusesBitsThisServerCannotRun() throws Exception {
        Path int4 = Path.of("models/random/tiny-int4");
        ModelDirectory model = ModelDirectory.open(int4, true);
        assertEquals(4, model.config().llm().quantization().bits());
        assertEquals("int4", model.config().llm().weights());
        assertTrue(model.describe().startsWith("random-tiny llm-int4 "), model.describe());
        assertEquals("fp32", ModelDirectory.open(TINY, false).config().llm().weights());
        try (OnnxGraphs graphs = OnnxGraphs.open(model, new EngineOptions(1, "cpu", 0, 0, false))) {
            assertEquals(1 + 2 * model.config().llm().numLayers(), graphs.session("llm.onnx").getOutputNames().size());
        }
        Path copy = dir.resolve("tiny-int3");
        Files.createDirectories(copy);
        try (Stream<Path> files = Files.list(int4)) {
            for (Path f : files.toList()) {
                Files.copy(f, copy.resolve(f.getFileName()));
            }
        }
        Path json = copy.resolve("model.json");
        Files.writeString(json, Files.readString(json).replace("\"bits\": 4", "\"bits\": 3"));
        ModelException e = assertThrows(ModelException.class, () -> ModelDirectory.open(copy, false));
        assertTrue(e.getMessage().contains("llm.quantization has bits 3"), e.getMessage());
    }

    @Test
    void cudaWithoutTheGpuRuntimeIsAClearError() throws Exception {
        ModelDirectory model = ModelDirectory.open(TINY, false);
        ModelException e = assertThrows(ModelException.class,
                () -> OnnxGraphs.open(model, new EngineOptions(1, "cuda", 0, 0, false)));
        assertTrue(e.getMessage().contains("device=cuda") && e.getMessage().contains("-Pcuda"), e.getMessage());
    }
}
