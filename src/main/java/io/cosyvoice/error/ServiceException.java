package io.cosyvoice.error;

/**
 * A failure a client is told about: a code and a message that names the offending field or the
 * component that failed. Never carries a stack trace to the client.
 */
public class ServiceException extends RuntimeException {

    private final ErrorCode code;
    private final String field;

    public ServiceException(ErrorCode code, String message) {
        this(code, message, (Throwable) null);
    }

    public ServiceException(ErrorCode code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
        this.field = null;
    }

    /** A failure about one request field; the message starts with the field's name. */
    public ServiceException(ErrorCode code, String field, String problem) {
        super(field + ": " + problem);
        this.code = code;
        this.field = field;
    }

    public ErrorCode code() {
        return code;
    }

    /** The request field the failure is about, when it is about one (null otherwise). */
    public String field() {
        return field;
    }

    public static ServiceException invalid(String field, String problem) {
        return new ServiceException(ErrorCode.INVALID_PARAMETER, field, problem);
    }

    public static ServiceException notFound(String message) {
        return new ServiceException(ErrorCode.NOT_FOUND, message);
    }

    public static ServiceException unavailable(String message, Throwable cause) {
        return new ServiceException(ErrorCode.SERVICE_UNAVAILABLE, message, cause);
    }
}
