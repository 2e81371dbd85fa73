package io.cosyvoice.synthesis;

import io.cosyvoice.error.ErrorCode;
import io.cosyvoice.error.ServiceException;

import java.util.UUID;

/**
 * Where the frontend's requests go: the backend of this process, or (in a cluster) the backend with
 * the most free capacity. Implementations are thread-safe: every HTTP verticle instance shares one.
 */
public interface Backends {

    /**
     * One backend.
     *
     * @param nodeId its cluster node id; empty for the backend of this process
     */
    record Target(String nodeId) {

        /** Where this backend takes jobs. */
        public String jobsAddress() {
            return address(SynthesisMessages.JOBS_ADDRESS);
        }

        /** Where this backend computes prompt features. */
        public String promptAddress() {
            return address(SynthesisMessages.PROMPT_ADDRESS);
        }

        /** Where this backend says which model it runs. */
        public String engineAddress() {
            return address(SynthesisMessages.ENGINE_ADDRESS);
        }

        private String address(String base) {
            return nodeId.isEmpty() ? base : base + "." + nodeId;
        }
    }

    /** This process's cluster node id, empty when it runs alone. */
    String localNode();

    /**
     * The backend for a new job, counted against its capacity until it reports again.
     *
     * @throws ServiceException 503 when no backend runs, 429 when every one is full
     */
    Target placeJob();

    /**
     * A backend for a short request (prompt features, model info), without counting it as a job.
     *
     * @throws ServiceException 503 when no backend runs
     */
    Target any();

    /** The backend refused a job as full or is gone: choose others until it reports room again. */
    void refused(Target target);

    /**
     * The backend answered a job of {@link #placeJob()}: with its capacity once the job was taken, or with
     * {@code null} when it did not take it (refused, gone, no answer). Until then the job counts against it
     * whatever it reports.
     */
    default void answered(Target target, SynthesisMessages.Capacity taken) {
    }

    /**
     * Runs {@code onLost} (on the caller's Vert.x context) when the backend stops: it left the cluster
     * or stopped reporting. The returned action stops watching.
     */
    Runnable watch(Target target, Runnable onLost);

    /**
     * Decides whether a job to the backend leaves out this voice's prompt features for the model version:
     * true when the backend said it keeps them (and was not found without them since). Never for this
     * process's backend.
     */
    default boolean withholdPrompt(Target target, UUID voice, String modelVersion) {
        return false;
    }

    /**
     * The backend said it keeps ({@code held}) a voice's prompt features for the model version, or refused a
     * job that left them out because it no longer has them (the job goes again with them).
     */
    default void promptHeld(Target target, UUID voice, String modelVersion, boolean held) {
    }

    /** The backend of this process, which is there whenever this process runs an engine. */
    Backends SINGLE_PROCESS = new Backends() {
        private final Target local = new Target("");

        @Override
        public String localNode() {
            return "";
        }

        @Override
        public Target placeJob() {
            return local;
        }

        @Override
        public Target any() {
            return local;
        }

        @Override
        public void refused(Target target) {
        }

        @Override
        public Runnable watch(Target target, Runnable onLost) {
            return () -> { };
        }
    };

    /** The error for a cluster without backends. */
    static ServiceException noBackend() {
        return new ServiceException(ErrorCode.SERVICE_UNAVAILABLE, "no synthesis backend is running; try again later");
    }
}
