package io.cosyvoice.database;

import io.cosyvoice.config.DatabaseConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClientOptions;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The server's PostgreSQL: a connection pool on the configured server, or on an embedded one
 * whose files live in the data directory. Opening it applies pending schema migrations.
 */
public final class Database {

    private static final Logger log = LoggerFactory.getLogger(Database.class);
    /** How long a query waits for a free or new connection before failing; an outage must not hang requests. */
    private static final int CONNECTION_WAIT_SECONDS = 10;

    private final Vertx vertx;
    private final Pool pool;
    private final Optional<EmbeddedPostgresServer> embedded;
    private final String description;

    private Database(Vertx vertx, Pool pool, Optional<EmbeddedPostgresServer> embedded, String description) {
        this.vertx = vertx;
        this.pool = pool;
        this.embedded = embedded;
        this.description = description;
    }

    /** Starts the embedded server if no URL is configured, connects, and migrates the schema. */
    public static Future<Database> open(Vertx vertx, DatabaseConfig config, Path dataDir) {
        Future<Database> opened;
        if (config.embedded()) {
            Path dir = dataDir.resolve("postgres");
            opened = vertx.executeBlocking(() -> EmbeddedPostgresServer.start(dir), false)
                    .map(server -> new Database(vertx, createPool(vertx, server.connectOptions(), config.poolSize()),
                            Optional.of(server), "embedded PostgreSQL in " + dir));
        } else {
            PgConnectOptions options = PgConnectOptions.fromUri(config.url().orElseThrow());
            opened = Future.succeededFuture(new Database(vertx, createPool(vertx, options, config.poolSize()), Optional.empty(),
                    "PostgreSQL at " + options.getHost() + ":" + options.getPort() + "/" + options.getDatabase()));
        }
        return opened.compose(db -> Migrations.apply(db.pool)
                .onSuccess(version -> log.atInfo().addKeyValue("database", db.description)
                        .addKeyValue("schema_version", version).log("database ready"))
                .map(db)
                .recover(err -> db.close().transform(ignored -> Future.failedFuture(err))));
    }

    static Pool createPool(Vertx vertx, PgConnectOptions options, int size) {
        options.setReconnectAttempts(0)
                .setCachePreparedStatements(true);
        PoolOptions poolOptions = new PoolOptions()
                .setMaxSize(size)
                .setMaxWaitQueueSize(1024)
                .setConnectionTimeout(CONNECTION_WAIT_SECONDS)
                .setConnectionTimeoutUnit(TimeUnit.SECONDS)
                .setIdleTimeout(60)
                .setIdleTimeoutUnit(TimeUnit.SECONDS)
                .setName("cosyvoice-db");
        NetClientOptions net = new NetClientOptions().setConnectTimeout((int) TimeUnit.SECONDS.toMillis(5));
        return PgBuilder.pool().with(poolOptions).with(net).connectingTo(options).using(vertx).build();
    }

    public Pool pool() {
        return pool;
    }

    /** Succeeds when the server answers a trivial query. */
    public Future<Void> check() {
        return pool.query("SELECT 1").execute().mapEmpty();
    }

    public String describe() {
        return description;
    }

    /** Closes the pool, then stops the embedded server (if any) off the event loop. */
    public Future<Void> close() {
        Future<Void> closed = pool.close().recover(err -> Future.succeededFuture());
        return embedded.map(server -> closed.compose(v -> vertx.<Void>executeBlocking(() -> {
                    server.stop();
                    return null;
                }, false)))
                .orElse(closed);
    }
}
