package io.cosyvoice.voice;

import io.cosyvoice.audio.AudioDecodeException;
import io.cosyvoice.audio.AudioDecoder;
import io.cosyvoice.audio.AudioHint;
import io.cosyvoice.audio.DecodedAudio;
import io.cosyvoice.error.ErrorCode;
import io.cosyvoice.error.ServiceException;
import io.cosyvoice.storage.BlobStore;
import io.cosyvoice.storage.StorageException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Pool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;

/**
 * The reference-audio library: validated uploads kept as metadata in PostgreSQL and original bytes
 * in object storage, the two always consistent.
 *
 * <p>An upload is first recorded as a pending row, then its object is written, then the row is
 * made visible. Any failure undoes what was written; a crash in between leaves a pending row that
 * {@link #sweepAbandonedUploads()} removes together with its object. Clients never see a row
 * without its object, and no object is ever written without a row that names it.
 */
public final class VoiceLibrary {

    public static final double MIN_SECONDS = 1.0;
    public static final double MAX_SECONDS = 30.0;
    /** MP3 encoders pad the last frame and add a start delay: a "30 s" MP3 decodes slightly longer. */
    static final double CODEC_PADDING_SECONDS = 0.15;
    public static final int MAX_TEXT_CHARS = 1000;
    public static final int MAX_LIST_LIMIT = 1000;
    static final String KEY_PREFIX = "reference-audio/";
    /** Older pending uploads are certainly abandoned: no upload takes this long. */
    static final Duration ABANDONED_AFTER = Duration.ofMinutes(15);

    private static final Logger log = LoggerFactory.getLogger(VoiceLibrary.class);

    private final Vertx vertx;
    private final Pool pool;
    private final ReferenceAudioRepository repository;
    private final BlobStore blobs;
    private final Duration abandonedAfter;
    private final PromptFeatureSource prompts;
    private final PromptCache promptCache;

    VoiceLibrary(Vertx vertx, Pool pool, BlobStore blobs, Duration abandonedAfter, PromptFeatureSource prompts,
                 long promptCacheBytes) {
        this.vertx = vertx;
        this.pool = pool;
        this.prompts = prompts;
        this.promptCache = new PromptCache(promptCacheBytes);
        this.repository = new ReferenceAudioRepository(pool);
        this.blobs = blobs;
        this.abandonedAfter = abandonedAfter;
    }

    VoiceLibrary(Vertx vertx, Pool pool, BlobStore blobs, Duration abandonedAfter) {
        this(vertx, pool, blobs, abandonedAfter, PromptFeatureSource.NONE, 0);
    }

    /**
     * @param prompts          computes prompt features (the synthesis backend); {@link PromptFeatureSource#NONE} for none
     * @param promptCacheBytes how much of the features read from the database to keep in memory; 0 for none
     */
    public VoiceLibrary(Vertx vertx, Pool pool, BlobStore blobs, PromptFeatureSource prompts, long promptCacheBytes) {
        this(vertx, pool, blobs, ABANDONED_AFTER, prompts, promptCacheBytes);
    }

    /** Validates, stores and registers an upload; completes with the visible record. */
    public Future<ReferenceAudio> upload(NewReferenceAudio upload) {
        String text = upload.text() == null ? "" : upload.text().strip();
        if (upload.text() == null) {
            return Future.failedFuture(ServiceException.invalid("text", "is required"));
        }
        if (text.isEmpty()) {
            return Future.failedFuture(ServiceException.invalid("text", "must not be empty"));
        }
        if (text.length() > MAX_TEXT_CHARS) {
            return Future.failedFuture(ServiceException.invalid("text", "must be at most " + MAX_TEXT_CHARS
                    + " characters, got " + text.length()));
        }
        String name;
        try {
            name = VoiceNames.check(upload.name());
        } catch (ServiceException e) {
            return Future.failedFuture(e);
        }
        if (upload.data() == null) {
            return Future.failedFuture(ServiceException.invalid("file", "is required"));
        }
        if (upload.data().length() == 0) {
            return Future.failedFuture(ServiceException.invalid("file", "is empty"));
        }
        byte[] bytes = upload.data().getBytes();
        // decoding a 30 s file takes milliseconds of CPU: off the event loop
        return vertx.executeBlocking(() -> inspect(bytes, upload), false)
                .compose(decoded -> prepare(decoded.audio())
                        .compose(features -> store(upload, name, text, bytes, decoded)
                                .compose(saved -> features.map(f -> savePromptFeatures(saved, f)).orElse(Future.succeededFuture())
                                        .map(saved))));
    }

