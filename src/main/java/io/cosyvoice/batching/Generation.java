package io.cosyvoice.batching;

/**
 * A sequence's end, when it ended normally (failures complete exceptionally with a {@link BatcherException}).
 *
 * @param tokens       the speech tokens emitted, stop token excluded (also delivered one by one)
 * @param prefixLength positions of its prefill
 * @param waitNanos    from {@code submit} to getting a slot
 * @param runNanos     from getting a slot to the end
 */
public record Generation(int[] tokens, Stop stop, int prefixLength, long waitNanos, long runNanos) {

    /** Why a generation ended. */
    public enum Stop {
        /** The model drew a stop token (not emitted). */
        STOP_TOKEN,
        /** {@code max_len} tokens were emitted. */
        MAX_LEN,
        /** {@link BatchedGeneration#cancel} was called; {@code tokens} holds what was emitted before. */
        CANCELLED
    }
}
