package io.cosyvoice.batching;

/**
 * How the continuous batcher runs (immutable; {@link #DEFAULTS} suit one CPU or GPU replica).
 *
 * @param maxBatchSize     slots per replica: sequences decoded together in one step (1 = batching off,
 *                         each sequence alone, as the one-sequence generator runs it)
 * @param maxTokensPerStep prefill positions one iteration may compute, padding included: new sequences
 *                         are prefilled together while they fit, a longer prefix in chunks of this size,
 *                         so no iteration's prefill stalls the running decodes for longer than this
 * @param queueSize        sequences that may wait for a slot beyond those the slots hold; more are
 *                         refused ({@link BatcherException.Reason#QUEUE_FULL})
 * @param kvCapacity       KV positions per slot ({@code C}): a sequence needs its prefix plus
 *                         {@code max_len}; one slot of the real model takes
 *                         {@code 2 · 24 layers · 2 heads · 64 · 4 B = 24 KiB} per position, so the
 *                         default 2048 costs 48 MiB a slot, 768 MiB for 16 slots
 * @param replicas         independent pools, each with its own scheduler thread, sharing the session;
 *                         work goes to the least loaded (more than 1 only helps when one replica's
 *                         steps leave the device idle, e.g. a GPU)
 * @param kvBinding        where the KV cache lives and how it is bound ({@link KvBinding})
 */
public record BatcherOptions(int maxBatchSize, int maxTokensPerStep, int queueSize, int kvCapacity, int replicas,
        KvBinding kvBinding) {

    public static final BatcherOptions DEFAULTS = new BatcherOptions(16, 256, 64, 2048, 1, KvBinding.JAVA);

    public BatcherOptions {
        if (maxBatchSize < 1 || maxTokensPerStep < 1 || queueSize < 0 || kvCapacity < 2 || replicas < 1 || kvBinding == null) {
            throw new IllegalArgumentException("bad batcher options: " + maxBatchSize + " slots, " + maxTokensPerStep
                    + " tokens per step, queue " + queueSize + ", capacity " + kvCapacity + ", " + replicas + " replicas, "
                    + kvBinding + " binding");
        }
    }

    /** The Java binding ({@link KvBinding#JAVA}). */
    public BatcherOptions(int maxBatchSize, int maxTokensPerStep, int queueSize, int kvCapacity, int replicas) {
        this(maxBatchSize, maxTokensPerStep, queueSize, kvCapacity, replicas, KvBinding.JAVA);
    }

    public BatcherOptions withKvBinding(KvBinding binding) {
        return new BatcherOptions(maxBatchSize, maxTokensPerStep, queueSize, kvCapacity, replicas, binding);
    }

    public BatcherOptions withMaxBatchSize(int slots) {
        return new BatcherOptions(slots, maxTokensPerStep, queueSize, kvCapacity, replicas, kvBinding);
    }

    public BatcherOptions withMaxTokensPerStep(int tokens) {
        return new BatcherOptions(maxBatchSize, tokens, queueSize, kvCapacity, replicas, kvBinding);
    }

    public BatcherOptions withQueueSize(int size) {
        return new BatcherOptions(maxBatchSize, maxTokensPerStep, size, kvCapacity, replicas, kvBinding);
    }

    public BatcherOptions withKvCapacity(int positions) {
        return new BatcherOptions(maxBatchSize, maxTokensPerStep, queueSize, positions, replicas, kvBinding);
    }

    public BatcherOptions withReplicas(int count) {
        return new BatcherOptions(maxBatchSize, maxTokensPerStep, queueSize, kvCapacity, count, kvBinding);
    }
}
