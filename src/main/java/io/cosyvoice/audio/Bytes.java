package io.cosyvoice.audio;

/** Byte-level checks shared by the format sniffers and parsers. */
final class Bytes {

    private Bytes() {
    }

    /** Whether {@code d} holds the ASCII text {@code ascii} at {@code off} (false when out of range). */
    static boolean matches(byte[] d, int off, String ascii) {
        if (off < 0 || off + ascii.length() > d.length) {
            return false;
        }
        for (int i = 0; i < ascii.length(); i++) {
            if (d[off + i] != (byte) ascii.charAt(i)) {
                return false;
            }
        }
        return true;
    }
}
