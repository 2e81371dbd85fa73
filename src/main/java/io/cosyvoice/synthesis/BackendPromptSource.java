package io.cosyvoice.synthesis;

import io.cosyvoice.synthesis.SynthesisMessages.EngineInfo;
import io.cosyvoice.synthesis.SynthesisMessages.EngineQuery;
import io.cosyvoice.synthesis.SynthesisMessages.PromptRequest;
import io.cosyvoice.voice.PromptFeatureSource;
import io.cosyvoice.voice.PromptFeatures;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;

import java.util.Optional;

/**
 * Prompt features from a synthesis backend (this process's, or one of the cluster's): the model
 * that will synthesise is the one that analyses the voice.
 */
public final class BackendPromptSource implements PromptFeatureSource {

    private static final long INFO_TIMEOUT_MS = 5_000;
    /** Analysing 30 s of audio takes well under a second; the rest is room for a busy backend. */
    private static final long PROMPT_TIMEOUT_MS = 60_000;

    private static final long VERSION_TTL_NANOS = 5_000_000_000L;

    private final Vertx vertx;
    private final Backends backends;
    private volatile KnownVersion known;

    public BackendPromptSource(Vertx vertx) {
        this(vertx, Backends.SINGLE_PROCESS);
    }

    public BackendPromptSource(Vertx vertx, Backends backends) {
        this.vertx = vertx;
        this.backends = backends;
        SynthesisMessages.registerCodecs(vertx);
    }

    /** The running backend's model, or empty when none answers. */
    public Future<Optional<EngineInfo>> engineInfo() {
        Backends.Target target;
        try {
            target = backends.any();
        } catch (RuntimeException none) {
            return Future.succeededFuture(Optional.empty());
        }
        return vertx.eventBus().<EngineInfo>request(target.engineAddress(), new EngineQuery(),
                        new DeliveryOptions().setSendTimeout(INFO_TIMEOUT_MS))
                .map(reply -> Optional.of(reply.body()))
                .recover(err -> Future.succeededFuture(Optional.empty()));
    }

    /**
     * The backends' model version, asked at most every {@link #VERSION_TTL_NANOS}: every synthesis
     * needs it to pick its voice's features, and asking each time would add an event-bus round
     * trip (across the network in a cluster) to every request. A backend with another version
     * refuses the job with "try again", so a version change costs at most a few seconds of retries.
     */
    @Override
    public Future<Optional<String>> modelVersion() {
        KnownVersion known = this.known;
        if (known != null && System.nanoTime() - known.askedAt() < VERSION_TTL_NANOS) {
            return Future.succeededFuture(Optional.of(known.version()));
        }
        return engineInfo().map(info -> {
            this.known = info.map(i -> new KnownVersion(i.modelVersion(), System.nanoTime())).orElse(null);
            return info.map(EngineInfo::modelVersion);
        });
    }

    private record KnownVersion(String version, long askedAt) {
    }

    @Override
    public Future<PromptFeatures> compute(float[] mono, int sampleRate) {
        Backends.Target target;
        try {
            target = backends.any();
        } catch (RuntimeException none) {
            return Future.failedFuture(none);
        }
        return vertx.eventBus().<PromptFeatures>request(target.promptAddress(), new PromptRequest(mono, sampleRate),
                        new DeliveryOptions().setSendTimeout(PROMPT_TIMEOUT_MS))
                .map(reply -> reply.body())
                .recover(err -> Future.failedFuture(SynthesisClient.startFailure(err)));
    }
}
