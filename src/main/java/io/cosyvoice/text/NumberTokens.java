package io.cosyvoice.text;

import java.util.ArrayList;
import java.util.List;

/** The numbers {@link Verbalizer} finds, and how each reads in Chinese and in English. */
final class NumberTokens {

    /** Measure words after which a lone 2 reads 两. */
    private static final String LIANG = "个只位本次件条张天年种名部台辆块杯份家点岁倍周场瓶支双对套万亿千百斤吨项门节层头匹首座所间架颗片碗口回遍趟小分秒米公克升毫厘寸尺";

    private static final String[] MONTHS = {
        "", "January", "February", "March", "April", "May", "June", "July", "August", "September",
        "October", "November", "December"
    };

    private NumberTokens() {}

    static int digitsAt(String s, int p) {
        int j = p;
        while (j < s.length() && Chars.isAsciiDigit(s.charAt(j))) {
            j++;
        }
        return j - p;
    }

    /** The character after a token, a single space skipped (0 at the end). */
    static char after(String s, int end) {
        int k = end < s.length() && s.charAt(end) == ' ' ? end + 1 : end;
        return k < s.length() ? s.charAt(k) : 0;
    }

    static boolean liangBefore(String s, int start, int end) {
        char next = after(s, end);
        return next != 0 && LIANG.indexOf(next) >= 0 && !(start > 0 && s.charAt(start - 1) == '第');
    }

    // ---- a number: 12, 1,234, 3.14, 1.2.3 ----------------------------------------------------

    /** Digits (commas removed), an optional fraction, or a dotted chain like a version number. */
    record Num(String digits, String frac, boolean grouped, int end, List<String> chain, int chainFirstEnd) {

        Num(String digits, String frac, boolean grouped, int end) {
            this(digits, frac, grouped, end, null, -1);
        }

        static Num parse(String s, int p) {
            int n = s.length();
            int j = p;
            while (j < n && Chars.isAsciiDigit(s.charAt(j))) {
                j++;
            }
            StringBuilder digits = new StringBuilder(s.substring(p, j));
            boolean grouped = false;
            if (j - p <= 3) {
                while (j + 3 < n && s.charAt(j) == ',' && digitsAt(s, j + 1) == 3) {
                    digits.append(s, j + 1, j + 4);
                    j += 4;
                    grouped = true;
                }
            }
            if (j + 1 < n && s.charAt(j) == '.' && Chars.isAsciiDigit(s.charAt(j + 1))) {
                int k = j + 1;
                while (k < n && Chars.isAsciiDigit(s.charAt(k))) {
                    k++;
                }
                if (!grouped && k + 1 < n && s.charAt(k) == '.' && Chars.isAsciiDigit(s.charAt(k + 1))) {
                    List<String> chain = new ArrayList<>();
                    chain.add(digits.toString());
                    int q = j;
                    while (q + 1 < n && s.charAt(q) == '.' && Chars.isAsciiDigit(s.charAt(q + 1))) {
                        int r = q + 1 + digitsAt(s, q + 1);
                        chain.add(s.substring(q + 1, r));
                        q = r;
                    }
                    return new Num(digits.toString(), null, false, q, List.copyOf(chain), j);
                }
                return new Num(digits.toString(), s.substring(j + 1, k), grouped, k);
            }
            return new Num(digits.toString(), null, grouped, j);
        }

        Num first() {
            return new Num(digits, null, false, chainFirstEnd);
        }

        boolean isPlainInt() {
            return frac == null && !grouped && chain == null;
        }

        boolean isOne() {
            return frac == null && ChineseNumbers.stripZeros(digits).equals("1");
        }

        String zh() {
            return frac == null ? ChineseNumbers.cardinal(digits) : ChineseNumbers.decimal(digits, frac);
        }

        String en() {
            return frac == null ? EnglishNumbers.cardinal(digits) : EnglishNumbers.decimal(digits, frac);
        }

        /** Chinese, 两 for a lone 2 when asked. */
        String zh(boolean liang) {
            return liang && frac == null && ChineseNumbers.stripZeros(digits).equals("2") ? "两" : zh();
        }

