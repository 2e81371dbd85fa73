package io.cosyvoice.api;

import io.cosyvoice.error.ErrorCode;
import io.cosyvoice.error.ServiceException;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place where failures become HTTP: a status from the error code and the body
 * {@code {"code", "message", "request_id", "data"}}, or on the OpenAI-compatible routes
 * ({@code /v1/}) OpenAI's {@code {"error": {"message", "type", "param", "code"}}}. Unexpected exceptions become a 500 whose
 * body says nothing of the internals; the details go to the log under the request id.
 */
final class ApiErrors {

    private static final Logger log = LoggerFactory.getLogger(ApiErrors.class);

    private ApiErrors() {
    }

    static int status(ErrorCode code) {
        return switch (code) {
            case INVALID_PARAMETER -> 400;
            case UNAUTHORIZED -> 401;
            case NOT_FOUND -> 404;
            case METHOD_NOT_ALLOWED -> 405;
            case PAYLOAD_TOO_LARGE -> 413;
            case UNSUPPORTED_MEDIA_TYPE -> 415;
            case CONFLICT -> 409;
            case TOO_MANY_REQUESTS -> 429;
            case SERVICE_UNAVAILABLE -> 503;
            case DEADLINE_EXCEEDED -> 504;
            case INTERNAL_ERROR -> 500;
        };
    }

    /** Router failure handler: every failed route and every error status ends here. */
    static void handle(RoutingContext ctx) {
        send(ctx, toServiceException(ctx));
    }

    static ServiceException toServiceException(RoutingContext ctx) {
        Throwable failure = ctx.failure();
        if (failure instanceof ServiceException e) {
            return e;
        }
        if (failure instanceof DecodeException) {
            return ServiceException.invalid("body", "not valid JSON");
        }
        if (failure == null) {
            return switch (ctx.statusCode()) {
                case 404 -> ServiceException.notFound("no such route: " + ctx.request().method() + " " + ctx.request().path());
                case 405 -> new ServiceException(ErrorCode.METHOD_NOT_ALLOWED,
                        "method " + ctx.request().method() + " is not allowed on " + ctx.request().path());
                case 413 -> new ServiceException(ErrorCode.PAYLOAD_TOO_LARGE, "request body is too large");
                case 415 -> new ServiceException(ErrorCode.UNSUPPORTED_MEDIA_TYPE, "unsupported content type");
                case 400 -> ServiceException.invalid("request", "malformed request");
                default -> internal(ctx, null);
            };
        }
        return internal(ctx, failure);
    }

    private static ServiceException internal(RoutingContext ctx, Throwable failure) {
        log.atError().addKeyValue("request_id", RequestIds.of(ctx)).addKeyValue("path", ctx.request().path())
                .setCause(failure).log("unexpected failure");
        return new ServiceException(ErrorCode.INTERNAL_ERROR, "internal error; quote request_id " + RequestIds.of(ctx));
    }

    static void send(RoutingContext ctx, ServiceException error) {
        HttpServerResponse response = ctx.response();
        if (response.headWritten()) {
            // the body is already under way: all we can do is cut the stream short
            response.reset();
            return;
        }
        int status = status(error.code());
        if (status >= 500) {
            log.atWarn().addKeyValue("request_id", RequestIds.of(ctx)).addKeyValue("status", status)
                    .addKeyValue("cause", error.getCause() == null ? null : error.getCause().toString())
                    .log(error.getMessage());
        }
        if (error.code() == ErrorCode.UNAUTHORIZED) {
            response.putHeader("WWW-Authenticate", "Bearer");
        }
        JsonObject body = OpenAiRoutes.isOpenAiPath(ctx.request().path())
                ? new JsonObject().put("error", openAiError(error)) : body(error, RequestIds.of(ctx));
        response.setStatusCode(status)
                .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                .end(body.encode());
    }

    /**
     * OpenAI's error object: {@code type} and {@code code} as OpenAI sends them, {@code param} the
     * field. The type follows the status, so a code added later needs nothing here.
     */
    static JsonObject openAiError(ServiceException error) {
        int status = status(error.code());
        String type = status == 429 ? "requests" : status >= 500 ? "server_error" : "invalid_request_error";
        String code = switch (error.code()) {
            case INVALID_PARAMETER -> "invalid_value";
            case UNAUTHORIZED -> "invalid_api_key";
            case TOO_MANY_REQUESTS -> "rate_limit_exceeded";
            // the rest by name: NOT_FOUND -> not_found, SERVICE_UNAVAILABLE -> service_unavailable ...
            default -> error.code().name().toLowerCase(java.util.Locale.ROOT);
        };
        return new JsonObject()
                .put("message", error.getMessage())
                .put("type", type)
                .put("param", error.field())
                .put("code", code);
    }

    static JsonObject body(ServiceException error, String requestId) {
        return new JsonObject()
                .put("code", error.code().apiName())
                .put("message", error.getMessage())
                .put("request_id", requestId)
                .put("data", new JsonObject());
    }
}
