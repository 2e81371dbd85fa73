/**
 * Continuous batching of the LLM's decode steps, apart from HTTP and the vocoder (as DJL serving's
 * workload manager is apart from its front end).
 *
 * <p>{@link io.cosyvoice.batching.ContinuousBatcher} takes {@link io.cosyvoice.engine.LlmRequest}s
 * (made by {@link io.cosyvoice.engine.LlmGraph#request}, which holds everything that decides a
 * token) and streams each one's tokens to its consumer. Per replica:
 * <ul>
 *   <li><b>KV slot pool</b> ({@code KvSlotPool}): per layer one K and one V buffer of
 *       {@code [maxBatch, kv_heads, C, head_dim]} in one arena. Slots {@code [0, active)} hold every
 *       admitted sequence; a call binds a contiguous run of slots as both past and present, so ONNX
 *       Runtime writes the new positions in place. Retiring a sequence moves the last slot into its
 *       place: the only cache copy there is, and only that sequence's positions.</li>
 *   <li><b>Where the cache lives</b> ({@code SlotPool}, {@link io.cosyvoice.batching.KvBinding}):
 *       {@code KvSlotPool} keeps it in host memory bound through ONNX Runtime's Java API (in place on
 *       the CPU; on a GPU ONNX Runtime would copy it to the device and back every step);
 *       {@code DeviceSlotPool} takes it from the session's device allocator and binds it with
 *       IoBinding through the C API ({@code OrtNative}, Java's foreign-function API), so on a GPU it
 *       never leaves the device: only the step's inputs and logits cross. Its slot moves run a
 *       {@code CopyGraph} of Identity nodes on the device.</li>
 *   <li><b>Scheduler</b> ({@code Scheduler}): one thread owns the pool. Each iteration retires ended
 *       sequences, admits waiting ones in order, runs at most one chunk of a long prefix (a chunk on
 *       a past, {@code B = 1}) and one fresh prefill of the new sequences that fit the token budget
 *       together (right-padded), then one decode step ({@code S = 1}) of all slots, each row at its
 *       own length. A sequence between chunks rides along in decode steps as a row whose logits are
 *       dropped (the position it writes is the one its next chunk overwrites), so it never has to
 *       move when it starts decoding.</li>
 * </ul>
 *
 * <p>Sizing: a slot holds {@code C} = {@link io.cosyvoice.batching.BatcherOptions#kvCapacity}
 * positions; a request needs its prefix plus {@code max_len} (20 tokens per text token, capped by the
 * flow noise), and one that needs more is refused at submit. ONNX Runtime also allocates
 * {@code B · num_heads · S · C · 4} bytes of scratch per call, which the prefill budget bounds.
 *
 * <p>Threads: {@code submit} and {@code cancel} never block; tokens and completions arrive on the
 * replica's thread, which every sequence of the replica shares, so consumers only hand tokens off.
 */
package io.cosyvoice.batching;
