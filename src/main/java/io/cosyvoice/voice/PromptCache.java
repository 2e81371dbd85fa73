package io.cosyvoice.voice;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * Prompt features kept in memory up to a byte budget, least recently used out first: a frontend's
 * features read from the database, a backend's received with jobs. A voice's features for one model
 * version never change (ids are never reused), so an entry is never stale: only a deleted voice's
 * entry goes, and the voice lookup that precedes every synthesis already refuses a deleted voice.
 * Thread-safe: every HTTP verticle instance shares one.
 */
public final class PromptCache {

    /** Bytes an entry costs beyond its arrays: the key, the record, the map entry. */
    private static final long ENTRY_OVERHEAD = 256;

    private record Key(UUID voice, String modelVersion) {
    }

    private final long budgetBytes;
    private final LinkedHashMap<Key, PromptFeatures> entries = new LinkedHashMap<>(64, 0.75f, true);
    private long bytes;

    /** @param budgetBytes the most the kept features may weigh; 0 keeps nothing */
    public PromptCache(long budgetBytes) {
        this.budgetBytes = budgetBytes;
    }

    public synchronized Optional<PromptFeatures> get(UUID voice, String modelVersion) {
        return Optional.ofNullable(entries.get(new Key(voice, modelVersion)));
    }

    /** Keeps a voice's features; false when they alone exceed the budget (nothing kept). */
    public synchronized boolean put(UUID voice, PromptFeatures features) {
        long size = sizeOf(features);
        if (size > budgetBytes) {
            return false;
        }
        PromptFeatures previous = entries.put(new Key(voice, features.modelVersion()), features);
        bytes += size - (previous == null ? 0 : sizeOf(previous));
        for (Iterator<PromptFeatures> eldest = entries.values().iterator(); bytes > budgetBytes && eldest.hasNext(); ) {
            bytes -= sizeOf(eldest.next());
            eldest.remove();
        }
        return true;
    }

    /** Forgets every model version's features of a voice. */
    synchronized void remove(UUID voice) {
        for (Iterator<Map.Entry<Key, PromptFeatures>> it = entries.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Key, PromptFeatures> entry = it.next();
            if (entry.getKey().voice().equals(voice)) {
                bytes -= sizeOf(entry.getValue());
                it.remove();
            }
        }
    }

    synchronized long bytes() {
        return bytes;
    }

    synchronized int size() {
        return entries.size();
    }

    static long sizeOf(PromptFeatures features) {
        return ENTRY_OVERHEAD + 4L * (features.speechTokens().length + features.speakerEmbedding().length + features.promptMel().length);
    }
}
