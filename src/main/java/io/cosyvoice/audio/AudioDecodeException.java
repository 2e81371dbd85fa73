package io.cosyvoice.audio;
public final class AudioDecodeException extends Exception { public enum Kind { NOT_AUDIO, UNSUPPORTED, TRUNCATED, MALFORMED } private final Kind kind; public AudioDecodeException(Kind k, String m) { super(m); kind = k; } public Kind kind() { return kind; } }