        /** Long digit strings are identifiers (phone numbers, codes), read digit by digit. */
        boolean idLike() {
            if (frac != null || grouped) {
                return false;
            }
            if (digits.length() > 1 && digits.charAt(0) == '0') {
                return true;
            }
            int significant = digits.length();
            while (significant > 0 && digits.charAt(significant - 1) == '0') {
                significant--;
            }
            return digits.length() >= 7 && significant > 2;
        }
    }

    // ---- tokens ------------------------------------------------------------------------------

    interface Token {
        int start();

        int end();

        /** Chinese words; {@code s} is the text, for context after the token. */
        String zh(String s);

        String en();
    }

    record Plain(int start, int end, boolean neg, Num a) implements Token {
        @Override
        public String zh(String s) {
            String sign = neg ? "负" : "";
            if (a.frac != null || a.grouped) {
                return sign + a.zh();
            }
            if (a.idLike()) {
                return sign + ChineseNumbers.digits(a.digits);
            }
            if (!neg && a.digits.length() == 4 && after(s, end) == '年') {
                return ChineseNumbers.digits(a.digits);
            }
            return sign + a.zh(!neg && liangBefore(s, start, end));
        }

        @Override
        public String en() {
            String sign = neg ? "minus " : "";
            if (a.frac != null || a.grouped) {
                return sign + a.en();
            }
            if (a.idLike()) {
                return sign + EnglishNumbers.digits(a.digits);
            }
            if (!neg && a.digits.length() == 4) {
                int y = Integer.parseInt(a.digits);
                if (y >= 1100 && y <= 2099) {
                    return EnglishNumbers.year(y);
                }
            }
            return sign + a.en();
        }
    }

    record Version(int start, int end, List<String> parts) implements Token {
        @Override
        public String zh(String s) {
            return String.join("点", parts.stream().map(ChineseNumbers::cardinal).toList());
        }

        @Override
        public String en() {
            return String.join(" point ", parts.stream().map(EnglishNumbers::cardinal).toList());
        }
    }

    record DigitGroups(int start, int end, List<String> groups) implements Token {
        @Override
        public String zh(String s) {
            return String.join(" ", groups.stream().map(ChineseNumbers::digits).toList());
        }

        @Override
        public String en() {
            return String.join(", ", groups.stream().map(EnglishNumbers::digits).toList());
        }
    }

    record Ordinal(int start, int end, String digits) implements Token {
        @Override
        public String zh(String s) {
            return "第" + ChineseNumbers.cardinal(digits);
        }

        @Override
        public String en() {
            return EnglishNumbers.ordinal(digits);
        }
    }

    record Decade(int start, int end, String digits) implements Token {
        @Override
        public String zh(String s) {
            return (digits.length() == 4 ? ChineseNumbers.digits(digits) : ChineseNumbers.cardinal(digits)) + "年代";
        }

        @Override
        public String en() {
            int v = Integer.parseInt(digits);
            return EnglishNumbers.pluralOf(digits.length() == 4 ? EnglishNumbers.year(v) : EnglishNumbers.cardinal(v));
        }
    }

    record Fraction(int start, int end, boolean neg, String num, String den) implements Token {
        @Override
        public String zh(String s) {
            return (neg ? "负" : "") + ChineseNumbers.cardinal(den) + "分之" + ChineseNumbers.cardinal(num);
        }

        @Override
        public String en() {
            if (!neg && num.equals("24") && den.equals("7")) {
                return "twenty-four seven";
            }
            String n = EnglishNumbers.cardinal(num);
            boolean one = ChineseNumbers.stripZeros(num).equals("1");
            String d = switch (ChineseNumbers.stripZeros(den)) {
                case "1" -> "over one";
                case "2" -> one ? "half" : "halves";
                case "4" -> one ? "quarter" : "quarters";
                default -> EnglishNumbers.ordinal(den) + (one ? "" : "s");
            };
            return (neg ? "minus " : "") + n + " " + d;
        }
    }

