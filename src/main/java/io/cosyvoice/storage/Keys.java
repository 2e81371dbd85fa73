package io.cosyvoice.storage;

import java.util.regex.Pattern;

/** Validation of object keys and list prefixes, shared by every store. */
final class Keys {

    private static final Pattern KEY = Pattern.compile(BlobStore.KEY_PATTERN);

    /** Whole segments each followed by '/', then optionally the start of one more segment. */
    private static final Pattern PREFIX =
            Pattern.compile("([a-z0-9_-][a-z0-9._-]*/)*([a-z0-9_-][a-z0-9._-]*)?");

    /** S3's limit on a key, in bytes; keys are ASCII so characters and bytes agree. */
    static final int MAX_KEY_LENGTH = 1024;

    /** The usual limit on one file name, so that a key valid for one store is valid for all. */
    static final int MAX_SEGMENT_LENGTH = 255;

    private Keys() {
    }

    static boolean isValid(String key) {
        return key != null
                && key.length() <= MAX_KEY_LENGTH
                && KEY.matcher(key).matches()
                && segmentsFit(key);
    }

    /** Returns the key, or throws {@link IllegalArgumentException} if it does not match {@link BlobStore#KEY_PATTERN}. */
    static String requireValid(String key) {
        if (!isValid(key)) {
            throw new IllegalArgumentException("invalid blob key " + quote(key) + ": keys must match "
                    + BlobStore.KEY_PATTERN + ", at most " + MAX_KEY_LENGTH + " characters");
        }
        return key;
    }

    /** Returns the prefix ("" for everything), or throws {@link IllegalArgumentException}. */
    static String requireValidPrefix(String prefix) {
        if (prefix == null
                || prefix.length() > MAX_KEY_LENGTH
                || !PREFIX.matcher(prefix).matches()
                || !segmentsFit(prefix)) {
            throw new IllegalArgumentException("invalid blob key prefix " + quote(prefix)
                    + ": a prefix is empty or whole key segments ending in '/', optionally followed by "
                    + "the start of a segment");
        }
        return prefix;
    }

    private static boolean segmentsFit(String key) {
        int start = 0;
        while (start <= key.length()) {
            int slash = key.indexOf('/', start);
            int end = slash < 0 ? key.length() : slash;
            if (end - start > MAX_SEGMENT_LENGTH) {
                return false;
            }
            if (slash < 0) {
                return true;
            }
            start = slash + 1;
        }
        return true;
    }

    /** Quotes a rejected key for a message, cut short: it may be garbage. */
    private static String quote(String key) {
        if (key == null) {
            return "null";
        }
        String shown = key.length() > 80 ? key.substring(0, 80) + "..." : key;
        StringBuilder out = new StringBuilder(shown.length() + 2).append('"');
        shown.codePoints().forEach(c -> {
            if (c < 0x20 || c == 0x7f) {
                out.append(String.format("\\u%04x", c));
            } else {
                out.appendCodePoint(c);
            }
        });
        return out.append('"').toString();
    }
}
