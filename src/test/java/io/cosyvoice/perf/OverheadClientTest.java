package io.cosyvoice.perf;

import io.cosyvoice.audio.TestAudio;
import io.cosyvoice.perf.OverheadClient.Result;
import io.cosyvoice.perf.OverheadClient.Transport;
import io.cosyvoice.support.TestServer;
import io.vertx.core.http.WebSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The overhead benchmark's client (perf/overhead.sh) for a second per transport against the real
 * server with the test backend, so the benchmark cannot rot unnoticed: every request it counts
 * really produced audio, and the idle connections really stay open.
 */
class OverheadClientTest {

    static TestServer server;
    static OverheadClient client;
    static final ConcurrentLinkedQueue<Long> backendFirstChunk = new ConcurrentLinkedQueue<>();

    @BeforeAll
    static void start() {
        server = TestServer.start();
        server.backend().firstChunkNanos = backendFirstChunk::add;
        String voice = server.uploadOk("voice.wav", TestAudio.wav16(2.0, 16000), "希望你以后能够做得比我还好哟").getString("id");
        client = new OverheadClient(server.port(), TestServer.TOKEN, voice);
    }

    @AfterAll
    static void stop() {
        client.close();
        server.close();
    }

    @Test
    void everyTransportStreamsAndIsTimed() {
        for (Transport transport : Transport.values()) {
            backendFirstChunk.clear();
            long jobsBefore = server.backend().finished.get();
            Result result = client.run(transport, 4, 1.0, OverheadClient.SHORT_TEXT);
            assertEquals(0, result.errors(), transport + ": errors");
            assertTrue(result.requests() >= 4, transport + ": " + result.requests() + " requests in a second");
            // each counted request was a job the backend finished, and the backend timed each one
            assertEquals(result.requests(), server.backend().finished.get() - jobsBefore, transport + ": jobs");
            assertEquals(result.requests(), backendFirstChunk.size(), transport + ": backend timings");
            long[] sorted = result.firstChunkNanos();
            long[] copy = sorted.clone();
            java.util.Arrays.sort(copy);
            assertArrayEquals(copy, sorted, "latencies sorted for the percentiles");
            assertTrue(sorted[0] > 0 && result.percentileMs(50) <= result.percentileMs(99), transport + ": percentiles");
            assertTrue(result.percentileMs(50) < 10_000, transport + ": p50 " + result.percentileMs(50) + " ms");
        }
    }

    @Test
    void idleConnectionsStayOpenUntilClosed() {
        List<WebSocket> sockets = client.openIdle(50, 8);
        assertEquals(50, sockets.size());
        assertEquals(50, OverheadClient.stillOpen(sockets));
        client.closeIdle(sockets);
        assertEquals(0, OverheadClient.stillOpen(sockets));
    }

    @Test
    void percentilesAreNearestRank() {
        long[] values = {10, 20, 30, 40, 50, 60, 70, 80, 90, 100};
        assertEquals(50, OverheadClient.percentile(values, 50));
        assertEquals(100, OverheadClient.percentile(values, 99));
        assertEquals(10, OverheadClient.percentile(values, 1));
        assertEquals(0, OverheadClient.percentile(new long[0], 50));
    }
}