    /**
     * Prompt features of an upload, before anything is written: audio the model cannot use is
     * refused here. Without a reachable backend the upload goes on and its features are computed
     * at its first synthesis.
     */
    private Future<Optional<PromptFeatures>> prepare(DecodedAudio audio) {
        return prompts.modelVersion().compose(version -> version.isEmpty()
                ? Future.succeededFuture(Optional.<PromptFeatures>empty())
                : prompts.compute(mono(audio), audio.sampleRate()).map(Optional::of)
                        .recover(err -> err instanceof ServiceException e && e.code() == ErrorCode.INVALID_PARAMETER
                                ? Future.failedFuture(e)
                                : Future.succeededFuture(Optional.<PromptFeatures>empty())));
    }

    private Future<Void> savePromptFeatures(ReferenceAudio audio, PromptFeatures features) {
        promptCache.put(audio.id(), features);
        return repository.savePromptFeatures(audio.id(), features)
                .onFailure(err -> log.atWarn().addKeyValue("id", audio.id()).addKeyValue("cause", err.toString())
                        .log("could not keep prompt features; they will be computed again at the first synthesis"))
                .recover(err -> Future.succeededFuture());
    }

    /**
     * The prompt features of a voice for the running model: kept in memory, else stored ones when
     * this model version made them, else computed now from the stored audio and kept. Empty when
     * no backend is reachable (then there is nothing to synthesise with anyway).
     */
    public Future<Optional<PromptFeatures>> promptFeatures(ReferenceAudio audio) {
        return prompts.modelVersion().compose(version -> {
            if (version.isEmpty()) {
                return Future.succeededFuture(Optional.empty());
            }
            Optional<PromptFeatures> kept = promptCache.get(audio.id(), version.get());
            if (kept.isPresent()) {
                return Future.succeededFuture(kept);
            }
            return repository.findPromptFeatures(audio.id(), version.get())
                    .recover(err -> Future.failedFuture(databaseFailure("read prompt features", err)))
                    .onSuccess(found -> found.ifPresent(features -> promptCache.put(audio.id(), features)))
                    .compose(found -> found.isPresent() ? Future.succeededFuture(found)
                            : audio(audio)
                                    .compose(bytes -> vertx.executeBlocking(() -> decodeStored(audio, bytes), false))
                                    .compose(decoded -> prompts.compute(mono(decoded), decoded.sampleRate()))
                                    .compose(features -> savePromptFeatures(audio, features).map(Optional.of(features))));
        });
    }

    private static DecodedAudio decodeStored(ReferenceAudio audio, Buffer bytes) {
        try {
            return AudioDecoder.decode(bytes.getBytes(), new AudioHint(audio.filename(), audio.format().mimeType(),
                    audio.format() == io.cosyvoice.audio.AudioFormat.PCM
                    ? java.util.OptionalInt.of(audio.sampleRate()) : java.util.OptionalInt.empty()));
        } catch (AudioDecodeException e) {
            throw new ServiceException(ErrorCode.INTERNAL_ERROR, "stored reference audio " + audio.id()
                    + " no longer decodes: " + e.getMessage());
        }
    }

    /** Channels averaged: the model takes one voice signal. */
    static float[] mono(DecodedAudio audio) {
        int channels = audio.channels();
        float[] samples = audio.samples();
        if (channels == 1) {
            return samples;
        }
        float[] mono = new float[samples.length / channels];
        for (int i = 0; i < mono.length; i++) {
            float sum = 0;
            for (int c = 0; c < channels; c++) {
                sum += samples[i * channels + c];
            }
            mono[i] = sum / channels;
        }
        return mono;
    }

    private static Inspected inspect(byte[] bytes, NewReferenceAudio upload) {
        DecodedAudio audio;
        try {
            audio = AudioDecoder.decode(bytes, new AudioHint(upload.filename(), upload.contentType(), upload.pcmSampleRate()));
        } catch (AudioDecodeException e) {
            ErrorCode code = switch (e.kind()) {
                case NOT_AUDIO, UNSUPPORTED -> ErrorCode.UNSUPPORTED_MEDIA_TYPE;
                case TRUNCATED, MALFORMED -> ErrorCode.INVALID_PARAMETER;
            };
            throw new ServiceException(code, "file", e.getMessage());
        }
        double seconds = audio.durationSeconds();
        if (seconds < MIN_SECONDS || seconds > MAX_SECONDS + CODEC_PADDING_SECONDS) {
            throw ServiceException.invalid("file", String.format(Locale.ROOT,
                    "audio is %.2f s long; reference audio must be %.0f to %.0f seconds", seconds, MIN_SECONDS, MAX_SECONDS));
        }
        return new Inspected(audio, sha256(bytes));
    }

