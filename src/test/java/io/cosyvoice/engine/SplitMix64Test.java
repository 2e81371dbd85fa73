package io.cosyvoice.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class SplitMix64Test {

    @Test
    void firstOutputsMatchTheReference() {
        // the same literals as models/tests/test_rng.py
        SplitMix64 zero = new SplitMix64(0);
        assertArrayEquals(new long[] {0xE220A8397B1DCDAFL, 0x6E789E6AA1B965F4L, 0x06C45D188009454FL, 0xF88BB8A8724C81ECL},
                new long[] {zero.nextLong(), zero.nextLong(), zero.nextLong(), zero.nextLong()});
        SplitMix64 answer = new SplitMix64(42);
        assertArrayEquals(new long[] {0xBDD732262FEB6E95L, 0x28EFE333B266F103L, 0x47526757130F9F52L, 0x581CE1FF0E4AE394L},
                new long[] {answer.nextLong(), answer.nextLong(), answer.nextLong(), answer.nextLong()});
    }

    @Test
    void uniformsAndNormalsFollowTheContract() {
        SplitMix64 a = new SplitMix64(7);
        SplitMix64 b = new SplitMix64(7);
        double u1 = 1.0 - b.uniform();
        double u2 = b.uniform();
        float[] pair = new float[2];
        a.normals(pair, 0, 2);
        double r = Math.sqrt(-2 * Math.log(u1));
        assertEquals((float) (r * Math.cos(2 * Math.PI * u2)), pair[0]);
        assertEquals((float) (r * Math.sin(2 * Math.PI * u2)), pair[1]);
        // an odd count consumes the whole last pair
        SplitMix64 odd = new SplitMix64(7);
        odd.normals(new float[3], 0, 3);
        SplitMix64 even = new SplitMix64(7);
        even.normals(new float[4], 0, 4);
        assertEquals(even.nextLong(), odd.nextLong());
        assertEquals(0xD1B54A32D192ED03L, SplitMix64.VOCODER_SEED_XOR);
    }
}
