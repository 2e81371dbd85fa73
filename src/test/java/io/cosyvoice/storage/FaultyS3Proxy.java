package io.cosyvoice.storage;

import io.cosyvoice.config.StorageConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.HostAndPort;
import io.vertx.core.net.SocketAddress;

import java.net.URI;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Test double for storage outages: an HTTP reverse proxy on 127.0.0.1 in front of an
 * {@link S3ProxyServer}. In {@link Mode#PASS} it forwards every request verbatim (method, path and
 * query, every header including Host and the signature, body streamed), so AWS signatures stay
 * valid; the other modes break the far side of the storage contract in controlled ways.
 *
 * <pre>{@code
 * try (FaultyS3Proxy faulty = FaultyS3Proxy.start(s3)) {
 *     BlobStore store = faulty.openStore(vertx, "audio").await();
 *     faulty.mode(FaultyS3Proxy.Mode.DOWN);
 *     // store.check() now fails with a StorageException, quickly
 * }
 * }</pre>
 *
 * <p>It runs on its own Vert.x instance, so it outlives any Vert.x a test closes.
 */
public final class FaultyS3Proxy implements AutoCloseable {

    /** How the proxy treats requests. */
    public enum Mode {
        /** Forward everything verbatim. */
        PASS,
        /** PUT and POST get 503 SlowDown without reaching S3; reads and deletes pass. */
        REFUSE_WRITES,
        /** A PUT is answered by closing the connection once part of its body has arrived; the rest pass. */
        DROP_WRITES_MID_BODY,
        /** Every connection is closed at once, new and existing. */
        DOWN
    }

    private static final String SLOW_DOWN = """
            <?xml version="1.0" encoding="UTF-8"?>
            <Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>\
            <RequestId>faulty-s3-proxy</RequestId></Error>""";

    private final Vertx vertx;
    private final S3ProxyServer upstream;
    private final SocketAddress upstreamAddress;
    private final HttpClient client;
    private final Set<HttpConnection> connections = ConcurrentHashMap.newKeySet();
    /**
     * Connections broken by {@link Mode#DOWN}. Closing one is not instant: a request it already carried may
     * still reach {@link #handle} after the client saw the close and the test switched back to PASS, and
     * must not be forwarded then (a "failed" delete would happen after all).
     */
    private final Set<HttpConnection> broken = ConcurrentHashMap.newKeySet();
    private final Map<Mode, AtomicInteger> faults = new ConcurrentHashMap<>();
    private volatile Mode mode = Mode.PASS;
    private volatile HttpServer server;
    private volatile URI endpoint;

