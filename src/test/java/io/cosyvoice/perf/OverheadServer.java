package io.cosyvoice.perf;

import io.cosyvoice.audio.TestAudio;
import io.cosyvoice.support.TestServer;
import io.cosyvoice.synthesis.FakeSynthesisBackend;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The server side of the overhead benchmark, in a JVM of its own so that its heap holds the
 * server only: the real server (embedded PostgreSQL, file storage, real HTTP) with the test
 * synthesis backend, which answers every job at once; its arguments ({@code KEY=VALUE}) are server
 * settings. It prints {@code READY <port> <token>
 * <voice id>}, then obeys one command per line on stdin:
 * <ul>
 *   <li>{@code heap}: a full GC, then {@code HEAP <bytes of heap in use>};</li>
 *   <li>{@code backend}: {@code BACKEND <count> <p50 ns> <p99 ns> <count> <p50 ns> <p99 ns>}, the
 *       backend's own time to first chunk, then to the end, over the jobs since the last such command;</li>
 *   <li>{@code pace <ms>}: the backend pauses that long between chunks (200 is real time: a chunk
 *       holds 0.2 s), so streams last as long as with a real-time model;</li>
 *   <li>{@code quit} (or end of input): stops the server and exits.</li>
 * </ul>
 */
public final class OverheadServer {

    private OverheadServer() {
    }

    public static void main(String[] args) throws Exception {
        // stdout carries the protocol only: logs go to stderr, which the benchmark sends to a file
        java.io.PrintStream protocol = System.out;
        System.setOut(System.err);
        Map<String, String> env = TestServer.defaults();
        for (String setting : args) { // KEY=VALUE: a server setting (e.g. COSYVOICE_DATABASE_PROMPT_CACHE_BYTES=0)
            env.put(setting.substring(0, setting.indexOf('=')), setting.substring(setting.indexOf('=') + 1));
        }
        env.put("COSYVOICE_WEBSOCKET_IDLE_TIMEOUT", "30m"); // the idle crowd must stay while it is weighed
        env.put("COSYVOICE_LOG_LEVEL", "WARN");
        ConcurrentLinkedQueue<Long> backendFirstChunk = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<Long> backendEnd = new ConcurrentLinkedQueue<>();
        // a backend with a model version: every synthesis looks up its voice's prompt features, as in production
        try (TestServer server = TestServer.start(env, new FakeSynthesisBackend("overhead-1"))) {
            server.backend().firstChunkNanos = backendFirstChunk::add;
            server.backend().endNanos = backendEnd::add;
            // a 10 s voice: its features weigh what a typical voice's do (about 160 KB)
            String voice = server.uploadOk("voice.wav", TestAudio.wav16(10.0, 16000), "希望你以后能够做得比我还好哟").getString("id");
            protocol.println("READY " + server.port() + " " + TestServer.TOKEN + " " + voice);
            protocol.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line = in.readLine(); line != null && !line.equals("quit"); line = in.readLine()) {
                switch (line.split(" ")[0]) {
                    case "heap" -> protocol.println("HEAP " + heapAfterGc());
                    case "backend" -> protocol.println("BACKEND " + summary(drain(backendFirstChunk)) + " " + summary(drain(backendEnd)));
                    case "pace" -> {
                        server.backend().chunkDelayMs = Long.parseLong(line.split(" ")[1]);
                        protocol.println("PACE " + server.backend().chunkDelayMs);
                    }
                    default -> protocol.println("ERROR unknown command " + line);
                }
                protocol.flush();
            }
        }
        System.exit(0);
    }

    private static String summary(long[] sorted) {
        return sorted.length + " " + OverheadClient.percentile(sorted, 50) + " " + OverheadClient.percentile(sorted, 99);
    }

    static long[] drain(ConcurrentLinkedQueue<Long> queue) {
        java.util.List<Long> taken = new java.util.ArrayList<>();
        for (Long value = queue.poll(); value != null; value = queue.poll()) {
            taken.add(value);
        }
        return taken.stream().mapToLong(Long::longValue).sorted().toArray();
    }

    /** Heap in use after full collections (repeated until it stops falling, so soft garbage is gone too). */
    static long heapAfterGc() throws InterruptedException {
        long previous = Long.MAX_VALUE;
        long used = 0;
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(200);
            used = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
            if (used >= previous - (previous >> 8)) {
                break;
            }
            previous = used;
        }
        return used;
    }
}
