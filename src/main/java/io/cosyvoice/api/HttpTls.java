package io.cosyvoice.api;

import io.cosyvoice.config.ConfigLoader.Setting;
import io.cosyvoice.config.TlsConfig;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.OpenSslSession;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.OpenSSLEngineOptions;
import io.vertx.core.net.PemKeyCertOptions;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLSession;
import javax.net.ssl.X509KeyManager;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;

/**
 * HTTPS on the API port: the OpenSSL engine (BoringSSL from netty-tcnative), the configured PEM
 * certificate and key, and ALPN offering HTTP/2 then HTTP/1.1. Without a certificate the port
 * speaks plain HTTP/1.1 (and cleartext HTTP/2 for clients that ask for it).
 */
public final class HttpTls {

    /** The ALPN protocols offered, most preferred first. */
    static final List<HttpVersion> ALPN = List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1);

    private HttpTls() {
    }

    /**
     * Checks before anything listens that OpenSSL loads and the files hold a certificate and the
     * key that belongs to it, so a mistake stops start-up with a message naming the setting
     * rather than failing every handshake later. Reads files: call it off the event loop.
     *
     * @return what the port will speak, for the start-up log
     * @throws IllegalStateException naming the setting at fault
     */
    public static String check(Vertx vertx, TlsConfig tls) {
        if (!tls.enabled()) {
            return "http (no TLS: " + Setting.HTTP_TLS_CERT.key + " not set)";
        }
        Path certFile = tls.cert().orElseThrow();
        Path keyFile = tls.key().orElseThrow();
        if (!OpenSSLEngineOptions.isAvailable()) {
            throw new IllegalStateException(named(Setting.HTTP_TLS_CERT) + " is set but the OpenSSL engine "
                    + "(netty-tcnative-boringssl-static, Linux x86-64) cannot be loaded here: " + OpenSsl.unavailabilityCause());
        }
        if (!OpenSSLEngineOptions.isAlpnAvailable()) {
            throw new IllegalStateException(named(Setting.HTTP_TLS_CERT) + " is set but this OpenSSL has no ALPN (needed for HTTP/2)");
        }
        X509Certificate certificate = firstCertificate(certFile);
        PrivateKey key = privateKey(vertx, certFile, keyFile);
        if (!matches(key, certificate)) {
            throw new IllegalStateException(named(Setting.HTTP_TLS_KEY) + ": the key in " + keyFile
                    + " does not belong to the certificate in " + certFile + " (" + named(Setting.HTTP_TLS_CERT) + ")");
        }
        return "https (OpenSSL " + OpenSsl.versionString() + ", ALPN h2 and http/1.1) for "
                + certificate.getSubjectX500Principal().getName() + ", valid until " + certificate.getNotAfter().toInstant();
    }

    /** The listener's options with TLS as configured (unchanged when it is off). */
    static HttpServerOptions apply(HttpServerOptions options, TlsConfig tls) {
        if (!tls.enabled()) {
            return options;
        }
        return options.setSsl(true)
                .setSslEngineOptions(new OpenSSLEngineOptions())
                .setKeyCertOptions(new PemKeyCertOptions()
                        .setCertPath(tls.cert().orElseThrow().toString())
                        .setKeyPath(tls.key().orElseThrow().toString()))
                .setUseAlpn(true)
                .setAlpnVersions(ALPN);
    }

    /** The engine a TLS session runs on: {@code openssl} or {@code jdk}. */
    static String engine(SSLSession session) {
        return session instanceof OpenSslSession ? "openssl" : "jdk";
    }

    private static X509Certificate firstCertificate(Path file) {
        String problem;
        try {
            byte[] pem = Files.readAllBytes(file);
            if (!new String(pem, StandardCharsets.US_ASCII).contains("-----BEGIN CERTIFICATE-----")) {
                problem = "no PEM certificate (-----BEGIN CERTIFICATE-----) in " + file;
            } else {
                Collection<? extends Certificate> chain = CertificateFactory.getInstance("X.509")
                        .generateCertificates(new ByteArrayInputStream(pem));
                if (!chain.isEmpty() && chain.iterator().next() instanceof X509Certificate first) {
                    return first;
                }
                problem = "no X.509 certificate in " + file;
            }
        } catch (IOException e) {
            problem = "cannot read " + file + ": " + e.getMessage();
        } catch (CertificateException | RuntimeException e) {
            problem = "not a valid PEM certificate in " + file + ": " + e.getMessage();
        }
        throw new IllegalStateException(named(Setting.HTTP_TLS_CERT) + ": " + problem);
    }

    /** The key as Vert.x itself will load it (the certificate is known good by now). */
    private static PrivateKey privateKey(Vertx vertx, Path certFile, Path keyFile) {
        try {
            var options = new PemKeyCertOptions().setCertPath(certFile.toString()).setKeyPath(keyFile.toString());
            for (KeyManager manager : options.getKeyManagerFactory(vertx).getKeyManagers()) {
                if (manager instanceof X509KeyManager x509) {
                    for (String type : List.of("RSA", "EC", "EdDSA", "Ed25519", "DSA")) {
                        String[] aliases = x509.getServerAliases(type, null);
                        if (aliases != null && aliases.length > 0) {
                            return x509.getPrivateKey(aliases[0]);
                        }
                    }
                }
            }
            throw new IllegalStateException("no usable private key");
        } catch (Exception e) {
            throw new IllegalStateException(named(Setting.HTTP_TLS_KEY) + ": no valid unencrypted PEM private key in "
                    + keyFile + ": " + e.getMessage(), e);
        }
    }

    /** Whether the certificate's public key verifies what the private key signs. */
    private static boolean matches(PrivateKey key, X509Certificate certificate) {
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "Ed25519", "EdDSA" -> "Ed25519";
            default -> null;
        };
        if (algorithm == null) {
            return true; // nothing to compare with: the handshake will tell
        }
        try {
            byte[] probe = "cosyvoice-server key check".getBytes(StandardCharsets.US_ASCII);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(probe);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(certificate.getPublicKey());
            verifier.update(probe);
            return verifier.verify(signature);
        } catch (Exception e) {
            return false;
        }
    }

    private static String named(Setting setting) {
        return setting.key + " (" + setting.variable + ")";
    }
}
