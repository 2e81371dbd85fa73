package io.cosyvoice.perf.gatling;

import io.gatling.javaapi.core.ScenarioBuilder;
import io.gatling.javaapi.core.Simulation;

import static io.gatling.javaapi.http.HttpDsl.ByteArrayBodyPart;
import static io.gatling.javaapi.http.HttpDsl.StringBodyPart;
import static io.gatling.javaapi.core.CoreDsl.jsonPath;
import static io.gatling.javaapi.core.CoreDsl.scenario;
import static io.gatling.javaapi.http.HttpDsl.http;
import static io.gatling.javaapi.http.HttpDsl.status;

/**
 * Reference-audio CRUD under ramping concurrency: each iteration uploads a 2-second WAV, lists,
 * reads and deletes it (the upload decodes the file and, with the engine on, computes the voice's
 * prompt features, so it is the heavy one).
 */
public class ReferenceAudioSimulation extends Simulation {

    private static final byte[] WAV = LoadSettings.voiceWav();

    ScenarioBuilder crud = scenario("reference audio CRUD")
            .exec(http("upload").post("/api/v1/audio/reference_audio")
                    .bodyPart(StringBodyPart("text", "希望你以后能够做得比我还好哟"))
                    .bodyPart(ByteArrayBodyPart("file", WAV).fileName("voice.wav").contentType("audio/wav"))
                    .asMultipartForm()
                    .check(status().is(200), jsonPath("$.id").saveAs("id")))
            .exitHereIfFailed() // no id to read or delete
            .exec(http("list").get("/api/v1/audio/reference_audio?limit=10&order=desc")
                    .check(status().is(200)))
            .exec(http("get").get("/api/v1/audio/reference_audio/#{id}")
                    .check(status().is(200), jsonPath("$.id").isEL("#{id}")))
            .exec(http("delete").delete("/api/v1/audio/reference_audio/#{id}")
                    .check(status().is(200), jsonPath("$.code").is("OK")));

    {
        setUp(crud.injectClosed(LoadSettings.ramp())).protocols(LoadSettings.protocol())
                .assertions(LoadSettings.errorBudget());
    }
}
