package io.cosyvoice.config;

import java.util.Optional;

/**
 * PostgreSQL. No URL: an embedded PostgreSQL whose files live in the data directory.
 *
 * @param url      {@code postgresql://user:pass@host:port/db}
 * @param poolSize         connections per server process
 * @param promptCacheBytes how much of the voices' prompt features read from the database each process
 *                         keeps in memory (a 10 s voice's are about 160 KB); 0 reads them for every request
 */
public record DatabaseConfig(Optional<String> url, int poolSize, long promptCacheBytes) {
    public static final DatabaseConfig DEFAULTS = new DatabaseConfig(Optional.empty(), 8, 64L * 1024 * 1024);

    public boolean embedded() {
        return url.isEmpty();
    }
}
