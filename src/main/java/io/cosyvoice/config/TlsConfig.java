package io.cosyvoice.config;

import java.nio.file.Path;
import java.util.Optional;

/**
 * TLS on the API port: both PEM files, or neither (plain HTTP). With them the server speaks
 * HTTPS through OpenSSL (BoringSSL) and offers HTTP/2 and HTTP/1.1 by ALPN.
 *
 * @param cert the certificate chain, PEM, server certificate first
 * @param key  its private key, PEM (PKCS#8, or PKCS#1 RSA / SEC1 EC), unencrypted
 */
public record TlsConfig(Optional<Path> cert, Optional<Path> key) {
    public static final TlsConfig OFF = new TlsConfig(Optional.empty(), Optional.empty());

    public TlsConfig {
        if (cert.isPresent() != key.isPresent()) {
            throw new IllegalArgumentException("TLS needs both a certificate and a key");
        }
    }

    public boolean enabled() {
        return cert.isPresent();
    }
}
