package io.cosyvoice.metrics;

import io.cosyvoice.config.MetricsConfig;
import io.cosyvoice.metrics.SynthesisMetrics.Api;
import io.cosyvoice.metrics.SynthesisMetrics.Outcome;
import io.cosyvoice.support.PrometheusText;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The metrics' semantics, on a registry of their own, read back through the Prometheus text. */
class MetricsTest {

    @Test
    void engineReportsBecomeGaugesHistogramsAndCounters() {
        try (Metrics metrics = Metrics.create(MetricsConfig.DEFAULTS)) {
            EngineMetrics engine = metrics.engine();
            engine.onQueue(3);
            engine.onSlotsInUse(5);
            engine.onAdmitted(TimeUnit.MILLISECONDS.toNanos(20));
            engine.onStep(4, 120, TimeUnit.MILLISECONDS.toNanos(30), 0);
            engine.onStep(8, 0, TimeUnit.MILLISECONDS.toNanos(3), 4096);
            engine.onStep(8, 0, TimeUnit.MILLISECONDS.toNanos(4), 0);
            PrometheusText text = PrometheusText.parse(metrics.scrape());
            assertEquals(3, text.value("cosyvoice_synthesis_queue_length"));
            assertEquals(5, text.value("cosyvoice_llm_slots_in_use"));
            assertEquals(1, text.value("cosyvoice_synthesis_queue_wait_seconds_count"));
            assertEquals(0.02, text.value("cosyvoice_synthesis_queue_wait_seconds_sum"), 1e-9);
            assertEquals(1, text.value("cosyvoice_synthesis_queue_wait_seconds_bucket", "le", "0.025"));
            assertEquals(3, text.value("cosyvoice_llm_batch_size_count"));
            assertEquals(20, text.value("cosyvoice_llm_batch_size_sum"));
            assertEquals(1, text.value("cosyvoice_llm_batch_size_bucket", "le", "4.0"));
            assertEquals(3, text.value("cosyvoice_llm_batch_size_bucket", "le", "8.0"));
            assertEquals(1, text.value("cosyvoice_llm_step_seconds_count", "phase", "prefill"));
            assertEquals(2, text.value("cosyvoice_llm_step_seconds_count", "phase", "decode"));
            assertEquals(0.007, text.value("cosyvoice_llm_step_seconds_sum", "phase", "decode"), 1e-9);
            assertEquals(120, text.value("cosyvoice_llm_tokens_total", "kind", "prefill"));
            assertEquals(20, text.value("cosyvoice_llm_tokens_total", "kind", "generated"));
            assertEquals(4096, text.value("cosyvoice_llm_kv_copied_bytes_total"));
        }
    }

    @Test
    void aRequestRecordsItsFirstChunkOnceAndItsFirstOutcomeOnly() {
        try (Metrics metrics = Metrics.create(MetricsConfig.DEFAULTS)) {
            SynthesisMetrics.Request request = metrics.synthesis().start(Api.HTTP);
            request.api(Api.SSE); // the body said it streams
            PrometheusText running = PrometheusText.parse(metrics.scrape());
            assertEquals(0, running.value("cosyvoice_synthesis_requests_active", "api", "http"));
            assertEquals(1, running.value("cosyvoice_synthesis_requests_active", "api", "sse"));
            request.produced(24000, 24000, 0.25);
            request.audioWritten();
            request.audioWritten();
            request.produced(12000, 24000, 0.05);
            request.finish(Outcome.OK);
            request.finish(Outcome.CANCELLED);
            assertTrue(request.finished());

            PrometheusText text = PrometheusText.parse(metrics.scrape());
            assertEquals(1, text.value("cosyvoice_synthesis_requests_total", "api", "sse", "outcome", "ok"));
            assertEquals(0, text.value("cosyvoice_synthesis_requests_total", "api", "sse", "outcome", "cancelled"));
            assertEquals(0, text.value("cosyvoice_synthesis_requests_active", "api", "sse"));
            assertEquals(1, text.value("cosyvoice_synthesis_first_chunk_seconds_count", "api", "sse"));
            assertEquals(1, text.value("cosyvoice_synthesis_real_time_factor_count", "api", "sse"));
            assertEquals(0.2, text.value("cosyvoice_synthesis_real_time_factor_sum", "api", "sse"), 1e-9);
            assertEquals(1.5, text.value("cosyvoice_synthesis_audio_seconds_total", "api", "sse"), 1e-9);
            assertEquals(0, text.value("cosyvoice_synthesis_first_chunk_seconds_count", "api", "http"));
        }
    }

    @Test
    void failedAndCancelledRequestsHaveNoRealTimeFactor() {
        try (Metrics metrics = Metrics.create(MetricsConfig.DEFAULTS)) {
            SynthesisMetrics.Request cancelled = metrics.synthesis().start(Api.WEBSOCKET);
            cancelled.textReady();
            cancelled.produced(4800, 24000, 0.01);
            cancelled.audioWritten();
            cancelled.finish(Outcome.CANCELLED);
            metrics.synthesis().start(Api.HTTP).finish(Outcome.ofStatus(429));
            metrics.synthesis().start(Api.HTTP).finish(Outcome.ofStatus(503));
            metrics.synthesis().start(Api.HTTP).finish(Outcome.ofStatus(404));
            PrometheusText text = PrometheusText.parse(metrics.scrape());
            assertEquals(1, text.value("cosyvoice_synthesis_requests_total", "api", "websocket", "outcome", "cancelled"));
            assertEquals(1, text.value("cosyvoice_synthesis_first_chunk_seconds_count", "api", "websocket"));
            assertEquals(0, text.value("cosyvoice_synthesis_real_time_factor_count", "api", "websocket"));
            assertEquals(1, text.value("cosyvoice_synthesis_requests_total", "api", "http", "outcome", "rejected"));
            assertEquals(1, text.value("cosyvoice_synthesis_requests_total", "api", "http", "outcome", "server_error"));
            assertEquals(1, text.value("cosyvoice_synthesis_requests_total", "api", "http", "outcome", "client_error"));
            assertEquals(Outcome.OK, Outcome.ofStatus(200));
        }
    }

    @Test
    void disabledMetricsRecordNothingAndCannotBeScraped() {
        try (Metrics metrics = Metrics.create(new MetricsConfig(false, false))) {
            assertFalse(metrics.enabled());
            metrics.engine().onStep(1, 10, 1000, 0);
            SynthesisMetrics.Request request = metrics.synthesis().start(Api.HTTP);
            request.audioWritten();
            request.finish(Outcome.OK);
            assertTrue(metrics.registry().getMeters().stream().allMatch(m -> m.measure().iterator().next().getValue() == 0
                    || Double.isNaN(m.measure().iterator().next().getValue())));
            assertThrows(IllegalStateException.class, metrics::scrape);
        }
    }
}
