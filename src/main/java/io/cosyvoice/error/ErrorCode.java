package io.cosyvoice.error;

/**
 * The error codes of the public API. The HTTP status of each is decided in one place, the API's
 * error mapper; code outside the API layer only chooses a code.
 */
public enum ErrorCode {
    INVALID_PARAMETER("InvalidParameter"),
    UNAUTHORIZED("Unauthorized"),
    NOT_FOUND("NotFound"),
    METHOD_NOT_ALLOWED("MethodNotAllowed"),
    PAYLOAD_TOO_LARGE("PayloadTooLarge"),
    UNSUPPORTED_MEDIA_TYPE("UnsupportedMediaType"),
    /** The request clashes with what is stored (a reference-audio name already in use). */
    CONFLICT("Conflict"),
    TOO_MANY_REQUESTS("TooManyRequests"),
    SERVICE_UNAVAILABLE("ServiceUnavailable"),
    /** The synthesis took longer than the engine's deadline for one sentence. */
    DEADLINE_EXCEEDED("DeadlineExceeded"),
    INTERNAL_ERROR("InternalError");

    private final String apiName;

    ErrorCode(String apiName) {
        this.apiName = apiName;
    }

    /** The value of the {@code code} field of an error body. */
    public String apiName() {
        return apiName;
    }
}
