package io.cosyvoice.audio;
public final class AudioDecoder { public static final int DEFAULT_PCM_SAMPLE_RATE = 16000; public static DecodedAudio decode(byte[] data, AudioHint hint) throws AudioDecodeException { throw new AudioDecodeException(AudioDecodeException.Kind.NOT_AUDIO, "stub"); } }
