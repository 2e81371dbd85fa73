package io.cosyvoice.voice;

import org.junit.jupiter.api.Test;

import java.util.Optional;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PromptCacheTest {

    /** Features of a voice of about {@code frames} mel frames (80 bins), as a model would make them. */
    private static PromptFeatures features(String version, int frames) {
        return new PromptFeatures(version, new int[frames / 2], new float[192], new float[frames * 80], frames);
    }

    @Test
    void keepsFeaturesPerVoiceAndModelVersion() {
        PromptCache cache = new PromptCache(1 << 20);
        UUID voice = UUID.randomUUID();
        PromptFeatures v1 = features("v1", 100);
        PromptFeatures v2 = features("v2", 100);
        cache.put(voice, v1);
        cache.put(voice, v2);
        assertSame(v1, cache.get(voice, "v1").orElseThrow());
        assertSame(v2, cache.get(voice, "v2").orElseThrow());
        assertEquals(Optional.empty(), cache.get(voice, "v3"));
        assertEquals(Optional.empty(), cache.get(UUID.randomUUID(), "v1"));
        assertEquals(PromptCache.sizeOf(v1) + PromptCache.sizeOf(v2), cache.bytes());
    }

    @Test
    void theLeastRecentlyUsedGoFirstWhenTheBudgetIsExceeded() {
        long each = PromptCache.sizeOf(features("v", 500));
        PromptCache cache = new PromptCache(3 * each);
        UUID a = UUID.randomUUID();
        UUID b = UUID.randomUUID();
        UUID c = UUID.randomUUID();
        UUID d = UUID.randomUUID();
        cache.put(a, features("v", 500));
        cache.put(b, features("v", 500));
        cache.put(c, features("v", 500));
        cache.get(a, "v"); // a is used again: b is now the eldest
        cache.put(d, features("v", 500));
        assertTrue(cache.get(a, "v").isPresent());
        assertTrue(cache.get(b, "v").isEmpty());
        assertTrue(cache.get(c, "v").isPresent() && cache.get(d, "v").isPresent());
        assertEquals(3 * each, cache.bytes());
    }

    @Test
    void replacingAnEntryCountsItsBytesOnce() {
        PromptCache cache = new PromptCache(1 << 20);
        UUID voice = UUID.randomUUID();
        cache.put(voice, features("v", 100));
        cache.put(voice, features("v", 200));
        assertEquals(1, cache.size());
        assertEquals(PromptCache.sizeOf(features("v", 200)), cache.bytes());
    }

    @Test
    void aDeletedVoiceIsForgottenInEveryVersionAndOthersStay() {
        PromptCache cache = new PromptCache(1 << 20);
        UUID gone = UUID.randomUUID();
        UUID kept = UUID.randomUUID();
        cache.put(gone, features("v1", 100));
        cache.put(gone, features("v2", 100));
        cache.put(kept, features("v1", 100));
        cache.remove(gone);
        assertTrue(cache.get(gone, "v1").isEmpty() && cache.get(gone, "v2").isEmpty());
        assertTrue(cache.get(kept, "v1").isPresent());
        assertEquals(PromptCache.sizeOf(features("v1", 100)), cache.bytes());
    }

    @Test
    void aZeroBudgetKeepsNothingAndAnEntryLargerThanTheBudgetIsNotKept() {
        PromptCache none = new PromptCache(0);
        UUID voice = UUID.randomUUID();
        none.put(voice, features("v", 10));
        assertTrue(none.get(voice, "v").isEmpty());
        assertEquals(0, none.bytes());

        PromptCache small = new PromptCache(PromptCache.sizeOf(features("v", 10)));
        small.put(voice, features("v", 10));
        small.put(UUID.randomUUID(), features("v", 1000));
        assertTrue(small.get(voice, "v").isPresent(), "a too-large entry must not push out what fits");
    }
}
