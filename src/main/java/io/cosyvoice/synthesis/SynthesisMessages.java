package io.cosyvoice.synthesis;

import io.cosyvoice.error.ErrorCode;

import io.cosyvoice.voice.PromptFeatures;

import java.util.List;
import java.util.OptionalLong;
import java.util.UUID;

/**
 * The event-bus contract between the API (frontend) and a synthesis backend. All messages are
 * immutable records, delivered without copies inside one process and in a binary form between the
 * processes of a cluster.
 *
 * <pre>
 * frontend                                   backend
 *   ── Job ───────────────▶ JOBS_ADDRESS       (request; the reply is Accepted or a failure)
 *   ◀──────────────── Accepted(inputAddress)
 *   ── MoreText / Credit / Cancel ─▶ inputAddress     (any number, in order)
 *   ◀── Chunk, Chunk, ... then End or Failure ── job.outputAddress
 * </pre>
 *
 * <p>Flow control: the backend may have at most as many chunks in flight as it has credits; the
 * job starts with {@link Job#initialCredits()} and every {@link Credit} adds more. The frontend
 * grants a credit when it has written a chunk to a client socket that is not full, so a slow
 * client pauses the backend instead of growing buffers. A {@link Cancel} (client gone) must free
 * the backend's resources at once; nothing is sent after it.
 */
public final class SynthesisMessages {

    /** Where backends take jobs. */
    public static final String JOBS_ADDRESS = "cosyvoice.synthesis.jobs";
    /** Where backends publish their {@link Capacity}, periodically and when it changes (clustered roles). */
    public static final String CAPACITY_ADDRESS = "cosyvoice.synthesis.capacity";
    /** Where backends answer {@link EngineQuery} with {@link EngineInfo}. */
    public static final String ENGINE_ADDRESS = "cosyvoice.synthesis.engine";
    /** Where backends turn a {@link PromptRequest} into {@link io.cosyvoice.voice.PromptFeatures}. */
    public static final String PROMPT_ADDRESS = "cosyvoice.synthesis.prompt";
    /**
     * The failure code of a backend that was sent a job with its prompt features withheld
     * ({@link Job#promptWithheld()}) and does not keep them (any more): send the job again with them.
     * Never shown to a client.
     */
    public static final int PROMPT_NEEDED = 428;
    /** The sample rate of every {@link Chunk}: CosyVoice2's native rate. */
    public static final int SAMPLE_RATE = 24000;

    private SynthesisMessages() {
    }

    /** Makes these records sendable on this Vert.x's event bus; every participant calls it (idempotent). */
    public static void registerCodecs(io.vertx.core.Vertx vertx) {
        MessageCodecs.registerAll(vertx);
    }

    /** Where one backend (by its cluster node id) takes jobs that were placed on it. */
    public static String jobsAddress(String nodeId) {
        return JOBS_ADDRESS + "." + nodeId;
    }

    /**
     * A backend's room for jobs.
     *
     * @param nodeId   the backend's cluster node; it takes jobs at {@link #jobsAddress(String)}
     * @param free     jobs it would accept now (running and waiting slots left)
     * @param total    its running plus waiting slots
     * @param draining true when it is shutting down: it takes no new jobs, running ones finish
     * @param version  how many times its free capacity changed: of two reports, the one with the higher version
     *                 is the newer, however the event bus delivered them
     */
    public record Capacity(String nodeId, int free, int total, boolean draining, long version) {
    }

