package io.cosyvoice.voice;

import io.vertx.core.Future;

import java.util.Optional;

/**
 * Where prompt features come from: the synthesis backend, which holds the model. The library
 * stores what it computes so each voice is analysed once per model version.
 */
public interface PromptFeatureSource {

    /** The running model's version, or empty when no backend is reachable now. */
    Future<Optional<String>> modelVersion();

    /**
     * Features of mono audio in [-1, 1]. Fails with a {@link io.cosyvoice.error.ServiceException}
     * naming the problem when the model cannot use the audio.
     */
    Future<PromptFeatures> compute(float[] mono, int sampleRate);

    /** No backend: uploads keep no features and synthesis has none to send. */
    PromptFeatureSource NONE = new PromptFeatureSource() {
        @Override
        public Future<Optional<String>> modelVersion() {
            return Future.succeededFuture(Optional.empty());
        }

        @Override
        public Future<PromptFeatures> compute(float[] mono, int sampleRate) {
            return Future.failedFuture(new IllegalStateException("no synthesis backend"));
        }
    };
}