    private record Inspected(DecodedAudio audio, String checksum) {
    }

    private Future<ReferenceAudio> store(NewReferenceAudio upload, String name, String text, byte[] bytes, Inspected inspected) {
        UUID id = UUID.randomUUID();
        DecodedAudio audio = inspected.audio();
        String key = KEY_PREFIX + id + "." + audio.format().extension();
        var pending = new ReferenceAudio(id, cleanFilename(upload.filename(), audio.format().extension()), bytes.length,
                Instant.now().truncatedTo(ChronoUnit.MICROS), text, audio.format(), audio.encoding(), audio.sampleRate(),
                audio.channels(), audio.durationSeconds(), inspected.checksum(), key, name);
        // a taken name fails here, before anything is written
        return repository.insertPending(pending)
                .recover(err -> Future.failedFuture(nameTaken(err, name) ? nameConflict(name)
                        : databaseFailure("record the upload", err)))
                .compose(v -> blobs.put(key, Buffer.buffer(bytes), audio.format().mimeType())
                        .recover(err -> forgetPending(id, key, false)
                                .transform(ignored -> Future.failedFuture(storageFailure("store the audio", err)))))
                .compose(v -> repository.markReady(id)
                        .recover(err -> forgetPending(id, key, true)
                                .transform(ignored -> Future.failedFuture(databaseFailure("record the upload", err)))))
                .onSuccess(saved -> log.atInfo().addKeyValue("id", id).addKeyValue("format", audio.format())
                        .addKeyValue("seconds", String.format(Locale.ROOT, "%.2f", audio.durationSeconds()))
                        .addKeyValue("bytes", bytes.length).log("reference audio stored"));
    }

    /**
     * Undoes a failed upload. The object is deleted only once the pending row is certainly gone, so
     * no row is ever left naming a missing object; whatever cannot be undone now stays pending and
     * is swept later.
     */
    private Future<Void> forgetPending(UUID id, String key, boolean objectWritten) {
        return repository.deletePending(id)
                .compose(removed -> removed && objectWritten ? blobs.delete(key) : Future.<Void>succeededFuture())
                .onFailure(err -> log.atWarn().addKeyValue("id", id).addKeyValue("cause", err.toString())
                        .log("could not undo a failed upload now; the sweep will remove it"))
                .recover(err -> Future.succeededFuture());
    }

    public Future<ReferenceAudio> get(UUID id) {
        return repository.find(id)
                .recover(err -> Future.failedFuture(databaseFailure("read reference audio", err)))
                .compose(found -> found.map(Future::succeededFuture)
                        .orElseGet(() -> Future.failedFuture(notFound(id))));
    }

    /**
     * A visible reference audio by id (a UUID) or by name (ignoring case): how the OpenAI-compatible
     * API's {@code voice} names one. Unknown: a failure about {@code field}.
     */
    public Future<ReferenceAudio> find(String idOrName, String field) {
        if (VoiceNames.isUuid(idOrName)) {
            UUID id = UUID.fromString(idOrName);
            return get(id).recover(err -> Future.failedFuture(err instanceof ServiceException e && e.code() == ErrorCode.NOT_FOUND
                    ? ServiceException.invalid(field, "no reference audio with id " + id) : err));
        }
        return repository.findByName(idOrName)
                .recover(err -> Future.failedFuture(databaseFailure("read reference audio", err)))
                .compose(found -> found.map(Future::succeededFuture).orElseGet(() -> Future.failedFuture(
                        ServiceException.invalid(field, "no reference audio with id or name '" + VoiceNames.abbreviate(idOrName) + "'"))));
    }

    /** Gives a visible reference audio a name, or with null takes its name away. */
    public Future<ReferenceAudio> rename(UUID id, String requestedName) {
        String name;
        try {
            name = requestedName == null ? null : VoiceNames.check(requestedName);
        } catch (ServiceException e) {
            return Future.failedFuture(e);
        }
        return repository.rename(id, name)
                .recover(err -> Future.failedFuture(nameTaken(err, name) ? nameConflict(name)
                        : databaseFailure("rename reference audio", err)))
                .compose(found -> found.map(Future::succeededFuture).orElseGet(() -> Future.failedFuture(notFound(id))))
                .onSuccess(audio -> log.atInfo().addKeyValue("id", id).addKeyValue("name", name).log("reference audio renamed"));
    }

