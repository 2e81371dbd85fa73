package io.cosyvoice.text;

/** English readings of digit strings. */
final class EnglishNumbers {

    private static final String[] ONES = {
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"
    };
    private static final String[] TENS = {
        "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"
    };
    private static final String[] SCALES = {"", "thousand", "million", "billion", "trillion"};

    private EnglishNumbers() {}

    /** Digit by digit: 007 → zero zero seven. */
    static String digits(CharSequence d) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < d.length(); i++) {
            char c = d.charAt(i);
            if (Chars.isAsciiDigit(c)) {
                if (!out.isEmpty()) {
                    out.append(' ');
                }
                out.append(ONES[c - '0']);
            }
        }
        return out.toString();
    }

    /** 21 → twenty-one, 1234 → one thousand two hundred thirty-four; more than 15 digits: digit by digit. */
    static String cardinal(String digits) {
        String d = ChineseNumbers.stripZeros(digits);
        if (d.length() > 15) {
            return digits(d);
        }
        return cardinal(Long.parseLong(d));
    }

    static String cardinal(long n) {
        if (n == 0) {
            return "zero";
        }
        int scale = 0;
        String result = "";
        while (n > 0) {
            int chunk = (int) (n % 1000);
            if (chunk != 0) {
                String words = below1000(chunk) + (scale > 0 ? " " + SCALES[scale] : "");
                result = result.isEmpty() ? words : words + " " + result;
            }
            n /= 1000;
            scale++;
        }
        return result;
    }

    private static String below1000(int n) {
        if (n < 100) {
            return below100(n);
        }
        String s = ONES[n / 100] + " hundred";
        return n % 100 == 0 ? s : s + " " + below100(n % 100);
    }

    private static String below100(int n) {
        if (n < 20) {
            return ONES[n];
        }
        return n % 10 == 0 ? TENS[n / 10] : TENS[n / 10] + "-" + ONES[n % 10];
    }

    /** 1 → first, 23 → twenty-third. */
    static String ordinal(String digits) {
        return ordinalOf(cardinal(digits));
    }

    /** The ordinal of a cardinal's words: its last word changes. */
    static String ordinalOf(String cardinal) {
        int cut = Math.max(cardinal.lastIndexOf(' '), cardinal.lastIndexOf('-')) + 1;
        String head = cardinal.substring(0, cut);
        String last = cardinal.substring(cut);
        String ord = switch (last) {
            case "one" -> "first";
            case "two" -> "second";
            case "three" -> "third";
            case "five" -> "fifth";
            case "eight" -> "eighth";
            case "nine" -> "ninth";
            case "twelve" -> "twelfth";
            default -> last.endsWith("y") ? last.substring(0, last.length() - 1) + "ieth" : last + "th";
        };
        return head + ord;
    }

    /** The plural of the last word: ninety → nineties, hundred → hundreds. */
    static String pluralOf(String words) {
        if (words.endsWith("y")) {
            return words.substring(0, words.length() - 1) + "ies";
        }
        if (words.endsWith("x")) {
            return words + "es";
        }
        return words + "s";
    }

    /** 1999 → nineteen ninety-nine, 2008 → two thousand eight, 2024 → twenty twenty-four, 1905 → nineteen oh five. */
    static String year(int y) {
        if (y < 1000 || y > 9999 || y % 1000 < 10) {
            return cardinal(y); // 2000-2009: two thousand eight
        }
        int hi = y / 100;
        int lo = y % 100;
        if (lo == 0) {
            return below100(hi) + " hundred";
        }
        if (lo < 10) {
            return below100(hi) + " oh " + ONES[lo];
        }
        return below100(hi) + " " + below100(lo);
    }

    /** 3.14 → three point one four. */
    static String decimal(String intDigits, String fraction) {
        return cardinal(intDigits) + " point " + digits(fraction);
    }

    /** 0 to 99 as words (for times: oh five). */
    static String small(int n) {
        return below100(n);
    }
}
