package io.cosyvoice.storage;

import io.cosyvoice.config.StorageConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.nio2blob.TransientNio2BlobStore;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.S3Object;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Test fixture: an in-process S3 server (S3Proxy on an in-memory blob store) on 127.0.0.1 and a
 * free port, with one bucket and fixed credentials, AWS signature v2 or v4.
 *
 * <pre>{@code
 * try (S3ProxyServer s3 = S3ProxyServer.start()) {
 *     BlobStore store = s3.openStore(vertx, "audio").await();
 *     ...
 *     assertEquals(List.of("audio/a.wav"), s3.keys());
 * }
 * }</pre>
 *
 * <p>Production code reaches it like any S3-compatible server: {@link #storageConfig(String)} sets
 * the endpoint, region and path-style addressing; credentials come from {@link #credentialsProvider()}
 * (through {@link #openStore}) or, for code that uses {@link BlobStore#open}, from the default
 * chain, e.g. the system properties {@code aws.accessKeyId}/{@code aws.secretAccessKey} set to
 * {@link #accessKey()}/{@link #secretKey()}.
 */
public final class S3ProxyServer implements AutoCloseable {

    public static final String ACCESS_KEY = "test-access";
    public static final String SECRET_KEY = "test-secret";
    public static final String REGION = "us-east-1";
    public static final String DEFAULT_BUCKET = "cosyvoice-test";

    static {
        TestLogging.quietThirdParties();
    }

    private final S3Proxy proxy;
    private final TransientNio2BlobStore blobs;
    private final String bucket;
    private final URI endpoint;

    private S3ProxyServer(S3Proxy proxy, TransientNio2BlobStore blobs, String bucket, URI endpoint) {
        this.proxy = proxy;
        this.blobs = blobs;
        this.bucket = bucket;
        this.endpoint = endpoint;
    }

    /** Starts a server with the bucket {@link #DEFAULT_BUCKET}. Blocks until it listens. */
    public static S3ProxyServer start() {
        return start(DEFAULT_BUCKET);
    }

    /** Starts a server with the given (empty) bucket. Blocks until it listens. */
    public static S3ProxyServer start(String bucket) {
        TransientNio2BlobStore blobs = new TransientNio2BlobStore();
        blobs.createContainer(bucket);
        S3Proxy proxy;
        try {
            proxy = S3Proxy.builder()
                    .blobStore(blobs)
                    .endpoint(URI.create("http://127.0.0.1:0"))
                    .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
                    .build();
        } catch (LinkageError e) {
            blobs.close();
            throw new IllegalStateException("S3Proxy cannot be loaded on this test classpath (" + e
                    + "). S3Proxy 4.1.0 runs on Jackson 3.2, which needs "
                    + "com.fasterxml.jackson.core:jackson-annotations 2.21 or newer (it was built with 2.22), "
                    + "but the jackson-bom 2.18.x import pins jackson-annotations to 2.18.x: "
                    + "give the jackson-annotations dependency in pom.xml an explicit <version>2.22</version>.", e);
        }
        try {
            proxy.start();
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (!"STARTED".equals(proxy.getState())) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("S3Proxy did not start: " + proxy.getState());
                }
                Thread.sleep(10);
            }
        } catch (Exception e) {
            try {
                proxy.stop();
            } catch (Exception ignored) {
                // already failing
            }
            throw new IllegalStateException("could not start S3Proxy", e);
        }
        return new S3ProxyServer(proxy, blobs, bucket, URI.create("http://127.0.0.1:" + proxy.getPort()));
    }

    /** {@code http://127.0.0.1:<port>}. */
    public URI endpoint() {
        return endpoint;
    }

    public String bucket() {
        return bucket;
    }

    public String accessKey() {
        return ACCESS_KEY;
    }

    public String secretKey() {
        return SECRET_KEY;
    }

    public String region() {
        return REGION;
    }

    /** Static credentials accepted by this server. */
    public AwsCredentialsProvider credentialsProvider() {
        return StaticCredentialsProvider.create(AwsBasicCredentials.create(ACCESS_KEY, SECRET_KEY));
    }

    /** {@code s3://bucket[/prefix]} at this server, with its region and path-style addressing. */
    public StorageConfig storageConfig(String prefix) {
        return storageConfig(endpoint, prefix);
    }

    /** The same bucket and prefix, reached through another endpoint (e.g. a {@link FaultyS3Proxy}). */
    StorageConfig storageConfig(URI via, String prefix) {
        String path = prefix == null || prefix.isBlank() ? "" : "/" + prefix;
        return new StorageConfig(URI.create("s3://" + bucket + path), Optional.of(via), Optional.of(REGION), true);
    }

    /** Opens an S3 store on this server with its static credentials. */
    public Future<BlobStore> openStore(Vertx vertx, String prefix) {
        return S3BlobStore.open(vertx, storageConfig(prefix), credentialsProvider()).map(store -> store);
    }

    /** Every object key in the bucket, read from the backing store directly (not through HTTP). */
    public List<String> keys() {
        return keys("");
    }

    /** The object keys in the bucket that start with {@code prefix}, read from the backing store. */
    public List<String> keys(String prefix) {
        List<String> keys = new ArrayList<>();
        String token = null;
        do {
            ListObjectsV2Request.Builder request = ListObjectsV2Request.builder().bucket(bucket).maxKeys(1000);
            if (prefix != null && !prefix.isEmpty()) {
                request.prefix(prefix);
            }
            if (token != null) {
                request.continuationToken(token);
            }
            ListObjectsV2Response page = blobs.list(request.build());
            page.contents().stream().map(S3Object::key).forEach(keys::add);
            token = Boolean.TRUE.equals(page.isTruncated()) ? page.nextContinuationToken() : null;
        } while (token != null);
        return keys;
    }

    /** Removes every object from the bucket. */
    public void clear() {
        for (String key : keys()) {
            blobs.removeBlob(bucket, key);
        }
    }

    @Override
    public void close() {
        try {
            proxy.stop();
        } catch (Exception e) {
            throw new IllegalStateException("could not stop S3Proxy", e);
        } finally {
            blobs.close();
        }
    }
}
