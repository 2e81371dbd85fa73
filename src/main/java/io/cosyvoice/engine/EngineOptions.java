package io.cosyvoice.engine;

/**
 * How the engine runs its graphs.
 *
 * @param intraOpThreads  ONNX Runtime threads per graph call (0: ONNX Runtime's default, one per core)
 * @param device          {@code cpu} or {@code cuda}
 * @param cudaDeviceId    which GPU, with {@code cuda}
 * @param cudaMemoryLimit bytes the CUDA arena may take (0: no limit), with {@code cuda}
 * @param verifyHashes    check every model file's SHA-256 at start-up
 */
public record EngineOptions(int intraOpThreads, String device, int cudaDeviceId, long cudaMemoryLimit,
        boolean verifyHashes) {

    public static final EngineOptions DEFAULTS = new EngineOptions(0, "cpu", 0, 0, false);

    public EngineOptions {
        if (!device.equals("cpu") && !device.equals("cuda")) {
            throw new IllegalArgumentException("device must be cpu or cuda, not " + device);
        }
    }

    public boolean cuda() {
        return device.equals("cuda");
    }

    /**
     * The device for a configured {@code auto}, {@code cpu} or {@code cuda}: {@code auto} follows the
     * build (a {@code -Pcuda} build carries onnxruntime_gpu), so a GPU build never falls back to the
     * CPU silently.
     */
    public static String resolveDevice(String configured) {
        if (!configured.equals("auto")) {
            return configured;
        }
        return onnxRuntimeArtifact().equals("onnxruntime_gpu") ? "cuda" : "cpu";
    }

    /** Which ONNX Runtime this build carries, from the properties Maven wrote at build time. */
    public static String onnxRuntimeArtifact() {
        try (var in = EngineOptions.class.getResourceAsStream("build.properties")) {
            var properties = new java.util.Properties();
            if (in != null) {
                properties.load(in);
            }
            return properties.getProperty("onnxruntime.artifact", "onnxruntime");
        } catch (java.io.IOException e) {
            return "onnxruntime";
        }
    }
}
