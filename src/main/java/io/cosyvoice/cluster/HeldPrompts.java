package io.cosyvoice.cluster;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * The voices (and model versions) whose prompt features one backend said it keeps, the most recently
 * used {@link #LIMIT} of them: a job of such a voice may leave its features out. Forgetting an entry
 * only costs sending the features again, so the bound can be small.
 */
final class HeldPrompts {

    /** Voices remembered per backend; far more than a backend's features budget holds. */
    static final int LIMIT = 4096;

    private record Key(UUID voice, String modelVersion) {
    }

    private final Map<Key, Boolean> held = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Key, Boolean> eldest) {
            return size() > LIMIT;
        }
    };

    synchronized boolean contains(UUID voice, String modelVersion) {
        return held.get(new Key(voice, modelVersion)) != null;
    }

    synchronized void set(UUID voice, String modelVersion, boolean isHeld) {
        if (isHeld) {
            held.put(new Key(voice, modelVersion), Boolean.TRUE);
        } else {
            held.remove(new Key(voice, modelVersion));
        }
    }
}
