package io.cosyvoice.audio;
import java.util.OptionalInt;
public record AudioHint(String filename, String contentType, OptionalInt pcmSampleRate) { public static AudioHint none() { return new AudioHint(null, null, OptionalInt.empty()); } }
