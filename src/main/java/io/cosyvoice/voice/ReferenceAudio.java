package io.cosyvoice.voice;

import io.cosyvoice.audio.AudioFormat;

import java.time.Instant;
import java.util.UUID;

/**
 * A stored reference recording: what the client sent (filename, bytes, text) and what the server
 * learned from decoding it.
 *
 * @param bytes      size of the uploaded file, unchanged
 * @param checksum   SHA-256 of the uploaded bytes, hex
 * @param storageKey where the bytes are in object storage; chosen by the server
 * @param name       the optional alias (unique ignoring case), or null
 */
public record ReferenceAudio(
        UUID id,
        String filename,
        long bytes,
        Instant createdAt,
        String text,
        AudioFormat format,
        String encoding,
        int sampleRate,
        int channels,
        double durationSeconds,
        String checksum,
        String storageKey,
        String name) {
}
