package io.cosyvoice.database;

import io.vertx.pgclient.PgConnectOptions;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * A real PostgreSQL server run from the binaries packaged with the application, its files in the
 * data directory so they survive restarts. Listens on loopback only.
 */
final class EmbeddedPostgresServer {

    private static final Logger log = LoggerFactory.getLogger(EmbeddedPostgresServer.class);

    private final EmbeddedPostgres postgres;

    private EmbeddedPostgresServer(EmbeddedPostgres postgres) {
        this.postgres = postgres;
    }

    /** Blocking: initialises the directory on first use, then starts the server. */
    static EmbeddedPostgresServer start(Path dataDir) throws IOException {
        Files.createDirectories(dataDir);
        stopLeftoverServer(dataDir);
        EmbeddedPostgres postgres = EmbeddedPostgres.builder()
                .setDataDirectory(dataDir)
                .setCleanDataDirectory(false)
                .setServerConfig("listen_addresses", "127.0.0.1")
                .setServerConfig("max_connections", "200")
                .setPGStartupWait(Duration.ofSeconds(60))
                .setRegisterShutdownHook(false)
                .start();
        log.atInfo().addKeyValue("dir", dataDir).addKeyValue("port", postgres.getPort()).log("embedded PostgreSQL started");
        return new EmbeddedPostgresServer(postgres);
    }

    PgConnectOptions connectOptions() {
        return new PgConnectOptions()
                .setHost("127.0.0.1")
                .setPort(postgres.getPort())
                .setUser("postgres")
                .setPassword("postgres")
                .setDatabase("postgres");
    }

    void stop() {
        try {
            postgres.close();
        } catch (IOException | RuntimeException e) {
            log.warn("embedded PostgreSQL did not stop cleanly", e);
        }
    }

    /**
     * A server process that outlived a killed JVM still holds the directory; stop it (fast
     * shutdown) so this start can take over instead of failing.
     */
    private static void stopLeftoverServer(Path dataDir) throws IOException {
        Path pidFile = dataDir.resolve("postmaster.pid");
        if (!Files.isRegularFile(pidFile)) {
            return;
        }
        List<String> lines = Files.readAllLines(pidFile);
        Optional<ProcessHandle> process = lines.isEmpty() ? Optional.empty() : parsePid(lines.getFirst());
        process.filter(ProcessHandle::isAlive)
                .filter(p -> p.info().command().map(c -> c.endsWith("postgres")).orElse(false))
                .ifPresent(p -> {
                    log.atWarn().addKeyValue("pid", p.pid()).log("stopping a PostgreSQL server left running by an earlier process");
                    // SIGTERM: PostgreSQL's smart shutdown; the old clients are gone so it exits promptly
                    p.destroy();
                    try {
                        p.onExit().get(30, java.util.concurrent.TimeUnit.SECONDS);
                    } catch (Exception e) {
                        p.destroyForcibly();
                    }
                });
    }

    private static Optional<ProcessHandle> parsePid(String line) {
        try {
            return ProcessHandle.of(Long.parseLong(line.trim()));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }
}
