package io.cosyvoice.storage;

import io.cosyvoice.config.StorageConfig;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import software.amazon.awssdk.auth.credentials.AnonymousCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.async.AsyncRequestBody;
import software.amazon.awssdk.core.async.AsyncResponseTransformer;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.client.config.ClientAsyncConfiguration;
import software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import software.amazon.awssdk.core.client.config.SdkAdvancedAsyncClientOption;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.retry.RetryMode;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.http.nio.netty.SdkEventLoopGroup;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.identity.spi.ResolveIdentityRequest;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.regions.providers.DefaultAwsRegionProviderChain;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.utils.SdkAutoCloseable;

import java.net.URI;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * A store in an S3 bucket (AWS or an S3-compatible server), through the SDK's asynchronous client
 * on its Netty HTTP client: {@code s3://bucket/some/prefix} keeps key {@code a/b.wav} as object
 * {@code some/prefix/a/b.wav}.
 *
 * <p>Every call is bounded: 5 s to connect, 10 s per attempt, 30 s per call including the SDK's
 * standard-mode retries, so an outage ends in a {@link StorageException}, never a hang. Futures
 * complete on the caller's Vert.x context. Nothing here blocks an event loop: building the client
 * and looking up the region run on a worker, and credentials that may need a network call
 * (profile, container, instance metadata) are resolved off the calling thread.
 *
 * <p>Uploads carry Content-MD5, which every S3-compatible server checks; the SDK's newer flexible
 * checksums are only sent when an operation requires them, as many non-AWS servers reject them.
 */
final class S3BlobStore implements BlobStore {

    static final Duration API_CALL_TIMEOUT = Duration.ofSeconds(30);
    static final Duration API_CALL_ATTEMPT_TIMEOUT = Duration.ofSeconds(10);
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    static final Duration CONNECTION_ACQUIRE_TIMEOUT = Duration.ofSeconds(10);
    static final Duration READ_WRITE_TIMEOUT = Duration.ofSeconds(10);
    static final int MAX_CONNECTIONS = 64;
    static final int IO_THREADS = 2;
    static final int DEFAULT_PAGE_SIZE = 1000;
    static final Region FALLBACK_REGION = Region.US_EAST_1;
    static final String DEFAULT_CONTENT_TYPE = "application/octet-stream";

    /** Bodies larger than this have their MD5 computed on a worker rather than the calling thread. */
    private static final int INLINE_DIGEST_LIMIT = 256 * 1024;

    private static final int MAX_REASON_LENGTH = 400;

    /** Lenient: AWS is stricter, but older buckets and other servers allow upper case and '_'. */
    private static final Pattern BUCKET = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,254}");

    private final Vertx vertx;
    private final S3AsyncClient client;
    private final SdkEventLoopGroup eventLoops;
    private final SdkAutoCloseable ownedCredentials;
    private final ExecutorService credentialThreads;
    private final String bucket;
    private final String keyPrefix; // "" or "some/prefix/"
    private final String description;
    private volatile int pageSize = DEFAULT_PAGE_SIZE;
    private volatile boolean closed;

    /** Where objects go: the bucket and the key prefix ("" or without slashes at either end). */
    record Location(String bucket, String prefix) {
    }

    private S3BlobStore(Vertx vertx, S3AsyncClient client, SdkEventLoopGroup eventLoops,
                        SdkAutoCloseable ownedCredentials, ExecutorService credentialThreads,
                        Location location, String description) {
        this.vertx = vertx;
        this.client = client;
        this.eventLoops = eventLoops;
        this.ownedCredentials = ownedCredentials;
        this.credentialThreads = credentialThreads;
        this.bucket = location.bucket();
        this.keyPrefix = location.prefix().isEmpty() ? "" : location.prefix() + "/";
        this.description = description;
    }

    /** Opens a store with credentials from the SDK's default chain. */
    static Future<S3BlobStore> open(Vertx vertx, StorageConfig config) {
        return open(vertx, config, null);
    }

    /**
     * Opens a store; {@code credentials} null means the SDK's default chain, in its order: system
     * properties (aws.accessKeyId, aws.secretAccessKey), the environment (AWS_ACCESS_KEY_ID,
     * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), a web identity token, the profile file
     * (AWS_PROFILE), the container credentials endpoint, EC2 instance metadata. Credentials are
     * resolved once here, so a server without any fails at startup. A given provider is not closed
     * by the store; the default chain is.
     */
    static Future<S3BlobStore> open(Vertx vertx, StorageConfig config, AwsCredentialsProvider credentials) {
        Objects.requireNonNull(vertx, "vertx");
        Objects.requireNonNull(config, "config");
        Location location;
        URI endpoint;
        try {
            location = location(config.url());
            endpoint = config.s3Endpoint().map(S3BlobStore::checkEndpoint).orElse(null);
        } catch (IllegalArgumentException e) {
            return Future.failedFuture(e);
        }
        Context context = vertx.getOrCreateContext();
        return context.executeBlocking(() -> create(vertx, config, location, endpoint, credentials), false);
    }

    /** The bucket and prefix of an {@code s3://bucket/optional/prefix} URL. */
    static Location location(URI url) {
        String setting = BlobStores.URL_SETTING;
        if (!"s3".equalsIgnoreCase(url.getScheme())) {
            throw new IllegalArgumentException(setting + ": not an s3 URL");
        }
        if (url.isOpaque()) {
            throw new IllegalArgumentException(setting + ": an S3 URL looks like s3://bucket/optional/prefix");
        }
        if (url.getRawUserInfo() != null) {
            // Not echoed: it is most likely a key and secret.
            throw new IllegalArgumentException(setting + ": an S3 URL must not carry credentials; "
                    + "use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile or an instance role");
        }
        String bucket = url.getRawAuthority();
        if (bucket == null || bucket.isEmpty()) {
            throw new IllegalArgumentException(setting + ": an S3 URL must name a bucket: s3://bucket/optional/prefix");
        }
        if (!BUCKET.matcher(bucket).matches()) {
            throw new IllegalArgumentException(setting + ": '" + bucket + "' is not a valid bucket name");
        }
        if (url.getRawQuery() != null || url.getRawFragment() != null) {
            throw new IllegalArgumentException(setting + ": an S3 URL must not have a query or fragment");
        }
        String path = url.getPath() == null ? "" : url.getPath();
        String prefix = path.replaceAll("^/+", "").replaceAll("/+$", "");
        if (!prefix.isEmpty() && !Keys.isValid(prefix)) {
            throw new IllegalArgumentException(setting + ": the key prefix '" + prefix
                    + "' must be lower-case segments of [a-z0-9._-] separated by single '/'");
        }
        return new Location(bucket, prefix);
    }

    private static URI checkEndpoint(URI endpoint) {
        String scheme = endpoint.getScheme() == null ? "" : endpoint.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new IllegalArgumentException("storage.s3Endpoint: must be an http:// or https:// URL");
        }
        if (endpoint.getRawUserInfo() != null) {
            throw new IllegalArgumentException("storage.s3Endpoint: must not carry credentials");
        }
        if (endpoint.getHost() == null) {
            throw new IllegalArgumentException("storage.s3Endpoint: must name a host");
        }
        return endpoint;
    }

    /** Builds the client; runs on a worker because the region and credential chains may do IO. */
    private static S3BlobStore create(Vertx vertx, StorageConfig config, Location location, URI endpoint,
                                      AwsCredentialsProvider given) {
        String description = "s3://" + location.bucket() + (location.prefix().isEmpty() ? "" : "/" + location.prefix())
                + (endpoint == null ? "" : " at " + endpoint.getScheme() + "://" + endpoint.getRawAuthority());
        AwsCredentialsProvider provider = given != null ? given : DefaultCredentialsProvider.builder().build();
        SdkAutoCloseable owned = given == null && provider instanceof SdkAutoCloseable c ? c : null;
        ExecutorService credentialThreads = null;
        SdkEventLoopGroup eventLoops = null;
        S3AsyncClient client = null;
        try {
            try {
                provider.resolveCredentials(); // fails fast at startup, and warms any cache
            } catch (RuntimeException e) {
                throw new StorageException("s3 store " + description + ": open failed: no usable AWS credentials: "
                        + reason(e), e);
            }
            AwsCredentialsProvider effective = provider;
            if (!(provider instanceof StaticCredentialsProvider) && !(provider instanceof AnonymousCredentialsProvider)) {
                credentialThreads = Executors.newThreadPerTaskExecutor(
                        Thread.ofVirtual().name("s3-credentials-", 0).factory());
                effective = new OffloadedCredentials(provider, credentialThreads);
            }
            Region region = region(config);
            eventLoops = SdkEventLoopGroup.builder().numberOfThreads(IO_THREADS).build();
            var builder = S3AsyncClient.builder()
                    .httpClientBuilder(NettyNioAsyncHttpClient.builder()
                            .eventLoopGroup(eventLoops)
                            .connectionTimeout(CONNECT_TIMEOUT)
                            .connectionAcquisitionTimeout(CONNECTION_ACQUIRE_TIMEOUT)
                            .readTimeout(READ_WRITE_TIMEOUT)
                            .writeTimeout(READ_WRITE_TIMEOUT)
                            .maxConcurrency(MAX_CONNECTIONS)
                            .tcpKeepAlive(true))
                    .region(region)
                    .credentialsProvider(effective)
                    .forcePathStyle(config.s3PathStyle())
                    .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                    .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                    .overrideConfiguration(ClientOverrideConfiguration.builder()
                            .apiCallTimeout(API_CALL_TIMEOUT)
                            .apiCallAttemptTimeout(API_CALL_ATTEMPT_TIMEOUT)
                            .retryStrategy(RetryMode.STANDARD)
                            .build())
                    // Completion only hops to a Vert.x context: no need for the SDK's own thread pool.
                    .asyncConfiguration(ClientAsyncConfiguration.builder()
                            .advancedOption(SdkAdvancedAsyncClientOption.FUTURE_COMPLETION_EXECUTOR, Runnable::run)
                            .build());
            if (endpoint != null) {
                builder.endpointOverride(endpoint);
            }
            client = builder.build();
            return new S3BlobStore(vertx, client, eventLoops, owned, credentialThreads, location, description);
        } catch (RuntimeException e) {
            if (client != null) {
                client.close();
            }
            if (eventLoops != null) {
                eventLoops.eventLoopGroup().shutdownGracefully(0, 1, TimeUnit.SECONDS);
            }
            if (credentialThreads != null) {
                credentialThreads.shutdown();
            }
            if (owned != null) {
                owned.close();
            }
            throw e instanceof StorageException se ? se
                    : new StorageException("s3 store " + description + ": open failed: " + reason(e), e);
        }
    }

    /** The configured region, else the SDK's region chain, else us-east-1. */
    private static Region region(StorageConfig config) {
        String configured = config.s3Region().map(String::strip).orElse("");
        if (!configured.isEmpty()) {
            return Region.of(configured);
        }
        try {
            return new DefaultAwsRegionProviderChain().getRegion();
        } catch (RuntimeException e) {
            return FALLBACK_REGION;
        }
    }

    /** Objects per ListObjectsV2 page; S3 caps it at 1000. For tests of pagination. */
    S3BlobStore listPageSize(int size) {
        if (size < 1 || size > 1000) {
            throw new IllegalArgumentException("page size must be 1..1000");
        }
        this.pageSize = size;
        return this;
    }

    String bucket() {
        return bucket;
    }

    /** The object key of a store key. */
    String objectKey(String key) {
        return keyPrefix + Keys.requireValid(key);
    }

    @Override
    public Future<Void> put(String key, Buffer data, String contentType) {
        Objects.requireNonNull(data, "data");
        byte[] bytes = data.getBytes(); // a private copy: the caller keeps its buffer
        String type = contentType == null || contentType.isBlank() ? DEFAULT_CONTENT_TYPE : contentType;
        return withObjectKey(key, (context, objectKey) -> {
            Future<String> digest = bytes.length <= INLINE_DIGEST_LIMIT
                    ? Future.succeededFuture(md5(bytes))
                    : context.executeBlocking(() -> md5(bytes), false);
            return digest.compose(md5 -> call(context, "put " + key, () -> client.putObject(request -> request
                            .bucket(bucket)
                            .key(objectKey)
                            .contentLength((long) bytes.length)
                            .contentType(type)
                            .contentMD5(md5),
                    AsyncRequestBody.fromBytesUnsafe(bytes))))
                    .mapEmpty();
        });
    }

    @Override
    public Future<Buffer> get(String key) {
        return withObjectKey(key, (context, objectKey) -> call(context, "get " + key, () -> client.getObject(
                request -> request.bucket(bucket).key(objectKey),
                AsyncResponseTransformer.toBytes()))
                .map(bytes -> Buffer.buffer(bytes.asByteArrayUnsafe()))
                .recover(error -> Future.failedFuture(isMissingObject(error.getCause())
                        ? new BlobNotFoundException(key) : error)));
    }

    @Override
    public Future<Void> delete(String key) {
        return withObjectKey(key, (context, objectKey) -> call(context, "delete " + key, () -> client.deleteObject(request -> request.bucket(bucket).key(objectKey)))
                .<Void>mapEmpty()
                .recover(error -> isMissingObject(error.getCause()) ? Future.succeededFuture() : Future.failedFuture(error)));
    }

    @Override
    public Future<Boolean> exists(String key) {
        return withObjectKey(key, (context, objectKey) -> call(context, "head " + key, () -> client.headObject(request -> request.bucket(bucket).key(objectKey)))
                .map(response -> true)
                .recover(error -> isMissingObject(error.getCause()) || isNotFound(error.getCause())
                        ? Future.succeededFuture(false) : Future.failedFuture(error)));
    }

    @Override
    public Future<List<String>> list(String prefix) {
        Context context = vertx.getOrCreateContext();
        try {
            Keys.requireValidPrefix(prefix);
        } catch (IllegalArgumentException e) {
            return Future.failedFuture(e);
        }
        String operation = "list " + (prefix.isEmpty() ? "all keys" : prefix);
        return listFrom(context, operation, keyPrefix + prefix, null, new ArrayList<>());
    }

    private Future<List<String>> listFrom(Context context, String operation, String objectPrefix, String token,
                                          List<String> keys) {
        int size = pageSize;
        return call(context, operation, () -> client.listObjectsV2(request -> request
                        .bucket(bucket)
                        .prefix(objectPrefix)
                        .maxKeys(size)
                        .continuationToken(token)))
                .compose((ListObjectsV2Response page) -> {
                    for (S3Object object : page.contents()) {
                        String objectKey = object.key();
                        if (objectKey.startsWith(keyPrefix)) {
                            String key = objectKey.substring(keyPrefix.length());
                            if (Keys.isValid(key)) {
                                keys.add(key);
                            }
                        }
                    }
                    String next = page.nextContinuationToken();
                    if (Boolean.TRUE.equals(page.isTruncated()) && next != null && !next.equals(token)) {
                        return listFrom(context, operation, objectPrefix, next, keys);
                    }
                    return Future.succeededFuture(keys);
                });
    }

    /** HeadBucket: the bucket exists and these credentials may use it. */
    @Override
    public Future<Void> check() {
        Context context = vertx.getOrCreateContext();
        return call(context, "check", () -> client.headBucket(request -> request.bucket(bucket))).mapEmpty();
    }

    @Override
    public String describe() {
        return description;
    }

    @Override
    public Future<Void> close() {
        Context context = vertx.getOrCreateContext();
        if (closed) {
            return Future.succeededFuture();
        }
        closed = true;
        return context.executeBlocking(() -> {
            client.close();
            if (ownedCredentials != null) {
                ownedCredentials.close();
            }
            if (credentialThreads != null) {
                credentialThreads.shutdown();
            }
            return null;
        }, false).compose(v -> {
            CompletableFuture<Void> done = new CompletableFuture<>();
            eventLoops.eventLoopGroup().shutdownGracefully(0, 2, TimeUnit.SECONDS)
                    .addListener(f -> done.complete(null));
            return Future.fromCompletionStage(done, context);
        });
    }

    // ---------------------------------------------------------------------------------------

    /**
     * Starts an SDK call and adapts it: completes on {@code context}; any failure becomes a
     * {@link StorageException} naming the bucket and operation, with the SDK's exception as cause.
     */
    private <T> Future<T> call(Context context, String operation, Supplier<CompletableFuture<T>> action) {
        if (closed) {
            return Future.failedFuture(new StorageException(message(operation, "the store is closed")));
        }
        CompletableFuture<T> started;
        try {
            started = action.get();
        } catch (RuntimeException e) {
            return Future.failedFuture(new StorageException(message(operation, reason(e)), e));
        }
        return Future.fromCompletionStage(started, context).recover(error -> {
            Throwable cause = unwrap(error);
            return Future.failedFuture(new StorageException(message(operation, reason(cause)), cause));
        });
    }

    private String message(String operation, String reason) {
        return "s3 store " + description + ": " + operation + " failed: " + reason;
    }

    private static boolean isMissingObject(Throwable error) {
        if (error instanceof NoSuchKeyException) {
            return true;
        }
        return error instanceof S3Exception s3
                && s3.statusCode() == 404
                && !(error instanceof NoSuchBucketException)
                && !"NoSuchBucket".equals(errorCode(s3));
    }

    /** A 404 without an error code, as HEAD answers carry no body. */
    private static boolean isNotFound(Throwable error) {
        return error instanceof S3Exception s3 && s3.statusCode() == 404 && errorCode(s3) == null
                && !(error instanceof NoSuchBucketException);
    }

    private static String errorCode(AwsServiceException e) {
        return e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode();
    }

    private static Throwable unwrap(Throwable error) {
        Throwable current = error;
        while ((current instanceof CompletionException || current instanceof ExecutionException)
                && current.getCause() != null) {
            current = current.getCause();
        }
        return current;
    }

    /**
     * A short, credential-free reason: the HTTP status and S3 error code with S3's message, or the
     * first sentence of a client-side failure (the SDK appends paragraphs of advice), and how many
     * attempts were made when there was more than one.
     */
    static String reason(Throwable error) {
        Throwable e = unwrap(error);
        String text;
        if (e instanceof AwsServiceException service) {
            String code = errorCode(service);
            String detail = service.awsErrorDetails() == null ? null : service.awsErrorDetails().errorMessage();
            text = "HTTP " + service.statusCode()
                    + (code == null || code.isBlank() ? "" : " " + code)
                    + (detail == null || detail.isBlank() ? "" : ": " + detail);
        } else {
            String message = e instanceof SdkException sdk && sdk.rawMessage() != null ? sdk.rawMessage() : e.getMessage();
            text = message == null || message.isBlank() ? e.getClass().getSimpleName() : firstSentence(message);
        }
        text = text.replaceAll("\\s+", " ").strip();
        if (text.length() > MAX_REASON_LENGTH) {
            text = text.substring(0, MAX_REASON_LENGTH) + "...";
        }
        if (e instanceof SdkException sdk && sdk.numAttempts() != null && sdk.numAttempts() > 1) {
            text += " (" + sdk.numAttempts() + " attempts)";
        }
        return text;
    }

    private static String firstSentence(String message) {
        String line = message.lines().findFirst().orElse(message).strip();
        int colon = line.indexOf(": ");
        int end = line.indexOf(". ", colon < 0 ? 0 : colon + 2);
        return end < 0 ? line : line.substring(0, end + 1);
    }

    private static String md5(byte[] bytes) {
        try {
            return Base64.getEncoder().encodeToString(MessageDigest.getInstance("MD5").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("MD5 is not available", e);
        }
    }

    /**
     * Resolves credentials on a virtual thread: providers that refresh over the network (container,
     * instance metadata, SSO) would otherwise do so on the thread that starts the request.
     */
    private static final class OffloadedCredentials implements AwsCredentialsProvider {
        private final AwsCredentialsProvider delegate;
        private final ExecutorService executor;

        OffloadedCredentials(AwsCredentialsProvider delegate, ExecutorService executor) {
            this.delegate = delegate;
            this.executor = executor;
        }

        @Override
        public AwsCredentials resolveCredentials() {
            return delegate.resolveCredentials();
        }

        @Override
        public CompletableFuture<AwsCredentialsIdentity> resolveIdentity(ResolveIdentityRequest request) {
            return CompletableFuture.<AwsCredentialsIdentity>supplyAsync(delegate::resolveCredentials, executor);
        }

        @Override
        public String toString() {
            return delegate.getClass().getSimpleName();
        }
    }

    /** Runs {@code action} on the caller's context with the bucket key for {@code key}; fails for an invalid key. */
    private <T> Future<T> withObjectKey(String key, java.util.function.BiFunction<Context, String, Future<T>> action) {
        Context context = vertx.getOrCreateContext();
        String objectKey;
        try {
            objectKey = objectKey(key);
        } catch (IllegalArgumentException e) {
            return Future.failedFuture(e);
        }
        return action.apply(context, objectKey);
    }

}
