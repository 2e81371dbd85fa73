package io.cosyvoice.storage;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Callable;

/**
 * A store in a local directory: the object under {@code a/b.wav} is the file {@code <root>/a/b.wav}.
 *
 * <p>A put writes a temporary file in {@code <root>/.tmp}, forces it to disk and renames it into
 * place, so an object is visible whole or not at all, even across a crash. Keys are checked
 * against {@link BlobStore#KEY_PATTERN} (no segment may start with a dot, so no key reaches
 * {@code .tmp}) and the resolved path must stay under the root.
 *
 * <p>All file system work runs on Vert.x worker threads ({@code executeBlocking}, unordered);
 * futures complete on the caller's context.
 */
final class FileBlobStore implements BlobStore {

    private static final Logger LOG = LoggerFactory.getLogger(FileBlobStore.class);

    static final String TMP_DIR = ".tmp";
    private static final String PUT_PREFIX = "put-";
    private static final String PROBE_PREFIX = "probe-";
    private static final String TMP_SUFFIX = ".part";

    /**
     * Temporary files older than this are left-overs of a crashed process and are removed at
     * open; younger ones may belong to a live writer sharing the directory (a second instance on
     * a shared volume) and are left alone.
     */
    static final Duration STALE_TMP_AGE = Duration.ofMinutes(10);

    /** How often a put re-creates the parent directories when a concurrent delete pruned them. */
    private static final int MOVE_ATTEMPTS = 10;

    private final Vertx vertx;
    private final Path root;
    private final Path tmp;
    private final String description;
    private volatile boolean closed;

    private FileBlobStore(Vertx vertx, Path root) {
        this.vertx = vertx;
        this.root = root;
        this.tmp = root.resolve(TMP_DIR);
        String uri = root.toUri().toString();
        this.description = uri.endsWith("/") ? uri : uri + "/";
    }

    /** Creates the root and {@code .tmp} directories if needed and removes stale temporary files. */
    static Future<BlobStore> open(Vertx vertx, Path dir) {
        Path root = dir.toAbsolutePath().normalize();
        FileBlobStore store = new FileBlobStore(vertx, root);
        return store.blocking("open", () -> {
            Files.createDirectories(root);
            Files.createDirectories(store.tmp);
            store.sweepStaleTemporaries();
            return store;
        });
    }

    Path root() {
        return root;
    }

    @Override
    public Future<Void> put(String key, Buffer data, String contentType) {
        Objects.requireNonNull(data, "data");
        byte[] bytes = data.getBytes(); // a private copy: the caller keeps its buffer
        return onKey(key, "write", target -> () -> {
            writeAtomically(target, bytes);
            return null;
        });
    }

    @Override
    public Future<Buffer> get(String key) {
        return onKey(key, "read", path -> () -> {
            try {
                return Buffer.buffer(Files.readAllBytes(path));
            } catch (IOException e) {
                if (isAbsent(e, path)) {
                    throw new BlobNotFoundException(key);
                }
                throw e;
            }
        });
    }

