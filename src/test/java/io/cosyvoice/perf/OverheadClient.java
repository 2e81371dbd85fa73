package io.cosyvoice.perf;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The client side of the server-overhead benchmark: closed-loop streams that each send one
 * synthesis request after the other over one transport and time the first audio chunk, and a
 * crowd of idle WebSocket connections. Loopback only; every phase stops by itself.
 */
final class OverheadClient implements AutoCloseable {

    /** The three paths a synthesis request can take through the server. */
    enum Transport {
        /** {@code stream:false}: the first chunk is the whole JSON answer. */
        HTTP,
        /** {@code stream:true}: the first {@code data:} event. */
        SSE,
        /** a duplex task: from {@code continue-task} (one complete sentence) to the first {@code result-generated}. */
        WEBSOCKET
    }

    /** One short sentence: the test backend makes 0.48 s of audio for it, three chunks. */
    static final String SHORT_TEXT = "你好，世界。";
    /** One longer sentence: 1.36 s of audio, seven chunks; at real-time pace a stream lasts about as long. */
    static final String LONG_TEXT = "今天天气很好，我们一起去公园散步吧。";
    static final long REQUEST_TIMEOUT_MS = 30_000;

    /** What one run of a transport at one concurrency measured; latencies in nanoseconds, sorted. */
    record Result(Transport transport, int concurrency, double seconds, long[] firstChunkNanos, long errors) {
        long requests() {
            return firstChunkNanos.length;
        }

        double percentileMs(double p) {
            return percentile(firstChunkNanos, p) / 1e6;
        }
    }

    private final Vertx vertx;
    private final HttpClient http;
    private final WebSocketClient webSockets;
    private final String host = "127.0.0.1";
    private final int port;
    private final String token;
    private final String voiceId;