    /**
     * A synthesis job.
     *
     * @param jobId          unique, for logs and addresses
     * @param outputAddress  where the backend sends Chunk, End and Failure
     * @param origin         the cluster node of the frontend that owns the job (empty in one process): a backend
     *                       cancels the job when that node leaves
     * @param voiceId        the reference audio whose voice to use
     * @param promptText     the reference audio's transcript (the zero-shot mode's prompt text)
     * @param prompt         the voice's prompt features for the backend's model version; null when none could be had,
     *                       or when withheld
     * @param promptWithheld true when the frontend left the features out because this backend said it keeps them
     *                       ({@link Accepted#promptKept()}); one that no longer does fails with {@link #PROMPT_NEEDED}
     * @param instruct       the instruction ({@link SynthesisMode#INSTRUCT} only), else empty
     * @param seed           makes the job reproducible when present
     * @param speed          requested speaking rate; a backend that applies it says so in {@link Accepted}
     * @param sentences      prepared (normalised, split) text, in order
     * @param textComplete   false when more sentences will come as {@link MoreText}
     * @param initialCredits chunks the backend may send before the first {@link Credit}
     * @param streaming      true when audio should come as soon as it can (SSE, WebSocket); false when the whole
     *                       result is awaited, which lets the model use its non-streaming (full-attention) mode
     */
    public record Job(String jobId, String outputAddress, String origin, UUID voiceId, String promptText, PromptFeatures prompt,
                      boolean promptWithheld, SynthesisMode mode, String instruct, OptionalLong seed, double speed,
                      List<String> sentences, boolean textComplete, int initialCredits, boolean streaming) {
        public Job {
            sentences = List.copyOf(sentences);
            if (promptWithheld && prompt != null) {
                throw new IllegalArgumentException("a job either carries its prompt features or withholds them");
            }
        }

        /** This job with its prompt features left out (the backend keeps them). */
        public Job withholdingPrompt() {
            return new Job(jobId, outputAddress, origin, voiceId, promptText, null, true, mode, instruct, seed, speed,
                    sentences, textComplete, initialCredits, streaming);
        }

        /** This job carrying {@code features}. */
        public Job withPrompt(PromptFeatures features) {
            return new Job(jobId, outputAddress, origin, voiceId, promptText, features, false, mode, instruct, seed, speed,
                    sentences, textComplete, initialCredits, streaming);
        }
    }

    /** Asks a backend which model it runs. */
    public record EngineQuery() {
    }

    /**
     * The model a backend runs.
     *
     * @param modelVersion  the model directory's version; prompt features are tied to it
     * @param description   what logs and health checks show (variant and version)
     * @param randomWeights true for the random-weight twins: their audio is noise
     */
    public record EngineInfo(String modelVersion, String description, boolean randomWeights) {
    }

    /** Mono audio in [-1, 1] to analyse for a voice's prompt features. */
    public record PromptRequest(float[] samples, int sampleRate) {
    }

    /**
     * The backend took the job.
     *
     * @param inputAddress where to send MoreText, Credit and Cancel for this job
     * @param speedApplied whether the audio already has the requested speed
     * @param promptKept   whether the backend keeps the job's prompt features in memory: later jobs of this voice
     *                     to it may withhold them ({@link Job#promptWithheld()})
     * @param capacity     the backend's capacity with this job taken: newer than any report it sent before
     */
    public record Accepted(String inputAddress, boolean speedApplied, boolean promptKept, Capacity capacity) {
    }

    /** More sentences for an open job; {@code last} closes its text. */
    public record MoreText(List<String> sentences, boolean last) {
        public MoreText {
            sentences = List.copyOf(sentences);
        }
    }

    /** Permission to send {@code chunks} more chunks. */
    public record Credit(int chunks) {
    }

    /** Stop now; the client is gone or replaced the task. */
    public record Cancel(String reason) {
    }

    /** What a backend sends back: a chunk, the end, or a failure. */
    public sealed interface Output permits Chunk, End, Failure {
    }

    /**
     * Audio, in order.
     *
     * @param sequence        0, 1, 2... per job
     * @param sentenceIndex   which sentence (counting across MoreText) this audio belongs to
     * @param samples         mono float PCM at {@link #SAMPLE_RATE}; the receiver must not modify it
     * @param generateSeconds model compute spent on this chunk
     */
    public record Chunk(long sequence, int sentenceIndex, float[] samples, double generateSeconds) implements Output {
    }

    /** All text was synthesised. */
    public record End(long chunks) implements Output {
    }

    /** The job failed; nothing follows. */
    public record Failure(ErrorCode code, String message) implements Output {
    }
}
