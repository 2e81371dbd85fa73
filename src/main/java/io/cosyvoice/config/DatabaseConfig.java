package io.cosyvoice.config;

import java.util.Optional;

/**
 * PostgreSQL. No URL: an embedded PostgreSQL whose files live in the data directory.
 *
 * @param url      {@code postgresql://user:pass@host:port/db}
 * @param poolSize connections per server process
 */
public record DatabaseConfig(Optional<String> url, int poolSize) {
    public static final DatabaseConfig DEFAULTS = new DatabaseConfig(Optional.empty(), 8);

    public boolean embedded() {
        return url.isEmpty();
    }
}
