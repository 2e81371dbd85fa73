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
            + "channels, duration_seconds, checksum, storage_key, name";
    /** The unique index on lower(name): a violation of it means the name is taken. */
    static final String NAME_INDEX = "reference_audio_name_unique";

    private final Pool pool;

    ReferenceAudioRepository(Pool pool) {
        this.pool = pool;
    }

    Future<Void> insertPending(ReferenceAudio audio) {
        return pool.preparedQuery("INSERT INTO reference_audio (state, " + COLUMNS
                        + ") VALUES ('pending', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)")
                .execute(Tuple.wrap(new Object[]{audio.id(), audio.filename(), audio.bytes(),
                        OffsetDateTime.ofInstant(audio.createdAt(), ZoneOffset.UTC), audio.text(),
                        audio.format().name().toLowerCase(Locale.ROOT), audio.encoding(), audio.sampleRate(),
                        audio.channels(), audio.durationSeconds(), audio.checksum(), audio.storageKey(), audio.name()}))
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

    /** A visible row by its name, ignoring case. */
    Future<Optional<ReferenceAudio>> findByName(String name) {
        return pool.preparedQuery("SELECT " + COLUMNS + " FROM reference_audio WHERE lower(name) = lower($1) AND state = 'ready'")
                .execute(Tuple.of(name))
                .map(ReferenceAudioRepository::first);
    }

    /** Sets (or, with null, clears) the name of a visible row; empty when there is none. */
    Future<Optional<ReferenceAudio>> rename(UUID id, String name) {
        return pool.preparedQuery("UPDATE reference_audio SET name = $2 WHERE id = $1 AND state = 'ready' RETURNING " + COLUMNS)
                .execute(Tuple.of(id, name))
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
                row.getString("storage_key"),
                row.getString("name"));
    }

    /** Stores features computed by one model version; a second computation of the same pair wins. */
    Future<Void> savePromptFeatures(UUID id, PromptFeatures features) {
        java.nio.ByteBuffer mel = java.nio.ByteBuffer.allocate(features.promptMel().length * Float.BYTES)
                .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        mel.asFloatBuffer().put(features.promptMel());
        Integer[] tokens = java.util.Arrays.stream(features.speechTokens()).boxed().toArray(Integer[]::new);
        Float[] embedding = new Float[features.speakerEmbedding().length];
        for (int i = 0; i < embedding.length; i++) {
            embedding[i] = features.speakerEmbedding()[i];
        }
        return pool.preparedQuery("INSERT INTO prompt_features (reference_audio_id, model_version, speech_tokens, "
                        + "speaker_embedding, prompt_mel, prompt_mel_frames) VALUES ($1, $2, $3, $4, $5, $6) "
                        + "ON CONFLICT (reference_audio_id, model_version) DO UPDATE SET speech_tokens = EXCLUDED.speech_tokens, "
                        + "speaker_embedding = EXCLUDED.speaker_embedding, prompt_mel = EXCLUDED.prompt_mel, "
                        + "prompt_mel_frames = EXCLUDED.prompt_mel_frames, created_at = now()")
                .execute(Tuple.of(id, features.modelVersion(), tokens, embedding,
                        io.vertx.core.buffer.Buffer.buffer(mel.array()), features.promptMelFrames()))
                .mapEmpty();
    }

    /** Features of a visible reference audio for one model version, if computed. */
    Future<Optional<PromptFeatures>> findPromptFeatures(UUID id, String modelVersion) {
        return pool.preparedQuery("SELECT p.speech_tokens, p.speaker_embedding, p.prompt_mel, p.prompt_mel_frames "
                        + "FROM prompt_features p JOIN reference_audio r ON r.id = p.reference_audio_id "
                        + "WHERE p.reference_audio_id = $1 AND p.model_version = $2 AND r.state = 'ready'")
                .execute(Tuple.of(id, modelVersion))
                .map(rows -> {
                    if (rows.size() == 0) {
                        return Optional.empty();
                    }
                    Row row = rows.iterator().next();
                    int[] tokens = java.util.Arrays.stream(row.getArrayOfIntegers(0)).mapToInt(Integer::intValue).toArray();
                    Float[] boxed = row.getArrayOfFloats(1);
                    float[] embedding = new float[boxed.length];
                    for (int i = 0; i < boxed.length; i++) {
                        embedding[i] = boxed[i];
                    }
                    java.nio.FloatBuffer melBuffer = java.nio.ByteBuffer.wrap(row.getBuffer(2).getBytes())
                            .order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
                    float[] mel = new float[melBuffer.remaining()];
                    melBuffer.get(mel);
                    return Optional.of(new PromptFeatures(modelVersion, tokens, embedding, mel, row.getInteger(3)));
                });
    }
}
