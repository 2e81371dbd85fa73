package io.cosyvoice.config;

/** Log output: {@code text} for people, {@code json} (one object a line) for collectors. */
public record LogConfig(Format format, String level) {
    public enum Format { TEXT, JSON }

    public static final LogConfig DEFAULTS = new LogConfig(Format.TEXT, "INFO");
}
