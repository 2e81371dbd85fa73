package io.cosyvoice.api;

import io.cosyvoice.error.ErrorCode;
import io.cosyvoice.error.ServiceException;
import io.cosyvoice.metrics.SynthesisMetrics;
import io.cosyvoice.metrics.SynthesisMetrics.Api;
import io.cosyvoice.metrics.SynthesisMetrics.Outcome;
import io.cosyvoice.synthesis.SynthesisClient;
import io.cosyvoice.synthesis.SynthesisMessages;
import io.cosyvoice.synthesis.SynthesisMessages.Chunk;
import io.cosyvoice.synthesis.SynthesisMessages.Failure;
import io.cosyvoice.synthesis.SynthesisStream;
import io.cosyvoice.text.IncrementalSplitter;
import io.cosyvoice.text.SentenceSplitter;
import io.cosyvoice.voice.VoiceLibrary;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;

/**
 * One duplex WebSocket connection: the run-task / continue-task / finish-task protocol of the
 * PAI-EAS document. Messages are handled strictly in order (each waits for the previous one's
 * asynchronous work), sentences go to the backend as soon as they are complete, and every audio
 * chunk becomes a result-generated event with its metrics. A connection runs one task at a time
 * and can run another after task-finished; a new run-task cancels a running one.
 *
 * <p>Each run-task is one {@link SynthesisMetrics.Request}, whose time to first chunk counts from
 * its first complete sentence (the client's pause between run-task and its text is not the
 * server's latency).
 */
final class SpeechSocket {

    private static final Logger log = LoggerFactory.getLogger(SpeechSocket.class);

    private final Vertx vertx;
    private final ServerWebSocket socket;
    private final VoiceLibrary library;
    private final SynthesisClient synthesis;
    private final long idleTimeoutMs;
    private final SynthesisMetrics metrics;
    private Future<Void> queue = Future.succeededFuture();
    private Task task;
    private long idleTimer = -1;

    SpeechSocket(Vertx vertx, ServerWebSocket socket, VoiceLibrary library, SynthesisClient synthesis, Duration idleTimeout,
                 SynthesisMetrics metrics) {
        this.vertx = vertx;
        this.metrics = metrics;
        this.socket = socket;
        this.library = library;
        this.synthesis = synthesis;
        this.idleTimeoutMs = idleTimeout.toMillis();
    }

    void start() {
        socket.textMessageHandler(text -> {
            touch();
            queue = queue.transform(ignored -> handle(text)).recover(err -> Future.succeededFuture());
        });
        socket.binaryMessageHandler(binary -> sendFailed("", ErrorCode.INVALID_PARAMETER, "message: expected JSON text frames"));
        socket.closeHandler(v -> {
            cancelTimer();
            if (task != null) {
                task.cancel("client disconnected");
            }
        });
        touch();
    }

    /** An idle connection (no message and no task producing audio) closes after the timeout. */
    private void touch() {
        cancelTimer();
        idleTimer = vertx.setTimer(idleTimeoutMs, id -> {
            if (task != null && !task.job.isDone()) {
                touch(); // a task is still producing: not idle
            } else {
                socket.close((short) 1000, "idle timeout");
            }
        });
    }

    private void cancelTimer() {
        if (idleTimer >= 0) {
            vertx.cancelTimer(idleTimer);
            idleTimer = -1;
        }
    }

    private Future<Void> handle(String text) {
        JsonObject message;
        try {
            message = new JsonObject(text);
        } catch (DecodeException e) {
            sendFailed("", ErrorCode.INVALID_PARAMETER, "message: not valid JSON");
            return Future.succeededFuture();
        }
        JsonObject header = message.getValue("header") instanceof JsonObject h ? h : new JsonObject();
        JsonObject payload = message.getValue("payload") instanceof JsonObject p ? p : new JsonObject();
        String taskId = header.getValue("task_id") instanceof String id ? id : "";
        Object action = header.getValue("action");
        try {
            if ("run-task".equals(action)) {
                return runTask(taskId, payload);
            } else if ("continue-task".equals(action)) {
                currentTask(taskId).continueWith(text(payload));
            } else if ("finish-task".equals(action)) {
                currentTask(taskId).finish();
            } else {
                throw ServiceException.invalid("header.action", "must be run-task, continue-task or finish-task");
            }
        } catch (ServiceException e) {
            sendFailed(taskId, e.code(), e.getMessage());
        }
        return Future.succeededFuture();
    }

    private Future<Void> runTask(String taskId, JsonObject payload) {
        if (task != null && !task.job.isDone()) {
            task.cancel("replaced by a new run-task");
            sendFailed(task.id, ErrorCode.INVALID_PARAMETER, "task cancelled: a new run-task started on this connection");
        }
        task = null;
        SynthesisMetrics.Request request = metrics.start(Api.WEBSOCKET);
        if (taskId.isBlank()) {
            request.finish(Outcome.CLIENT_ERROR);
            sendFailed(taskId, ErrorCode.INVALID_PARAMETER, "header.task_id: is required");
            return Future.succeededFuture();
        }
        SpeechParameters params;
        try {
            params = SpeechParameters.fromRunTask(payload);
        } catch (ServiceException e) {
            request.finish(outcome(e.code()));
            sendFailed(taskId, e.code(), e.getMessage());
            return Future.succeededFuture();
        }
        return library.get(params.referenceAudioId())
                .compose(voice -> library.promptFeatures(voice)
                        .compose(prompt -> synthesis.start(new SynthesisClient.Request(voice.id(), voice.text(),
                                prompt.orElse(null), params.mode(), params.instruct(), params.seed(), params.speed(),
                                List.of(), false, true))))
                .onSuccess(job -> {
                    task = new Task(taskId, params, job, request);
                    if (socket.isClosed()) {
                        // the client left while the task was starting: nothing would ever finish or cancel it
                        task.cancel("client disconnected");
                        return;
                    }
                    send(event("task-started", taskId, new JsonObject()));
                    task.open();
                })
                .onFailure(err -> {
                    ServiceException e = err instanceof ServiceException s ? s
                            : new ServiceException(ErrorCode.INTERNAL_ERROR, "internal error");
                    request.finish(outcome(e.code()));
                    sendFailed(taskId, e.code(), e.getMessage());
                })
                .<Void>mapEmpty()
                .recover(err -> Future.succeededFuture());
    }