    record Ratio(int start, int end, String a, String b) implements Token {
        @Override
        public String zh(String s) {
            return ChineseNumbers.cardinal(a) + "比" + ChineseNumbers.cardinal(b);
        }

        @Override
        public String en() {
            return EnglishNumbers.cardinal(a) + " to " + EnglishNumbers.cardinal(b);
        }
    }

    /** A time; minute -1 for "10am"; ampm 0 none, 1 am, 2 pm. */
    record Time(int start, int end, int hour, int minute, int second, int ampm) implements Token {
        @Override
        public String zh(String s) {
            StringBuilder out = new StringBuilder();
            if (ampm == 1) {
                out.append("上午");
            } else if (ampm == 2) {
                out.append("下午");
            }
            out.append(hour == 2 ? "两" : ChineseNumbers.cardinal(String.valueOf(hour))).append('点');
            if (minute > 0) {
                out.append(minute < 10 ? "零" : "").append(ChineseNumbers.cardinal(String.valueOf(minute))).append('分');
            }
            if (second > 0) {
                if (minute == 0) {
                    out.append("零");
                }
                out.append(ChineseNumbers.cardinal(String.valueOf(second))).append('秒');
            }
            return out.toString();
        }

        @Override
        public String en() {
            StringBuilder out = new StringBuilder(EnglishNumbers.cardinal(hour));
            if (minute > 0) {
                out.append(minute < 10 ? " oh " : " ").append(EnglishNumbers.small(minute));
            } else if (minute == 0 && ampm == 0) {
                out.append(" o'clock");
            }
            if (second > 0) {
                out.append(" and ").append(EnglishNumbers.cardinal(second)).append(second == 1 ? " second" : " seconds");
            }
            if (ampm != 0) {
                out.append(ampm == 1 ? " AM" : " PM");
            }
            return out.toString();
        }
    }

    /** A date; day 0 for a month of a year. */
    record DateToken(int start, int end, int year, int month, int day) implements Token {
        @Override
        public String zh(String s) {
            String out = ChineseNumbers.digits(String.valueOf(year)) + "年"
                    + ChineseNumbers.cardinal(String.valueOf(month)) + "月";
            return day == 0 ? out : out + ChineseNumbers.cardinal(String.valueOf(day)) + "日";
        }

        @Override
        public String en() {
            String y = EnglishNumbers.year(year);
            if (day == 0) {
                return MONTHS[month] + " " + y;
            }
            return MONTHS[month] + " " + EnglishNumbers.ordinal(String.valueOf(day)) + ", " + y;
        }
    }

    record Percent(int start, int end, boolean neg, Num a, Num b, boolean mille) implements Token {
        @Override
        public String zh(String s) {
            String prefix = mille ? "千分之" : "百分之";
            String first = (neg ? "负" : "") + prefix + a.zh();
            return b == null ? first : first + "到" + prefix + b.zh();
        }

        @Override
        public String en() {
            String first = (neg ? "minus " : "") + a.en();
            return (b == null ? first : first + " to " + b.en()) + (mille ? " per mille" : " percent");
        }
    }

    record Range(int start, int end, boolean neg, Num a, Num b, Unit unit) implements Token {
        @Override
        public String zh(String s) {
            boolean years = unit == null && !neg && a.isPlainInt() && b.isPlainInt() && a.digits.length() == 4
                    && b.digits.length() == 4 && after(s, end) == '年';
            if (years) {
                return ChineseNumbers.digits(a.digits) + "到" + ChineseNumbers.digits(b.digits);
            }
            boolean liang = unit != null ? unit.liang : liangBefore(s, start, end);
            String sign = !neg ? "" : unit != null && unit.temperature ? "零下" : "负";
            String words = sign + a.zh(liang) + "到" + b.zh(liang);
            return unit == null ? words : words + unit.zh(s);
        }

