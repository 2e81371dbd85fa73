package io.cosyvoice.perf.gatling;

import io.gatling.http.action.sse.SseInboundMessage;
import io.gatling.javaapi.core.ScenarioBuilder;
import io.gatling.javaapi.core.Session;
import io.gatling.javaapi.core.Simulation;
import io.vertx.core.json.JsonObject;

import java.util.List;

import static io.gatling.javaapi.core.CoreDsl.StringBody;
import static io.gatling.javaapi.core.CoreDsl.exec;
import static io.gatling.javaapi.core.CoreDsl.jsonPath;
import static io.gatling.javaapi.core.CoreDsl.regex;
import static io.gatling.javaapi.core.CoreDsl.scenario;
import static io.gatling.javaapi.http.HttpDsl.http;
import static io.gatling.javaapi.http.HttpDsl.sse;
import static io.gatling.javaapi.http.HttpDsl.status;

/**
 * {@code POST /api/v1/audio/speech}, non-streaming and SSE side by side, each ramping to
 * {@code -Dusers} concurrent users. In the report: {@code speech json} is the whole answer (its
 * time to first chunk); the group {@code SSE time to first chunk} is the time from sending the
 * request to the first {@code data:} event (its {@code SSE connect} already waits for it: the
 * headers come with the first event); {@code SSE last chunk} the rest of the stream. The real-time factor of every
 * successful request (generation time over the seconds of audio received) is printed at the end
 * and appended to target/gatling/rtf.txt.
 */
public class SpeechSimulation extends Simulation {

    private static final LoadSettings.RealTimeFactors JSON_RTF = new LoadSettings.RealTimeFactors("speech json");
    private static final LoadSettings.RealTimeFactors SSE_RTF = new LoadSettings.RealTimeFactors("speech sse");
    private static volatile String voice;

    private static String body(boolean stream) {
        return new JsonObject().put("model", "CosyVoice2-0.5B").put("stream", stream)
                .put("input", new JsonObject().put("mode", "fast_replication").put("reference_audio_id", voice)
                        .put("text", LoadSettings.TEXT).put("output_format", "pcm").put("sample_rate", LoadSettings.SAMPLE_RATE))
                .encode();
    }

    /** The base64 audio in one SSE event as Gatling hands it over (a JSON object whose {@code data} is the event's). */
    private static JsonObject sseEvent(String message) {
        Object data = new JsonObject(message).getValue("data");
        return data instanceof String text ? new JsonObject(text) : (JsonObject) data;
    }

    private static long sseAudioBytes(String message) {
        if (message == null) {
            return 0;
        }
        JsonObject audio = sseEvent(message).getJsonObject("output").getJsonObject("audio");
        return audio == null ? 0 : LoadSettings.decodedLength(audio.getString("data"));
    }

    private static final LoadSettings.AudioTally TALLY = new LoadSettings.AudioTally();

    /** Tallies an event's audio under its request id and returns its finish_reason ("null" while streaming). */
    private static String tallyAndFinishReason(String message) {
        JsonObject event = sseEvent(message);
        TALLY.add(event.getString("request_id"), message, sseAudioBytes(message));
        return String.valueOf(event.getJsonObject("output").getValue("finish_reason"));
    }

    ScenarioBuilder json = scenario("speech json")
            .exec(session -> session.set("t0", System.nanoTime()))
            .exec(http("speech json").post("/api/v1/audio/speech").body(StringBody(session -> body(false))).asJson()
                    .check(status().is(200), jsonPath("$.output.audio.data").saveAs("audio")))
            .exec(session -> {
                if (!session.isFailed()) {
                    JSON_RTF.add((System.nanoTime() - session.getLong("t0")) / 1e9, LoadSettings.decodedLength(session.getString("audio")));
                }
                return session;
            });

    ScenarioBuilder stream = scenario("speech sse")
            .exec(session -> session.set("t0", System.nanoTime()))
            // the server sends the response headers with the first event, so the connect alone already
            // waits for the first chunk: the group times both, request sent to first event parsed
            .group("SSE time to first chunk").on(
                    exec(sse("SSE connect").post("/api/v1/audio/speech").body(StringBody(session -> body(true))).asJson()
                            .await(60).on(sse.checkMessage("SSE first event").check(regex("(?s)(.*)").saveAs("first")))))
            .exec(sse("SSE rest").setCheck()
                    .await(120).on(sse.checkMessage("SSE last chunk")
                            .matching(regex("(?s)(.*)").transform(SpeechSimulation::tallyAndFinishReason).in("stop", "error"))
                            .check(regex("finish_reason\\W+(stop|error)").is("stop"))))
            .exec(sse.processUnmatchedMessages((List<SseInboundMessage> messages, Session session) -> {
                if (!session.isFailed()) {
                    String first = session.getString("first");
                    String requestId = sseEvent(first).getString("request_id");
                    TALLY.add(requestId, first, sseAudioBytes(first));
                    for (SseInboundMessage message : messages) {
                        TALLY.add(requestId, message.message(), sseAudioBytes(message.message()));
                    }
                    long bytes = TALLY.take(requestId);
                    SSE_RTF.add((System.nanoTime() - session.getLong("t0")) / 1e9, bytes);
                }
                return session;
            }))
            .exec(sse("SSE close").close());

    {
        setUp(json.injectClosed(LoadSettings.ramp()), stream.injectClosed(LoadSettings.ramp()))
                .protocols(LoadSettings.protocol())
                .assertions(LoadSettings.errorBudget());
    }

    @Override
    public void before() {
        voice = LoadSettings.uploadVoice();
    }

    @Override
    public void after() {
        JSON_RTF.report();
        SSE_RTF.report();
    }
}
