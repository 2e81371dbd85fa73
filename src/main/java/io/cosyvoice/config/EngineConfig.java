package io.cosyvoice.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * The synthesis engine of this process.
 *
 * @param enabled         run the engine here (false: this process only serves the API)
 * @param modelDir        the model directory; empty means the committed tiny twin, {@link #DEFAULT_MODEL_DIR}
 * @param device          {@code auto} (cuda in a {@code -Pcuda} build, else cpu), {@code cpu} or {@code cuda}
 * @param cudaDeviceId    which GPU with {@code cuda}
 * @param cudaMemoryLimit bytes ONNX Runtime's CUDA arena may take, 0 for no limit
 * @param threads         ONNX Runtime threads per graph call, 0 for one per core
 * @param workers         syntheses that run at once (each turns its tokens into audio on its own thread)
 * @param queueSize       jobs that may wait for a worker before new ones get 429
 * @param verifyHashes    check every model file's SHA-256 at start-up
 * @param batching        decode the LLM steps of all running sentences together (continuous batching)
 * @param maxBatchSize    sequences one LLM step may carry (KV slots per replica)
 * @param maxTokensPerStep prefix positions one iteration may prefill, so a long prompt cannot stall decoding
 * @param kvCapacity      KV positions per slot: prefix plus generated tokens of one sentence
 * @param replicas        independent batchers (KV pools and step loops) sharing the model's sessions
 * @param deadline        how long one sentence may take from when it could start (waiting for a worker or a
 *                        batch slot included, waiting for the client's credits excluded) to its last audio;
 *                        zero for no limit
 * @param kvBinding       where the batcher's KV cache lives: {@code java} (host memory bound through the Java
 *                        API), {@code iobinding} (the session's device memory bound with IoBinding through
 *                        the C API) or {@code auto} (iobinding on cuda, java on cpu)
 * @param vocoderBatching run the flow estimator and HiFT calls of concurrent sentences batched (equal
 *                        shapes only) on threads of their own instead of on each job's thread
 * @param vocoderMaxBatch sentences one batched flow or HiFT call may carry
 * @param promptCacheBytes how much of the voices' prompt features received with jobs a backend keeps in memory
 *                        (least recently used out first), so that a frontend may leave them out of later jobs;
 *                        0 keeps none
 */
public record EngineConfig(boolean enabled, Optional<Path> modelDir, String device, int cudaDeviceId,
                           long cudaMemoryLimit, int threads, int workers, int queueSize, boolean verifyHashes,
                           boolean batching, int maxBatchSize, int maxTokensPerStep, int kvCapacity, int replicas,
                           Duration deadline, String kvBinding,
                           boolean vocoderBatching, int vocoderMaxBatch, long promptCacheBytes) {

    /** The random-weight twin committed with the sources, relative to the working directory. */
    public static final Path DEFAULT_MODEL_DIR = Path.of("models", "random", "tiny");

    public static final EngineConfig DEFAULTS =
            new EngineConfig(true, Optional.empty(), "auto", 0, 0, 0, 16, 32, false, true, 16, 256, 2048, 1,
                    Duration.ofMinutes(2), "auto", true, 8, 64L << 20);

    /** The directory to load: the configured one, or the default. */
    public Path effectiveModelDir() {
        return modelDir.orElse(DEFAULT_MODEL_DIR).toAbsolutePath().normalize();
    }
}
