package io.cosyvoice.perf.gatling;

import io.gatling.http.action.ws.WsInboundMessage;
import io.gatling.javaapi.core.ScenarioBuilder;
import io.gatling.javaapi.core.Session;
import io.gatling.javaapi.core.Simulation;
import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.UUID;

import static io.gatling.javaapi.core.CoreDsl.exec;
import static io.gatling.javaapi.core.CoreDsl.jsonPath;
import static io.gatling.javaapi.core.CoreDsl.regex;
import static io.gatling.javaapi.core.CoreDsl.repeat;
import static io.gatling.javaapi.core.CoreDsl.scenario;
import static io.gatling.javaapi.http.HttpDsl.ws;

/**
 * PAI-EAS WebSocket duplex tasks, ramping to {@code -Dusers} concurrent connections; each
 * connection runs {@code -Dtasks} (default 3) tasks one after the other: {@code run-task}, one
 * {@code continue-task} with the text, {@code finish-task}. In the report, {@code WS first chunk}
 * (and its group {@code WS time to first chunk}) is the time from sending {@code continue-task} to
 * the first {@code result-generated}; {@code WS
 * task finished} from {@code finish-task} to {@code task-finished}. The real-time factor of each
 * task is printed at the end and appended to target/gatling/rtf.txt.
 */
public class WebSocketSimulation extends Simulation {

    private static final LoadSettings.RealTimeFactors RTF = new LoadSettings.RealTimeFactors("websocket");
    private static volatile String voice;

    private static String message(Session session, String action, JsonObject payload) {
        return new JsonObject()
                .put("header", new JsonObject().put("action", action).put("task_id", session.getString("task")).put("streaming", "duplex"))
                .put("payload", payload).encode();
    }

    private static final LoadSettings.AudioTally TALLY = new LoadSettings.AudioTally();

    /** Tallies a message's audio under its task id and returns its event name. */
    private static String tallyAndEvent(String message) {
        JsonObject header = new JsonObject(message).getJsonObject("header");
        TALLY.add(header.getString("task_id"), message, audioBytes(message));
        return header.getString("event");
    }

    private static long audioBytes(String message) {
        JsonObject event = new JsonObject(message);
        if (!"result-generated".equals(event.getJsonObject("header").getString("event"))) {
            return 0;
        }
        return LoadSettings.decodedLength(event.getJsonObject("payload").getJsonObject("output").getJsonObject("audio").getString("data"));
    }

    ScenarioBuilder duplex = scenario("websocket tasks")
            .exec(ws("connect").connect("/api-ws/v1/audio/speech").header("Authorization", "Bearer " + LoadSettings.token()))
            .exec(repeat(Integer.getInteger("tasks", 3)).on(
                    exec(session -> session.set("task", UUID.randomUUID().toString()).set("t0", System.nanoTime()))
                            .exec(ws("run-task").sendText(session -> message(session, "run-task", new JsonObject()
                                            .put("task_group", "audio").put("task", "tts").put("function", "SpeechSynthesizer")
                                            .put("model", "cosyvoice-v2").put("input", new JsonObject())
                                            .put("parameters", new JsonObject().put("mode", "fast_replication").put("reference_audio_id", voice)
                                                    .put("output_format", "pcm").put("sample_rate", LoadSettings.SAMPLE_RATE))))
                                    .await(30).on(ws.checkTextMessage("task-started").check(jsonPath("$.header.event").is("task-started"))))
                            .group("WS time to first chunk").on(exec(ws("continue-task").sendText(session -> message(session, "continue-task",
                                            new JsonObject().put("input", new JsonObject().put("text", LoadSettings.TEXT))))
                                    .await(60).on(ws.checkTextMessage("WS first chunk")
                                            .matching(jsonPath("$.header.event").in("result-generated", "task-failed"))
                                            .check(jsonPath("$.header.event").is("result-generated"),
                                                    jsonPath("$.payload.output.audio.data").saveAs("first")))))
                            .exec(ws("finish-task").sendText(session -> message(session, "finish-task",
                                            new JsonObject().put("input", new JsonObject())))
                                    .await(120).on(ws.checkTextMessage("WS task finished")
                                            .matching(regex("(?s)(.*)").transform(WebSocketSimulation::tallyAndEvent).in("task-finished", "task-failed"))
                                            .check(jsonPath("$.header.event").is("task-finished"))))
                            .exec(ws.processUnmatchedMessages((List<WsInboundMessage> messages, Session session) -> {
                                if (!session.isFailed()) {
                                    String task = session.getString("task");
                                    for (WsInboundMessage message : messages) {
                                        if (message instanceof WsInboundMessage.Text text) {
                                            TALLY.add(task, text.message(), audioBytes(text.message()));
                                        }
                                    }
                                    long bytes = LoadSettings.decodedLength(session.getString("first")) + TALLY.take(task);
                                    RTF.add((System.nanoTime() - session.getLong("t0")) / 1e9, bytes);
                                }
                                return session;
                            }))))
            .exec(ws("close").close());

    {
        setUp(duplex.injectClosed(LoadSettings.ramp())).protocols(LoadSettings.protocol())
                .assertions(LoadSettings.errorBudget());
    }

    @Override
    public void before() {
        voice = LoadSettings.uploadVoice();
    }

    @Override
    public void after() {
        RTF.report();
    }
}
