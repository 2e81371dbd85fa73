package io.cosyvoice.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.cosyvoice.audio.TestAudio;
import io.cosyvoice.support.TestServer;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.json.schema.OutputUnit;
import io.vertx.openapi.contract.OpenAPIContract;
import io.vertx.openapi.contract.Operation;
import io.vertx.openapi.validation.ResponseValidator;
import io.vertx.openapi.validation.ValidatableResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static io.cosyvoice.api.SpeechTestSupport.body;
import static io.cosyvoice.api.SpeechTestSupport.input;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code /openapi.yaml} describes the real server: it is a valid OpenAPI 3.1 document, and real
 * responses of every operation (successes and errors) validate against it.
 */
class OpenApiContractTest {

    private static TestServer server;
    private static Vertx vertx;
    private static OpenAPIContract contract;
    private static ResponseValidator validator;
    private static JsonObject document;
    private static final Set<String> checked = new TreeSet<>();
    private static final java.util.List<String> TEXT_TYPES = java.util.List.of("text/event-stream", "application/yaml", "text/plain");
    // binary bodies, which the validator cannot check either: status and media type are checked here
    private static final java.util.List<String> BINARY_TYPES = java.util.List.of("audio/wav", "audio/mpeg", "audio/pcm");

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start();
        vertx = Vertx.vertx();
        HttpResponse<Buffer> served = server.client().get("/openapi.yaml").send().await();
        assertEquals(200, served.statusCode());
        Map<?, ?> yaml = new ObjectMapper(new YAMLFactory()).readValue(served.bodyAsString(), Map.class);
        // vertx-openapi validates only a fixed set of media types: for it, the event stream and the
        // YAML document are plain text (both are strings; SSE events are checked one by one below)
        String json = new ObjectMapper().writeValueAsString(yaml);
        document = new JsonObject(json);
        for (String type : TEXT_TYPES) {
            json = json.replace("\"" + type + "\"", "\"text/plain\"");
        }
        for (String type : BINARY_TYPES) {
            json = json.replace("\"" + type + "\"", "\"application/octet-stream\"");
        }
        contract = OpenAPIContract.from(vertx, new JsonObject(json)).await(30, TimeUnit.SECONDS);
        validator = ResponseValidator.create(vertx, contract);
    }

    @AfterAll
    static void stop() {
        vertx.close();
        server.close();
    }

    @Test
    void theErrorSchemaListsEveryErrorCode() {
        Set<String> documented = new TreeSet<>(document.getJsonObject("components").getJsonObject("schemas")
                .getJsonObject("Error").getJsonObject("properties").getJsonObject("code").getJsonArray("enum")
                .stream().map(Object::toString).toList());
        Set<String> codes = new TreeSet<>(java.util.Arrays.stream(io.cosyvoice.error.ErrorCode.values())
                .map(io.cosyvoice.error.ErrorCode::apiName).toList());
        assertEquals(codes, documented);
    }

    private static void check(String operationId, HttpResponse<Buffer> response) throws Exception {
        Map<String, String> headers = new HashMap<>();
        response.headers().forEach(h -> headers.put(h.getKey().toLowerCase(java.util.Locale.ROOT), h.getValue()));
        String type = response.getHeader("Content-Type");
        if (type != null && (TEXT_TYPES.stream().anyMatch(type::startsWith) || BINARY_TYPES.stream().anyMatch(type::startsWith))) {
            // a string body, which the validator library cannot check: check status and media type here
            JsonObject content = documentedResponse(operationId, response.statusCode()).getJsonObject("content");
            assertTrue(content.containsKey(type.split(";")[0].strip()), operationId + " documents " + type);
            checked.add(operationId);
            return;
        }
        assertTrue(type != null || response.body() == null || response.body().length() == 0,
                operationId + " " + response.statusCode() + " has a body without Content-Type: " + response.bodyAsString());
        ValidatableResponse validatable = response.body() == null || response.body().length() == 0
                ? ValidatableResponse.create(response.statusCode(), headers)
                : ValidatableResponse.create(response.statusCode(), headers, response.body(), type);
        try {
            validator.validate(validatable, operationId).await(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError(operationId + " " + response.statusCode() + " " + type + ": " + e.getMessage()
                    + " body: " + response.bodyAsString(), e);
        }
        checked.add(operationId);
    }

    private static JsonObject documentedResponse(String operationId, int status) {
        JsonObject paths = document.getJsonObject("paths");
        for (String path : paths.fieldNames()) {
            JsonObject item = paths.getJsonObject(path);
            for (String method : item.fieldNames()) {
                if (item.getValue(method) instanceof JsonObject op && operationId.equals(op.getString("operationId"))) {
                    JsonObject response = op.getJsonObject("responses").getJsonObject(String.valueOf(status));
                    assertTrue(response != null, operationId + " documents status " + status);
                    return response;
                }
            }
        }
        throw new AssertionError("no operation " + operationId);
    }

    private static HttpResponse<Buffer> openAiSpeech(JsonObject body) {
        return server.request(HttpMethod.POST, "/v1/audio/speech").sendJsonObject(body).await();
    }

    @Test
    void everyOperationsRealResponsesMatchTheDocument() throws Exception {
        String voice = server.uploadOk("v.wav", TestAudio.wav16(1.5, 16000), "voice").getString("id");
        check("uploadReferenceAudio", server.upload("v.wav", TestAudio.wav16(1.5, 16000), "audio/wav", "voice"));
        check("uploadReferenceAudio", server.upload("v.wav", TestAudio.wav16(1.5, 16000), "audio/wav", ""));
        check("uploadReferenceAudio", server.upload("v.txt", "hello".repeat(100).getBytes(), "text/plain", "voice"));
        check("listReferenceAudio", server.get("/api/v1/audio/reference_audio?limit=5&order=asc"));
        check("listReferenceAudio", server.get("/api/v1/audio/reference_audio?limit=0"));
        check("listReferenceAudio", server.client().get("/api/v1/audio/reference_audio").send().await());
        check("getReferenceAudio", server.get("/api/v1/audio/reference_audio/" + voice));
        check("getReferenceAudio", server.get("/api/v1/audio/reference_audio/" + UUID.randomUUID()));
        check("getReferenceAudio", server.get("/api/v1/audio/reference_audio/nope"));
        check("getReferenceAudioFile", server.get("/api/v1/audio/reference_audio/" + voice + "/audio"));
        check("getReferenceAudioFile", server.get("/api/v1/audio/reference_audio/" + UUID.randomUUID() + "/audio"));
        check("getReferenceAudioFile", server.client().get("/api/v1/audio/reference_audio/" + voice + "/audio").send().await());

        check("createSpeech", server.speech(body(input("fast_replication", "你好。", voice), false)));
        check("createSpeech", server.speech(body(input("fast_replication", "你好。", voice).put("output_format", "mp3"), false)));
        HttpResponse<Buffer> sse = server.speech(body(input("fast_replication", "你好，世界。再见。", voice), true));
        check("createSpeech", sse);
        var chunkSchema = contract.getSchemaRepository().validator("app:///#/components/schemas/SpeechChunk");
        for (JsonObject event : SpeechTestSupport.events(sse.bodyAsString())) {
            OutputUnit result = chunkSchema.validate(event);
            assertTrue(result.getValid(), "SSE event matches SpeechChunk: " + event.encode() + " " + result.getErrors());
        }
        check("createSpeech", server.speech(body(input("fast_replication", "你好。", voice).put("speed", 9), false)));
        check("createSpeech", server.speech(body(input("fast_replication", "你好。", UUID.randomUUID().toString()), false)));

        check("renameReferenceAudio", server.patch(voice, new JsonObject().put("name", "contract")));
        check("renameReferenceAudio", server.patch(voice, new JsonObject().put("name", 5)));
        check("renameReferenceAudio", server.patch(UUID.randomUUID().toString(), new JsonObject().put("name", "x")));
        check("uploadReferenceAudio", server.uploadNamed("v.wav", TestAudio.wav16(1.5, 16000), "voice", "CONTRACT"));
        String other = server.uploadOk("v.wav", TestAudio.wav16(1.5, 16000), "voice").getString("id");
        check("renameReferenceAudio", server.patch(other, new JsonObject().put("name", "Contract")));
        check("renameReferenceAudio", server.patch(other, new JsonObject().putNull("name")));

        JsonObject openAi = new JsonObject().put("model", "tts-1").put("input", "你好。").put("voice", "contract");
        for (String format : java.util.List.of("mp3", "wav", "pcm")) {
            check("createOpenAiSpeech", openAiSpeech(openAi.copy().put("response_format", format)));
        }
        HttpResponse<Buffer> openAiSse = openAiSpeech(openAi.copy().put("stream_format", "sse"));
        check("createOpenAiSpeech", openAiSse);
        var deltaSchema = contract.getSchemaRepository().validator("app:///#/components/schemas/SpeechAudioDelta");
        var doneSchema = contract.getSchemaRepository().validator("app:///#/components/schemas/SpeechAudioDone");
        java.util.List<JsonObject> openAiEvents = SpeechTestSupport.events(openAiSse.bodyAsString());
        for (int i = 0; i < openAiEvents.size(); i++) {
            var schema = i < openAiEvents.size() - 1 ? deltaSchema : doneSchema;
            OutputUnit result = schema.validate(openAiEvents.get(i));
            assertTrue(result.getValid(), "SSE event " + i + " matches: " + openAiEvents.get(i).encode() + " " + result.getErrors());
        }
        check("createOpenAiSpeech", openAiSpeech(openAi.copy().put("speed", 9)));
        check("createOpenAiSpeech", server.client().post("/v1/audio/speech").sendJsonObject(openAi).await());
        check("listVoices", server.get("/v1/audio/voices?limit=3&order=asc"));
        check("listVoices", server.get("/v1/audio/voices?order=sideways"));
        check("listVoices", server.client().get("/v1/audio/voices").send().await());

        check("deleteReferenceAudio", server.delete("/api/v1/audio/reference_audio/" + voice));
        check("deleteReferenceAudio", server.delete("/api/v1/audio/reference_audio/" + voice));
        check("getOpenApi", server.client().get("/openapi.yaml").send().await());
        check("healthLive", server.client().get("/health/live").send().await());
        check("healthReady", server.client().get("/health/ready").send().await());
        check("getMetrics", server.client().get("/metrics").send().await());
        check("speechWebSocket", server.client().get("/api-ws/v1/audio/speech").send().await());
        check("speechWebSocket", server.request(HttpMethod.GET, "/api-ws/v1/audio/speech").send().await());

        Set<String> documented = contract.operations().stream().map(Operation::getOperationId).collect(Collectors.toCollection(TreeSet::new));
        assertEquals(documented, checked, "every documented operation was checked against a real response");
    }
}
