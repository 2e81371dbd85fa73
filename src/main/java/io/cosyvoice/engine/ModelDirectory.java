package io.cosyvoice.engine;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * A model directory checked against the contract (models/README.md): {@code model.json} parsed,
 * every listed file present with its size (and, when asked, its SHA-256), the arrays' shapes
 * consistent with the configuration. Graph inputs and outputs are checked when sessions open
 * ({@link OnnxGraphs}).
 */
public final class ModelDirectory {

    public static final String CONTRACT = "cosyvoice2-onnx/1";
    public static final String MODEL_JSON = "model.json";

    static final List<String> GRAPHS = List.of("speech_tokenizer.onnx", "campplus.onnx", "llm.onnx",
            "flow_encoder.onnx", "flow_estimator.onnx", "hift.onnx");
    static final List<String> ARRAYS = List.of("llm_text_embedding.npy", "llm_speech_embedding.npy",
            "llm_special_embedding.npy", "flow_noise.npy");

    /** What ONNX Runtime 1.29's CPU MatMulNBits kernel runs (models/README.md, "Quantised LLM"). */
    static final List<Integer> QUANTIZATION_BITS = List.of(4, 8);
    static final List<Integer> QUANTIZATION_BLOCK_SIZES = List.of(16, 32, 64, 128, 256);

    private final Path path;
    private final ModelConfig config;

    private ModelDirectory(Path path, ModelConfig config) {
        this.path = path;
        this.config = config;
    }

    /**
     * Opens and checks a directory. {@code verifyHashes} reads every byte (seconds for the real
     * model); without it sizes are still compared, which catches truncated copies.
     */
    public static ModelDirectory open(Path dir, boolean verifyHashes) throws ModelException {
        Path path = dir.toAbsolutePath().normalize();
        Path json = path.resolve(MODEL_JSON);
        if (!Files.isRegularFile(json)) {
            throw new ModelException(path + ": not a model directory (no " + MODEL_JSON + ")");
        }
        ModelConfig config;
        try {
            config = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES, true)
                    .readValue(json.toFile(), ModelConfig.class);
        } catch (IOException e) {
            throw new ModelException(json + ": unreadable: " + e.getMessage(), e);
        }
        if (!CONTRACT.equals(config.contract())) {
            throw new ModelException(json + ": contract " + config.contract() + ", this server reads " + CONTRACT);
        }
        for (Object section : new Object[] {config.model(), config.audio(), config.llm(), config.sampling(),
                config.flow(), config.hift(), config.streaming(), config.files(), config.text()}) {
            if (section == null) {
                throw new ModelException(json + ": a section is missing (model, audio, text, llm, sampling, flow, hift, streaming, files)");
            }
        }
        ModelDirectory directory = new ModelDirectory(path, config);
        directory.checkFiles(verifyHashes);
        directory.checkArrays();
        return directory;
    }

    private void checkFiles(boolean verifyHashes) throws ModelException {
        Map<String, ModelConfig.FileEntry> listed = config.files();
        for (String required : Stream.of(List.of("tokenizer.json"), GRAPHS, ARRAYS).flatMap(List::stream).toList()) {
            if (!listed.containsKey(required)) {
                throw new ModelException(path.resolve(MODEL_JSON) + ": files does not list " + required);
            }
        }
        Set<String> present = new TreeSet<>();
        try (Stream<Path> files = Files.list(path)) {
            files.filter(Files::isRegularFile).map(p -> p.getFileName().toString())
                    .filter(name -> !name.equals(MODEL_JSON)).forEach(present::add);
        } catch (IOException e) {
            throw new ModelException(path + ": unreadable: " + e.getMessage(), e);
        }
        for (var entry : listed.entrySet()) {
            Path file = path.resolve(entry.getKey());
            if (!present.contains(entry.getKey())) {
                throw new ModelException(file + ": missing (listed in " + MODEL_JSON + ")");
            }
            try {
                long size = Files.size(file);
                if (size != entry.getValue().bytes()) {
                    throw new ModelException(file + ": " + size + " bytes, " + MODEL_JSON + " says " + entry.getValue().bytes());
                }
                if (verifyHashes && !sha256(file).equals(entry.getValue().sha256())) {
                    throw new ModelException(file + ": SHA-256 differs from " + MODEL_JSON);
                }
            } catch (IOException e) {
                throw new ModelException(file + ": unreadable: " + e.getMessage(), e);
            }
        }
    }

    private void checkArrays() throws ModelException {
        ModelConfig.Llm llm = config.llm();
        expectShape("llm_text_embedding.npy", llm.textVocab(), llm.hiddenSize());
        expectShape("llm_speech_embedding.npy", llm.speechVocab(), llm.hiddenSize());
        expectShape("llm_special_embedding.npy", 2, llm.hiddenSize());
        expectShape("flow_noise.npy", config.flow().melBins(), config.flow().noiseFrames());
        if (llm.eos() != llm.speechTokenSize()
                || !llm.stopTokens().equals(List.of(llm.speechTokenSize(), llm.speechTokenSize() + 1, llm.speechTokenSize() + 2))) {
            throw new ModelException(path.resolve(MODEL_JSON) + ": llm.eos and llm.stop_tokens must be speech_token_size + 0..2");
        }
        ModelConfig.Quantization q = llm.quantization();
        if (q != null && (!QUANTIZATION_BITS.contains(q.bits()) || !QUANTIZATION_BLOCK_SIZES.contains(q.blockSize()))) {
            throw new ModelException(path.resolve(MODEL_JSON) + ": llm.quantization has bits " + q.bits() + " and block_size "
                    + q.blockSize() + "; this server runs bits " + QUANTIZATION_BITS + " with block_size " + QUANTIZATION_BLOCK_SIZES);
        }
    }

    private void expectShape(String name, long rows, long columns) throws ModelException {
        try {
            long[] shape = NpyFile.map(path.resolve(name)).shape();
            if (shape.length != 2 || shape[0] != rows || shape[1] != columns) {
                throw new ModelException(path.resolve(name) + ": shape " + java.util.Arrays.toString(shape)
                        + ", " + MODEL_JSON + " implies [" + rows + ", " + columns + "]");
            }
        } catch (IOException e) {
            throw new ModelException(e.getMessage(), e);
        }
    }

    private static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[1 << 20];
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public Path path() {
        return path;
    }

    public ModelConfig config() {
        return config;
    }

    public Path file(String name) {
        return path.resolve(name);
    }

    /**
     * "random-tiny e4126f10c218d4f9" (or "random-tiny llm-int4 aefae64ad9c65b55" for a quantised
     * LLM): what logs and /health/ready call this model.
     */
    public String describe() {
        String weights = config.llm().quantization() == null ? "" : " llm-" + config.llm().weights();
        return config.model().variant() + weights + " " + config.model().version();
    }
}
