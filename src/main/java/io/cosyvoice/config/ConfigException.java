package io.cosyvoice.config;

/** A setting is unknown or malformed; the message names it. Start-up stops. */
public final class ConfigException extends RuntimeException {
    public ConfigException(String message) {
        super(message);
    }
}
