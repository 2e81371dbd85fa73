package io.cosyvoice.voice;

import io.cosyvoice.error.ServiceException;

import java.util.regex.Pattern;

/**
 * The rules of reference-audio names: 1 to 64 letters, digits, spaces, '.', '_' or '-', starting
 * with a letter or digit, and never a UUID (a {@code voice} is looked up as an id when it is one).
 */
final class VoiceNames {

    static final int MAX_CHARS = 64;
    private static final Pattern NAME = Pattern.compile("[\\p{L}\\p{N}][\\p{L}\\p{N} ._-]*");
    private static final Pattern UUID_TEXT = Pattern.compile(
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

    private VoiceNames() {
    }

    /** The name to store (stripped), null for none; a bad one fails naming the field {@code name}. */
    static String check(String requested) {
        if (requested == null) {
            return null;
        }
        String name = requested.strip();
        if (name.isEmpty()) {
            throw ServiceException.invalid("name", "must not be empty (leave it out for no name)");
        }
        if (name.codePointCount(0, name.length()) > MAX_CHARS) {
            throw ServiceException.invalid("name", "must be at most " + MAX_CHARS + " characters");
        }
        if (isUuid(name)) {
            throw ServiceException.invalid("name", "must not be a UUID: ids and names share the voice field");
        }
        if (!NAME.matcher(name).matches()) {
            throw ServiceException.invalid("name", "'" + abbreviate(name) + "' may hold only letters, digits, spaces, "
                    + "'.', '_' and '-', starting with a letter or digit");
        }
        return name;
    }

    static boolean isUuid(String value) {
        return value != null && UUID_TEXT.matcher(value).matches();
    }

    static String abbreviate(String value) {
        return value.length() > MAX_CHARS ? value.substring(0, MAX_CHARS) + "..." : value;
    }
}