    private Task currentTask(String taskId) {
        if (task == null || task.job.isDone()) {
            throw ServiceException.invalid("header.task_id", "no running task; send run-task first");
        }
        if (!task.id.equals(taskId)) {
            throw ServiceException.invalid("header.task_id", "'" + taskId + "' is not the running task");
        }
        if (task.finishing) {
            throw ServiceException.invalid("header.action", "the task is finishing; no more text is accepted");
        }
        return task;
    }

    private static String text(JsonObject payload) {
        Object input = payload.getValue("input");
        Object text = input instanceof JsonObject in ? in.getValue("text") : null;
        if (!(text instanceof String s)) {
            throw ServiceException.invalid("payload.input.text", text == null ? "is required" : "must be a string");
        }
        return s;
    }

    private static Outcome outcome(ErrorCode code) {
        return Outcome.ofStatus(ApiErrors.status(code));
    }

    private void sendFailed(String taskId, ErrorCode code, String message) {
        JsonObject header = new JsonObject().put("event", "task-failed").put("task_id", taskId)
                .put("error_code", code.apiName()).put("error_message", message);
        send(new JsonObject().put("header", header).put("payload", new JsonObject()));
    }

    private static JsonObject event(String name, String taskId, JsonObject payload) {
        return new JsonObject().put("header", new JsonObject().put("event", name).put("task_id", taskId)).put("payload", payload);
    }

    private void send(JsonObject message) {
        if (!socket.isClosed()) {
            socket.writeTextMessage(message.encode());
        }
    }

    /** One task: its text splitter, its backend job and its output encoder. */
    private final class Task {
        private final String id;
        private final SynthesisStream job;
        private final AudioOutput out;
        private final SynthesisMetrics.Request request;
        private final IncrementalSplitter splitter = new IncrementalSplitter(SentenceSplitter.DEFAULT_MAX_LENGTH);
        private long characters;
        private boolean finishing;
        private boolean anyText;
        private long lastSentNanos = System.nanoTime();
        private final long startNanos = System.nanoTime();
        private boolean firstChunk = true;
        private double pendingGenerateSeconds;

        Task(String id, SpeechParameters params, SynthesisStream job, SynthesisMetrics.Request request) {
            this.id = id;
            this.job = job;
            this.request = request;
            this.out = new AudioOutput(params, job.speedApplied(), true);
        }

        void open() {
            job.chunkHandler(this::chunk).endHandler(end -> finished()).failureHandler(this::failed);
            job.open();
        }

        void continueWith(String text) {
            characters += text.codePointCount(0, text.length());
            List<String> sentences = splitter.push(text);
            if (!sentences.isEmpty()) {
                anyText = true;
                request.textReady();
                job.addSentences(sentences, false);
            }
        }

        void finish() {
            finishing = true;
            List<String> rest = splitter.finish();
            if (!rest.isEmpty()) {
                anyText = true;
                request.textReady();
            }
            if (!anyText) {
                // nothing to speak at all: finish at once rather than ask the backend for silence
                job.cancel("no text");
                finished();
                return;
            }
            job.addSentences(rest, true);
        }

        void cancel(String reason) {
            request.finish(Outcome.CANCELLED);
            job.cancel(reason);
        }

        private void chunk(Chunk chunk) {
            request.produced(chunk.samples().length, SynthesisMessages.SAMPLE_RATE, chunk.generateSeconds());
            byte[] bytes = out.chunk(chunk.samples());
            pendingGenerateSeconds += chunk.generateSeconds();
            if (bytes.length > 0) {
                result(bytes);
            }
            if (socket.writeQueueFull()) {
                socket.drainHandler(v -> job.credit(1));
            } else {
                job.credit(1);
            }
        }

        private void result(byte[] bytes) {
            request.audioWritten();
            long now = System.nanoTime();
            JsonObject metrics = new JsonObject()
                    .put("speech_len", out.secondsIn(bytes, firstChunk))
                    .put("server_cost_time", (now - lastSentNanos) / 1e9)
                    .put("generate_time", pendingGenerateSeconds);
            pendingGenerateSeconds = 0;
            if (firstChunk) {
                metrics.put("first_package_time", (now - startNanos) / 1e9);
                firstChunk = false;
            }
            lastSentNanos = now;
            JsonObject message = event("result-generated", id, new JsonObject()
                    .put("output", new JsonObject().put("audio", new JsonObject().put("data", AudioJson.AUDIO)))
                    .put("metrics", metrics)
                    .put("usage", new JsonObject().put("characters", characters)));
            if (!socket.isClosed()) {
                socket.writeTextMessage(AudioJson.text(message, bytes));
            }
        }

        private void finished() {
            byte[] tail = out.finish();
            if (tail.length > 0) {
                result(tail);
            }
            send(event("task-finished", id, new JsonObject().put("usage", new JsonObject().put("characters", characters))));
            request.finish(Outcome.OK);
            log.atDebug().addKeyValue("task_id", id).addKeyValue("characters", characters).log("websocket task finished");
        }

        private void failed(Failure failure) {
            request.finish(outcome(failure.code()));
            sendFailed(id, failure.code(), failure.message());
        }
    }
}
