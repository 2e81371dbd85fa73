package io.cosyvoice.voice;

import io.cosyvoice.audio.AudioFormat;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;

/** Reference-audio rows in PostgreSQL. Only rows in state 'ready' are visible to clients. */
final class ReferenceAudioRepository {

    private static final String COLUMNS = "id, filename, bytes, created_at, text, format, encoding, sample_rate, "
            + "channels, duration_seconds, checksum, storage_key";

    private final Pool pool;

    ReferenceAudioRepository(Pool pool) {
        this.pool = pool;
    }

    Future<Void> insertPending(ReferenceAudio audio) {
        return pool.preparedQuery("INSERT INTO reference_audio (state, " + COLUMNS
                        + ") VALUES ('pending', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
                .execute(Tuple.wrap(new Object[]{audio.id(), audio.filename(), audio.bytes(),
                        OffsetDateTime.ofInstant(audio.createdAt(), ZoneOffset.UTC), audio.text(),
                        audio.format().name().toLowerCase(Locale.ROOT), audio.encoding(), audio.sampleRate(),
                        audio.channels(), audio.durationSeconds(), audio.checksum(), audio.storageKey()}))
                .mapEmpty();
    }

    /** Makes a pending upload visible; its creation time becomes now. */
    Future<ReferenceAudio> markReady(UUID id) {
        return pool.preparedQuery("UPDATE reference_audio SET state = 'ready', created_at = now() "
                        + "WHERE id = $1 AND state = 'pending' RETURNING " + COLUMNS)
                .execute(Tuple.of(id))
                .compose(rows -> first(rows).map(Future::succeededFuture)
                        .orElseGet(() -> Future.failedFuture(new IllegalStateException("pending upload " + id + " vanished"))));
    }

    /** Removes a pending row; completes with whether one was removed. */
    Future<Boolean> deletePending(UUID id) {
        return pool.preparedQuery("DELETE FROM reference_audio WHERE id = $1 AND state = 'pending'")
                .execute(Tuple.of(id))
                .map(rows -> rows.rowCount() == 1);
    }

    Future<Optional<ReferenceAudio>> find(UUID id) {
        return pool.preparedQuery("SELECT " + COLUMNS + " FROM reference_audio WHERE id = $1 AND state = 'ready'")
                .execute(Tuple.of(id))
                .map(ReferenceAudioRepository::first);
    }

    Future<List<ReferenceAudio>> list(int limit, SortOrder order) {
        String direction = order == SortOrder.ASC ? "ASC" : "DESC";
        return pool.preparedQuery("SELECT " + COLUMNS + " FROM reference_audio WHERE state = 'ready' ORDER BY created_at "
                        + direction + ", id " + direction + " LIMIT $1")
                .execute(Tuple.of(limit))
                .map(ReferenceAudioRepository::all);
    }

    /** Deletes a visible row inside the caller's transaction, returning what it was. */
    Future<Optional<ReferenceAudio>> delete(SqlConnection conn, UUID id) {
        return conn.preparedQuery("DELETE FROM reference_audio WHERE id = $1 AND state = 'ready' RETURNING " + COLUMNS)
                .execute(Tuple.of(id))
                .map(ReferenceAudioRepository::first);
    }

    /** Pending rows older than {@code age}: uploads that were interrupted by a crash or an outage. */
    Future<List<ReferenceAudio>> abandoned(Duration age) {
        return pool.preparedQuery("SELECT " + COLUMNS + " FROM reference_audio WHERE state = 'pending' "
                        + "AND created_at < now() - make_interval(secs => $1) ORDER BY created_at LIMIT 1000")
                .execute(Tuple.of((double) age.toSeconds()))
                .map(ReferenceAudioRepository::all);
    }

    private static Optional<ReferenceAudio> first(RowSet<Row> rows) {
        var it = rows.iterator();
        return it.hasNext() ? Optional.of(map(it.next())) : Optional.empty();
    }

    private static List<ReferenceAudio> all(RowSet<Row> rows) {
        List<ReferenceAudio> list = new ArrayList<>(rows.size());
        rows.forEach(row -> list.add(map(row)));
        return list;
    }

    private static ReferenceAudio map(Row row) {
        Instant created = row.getOffsetDateTime("created_at").toInstant();
        return new ReferenceAudio(
                row.getUUID("id"),
                row.getString("filename"),
                row.getLong("bytes"),
                created,
                row.getString("text"),
                AudioFormat.valueOf(row.getString("format").toUpperCase(Locale.ROOT)),
                row.getString("encoding"),
                row.getInteger("sample_rate"),
                row.getInteger("channels"),
                row.getDouble("duration_seconds"),
                row.getString("checksum"),
                row.getString("storage_key"));
    }
}
