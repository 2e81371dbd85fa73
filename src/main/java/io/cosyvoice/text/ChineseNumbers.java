package io.cosyvoice.text;

/** Chinese readings of digit strings. */
final class ChineseNumbers {

    private static final String DIGITS = "零一二三四五六七八九";
    private static final String[] GROUP_UNITS = {"", "万", "亿", "万亿"};
    private static final char[] PLACE = {'千', '百', '十'};

    private ChineseNumbers() {}

    /** Digit by digit: 2024 → 二零二四. */
    static String digits(CharSequence d) {
        StringBuilder out = new StringBuilder(d.length());
        for (int i = 0; i < d.length(); i++) {
            char c = d.charAt(i);
            if (Chars.isAsciiDigit(c)) {
                out.append(DIGITS.charAt(c - '0'));
            }
        }
        return out.toString();
    }

    /**
     * A whole number: 10 → 十, 105 → 一百零五, 2008 → 两千零八, 100000000 → 一亿. 两 stands for a 2
     * before 千, before 万 or 亿 on its own, and before 百 at the start of the number. More than 16
     * digits are read digit by digit.
     */
    static String cardinal(String digits) {
        String d = stripZeros(digits);
        if (d.equals("0")) {
            return "零";
        }
        if (d.length() > 16) {
            return digits(d);
        }
        int groups = (d.length() + 3) / 4;
        int first = d.length() - (groups - 1) * 4;
        StringBuilder out = new StringBuilder();
        boolean pendingZero = false;
        for (int g = 0; g < groups; g++) {
            int from = g == 0 ? 0 : first + (g - 1) * 4;
            int to = g == 0 ? first : from + 4;
            int value = Integer.parseInt(d.substring(from, to));
            int unit = groups - 1 - g;
            if (value == 0) {
                pendingZero = !out.isEmpty();
                continue;
            }
            if (!out.isEmpty() && (pendingZero || value < 1000)) {
                out.append('零');
            }
            pendingZero = false;
            if (value == 2 && unit > 0) {
                out.append('两');
            } else {
                group(value, out.isEmpty(), out);
            }
            out.append(GROUP_UNITS[unit]);
        }
        return out.toString();
    }

    /** Integer part, 点, then the fraction digits one by one: 3.14 → 三点一四. */
    static String decimal(String intDigits, String fraction) {
        return cardinal(intDigits) + "点" + digits(fraction);
    }

    /** 1..9999, without a leading 零. */
    private static void group(int value, boolean leading, StringBuilder out) {
        int[] place = {value / 1000, value / 100 % 10, value / 10 % 10};
        int ones = value % 10;
        boolean started = false;
        boolean zero = false;
        for (int p = 0; p < 3; p++) {
            int v = place[p];
            if (v == 0) {
                zero = started;
                continue;
            }
            if (zero) {
                out.append('零');
                zero = false;
            }
            boolean firstOfNumber = leading && !started;
            if (p == 2 && v == 1 && firstOfNumber) {
                out.append('十'); // 十五, not 一十五, at the start of a number
            } else {
                if (v == 2 && (p == 0 || p == 1 && firstOfNumber)) {
                    out.append('两');
                } else {
                    out.append(DIGITS.charAt(v));
                }
                out.append(PLACE[p]);
            }
            started = true;
        }
        if (ones != 0) {
            if (zero) {
                out.append('零');
            }
            out.append(DIGITS.charAt(ones));
        }
    }

    static String stripZeros(String digits) {
        int i = 0;
        while (i < digits.length() - 1 && digits.charAt(i) == '0') {
            i++;
        }
        return digits.substring(i);
    }
}