        @Override
        public String en() {
            if (unit == null && !neg && a.isPlainInt() && b.isPlainInt() && a.digits.length() == 4
                    && b.digits.length() == 4) {
                int y1 = Integer.parseInt(a.digits);
                int y2 = Integer.parseInt(b.digits);
                if (y1 >= 1100 && y1 <= 2099 && y2 >= 1100 && y2 <= 2099) {
                    return EnglishNumbers.year(y1) + " to " + EnglishNumbers.year(y2);
                }
            }
            String words = (neg ? "minus " : "") + a.en() + " to " + b.en();
            return unit == null ? words : words + " " + unit.plural;
        }
    }

    record Measure(int start, int end, boolean neg, Num a, Unit unit) implements Token {
        @Override
        public String zh(String s) {
            String sign = !neg ? "" : unit.temperature ? "零下" : "负";
            return sign + a.zh(unit.liang) + unit.zh(s);
        }

        @Override
        public String en() {
            return (neg ? "minus " : "") + a.en() + " " + (a.isOne() ? unit.singular : unit.plural);
        }
    }

    record Money(int start, int end, boolean neg, char currency, Num a, String scale) implements Token {
        static String chineseName(char currency) {
            return switch (currency) {
                case '$' -> "美元";
                case '£' -> "英镑";
                case '€' -> "欧元";
                default -> "元";
            };
        }

        @Override
        public String zh(String s) {
            String name = chineseName(currency);
            String sign = neg ? "负" : "";
            String zhScale = scale == null ? "" : switch (scale) {
                case "thousand" -> "千";
                case "million" -> "百万";
                case "billion" -> "十亿";
                case "trillion" -> "万亿";
                default -> scale;
            };
            if (name.equals("元") && scale == null && a.frac != null && a.frac.length() <= 2) {
                return sign + yuan(a);
            }
            String number;
            if (a.frac != null) {
                String f = a.frac.replaceAll("0+$", "");
                number = f.isEmpty() ? ChineseNumbers.cardinal(a.digits) : ChineseNumbers.decimal(a.digits, f);
            } else {
                number = a.zh(scale == null);
            }
            return sign + number + zhScale + name;
        }

        private static String yuan(Num a) {
            int jiao = a.frac.charAt(0) - '0';
            int fen = a.frac.length() > 1 ? a.frac.charAt(1) - '0' : 0;
            boolean whole = !ChineseNumbers.stripZeros(a.digits).equals("0");
            StringBuilder out = new StringBuilder();
            if (whole || jiao == 0 && fen == 0) {
                out.append(new Num(a.digits, null, false, a.end).zh(true)).append('元');
            }
            if (jiao > 0) {
                out.append(ChineseNumbers.digits(String.valueOf(jiao))).append('角');
            } else if (fen > 0 && whole) {
                out.append('零');
            }
            if (fen > 0) {
                out.append(ChineseNumbers.digits(String.valueOf(fen))).append('分');
            }
            return out.toString();
        }

        @Override
        public String en() {
            String[] names = switch (currency) {
                case '$' -> new String[] {"dollar", "dollars", "cent", "cents"};
                case '£' -> new String[] {"pound", "pounds", "penny", "pence"};
                case '€' -> new String[] {"euro", "euros", "cent", "cents"};
                case '¥' -> new String[] {"yen", "yen", null, null};
                default -> new String[] {"yuan", "yuan", null, null};
            };
            String sign = neg ? "minus " : "";
            if (scale != null) {
                String sc = scale.length() == 1 ? (scale.equals("万") ? "ten thousand" : "hundred million") : scale;
                return sign + a.en() + " " + sc + " " + names[1];
            }
            if (a.frac == null) {
                return sign + a.en() + " " + (a.isOne() ? names[0] : names[1]);
            }
            if (a.frac.length() > 2 || names[2] == null) {
                return sign + a.en() + " " + names[1];
            }
            int cents = Integer.parseInt(a.frac.length() == 1 ? a.frac + "0" : a.frac);
            String whole = ChineseNumbers.stripZeros(a.digits);
            StringBuilder out = new StringBuilder(sign);
            if (!whole.equals("0") || cents == 0) {
                out.append(EnglishNumbers.cardinal(whole)).append(' ').append(whole.equals("1") ? names[0] : names[1]);
            }
            if (cents > 0) {
                if (!whole.equals("0")) {
                    out.append(" and ");
                }
                out.append(EnglishNumbers.cardinal(cents)).append(' ').append(cents == 1 ? names[2] : names[3]);
            }
            return out.toString();
        }
    }