    private FaultyS3Proxy(Vertx vertx, S3ProxyServer upstream) {
        this.vertx = vertx;
        this.upstream = upstream;
        URI target = upstream.endpoint();
        this.upstreamAddress = SocketAddress.inetSocketAddress(target.getPort(), target.getHost());
        this.client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true),
                new PoolOptions().setHttp1MaxSize(64));
        for (Mode m : Mode.values()) {
            faults.put(m, new AtomicInteger());
        }
    }

    /** Starts a proxy in {@link Mode#PASS} in front of {@code upstream}. Blocks until it listens. */
    public static FaultyS3Proxy start(S3ProxyServer upstream) {
        Vertx vertx = Vertx.vertx();
        FaultyS3Proxy proxy = new FaultyS3Proxy(vertx, upstream);
        try {
            proxy.listen().await(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            vertx.close();
            throw new IllegalStateException("could not start the faulty S3 proxy", e);
        }
        return proxy;
    }

    private Future<HttpServer> listen() {
        HttpServer created = vertx.createHttpServer(new HttpServerOptions()
                .setHost("127.0.0.1")
                .setPort(0)
                .setHandle100ContinueAutomatically(false));
        created.connectionHandler(this::connected).requestHandler(this::handle);
        return created.listen().onSuccess(listening -> {
            server = listening;
            endpoint = URI.create("http://127.0.0.1:" + listening.actualPort());
        });
    }

    /** {@code http://127.0.0.1:<port>} of the proxy. */
    public URI endpoint() {
        return endpoint;
    }

    public Mode mode() {
        return mode;
    }

    /** Switches the mode; {@link Mode#DOWN} also closes every open connection. */
    public FaultyS3Proxy mode(Mode mode) {
        this.mode = mode;
        if (mode == Mode.DOWN) {
            for (HttpConnection connection : connections) {
                breakConnection(connection);
            }
        }
        return this;
    }

    /** How many requests (or connections, for DOWN) the given mode has broken so far. */
    public int faults(Mode mode) {
        return faults.get(mode).get();
    }

    public S3ProxyServer upstream() {
        return upstream;
    }

    /** The upstream server's bucket and {@code prefix}, but reached through this proxy. */
    public StorageConfig storageConfig(String prefix) {
        return upstream.storageConfig(endpoint, prefix);
    }

    /** Opens an S3 store through this proxy with the upstream server's static credentials. */
    public Future<BlobStore> openStore(Vertx vertx, String prefix) {
        return S3BlobStore.open(vertx, storageConfig(prefix), upstream.credentialsProvider()).map(store -> store);
    }

    @Override
    public void close() {
        try {
            client.close().await(10, TimeUnit.SECONDS);
            if (server != null) {
                server.close().await(10, TimeUnit.SECONDS);
            }
        } catch (Exception e) {
            throw new IllegalStateException("could not stop the faulty S3 proxy", e);
        } finally {
            try {
                vertx.close().await(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                // best effort: the proxy's sockets are already closed
            }
        }
    }

    // ---------------------------------------------------------------------------------------

    private void connected(HttpConnection connection) {
        // a broken connection stays in {@link #broken}: a test makes a few, and its last request may come after its close
        connection.closeHandler(v -> connections.remove(connection));
        if (mode == Mode.DOWN) {
            faults.get(Mode.DOWN).incrementAndGet();
            breakConnection(connection);
            return;
        }
        connections.add(connection);
    }

    private void breakConnection(HttpConnection connection) {
        broken.add(connection);
        connection.close();
    }

    private void handle(HttpServerRequest request) {
        Mode current = mode;
        HttpMethod method = request.method();
        boolean write = method == HttpMethod.PUT || method == HttpMethod.POST;
        if (current == Mode.DOWN || broken.contains(request.connection())) {
            faults.get(Mode.DOWN).incrementAndGet();
            request.connection().close();
        } else if (current == Mode.REFUSE_WRITES && write) {
            faults.get(Mode.REFUSE_WRITES).incrementAndGet();
            refuse(request);
        } else if (current == Mode.DROP_WRITES_MID_BODY && method == HttpMethod.PUT) {
            faults.get(Mode.DROP_WRITES_MID_BODY).incrementAndGet();
            dropMidBody(request);
        } else {
            forward(request);
        }
    }

    /** 503 SlowDown, as S3 answers when throttling; the body is never read, so the connection closes. */
    private void refuse(HttpServerRequest request) {
        request.response()
                .setStatusCode(503)
                .setStatusMessage("Slow Down")
                .putHeader(HttpHeaders.CONTENT_TYPE, "application/xml")
                .putHeader(HttpHeaders.CONNECTION, "close")
                .end(SLOW_DOWN);
    }

    /** Lets the client start sending the body, then closes the connection without an answer. */
    private void dropMidBody(HttpServerRequest request) {
        AtomicLong received = new AtomicLong();
        request.handler(chunk -> {
            if (received.getAndAdd(chunk.length()) == 0) {
                request.connection().close();
            }
        });
        request.endHandler(v -> request.connection().close());
        if (expectsContinue(request)) {
            request.response().writeContinue();
        }
    }

    private void forward(HttpServerRequest request) {
        request.pause();
        String host = request.headers().get(HttpHeaders.HOST);
        RequestOptions options = new RequestOptions()
                .setServer(upstreamAddress)
                .setMethod(request.method())
                .setURI(request.uri());
        request.headers().forEach(header -> {
            if (!header.getKey().equalsIgnoreCase("host")) {
                options.addHeader(header.getKey(), header.getValue());
            }
        });
        if (expectsContinue(request)) {
            request.response().writeContinue();
        }
        client.request(options)
                .compose(upstreamRequest -> {
                    if (host != null) {
                        upstreamRequest.authority(HostAndPort.parseAuthority(host, -1));
                    }
                    return upstreamRequest.send(request);
                })
                .onSuccess(upstreamResponse -> {
                    HttpServerResponse response = request.response();
                    response.setStatusCode(upstreamResponse.statusCode());
                    response.setStatusMessage(upstreamResponse.statusMessage());
                    response.headers().setAll(upstreamResponse.headers());
                    upstreamResponse.pipeTo(response);
                })
                .onFailure(error -> {
                    HttpServerResponse response = request.response();
                    if (response.headWritten() || response.ended()) {
                        request.connection().close();
                    } else {
                        response.setStatusCode(502).putHeader(HttpHeaders.CONNECTION, "close")
                                .end("faulty S3 proxy: upstream failed: " + error);
                    }
                });
    }

    private static boolean expectsContinue(HttpServerRequest request) {
        String expect = request.headers().get(HttpHeaders.EXPECT);
        return expect != null && expect.equalsIgnoreCase("100-continue");
    }
}