    @Override
    public Future<Void> delete(String key) {
        return onKey(key, "delete", path -> () -> {
            if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
                return null; // a directory of other keys, not an object
            }
            try {
                if (Files.deleteIfExists(path)) {
                    pruneEmptyParents(path.getParent());
                }
            } catch (IOException e) {
                if (!isAbsent(e, path)) {
                    throw e;
                }
            }
            return null;
        });
    }

    @Override
    public Future<Boolean> exists(String key) {
        return onKey(key, "stat", path -> () -> Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS));
    }

    @Override
    public Future<List<String>> list(String prefix) {
        try {
            Keys.requireValidPrefix(prefix);
        } catch (IllegalArgumentException e) {
            return Future.failedFuture(e);
        }
        return blocking("list " + (prefix.isEmpty() ? "all keys" : prefix), () -> {
            requireRoot();
            int slash = prefix.lastIndexOf('/');
            Path start = slash < 0 ? root : inside(root.resolve(prefix.substring(0, slash)));
            List<String> keys = new ArrayList<>();
            if (!Files.isDirectory(start, LinkOption.NOFOLLOW_LINKS)) {
                return keys;
            }
            Files.walkFileTree(start, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                    // .tmp and any other dot directory can hold no key.
                    return dir.equals(start) || !dir.getFileName().toString().startsWith(".")
                            ? FileVisitResult.CONTINUE : FileVisitResult.SKIP_SUBTREE;
                }

                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                    if (attrs.isRegularFile()) {
                        String key = root.relativize(file).toString().replace(file.getFileSystem().getSeparator(), "/");
                        if (key.startsWith(prefix) && Keys.isValid(key)) {
                            keys.add(key);
                        }
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                    if (e instanceof NoSuchFileException) {
                        return FileVisitResult.CONTINUE; // deleted while we walked
                    }
                    throw e;
                }
            });
            return keys;
        });
    }

    /** The root is a directory and a small file can be created in and removed from {@code .tmp}. */
    @Override
    public Future<Void> check() {
        return blocking("check", () -> {
            requireRoot();
            Files.createDirectories(tmp);
            Path probe = Files.createTempFile(tmp, PROBE_PREFIX, TMP_SUFFIX);
            try {
                Files.write(probe, new byte[] {1});
            } finally {
                Files.deleteIfExists(probe);
            }
            return null;
        });
    }

    @Override
    public String describe() {
        return description;
    }

    @Override
    public Future<Void> close() {
        closed = true;
        return Future.succeededFuture();
    }

    // ---------------------------------------------------------------------------------------

    /** Maps a valid key to its file; nothing else ever becomes a path. */
    private Path resolve(String key) {
        Keys.requireValid(key);
        return inside(root.resolve(key));
    }

    private Path inside(Path path) {
        Path normalized = path.normalize();
        if (!normalized.startsWith(root) || normalized.equals(root) || normalized.startsWith(tmp)) {
            throw new IllegalArgumentException("blob key resolves outside the store");
        }
        return normalized;
    }

    private void requireRoot() throws IOException {
        if (!Files.isDirectory(root)) {
            throw new IOException(Files.exists(root, LinkOption.NOFOLLOW_LINKS)
                    ? "the store directory is not a directory" : "the store directory does not exist");
        }
    }

    private void writeAtomically(Path target, byte[] bytes) throws IOException {
        Path temp = createTemporary();
        try {
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE)) {
                ByteBuffer buffer = ByteBuffer.wrap(bytes);
                while (buffer.hasRemaining()) {
                    channel.write(buffer);
                }
                channel.force(true);
            }
            for (int attempt = 1; ; attempt++) {
                try {
                    Files.createDirectories(target.getParent());
                    Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                    temp = null;
                    syncDirectory(target.getParent());
                    return;
                } catch (NoSuchFileException | FileAlreadyExistsException e) {
                    // A concurrent delete pruned the parent directory: between the two calls (no such
                    // file), or inside createDirectories, which found it existing, then no longer a
                    // directory (file exists). A parent that is really a file (another object) stays one.
                    if (attempt >= MOVE_ATTEMPTS || !Files.exists(temp) || Files.isRegularFile(target.getParent())) {
                        throw e;
                    }
                }
            }
        } finally {
            if (temp != null) {
                try {
                    Files.deleteIfExists(temp);
                } catch (IOException e) {
                    LOG.warn("{}: could not remove temporary file {}: {}", description, temp, e.toString());
                }
            }
        }
    }

    /** Makes a rename durable; best effort, as not every file system can sync a directory. */
    private static void syncDirectory(Path dir) {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // the object is in place either way
        }
    }

    private Path createTemporary() throws IOException {
        try {
            return Files.createTempFile(tmp, PUT_PREFIX, TMP_SUFFIX);
        } catch (NoSuchFileException e) {
            // .tmp was removed from under us; re-create it, but never the root itself.
            requireRoot();
            Files.createDirectories(tmp);
            return Files.createTempFile(tmp, PUT_PREFIX, TMP_SUFFIX);
        }
    }

    /** Removes directories left empty by a delete, up to (not including) the root. */
    private void pruneEmptyParents(Path dir) {
        while (dir != null && dir.startsWith(root) && !dir.equals(root) && !dir.equals(tmp)) {
            try {
                Files.delete(dir);
            } catch (IOException e) {
                return; // not empty, already gone, or not ours to remove: all fine
            }
            dir = dir.getParent();
        }
    }

    /** Whether a failed access to {@code path} means there is simply no object there. */
    private boolean isAbsent(IOException e, Path path) {
        if (!Files.isDirectory(root)) {
            return false; // the store itself is broken
        }
        if (e instanceof NoSuchFileException || e instanceof NotDirectoryException) {
            return true;
        }
        if (e instanceof FileSystemException fse && "Not a directory".equals(fse.getReason())) {
            return true; // a parent of the path is a file: the key of another object
        }
        return Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS);
    }

    private void sweepStaleTemporaries() {
        Instant staleBefore = Instant.now().minus(STALE_TMP_AGE);
        int removed = 0;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(tmp)) {
            for (Path entry : entries) {
                try {
                    BasicFileAttributes attrs = Files.readAttributes(entry, BasicFileAttributes.class,
                            LinkOption.NOFOLLOW_LINKS);
                    if (!attrs.isDirectory() && attrs.lastModifiedTime().toInstant().isBefore(staleBefore)) {
                        Files.deleteIfExists(entry);
                        removed++;
                    }
                } catch (IOException e) {
                    LOG.warn("{}: could not remove stale temporary file {}: {}", description, entry, e.toString());
                }
            }
        } catch (IOException e) {
            LOG.warn("{}: could not sweep {}: {}", description, tmp, e.toString());
        }
        if (removed > 0) {
            LOG.info("{}: removed {} stale temporary file(s) left by an interrupted write", description, removed);
        }
    }

    /**
     * Runs file system work on a worker thread, completing on the caller's context; IO failures
     * become {@link StorageException}s naming the store and the operation.
     */
    /**
     * Resolves {@code key} (failing with IllegalArgumentException for an invalid one) and runs the
     * work on a worker thread once the root is known to be there.
     */
    private <T> Future<T> onKey(String key, String operation, java.util.function.Function<Path, Callable<T>> work) {
        Path path;
        try {
            path = resolve(key);
        } catch (IllegalArgumentException e) {
            return Future.failedFuture(e);
        }
        Callable<T> job = work.apply(path);
        return blocking(operation + " " + key, () -> {
            requireRoot();
            return job.call();
        });
    }

    private <T> Future<T> blocking(String operation, Callable<T> work) {
        Context context = vertx.getOrCreateContext();
        if (closed) {
            return Future.failedFuture(new StorageException(failureMessage(operation, "the store is closed")));
        }
        return context.executeBlocking(() -> {
            try {
                return work.call();
            } catch (StorageException e) {
                throw e;
            } catch (IOException | RuntimeException e) {
                throw new StorageException(failureMessage(operation, reason(e)), e);
            }
        }, false);
    }

    private String failureMessage(String operation, String reason) {
        return "file store " + root + ": " + operation + " failed: " + reason;
    }

    private String reason(Exception e) {
        if (e instanceof FileSystemException fse) {
            String why = fse.getReason();
            if (why == null) {
                why = switch (fse) {
                    case NoSuchFileException x -> "No such file or directory";
                    case FileAlreadyExistsException x -> "File exists";
                    case NotDirectoryException x -> "Not a directory";
                    case DirectoryNotEmptyException x -> "Directory not empty";
                    case AccessDeniedException x -> "Permission denied";
                    default -> fse.getClass().getSimpleName();
                };
            }
            return fse.getFile() == null ? why : why + " (" + shown(fse.getFile()) + ")";
        }
        String message = e.getMessage();
        return message == null || message.isBlank() ? e.getClass().getSimpleName() : message;
    }

    /** A path relative to the root when it is inside it, for shorter messages. */
    private String shown(String file) {
        try {
            Path path = Path.of(file);
            return path.startsWith(root) && !path.equals(root) ? root.relativize(path).toString() : file;
        } catch (RuntimeException e) {
            return file;
        }
    }
}
