package io.cosyvoice.audio;

/** Raw 16-bit signed little-endian mono samples, no header. */
final class PcmEncoder implements AudioEncoder {

    private final int sampleRate;
    private boolean finished;

    PcmEncoder(int sampleRate) {
        this.sampleRate = sampleRate;
    }

    @Override
    public byte[] encode(float[] samples) {
        if (finished) {
            throw new IllegalStateException("encoder already finished");
        }
        return Pcm16.toBytes(samples);
    }

    @Override
    public byte[] finish() {
        if (finished) {
            throw new IllegalStateException("encoder already finished");
        }
        finished = true;
        return new byte[0];
    }

    @Override
    public String contentType() {
        return AudioFormat.PCM.mimeType();
    }

    @Override
    public int sampleRate() {
        return sampleRate;
    }
}
