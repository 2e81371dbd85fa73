package io.cosyvoice.audio;

/** Recognises text files (UTF-8 or ASCII) among uploads. */
final class TextSniffer {

    /** The share of characters that must be printable or whitespace. */
    private static final double PRINTABLE_SHARE = 0.95;

    private TextSniffer() {}

    /**
     * True when the bytes are valid UTF-8 (ASCII included) without NUL bytes, at least 95% of the
     * characters being printable or whitespace. (UTF-16 text is not recognised: it cannot be told
     * apart from loud 16-bit audio reliably.)
     */
    static boolean looksLikeText(byte[] d) {
        int n = d.length;
        int i = 0;
        if (n >= 3 && d[0] == (byte) 0xEF && d[1] == (byte) 0xBB && d[2] == (byte) 0xBF) {
            i = 3;
        }
        long chars = 0;
        long printable = 0;
        while (i < n) {
            int b = d[i] & 0xFF;
            if (b < 0x80) {
                if (b == 0) {
                    return false;
                }
                chars++;
                if (b >= 0x20 && b < 0x7F || b == '\t' || b == '\n' || b == '\r' || b == '\f' || b == 0x0B) {
                    printable++;
                }
                i++;
                continue;
            }
            int need;
            int cp;
            if (b >= 0xC2 && b <= 0xDF) {
                need = 1;
                cp = b & 0x1F;
            } else if (b >= 0xE0 && b <= 0xEF) {
                need = 2;
                cp = b & 0x0F;
            } else if (b >= 0xF0 && b <= 0xF4) {
                need = 3;
                cp = b & 0x07;
            } else {
                return false;
            }
            if (i + need >= n) {
                break; // a character cut off at the very end: judge by what came before
            }
            for (int k = 1; k <= need; k++) {
                int c = d[i + k] & 0xFF;
                if ((c & 0xC0) != 0x80) {
                    return false;
                }
                cp = cp << 6 | (c & 0x3F);
            }
            if ((need == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)))
                    || (need == 3 && (cp < 0x10000 || cp > 0x10FFFF))) {
                return false;
            }
            chars++;
            if (cp >= 0xA0 || cp == 0x85) {
                printable++;
            }
            i += need + 1;
        }
        return chars > 0 && printable >= PRINTABLE_SHARE * chars;
    }
}
