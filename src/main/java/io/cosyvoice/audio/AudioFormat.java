package io.cosyvoice.audio;
public enum AudioFormat { WAV, MP3, PCM; public String extension() { return name().toLowerCase(); } public String mimeType() { return "audio/" + extension(); } }
