package io.cosyvoice.api;

import io.cosyvoice.error.ErrorCode;
import io.cosyvoice.error.ServiceException;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;

import java.util.Locale;

/**
 * Reads a {@code multipart/form-data} request into memory with a size cap, without BodyHandler:
 * no temporary files (nothing the client names ever touches the disk) and a 413 before the body is
 * sent when {@code Content-Length} already says it is too large.
 */
final class MultipartUpload {

    /** Room for the multipart framing and the text field around the file. */
    private static final long FORM_OVERHEAD = 256 * 1024;

    /** The one file part (if any) and every form field. */
    record Form(MultiMap fields, FilePart file) {
    }

    record FilePart(String field, String filename, String contentType, Buffer data) {
    }

    private MultipartUpload() {
    }

    static Future<Form> read(HttpServerRequest request, String fileField, long maxFileBytes) {
        String type = request.getHeader(HttpHeaders.CONTENT_TYPE);
        String lower = type == null ? "" : type.toLowerCase(Locale.ROOT);
        if (!lower.startsWith("multipart/form-data") && !lower.startsWith("application/x-www-form-urlencoded")) {
            return Future.failedFuture(new ServiceException(ErrorCode.UNSUPPORTED_MEDIA_TYPE,
                    "Content-Type: expected multipart/form-data with the fields file and text"));
        }
        long declared = parseLength(request.getHeader(HttpHeaders.CONTENT_LENGTH));
        boolean expectsContinue = "100-continue".equalsIgnoreCase(request.getHeader(HttpHeaders.EXPECT));
        long drainCap = 4 * maxFileBytes + FORM_OVERHEAD;
        if (declared > maxFileBytes + FORM_OVERHEAD && (expectsContinue || declared > drainCap)) {
            // refuse before the body is sent (100-continue) or rather than read a huge one: close after answering
            request.response().putHeader(HttpHeaders.CONNECTION, "close");
            return Future.failedFuture(tooLarge(fileField, maxFileBytes));
        }
        if (expectsContinue) {
            request.response().writeContinue();
        }
        Promise<Form> promise = Promise.promise();
        FileCollector collector = new FileCollector(fileField, maxFileBytes, drainCap, () -> {
            request.response().putHeader(HttpHeaders.CONNECTION, "close");
            promise.tryFail(tooLarge(fileField, maxFileBytes));
        });
        request.setExpectMultipart(true);
        request.uploadHandler(collector::accept);
        request.exceptionHandler(err -> promise.tryFail(ServiceException.invalid("body", "malformed multipart form: " + err.getMessage())));
        request.endHandler(v -> {
            if (collector.failure != null) {
                promise.tryFail(collector.failure);
            } else {
                promise.tryComplete(new Form(request.formAttributes(), collector.file()));
            }
        });
        request.resume();
        return promise.future();
    }

    private static ServiceException tooLarge(String field, long max) {
        return new ServiceException(ErrorCode.PAYLOAD_TOO_LARGE, field + ": larger than the limit of " + max + " bytes");
    }

    private static long parseLength(String value) {
        try {
            return value == null ? -1 : Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** Buffers the file part; past the cap it keeps draining (so the client reads our 413) but stores nothing. */
    private static final class FileCollector {
        private final String fileField;
        private final long maxBytes;
        private final long drainCap;
        private final Runnable overDrainCap;
        private long received;
        private Buffer data;
        private String filename;
        private String contentType;
        private int fileParts;
        private ServiceException failure;

        FileCollector(String fileField, long maxBytes, long drainCap, Runnable overDrainCap) {
            this.fileField = fileField;
            this.maxBytes = maxBytes;
            this.drainCap = drainCap;
            this.overDrainCap = overDrainCap;
        }

        void accept(io.vertx.core.http.HttpServerFileUpload upload) {
            if (!fileField.equals(upload.name())) {
                upload.handler(ignored -> { });
                return;
            }
            if (++fileParts > 1) {
                failure = ServiceException.invalid(fileField, "send exactly one file");
            }
            filename = upload.filename();
            contentType = upload.contentType();
            Buffer buffer = Buffer.buffer();
            data = buffer;
            upload.handler(chunk -> {
                received += chunk.length();
                if (received > drainCap) {
                    overDrainCap.run();
                }
                if (failure != null) {
                    return;
                }
                if (buffer.length() + chunk.length() > maxBytes) {
                    failure = tooLarge(fileField, maxBytes);
                    data = null;
                    return;
                }
                buffer.appendBuffer(chunk);
            });
        }

        FilePart file() {
            return data == null ? null : new FilePart(fileField, filename, contentType, data);
        }
    }
}