    // ---- units -------------------------------------------------------------------------------

    /** A unit after a number; {@code zh} null keeps the symbol as written in Chinese. */
    record Unit(String symbol, String zh, String singular, String plural, boolean liang, boolean temperature, int end) {

        private static final Unit[] TABLE = {
            new Unit("°C", "摄氏度", "degree Celsius", "degrees Celsius", false, true, 0),
            new Unit("℃", "摄氏度", "degree Celsius", "degrees Celsius", false, true, 0),
            new Unit("℉", "华氏度", "degree Fahrenheit", "degrees Fahrenheit", false, true, 0),
            new Unit("°F", "华氏度", "degree Fahrenheit", "degrees Fahrenheit", false, true, 0),
            new Unit("°", "度", "degree", "degrees", false, true, 0),
            new Unit("km/h", "公里每小时", "kilometer per hour", "kilometers per hour", true, false, 0),
            new Unit("m/s", "米每秒", "meter per second", "meters per second", true, false, 0),
            new Unit("km²", "平方公里", "square kilometer", "square kilometers", true, false, 0),
            new Unit("m²", "平方米", "square meter", "square meters", true, false, 0),
            new Unit("cm²", "平方厘米", "square centimeter", "square centimeters", true, false, 0),
            new Unit("m³", "立方米", "cubic meter", "cubic meters", true, false, 0),
            new Unit("mph", "英里每小时", "mile per hour", "miles per hour", true, false, 0),
            new Unit("km", "公里", "kilometer", "kilometers", true, false, 0),
            new Unit("kg", "公斤", "kilogram", "kilograms", true, false, 0),
            new Unit("cm", "厘米", "centimeter", "centimeters", true, false, 0),
            new Unit("mm", "毫米", "millimeter", "millimeters", true, false, 0),
            new Unit("mg", "毫克", "milligram", "milligrams", true, false, 0),
            new Unit("ml", "毫升", "milliliter", "milliliters", true, false, 0),
            new Unit("mL", "毫升", "milliliter", "milliliters", true, false, 0),
            new Unit("ms", "毫秒", "millisecond", "milliseconds", true, false, 0),
            new Unit("min", "分钟", "minute", "minutes", true, false, 0),
            new Unit("GHz", "吉赫兹", "gigahertz", "gigahertz", false, false, 0),
            new Unit("MHz", "兆赫兹", "megahertz", "megahertz", false, false, 0),
            new Unit("kHz", "千赫兹", "kilohertz", "kilohertz", false, false, 0),
            new Unit("Hz", "赫兹", "hertz", "hertz", false, false, 0),
            new Unit("kW", "千瓦", "kilowatt", "kilowatts", true, false, 0),
            new Unit("TB", null, "terabyte", "terabytes", true, false, 0),
            new Unit("GB", null, "gigabyte", "gigabytes", true, false, 0),
            new Unit("MB", null, "megabyte", "megabytes", true, false, 0),
            new Unit("KB", null, "kilobyte", "kilobytes", true, false, 0),
            new Unit("m", "米", "meter", "meters", true, false, 0),
            new Unit("g", "克", "gram", "grams", true, false, 0),
        };

        /** The unit right after a number ending at e (one space allowed between), or null. */
        static Unit at(String s, int e) {
            int n = s.length();
            int k = e < n && s.charAt(e) == ' ' ? e + 1 : e;
            for (Unit u : TABLE) {
                int end = k + u.symbol.length();
                if (s.startsWith(u.symbol, k) && (end >= n || !Chars.isAsciiAlnum(s.charAt(end))
                        && s.charAt(end) != '²' && s.charAt(end) != '³' && s.charAt(end) != '/')) {
                    return new Unit(u.symbol, u.zh, u.singular, u.plural, u.liang, u.temperature, end);
                }
            }
            return null;
        }

        String zh(String s) {
            return zh != null ? zh : symbol;
        }
    }}