    OverheadClient(int port, String token, String voiceId) {
        this.port = port;
        this.token = token;
        this.voiceId = voiceId;
        this.vertx = Vertx.vertx();
        this.http = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true),
                new PoolOptions().setHttp1MaxSize(1024));
        this.webSockets = vertx.createWebSocketClient(new WebSocketClientOptions().setMaxConnections(100_000));
    }

    /** {@code concurrency} streams, each sending requests back to back for {@code seconds}, all starting at once. */
    Result run(Transport transport, int concurrency, double seconds, String text) {
        return run(transport, concurrency, seconds, text, 0);
    }

    /**
     * {@code concurrency} streams, each sending requests back to back for {@code seconds}; their
     * starts are spread evenly over {@code spreadMs}. Streams whose requests all take as long stay
     * in step: started together, they would arrive as one burst per request forever.
     */
    Result run(Transport transport, int concurrency, double seconds, String text, long spreadMs) {
        ConcurrentLinkedQueue<Long> latencies = new ConcurrentLinkedQueue<>();
        AtomicLong errors = new AtomicLong();
        long deadline = System.nanoTime() + (long) (seconds * 1e9);
        List<Future<Void>> streams = new ArrayList<>();
        for (int i = 0; i < concurrency; i++) {
            Promise<Void> done = Promise.promise();
            streams.add(done.future());
            long startDelayMs = spreadMs * i / concurrency;
            Handler<Void> start = v -> {
                if (transport == Transport.WEBSOCKET) {
                    connect().onFailure(err -> {
                        errors.incrementAndGet();
                        done.complete();
                    }).onSuccess(socket -> new SocketStream(socket, text, latencies, errors, deadline, done).next());
                } else {
                    loop(transport, text, latencies, errors, deadline, done);
                }
            };
            if (startDelayMs > 0) {
                vertx.setTimer(startDelayMs, t -> start.handle(null));
            } else {
                vertx.runOnContext(start);
            }
        }
        try {
            Future.join(streams).await(REQUEST_TIMEOUT_MS + (long) (seconds * 1000) + 10_000, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("streams did not finish: " + e.getMessage(), e);
        }
        long[] sorted = latencies.stream().mapToLong(Long::longValue).sorted().toArray();
        return new Result(transport, concurrency, seconds, sorted, errors.get());
    }

    private void loop(Transport transport, String text, ConcurrentLinkedQueue<Long> latencies, AtomicLong errors, long deadline,
                      Promise<Void> done) {
        if (System.nanoTime() >= deadline) {
            done.complete();
            return;
        }
        httpRequest(transport == Transport.SSE, text).onComplete(result -> {
            if (result.succeeded()) {
                latencies.add(result.result());
            } else {
                errors.incrementAndGet();
            }
            loop(transport, text, latencies, errors, deadline, done);
        });
    }

    /** One speech request; succeeds with the nanoseconds to its first chunk once the whole answer arrived well. */
    private Future<Long> httpRequest(boolean stream, String text) {
        JsonObject body = new JsonObject().put("model", "CosyVoice2-0.5B").put("stream", stream)
                .put("input", new JsonObject().put("mode", "fast_replication").put("reference_audio_id", voiceId)
                        .put("text", text));
        RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setHost(host).setPort(port)
                .setURI("/api/v1/audio/speech").setIdleTimeout(REQUEST_TIMEOUT_MS)
                .putHeader("Authorization", "Bearer " + token).putHeader("Content-Type", "application/json");
        long start = System.nanoTime();
        Promise<Long> outcome = Promise.promise();
        http.request(options)
                .compose(request -> request.send(body.toBuffer()))
                .onFailure(outcome::tryFail)
                .onSuccess(response -> {
                    long[] first = {-1};
                    Buffer all = Buffer.buffer();
                    response.handler(chunk -> {
                        // SSE: the first data: event; JSON: the whole answer (taken at its end)
                        if (stream && first[0] < 0 && chunk.toString().contains("data:")) {
                            first[0] = System.nanoTime() - start;
                        }
                        all.appendBuffer(chunk);
                    });
                    response.exceptionHandler(outcome::tryFail);
                    response.endHandler(v -> {
                        String answer = all.toString();
                        if (response.statusCode() != 200) {
                            outcome.tryFail(response.statusCode() + " " + answer);
                        } else if (stream && !answer.contains("\"finish_reason\":\"stop\"")) {
                            outcome.tryFail("stream did not end with finish_reason stop");
                        } else {
                            outcome.tryComplete(stream ? first[0] : System.nanoTime() - start);
                        }
                    });
                });
        return outcome.future();
    }

    private Future<WebSocket> connect() {
        return webSockets.connect(new WebSocketConnectOptions().setHost(host).setPort(port)
                .setURI("/api-ws/v1/audio/speech").addHeader("Authorization", "Bearer " + token)
                .setTimeout(REQUEST_TIMEOUT_MS));
    }

    /** One WebSocket connection running duplex tasks one after the other. */
    private final class SocketStream {
        private final WebSocket socket;
        private final String text;
        private final ConcurrentLinkedQueue<Long> latencies;
        private final AtomicLong errors;
        private final long deadline;
        private final Promise<Void> done;
        private int taskNumber;
        private String taskId;
        private long sentNanos;
        private long firstNanos;
        private long timer = -1;

        SocketStream(WebSocket socket, String text, ConcurrentLinkedQueue<Long> latencies, AtomicLong errors, long deadline,
                     Promise<Void> done) {
            this.socket = socket;
            this.text = text;
            this.latencies = latencies;
            this.errors = errors;
            this.deadline = deadline;
            this.done = done;
            socket.textMessageHandler(this::receive);
            socket.closeHandler(v -> {
                if (!this.done.future().isComplete()) {
                    errors.incrementAndGet();
                    finish();
                }
            });
        }

        void next() {
            if (System.nanoTime() >= deadline) {
                finish();
                return;
            }
            taskId = "t" + (taskNumber++);
            firstNanos = -1;
            timer = vertx.setTimer(REQUEST_TIMEOUT_MS, t -> {
                errors.incrementAndGet();
                finish();
            });
            socket.writeTextMessage(message("run-task", new JsonObject().put("task_group", "audio").put("task", "tts")
                    .put("function", "SpeechSynthesizer").put("model", "cosyvoice-v2").put("input", new JsonObject())
                    .put("parameters", new JsonObject().put("mode", "fast_replication").put("reference_audio_id", voiceId)
                            .put("output_format", "wav").put("sample_rate", 24000))));
        }

        private void receive(String message) {
            JsonObject header = new JsonObject(message).getJsonObject("header");
            switch (header.getString("event")) {
                case "task-started" -> {
                    sentNanos = System.nanoTime();
                    socket.writeTextMessage(message("continue-task", new JsonObject().put("input", new JsonObject().put("text", text))));
                    socket.writeTextMessage(message("finish-task", new JsonObject().put("input", new JsonObject())));
                }
                case "result-generated" -> {
                    if (firstNanos < 0) {
                        firstNanos = System.nanoTime() - sentNanos;
                    }
                }
                case "task-finished" -> {
                    vertx.cancelTimer(timer);
                    if (firstNanos >= 0) {
                        latencies.add(firstNanos);
                    } else {
                        errors.incrementAndGet();
                    }
                    next();
                }
                default -> { // task-failed
                    vertx.cancelTimer(timer);
                    errors.incrementAndGet();
                    next();
                }
            }
        }

        private String message(String action, JsonObject payload) {
            return new JsonObject()
                    .put("header", new JsonObject().put("action", action).put("task_id", taskId).put("streaming", "duplex"))
                    .put("payload", payload).encode();
        }

        private void finish() {
            if (done.tryComplete()) {
                socket.close();
            }
        }
    }

    /**
     * Opens {@code count} WebSocket connections that send nothing, {@code parallel} handshakes at a
     * time; they stay open until {@link #closeIdle}.
     */
    List<WebSocket> openIdle(int count, int parallel) {
        List<WebSocket> open = java.util.Collections.synchronizedList(new ArrayList<>(count));
        AtomicLong next = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        List<Future<Void>> lanes = new ArrayList<>();
        for (int i = 0; i < parallel; i++) {
            Promise<Void> lane = Promise.promise();
            lanes.add(lane.future());
            vertx.runOnContext(v -> openNext(count, next, open, failed, lane));
        }
        try {
            Future.join(lanes).await(10, TimeUnit.MINUTES);
        } catch (Exception e) {
            throw new IllegalStateException("idle connections did not open: " + e.getMessage(), e);
        }
        if (failed.get() > 0) {
            throw new IllegalStateException(failed.get() + " of " + count + " WebSocket connections failed to open"
                    + " (is ulimit -n high enough?)");
        }
        return open;
    }

    private void openNext(int count, AtomicLong next, List<WebSocket> open, AtomicLong failed, Promise<Void> lane) {
        if (next.getAndIncrement() >= count) {
            lane.complete();
            return;
        }
        connect().onComplete(result -> {
            if (result.succeeded()) {
                open.add(result.result());
            } else {
                failed.incrementAndGet();
            }
            openNext(count, next, open, failed, lane);
        });
    }

    /** How many of these connections the server still holds open. */
    static long stillOpen(List<WebSocket> sockets) {
        return sockets.stream().filter(s -> !s.isClosed()).count();
    }

    void closeIdle(List<WebSocket> sockets) {
        List<Future<Void>> closing = new ArrayList<>();
        for (WebSocket socket : sockets) {
            closing.add(socket.close());
        }
        try {
            Future.join(closing).await(2, TimeUnit.MINUTES);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Nearest-rank percentile of a sorted array ({@code p} in 0..100); 0 for an empty one. */
    static long percentile(long[] sorted, double p) {
        if (sorted.length == 0) {
            return 0;
        }
        int rank = (int) Math.ceil(p / 100 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    @Override
    public void close() {
        try {
            vertx.close().await(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
