package io.cosyvoice.audio;

/** The container/codec families the server accepts for uploaded reference audio. */
public enum AudioFormat {
    WAV("wav", "audio/wav"),
    MP3("mp3", "audio/mpeg"),
    /** Headerless 16-bit signed little-endian mono samples. */
    PCM("pcm", "audio/pcm");

    private final String extension;
    private final String mimeType;

    AudioFormat(String extension, String mimeType) {
        this.extension = extension;
        this.mimeType = mimeType;
    }

    /** The usual file name extension, without the dot: "wav", "mp3" or "pcm". */
    public String extension() {
        return extension;
    }

    /** The MIME type to store or serve the original bytes with. */
    public String mimeType() {
        return mimeType;
    }
}
