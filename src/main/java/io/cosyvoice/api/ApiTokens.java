package io.cosyvoice.api;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;

/**
 * The tokens the API accepts. With none configured the server is never left open: it generates a
 * token at first start, keeps it in the data directory and prints it once.
 */
public final class ApiTokens {

    static final String FILE_NAME = "api-token";
    private static final Logger log = LoggerFactory.getLogger(ApiTokens.class);

    private ApiTokens() {
    }

    /** The configured tokens, or the generated one (created on first use). Blocking: call at start-up. */
    public static List<String> resolve(List<String> configured, Path dataDir) throws IOException {
        if (!configured.isEmpty()) {
            return configured;
        }
        Path file = dataDir.resolve(FILE_NAME);
        if (Files.isRegularFile(file)) {
            String token = Files.readString(file, StandardCharsets.UTF_8).strip();
            if (!token.isEmpty()) {
                log.atInfo().addKeyValue("file", file).log("no API token configured: using the generated token kept in the data directory");
                return List.of(token);
            }
        }
        byte[] random = new byte[32];
        new SecureRandom().nextBytes(random);
        String token = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
        Files.createDirectories(dataDir);
        try {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (FileAlreadyExistsException e) {
            // an empty file left by an interrupted start: overwrite it
        } catch (UnsupportedOperationException e) {
            Files.createFile(file);
        }
        Files.writeString(file, token + "\n", StandardCharsets.UTF_8, StandardOpenOption.TRUNCATE_EXISTING);
        log.atWarn().addKeyValue("file", file).log("no API token configured: generated one, shown only this once: " + token);
        return List.of(token);
    }
}
