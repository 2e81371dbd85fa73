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
}
