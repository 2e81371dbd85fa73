package io.cosyvoice.database;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * Versioned schema migrations, applied in order at start-up in one transaction under an advisory
 * lock (so several servers starting together migrate once). An applied migration must never
 * change: its checksum is recorded and verified.
 */
final class Migrations {

    /** In order. Add new files at the end; never edit one that has shipped. */
    static final List<String> FILES = List.of(
            "V1__reference_audio.sql",
            "V2__reference_audio_name.sql");

    private static final long LOCK_ID = 0x636f7379766f6963L; // "cosyvoic"

    private Migrations() {
    }

    /** Applies what is missing; completes with the schema version now in force. */
    static Future<Integer> apply(Pool pool) {
        return pool.withTransaction(conn -> conn.query("SELECT pg_advisory_xact_lock(" + LOCK_ID + ")").execute()
                // "already exists, skipping" notices are expected on every start after the first
                .compose(r -> conn.query("SET LOCAL client_min_messages = warning").execute())
                .compose(r -> conn.query("""
                        CREATE TABLE IF NOT EXISTS schema_migrations (
                            version    integer PRIMARY KEY,
                            name       text NOT NULL,
                            checksum   text NOT NULL,
                            applied_at timestamptz NOT NULL DEFAULT now())""").execute())
                .compose(r -> conn.query("SELECT version, checksum FROM schema_migrations").execute())
                .compose(rows -> {
                    Map<Integer, String> applied = new HashMap<>();
                    for (Row row : rows) {
                        applied.put(row.getInteger("version"), row.getString("checksum"));
                    }
                    Future<Void> chain = Future.succeededFuture();
                    for (int i = 0; i < FILES.size(); i++) {
                        int version = i + 1;
                        String name = FILES.get(i);
                        String sql = read(name);
                        String checksum = sha256(sql);
                        if (applied.containsKey(version)) {
                            if (!applied.get(version).equals(checksum)) {
                                return Future.failedFuture(new IllegalStateException("schema migration " + name
                                        + " was changed after it was applied to this database"));
                            }
                            continue;
                        }
                        chain = chain.compose(v -> run(conn, version, name, sql, checksum));
                    }
                    return chain.map(v -> Math.max(FILES.size(), applied.keySet().stream().mapToInt(x -> x).max().orElse(0)));
                }));
    }

    private static Future<Void> run(SqlConnection conn, int version, String name, String sql, String checksum) {
        return conn.query(sql).execute()
                .compose(r -> conn.preparedQuery("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)")
                        .execute(Tuple.of(version, name, checksum)))
                .mapEmpty();
    }

    static String read(String name) {
        try (InputStream in = Migrations.class.getResourceAsStream("/db/migration/" + name)) {
            if (in == null) {
                throw new IllegalStateException("missing migration resource " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
