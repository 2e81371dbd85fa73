package io.cosyvoice.api;

import io.cosyvoice.error.ErrorCode;
import io.cosyvoice.error.ServiceException;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.RoutingContext;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;

/**
 * {@code Authorization: Bearer <token>} against the configured tokens. Tokens are compared as
 * SHA-256 digests with {@link MessageDigest#isEqual}, against every token, so neither content nor
 * length leaks through timing. Tokens are never logged.
 */
final class BearerAuth implements Handler<RoutingContext> {

    /** Browsers cannot set headers on a WebSocket: they offer {@code bearer.<token>} as a subprotocol. */
    static final String SUBPROTOCOL_PREFIX = "bearer.";

    private final List<byte[]> digests;

    BearerAuth(List<String> tokens) {
        if (tokens.isEmpty()) {
            throw new IllegalArgumentException("at least one API token is required");
        }
        this.digests = tokens.stream().map(BearerAuth::digest).toList();
    }

    @Override
    public void handle(RoutingContext ctx) {
        String header = ctx.request().getHeader(HttpHeaders.AUTHORIZATION);
        if ((header == null || header.isBlank()) && subprotocolToken(ctx) != null) {
            if (accepts(subprotocolToken(ctx))) {
                ctx.next();
            } else {
                ctx.fail(new ServiceException(ErrorCode.UNAUTHORIZED, "Sec-WebSocket-Protocol: invalid bearer token"));
            }
            return;
        }
        if (header == null || header.isBlank()) {
            ctx.fail(new ServiceException(ErrorCode.UNAUTHORIZED, "Authorization: missing header; send Authorization: Bearer <token>"));
            return;
        }
        String[] parts = header.strip().split("\\s+", 2);
        if (parts.length != 2 || !parts[0].equalsIgnoreCase("Bearer")) {
            ctx.fail(new ServiceException(ErrorCode.UNAUTHORIZED, "Authorization: expected the Bearer scheme"));
            return;
        }
        if (!accepts(parts[1].strip())) {
            ctx.fail(new ServiceException(ErrorCode.UNAUTHORIZED, "Authorization: invalid token"));
            return;
        }
        ctx.next();
    }

    /** The token of a {@code bearer.<token>} WebSocket subprotocol offer, if any. */
    private static String subprotocolToken(RoutingContext ctx) {
        String offered = ctx.request().getHeader("Sec-WebSocket-Protocol");
        if (offered == null) {
            return null;
        }
        for (String protocol : offered.split(",")) {
            String p = protocol.strip();
            if (p.startsWith(SUBPROTOCOL_PREFIX)) {
                return p.substring(SUBPROTOCOL_PREFIX.length());
            }
        }
        return null;
    }

    boolean accepts(String token) {
        byte[] candidate = digest(token);
        boolean match = false;
        for (byte[] digest : digests) {
            match |= MessageDigest.isEqual(digest, candidate);
        }
        return match;
    }

    private static byte[] digest(String token) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
