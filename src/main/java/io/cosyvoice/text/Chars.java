package io.cosyvoice.text;

import java.lang.Character.UnicodeScript;

/** Character classes shared by the normaliser and the splitters. */
final class Chars {

    private Chars() {}

    static boolean isAsciiDigit(int c) {
        return c >= '0' && c <= '9';
    }

    static boolean isAsciiLetter(int c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z';
    }

    static boolean isAsciiAlnum(int c) {
        return isAsciiDigit(c) || isAsciiLetter(c);
    }

    /** Han ideographs, kana, hangul and bopomofo: one unit each, and Chinese context for numbers. */
    static boolean isCjk(int cp) {
        if (cp < 0x2E80) {
            return false;
        }
        if (cp == 0x30FC || cp == 0x3005 || cp == 0x3007) {
            return true; // ー 々 〇
        }
        UnicodeScript s = UnicodeScript.of(cp);
        return s == UnicodeScript.HAN || s == UnicodeScript.HIRAGANA || s == UnicodeScript.KATAKANA
                || s == UnicodeScript.HANGUL || s == UnicodeScript.BOPOMOFO;
    }

    /** CJK and full-width punctuation (，。、：；！？（）《》「」...). */
    static boolean isCjkPunct(int cp) {
        return cp >= 0x3001 && cp <= 0x303F && cp != 0x3005 && cp != 0x3007
                || cp >= 0xFF01 && cp <= 0xFF0F
                || cp >= 0xFF1A && cp <= 0xFF20
                || cp >= 0xFF3B && cp <= 0xFF40
                || cp >= 0xFF5B && cp <= 0xFF65
                || cp >= 0xFE10 && cp <= 0xFE1F
                || cp >= 0xFE30 && cp <= 0xFE6B
                || cp == 0x30FB;
    }

    /** A CJK letter or CJK punctuation: whitespace next to one is dropped. */
    static boolean isCjkAny(int cp) {
        return isCjk(cp) || isCjkPunct(cp);
    }

    /** Closing brackets and quotes of CJK text. */
    static boolean isCjkCloser(int cp) {
        return switch (cp) {
            case 0xFF09, 0x300B, 0x3009, 0x300D, 0x300F, 0x3011, 0x3015, 0x3017, 0x3019, 0x301B, 0x301E,
                    0x301F, 0xFF5D, 0xFF3D, 0xFE42, 0xFE44 -> true;
            default -> false;
        };
    }

    /** Characters that may follow a sentence end and still belong to that sentence. */
    static boolean isCloser(int cp) {
        return switch (cp) {
            // every quote counts, opening ones too: normalisation makes them all " or '
            case '"', '\'', ')', ']', '}', 0x201C, 0x201D, 0x201E, 0x201F, 0x2018, 0x2019, 0x201A, 0x201B,
                    0x00AB, 0x00BB, 0x2039, 0x203A, 0x300C, 0x300E, 0x301D, 0xFE41, 0xFE43, 0xFF02, 0xFF07,
                    0xFF62, 0xFF63, 0x2032, 0x2033, 0x00B4 -> true;
            default -> isCjkCloser(cp);
        };
    }

    /** Sentence-ending punctuation other than the ASCII full stop (which needs context). */
    static boolean isHardEnd(int cp) {
        return switch (cp) {
            case 0x3002, 0xFF01, 0xFF1F, 0xFF1B, 0xFF61, '!', '?', ';', 0x2026 -> true;
            default -> false;
        };
    }

    /** CJK sentence-ending punctuation (。！？；). */
    static boolean isCjkEnd(int cp) {
        return cp == 0x3002 || cp == 0xFF01 || cp == 0xFF1F || cp == 0xFF1B || cp == 0xFF61;
    }

    /** Clause-level punctuation where an over-long sentence may be cut. */
    static boolean isPause(int cp) {
        return cp == 0xFF0C || cp == ',' || cp == 0x3001 || cp == 0xFF1A || cp == ':';
    }

    /** A letter of a non-CJK script: English (or other alphabetic) words. */
    static boolean isLatinLetter(int cp) {
        return Character.isLetter(cp) && !isCjk(cp);
    }

    /** A letter of a non-CJK script or a digit of any script: "3.5" and "e.g" do not end there. */
    static boolean isWordChar(int cp) {
        return isLatinLetter(cp) || Character.isDigit(cp);
    }

    static boolean isSpace(int cp) {
        return Character.isWhitespace(cp) || Character.isSpaceChar(cp);
    }

    /** A '.' at i that a letter or digit does not follow directly (not "e.g", "3.5", "a.com"). */
    static boolean isBarrierDot(CharSequence s, int i) {
        return i + 1 >= s.length() || !isAsciiAlnum(s.charAt(i + 1));
    }
}
