package io.cosyvoice.audio;
public record DecodedAudio(AudioFormat format, int sampleRate, int channels, String encoding, float[] samples) { public double durationSeconds() { return samples.length / (double) sampleRate; } public int frames() { return samples.length; } }
