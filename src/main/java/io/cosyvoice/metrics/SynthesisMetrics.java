package io.cosyvoice.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Synthesis requests as the API sees them: one {@link Request} per HTTP request or WebSocket task,
 * which the API tells when audio is produced and written and how the request ended.
 *
 * <pre>
 * cosyvoice_synthesis_requests_total{api,outcome}        counter    finished requests
 * cosyvoice_synthesis_requests_active{api}               gauge      requests started and not finished
 * cosyvoice_synthesis_first_chunk_seconds{api}           histogram  request start to the first audio written to the client
 * cosyvoice_synthesis_real_time_factor{api}              histogram  compute seconds / audio seconds, per successful request
 * cosyvoice_synthesis_audio_seconds_total{api}           counter    audio the backend produced
 * </pre>
 *
 * <p>Series exist from start-up (at zero) for every api and outcome, so rates and ratios never
 * miss a series.
 */
public final class SynthesisMetrics {

    /** How a request reached the server. */
    public enum Api {
        /** {@code POST /api/v1/audio/speech} with {@code "stream": false}: one JSON answer (or a refused request). */
        HTTP,
        /** The same with {@code "stream": true}: Server-Sent Events. */
        SSE,
        /** A duplex WebSocket task (run-task ... task-finished). */
        WEBSOCKET;

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** How a request ended. */
    public enum Outcome {
        /** All audio delivered. */
        OK,
        /** Refused for the client's fault: invalid parameters, unknown voice, unauthorised (4xx but 429). */
        CLIENT_ERROR,
        /** Refused because the backend was full (429). */
        REJECTED,
        /** The server or the synthesis backend failed: backend error or stall, no backend, storage or database down (5xx). */
        SERVER_ERROR,
        /** The client went away or replaced the task before the end. */
        CANCELLED;

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** The outcome of a request answered with this HTTP status (or whose error maps to it). */
        public static Outcome ofStatus(int status) {
            if (status == 429) {
                return REJECTED;
            }
            if (status >= 500) {
                return SERVER_ERROR;
            }
            return status >= 400 ? CLIENT_ERROR : OK;
        }
    }

    private static final Duration[] FIRST_CHUNK_BUCKETS =
            EngineMetrics.seconds(0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30);
    private static final double[] RTF_BUCKETS = {0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10};

    private final Map<Api, PerApi> perApi = new EnumMap<>(Api.class);

    /** The meters of one api label. */
    private record PerApi(Map<Outcome, Counter> outcomes, AtomicInteger active, Timer firstChunk,
                          DistributionSummary realTimeFactor, Counter audioSeconds) {
    }

    SynthesisMetrics(MeterRegistry registry) {
        for (Api api : Api.values()) {
            Map<Outcome, Counter> outcomes = new EnumMap<>(Outcome.class);
            for (Outcome outcome : Outcome.values()) {
                outcomes.put(outcome, Counter.builder("cosyvoice.synthesis.requests")
                        .description("Synthesis requests (HTTP requests, WebSocket tasks) by how they ended")
                        .tag("api", api.label()).tag("outcome", outcome.label())
                        .register(registry));
            }
            AtomicInteger active = new AtomicInteger();
            Gauge.builder("cosyvoice.synthesis.requests.active", active, AtomicInteger::get)
                    .description("Synthesis requests started and not yet finished")
                    .tag("api", api.label())
                    .register(registry);
            Timer firstChunk = Timer.builder("cosyvoice.synthesis.first.chunk")
                    .description("Time from a request's start (WebSocket: its first complete sentence) to its first audio written")
                    .tag("api", api.label())
                    .serviceLevelObjectives(FIRST_CHUNK_BUCKETS)
                    .register(registry);
            DistributionSummary rtf = DistributionSummary.builder("cosyvoice.synthesis.real.time.factor")
                    .description("Backend compute seconds per second of audio, per successful request (below 1: faster than real time)")
                    .tag("api", api.label())
                    .serviceLevelObjectives(RTF_BUCKETS)
                    .register(registry);
            Counter audio = Counter.builder("cosyvoice.synthesis.audio").baseUnit("seconds")
                    .description("Seconds of audio the synthesis backend produced (before the API's speed change)")
                    .tag("api", api.label())
                    .register(registry);
            perApi.put(api, new PerApi(outcomes, active, firstChunk, rtf, audio));
        }
    }

    /** A request that starts now. */
    public Request start(Api api) {
        return new Request(api, System.nanoTime());
    }

    /**
     * One request, used on its own Vert.x context (not thread-safe). The time to first chunk counts
     * from its start, or from {@link #textReady} when that is called; {@link #finish} is idempotent,
     * the first outcome counts.
     */
    public final class Request {
        private Api api;
        private long clockStart;
        private boolean textReady;
        private boolean audioWritten;
        private boolean finished;
        private double computeSeconds;
        private double audioSeconds;

        private Request(Api api, long startNanos) {
            this.api = api;
            this.clockStart = startNanos;
            perApi.get(api).active().incrementAndGet();
        }

        /** What the request turned out to be (a speech body says whether it streams); before anything else is recorded. */
        public void api(Api api) {
            if (!finished && !audioWritten && audioSeconds == 0 && api != this.api) {
                perApi.get(this.api).active().decrementAndGet();
                perApi.get(api).active().incrementAndGet();
                this.api = api;
            }
        }

        /**
         * The first text the backend can speak was sent (a duplex task's first complete sentence):
         * the time to first chunk counts from here, not from the task's start. Later calls do nothing.
         */
        public void textReady() {
            if (!textReady) {
                textReady = true;
                clockStart = System.nanoTime();
            }
        }

        /** The backend produced audio: {@code samples} at {@code sampleRate} for {@code computeSeconds} of work. */
        public void produced(int samples, int sampleRate, double computeSeconds) {
            double seconds = (double) samples / sampleRate;
            audioSeconds += seconds;
            this.computeSeconds += computeSeconds;
            perApi.get(api).audioSeconds().increment(seconds);
        }

        /** Audio bytes were written to the client; the first call records the time to first chunk. */
        public void audioWritten() {
            if (!audioWritten && !finished) {
                audioWritten = true;
                perApi.get(api).firstChunk().record(System.nanoTime() - clockStart, TimeUnit.NANOSECONDS);
            }
        }

        /** The request ended; only the first call counts. A successful one with audio records its real-time factor. */
        public void finish(Outcome outcome) {
            if (finished) {
                return;
            }
            finished = true;
            PerApi meters = perApi.get(api);
            meters.active().decrementAndGet();
            meters.outcomes().get(outcome).increment();
            if (outcome == Outcome.OK && audioSeconds > 0) {
                meters.realTimeFactor().record(computeSeconds / audioSeconds);
            }
        }

        public boolean finished() {
            return finished;
        }
    }
}
