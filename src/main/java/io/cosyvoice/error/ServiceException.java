package io.cosyvoice.error;

/**
 * A failure a client is told about: a code and a message that names the offending field or the
 * component that failed. Never carries a stack trace to the client.
 */
public class ServiceException extends RuntimeException {

    private final ErrorCode code;

    public ServiceException(ErrorCode code, String message) {
        super(message);
        this.code = code;
    }

    public ServiceException(ErrorCode code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    public ErrorCode code() {
        return code;
    }

    public static ServiceException invalid(String field, String problem) {
        return new ServiceException(ErrorCode.INVALID_PARAMETER, field + ": " + problem);
    }

    public static ServiceException notFound(String message) {
        return new ServiceException(ErrorCode.NOT_FOUND, message);
    }

    public static ServiceException unavailable(String message, Throwable cause) {
        return new ServiceException(ErrorCode.SERVICE_UNAVAILABLE, message, cause);
    }
}