    private static boolean nameTaken(Throwable err, String name) {
        return name != null && err instanceof PgException pg && "23505".equals(pg.getSqlState())
                && ReferenceAudioRepository.NAME_INDEX.equals(pg.getConstraint());
    }

    private static ServiceException nameConflict(String name) {
        return new ServiceException(ErrorCode.CONFLICT, "name", "'" + name + "' is already the name of another reference audio");
    }

    public Future<List<ReferenceAudio>> list(int limit, SortOrder order) {
        if (limit < 1 || limit > MAX_LIST_LIMIT) {
            return Future.failedFuture(ServiceException.invalid("limit", "must be an integer from 1 to " + MAX_LIST_LIMIT));
        }
        return repository.list(limit, order)
                .recover(err -> Future.failedFuture(databaseFailure("list reference audio", err)));
    }

    /** The original uploaded bytes. */
    public Future<Buffer> audio(ReferenceAudio audio) {
        return blobs.get(audio.storageKey())
                .recover(err -> Future.failedFuture(storageFailure("read the audio", err)));
    }

    /**
     * Deletes the row and its object together: the row is removed in a transaction that commits
     * only after the object is gone, so a storage failure leaves both in place.
     */
    public Future<ReferenceAudio> delete(UUID id) {
        return pool.withTransaction(conn -> repository.delete(conn, id)
                        .compose(found -> found.map(audio -> blobs.delete(audio.storageKey())
                                        .recover(err -> Future.failedFuture(storageFailure("delete the audio", err)))
                                        .map(audio))
                                .orElseGet(() -> Future.failedFuture(notFound(id)))))
                .recover(err -> Future.failedFuture(err instanceof ServiceException ? err : databaseFailure("delete reference audio", err)))
                .onSuccess(audio -> {
                    promptCache.remove(id);
                    log.atInfo().addKeyValue("id", id).log("reference audio deleted");
                });
    }

    /** Removes uploads abandoned mid-way (object first, then row); completes with how many. */
    public Future<Integer> sweepAbandonedUploads() {
        return repository.abandoned(abandonedAfter).compose(rows -> {
            Future<Integer> chain = Future.succeededFuture(0);
            for (ReferenceAudio row : rows) {
                chain = chain.compose(n -> blobs.delete(row.storageKey())
                        .compose(v -> repository.deletePending(row.id()))
                        .map(removed -> removed ? n + 1 : n));
            }
            return chain;
        }).onSuccess(n -> {
            if (n > 0) {
                log.atInfo().addKeyValue("count", n).log("removed abandoned uploads");
            }
        });
    }

    private static ServiceException notFound(UUID id) {
        return ServiceException.notFound("reference_audio_id: no reference audio with id " + id);
    }

    private static Throwable databaseFailure(String action, Throwable err) {
        if (err instanceof ServiceException) {
            return err;
        }
        log.atWarn().addKeyValue("cause", err.toString()).log("database failure: could not " + action);
        if (err instanceof PgException pg && !isConnectionProblem(pg.getSqlState())) {
            return new ServiceException(ErrorCode.INTERNAL_ERROR, "internal error: could not " + action, err);
        }
        return ServiceException.unavailable("the database is unavailable: could not " + action + "; try again later", err);
    }

    /** SQLSTATE classes that mean "the server cannot serve now" rather than "the query is wrong". */
    private static boolean isConnectionProblem(String sqlState) {
        return sqlState == null || sqlState.startsWith("08") || sqlState.startsWith("53") || sqlState.startsWith("57");
    }

    private static Throwable storageFailure(String action, Throwable err) {
        if (err instanceof ServiceException) {
            return err;
        }
        log.atWarn().addKeyValue("cause", err.toString()).log("storage failure: could not " + action);
        if (!(err instanceof StorageException)) {
            return new ServiceException(ErrorCode.INTERNAL_ERROR, "internal error: could not " + action, err);
        }
        return ServiceException.unavailable("object storage is unavailable: could not " + action + "; try again later", err);
    }

    /** The client's file name as metadata: last path segment, no control characters, bounded. */
    static String cleanFilename(String filename, String extension) {
        String name = filename == null ? "" : filename;
        name = name.substring(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);
        name = name.codePoints().filter(c -> !Character.isISOControl(c))
                .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString().strip();
        if (name.isEmpty()) {
            name = "reference_audio." + extension;
        }
        return name.length() > 255 ? name.substring(0, 255) : name;
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
