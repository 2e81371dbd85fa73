package io.cosyvoice.perf;

import io.cosyvoice.perf.OverheadClient.Result;
import io.cosyvoice.perf.OverheadClient.Transport;
import io.cosyvoice.synthesis.FakeSynthesisBackend;
import io.vertx.core.http.WebSocket;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The server-overhead benchmark (perf/README.md): time to first chunk through the full HTTP, SSE
 * and WebSocket paths minus the backend's own time to first chunk, at 1 and 256 concurrent
 * streams; and the heap 10,000 idle WebSocket connections hold. The server runs in a child JVM
 * ({@link OverheadServer}) with the test synthesis backend, which makes its first chunk within
 * microseconds, so what the client waits for is the server's own work: HTTP parsing, auth, the
 * voice lookup in PostgreSQL and its prompt features (the backend says it runs a model version),
 * text preparation, the event-bus hop, encoding and writing. Overhead
 * is the client's percentile minus the backend's (its own time to first chunk, or to the end for
 * the non-streaming answer); the two are not paired per request, and the backend's is a fraction
 * of a millisecond. One stream sends requests back to back; with more, the backend paces its
 * chunks at real time ({@code --pace-ms}, 0 for back to back), so N streams are in flight as with
 * a real-time model. Not a test: perf/overhead.sh runs it.
 */
public final class OverheadBenchmark {

    public static void main(String[] args) throws Exception {
        double seconds = Double.parseDouble(option(args, "--seconds", "10"));
        double warmUp = Double.parseDouble(option(args, "--warm-up", "3"));
        int[] levels = Arrays.stream(option(args, "--concurrency", "1,256").split(",")).mapToInt(Integer::parseInt).toArray();
        int idle = Integer.parseInt(option(args, "--idle", "10000"));
        long paceMs = Long.parseLong(option(args, "--pace-ms", "200"));
        boolean burst = java.util.List.of(args).contains("--burst");
        List<Transport> transports = Arrays.stream(option(args, "--transports", "http,sse,websocket").split(","))
                .map(t -> Transport.valueOf(t.toUpperCase(Locale.ROOT))).toList();

        String javaCommand = ProcessHandle.current().info().command().orElse("java");
        // the class path travels in CLASSPATH (ONNX Runtime dislikes long command lines)
        List<String> serverCommand = new java.util.ArrayList<>();
        String serverCpus = option(args, "--server-cpus", "");
        if (!serverCpus.isEmpty()) {
            // the server (and the PostgreSQL it starts) on these CPUs only; perf/overhead.sh pins the client by --client-cpus
            serverCommand.addAll(List.of("taskset", "-c", serverCpus));
        }
        serverCommand.addAll(List.of(javaCommand, "-Xmx" + option(args, "--server-heap", "2g"), "--enable-native-access=ALL-UNNAMED"));
        String serverJvm = option(args, "--server-jvm", "");
        if (!serverJvm.isBlank()) {
            serverCommand.addAll(Arrays.asList(serverJvm.trim().split("\\s+")));
        }
        serverCommand.add(OverheadServer.class.getName());
        String serverEnv = option(args, "--server-env", ""); // KEY=VALUE,KEY=VALUE: server settings
        if (!serverEnv.isBlank()) {
            serverCommand.addAll(Arrays.asList(serverEnv.split(",")));
        }
        ProcessBuilder builder = new ProcessBuilder(serverCommand)
                .redirectError(new File(option(args, "--server-log", "target/perf/overhead-server.log")));
        builder.environment().put("CLASSPATH", System.getProperty("java.class.path"));
        new File("target/perf").mkdirs();
        Process child = builder.start();
        try (BufferedReader fromServer = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
             PrintWriter toServer = new PrintWriter(child.getOutputStream(), true, StandardCharsets.UTF_8)) {
            String[] ready = awaitLine(fromServer, "READY").split(" ");
            int port = Integer.parseInt(ready[1]);
            try (OverheadClient client = new OverheadClient(port, ready[2], ready[3])) {
                System.out.printf(Locale.ROOT, "server overhead: test backend, server pid %d, %d cores, loadavg %s, pace %d ms for more than one stream,"
                                + " starts %s%n", child.pid(), Runtime.getRuntime().availableProcessors(), loadAverage(), paceMs,
                        burst ? "together (burst)" : "spread over one request's length");
                System.out.println("| transport | streams | requests | errors | client TTFC p50 / p99 ms | backend TTFC p50 / p99 ms | overhead p50 / p99 ms |");
                System.out.println("|---|---|---|---|---|---|---|");
                for (int level : levels) {
                    // one stream: back to back, the least the server adds; more: real-time streams, so
                    // N streams are in flight as with a model, rather than N clients queueing for the CPU
                    long pace = level > 1 ? paceMs : 0;
                    String text = pace > 0 ? OverheadClient.LONG_TEXT : OverheadClient.SHORT_TEXT;
                    // concurrent streams start spread over one request's length, as independent users would
                    // arrive; --burst starts them together, so every request arrives in a burst of N
                    long spreadMs = burst ? 0 : pace * FakeSynthesisBackend.chunksFor(List.of(text));
                    command(toServer, fromServer, "pace " + pace, "PACE");
                    // JIT and connection pools, not counted; every path first, so none is measured while the
                    // compiler still works on the code another one shares
                    for (Transport transport : transports) {
                        client.run(transport, level, warmUp, text, spreadMs);
                    }
                    for (Transport transport : transports) {
                        command(toServer, fromServer, "backend", "BACKEND");
                        Result result = client.run(transport, level, seconds, text, spreadMs);
                        String[] backend = command(toServer, fromServer, "backend", "BACKEND").split(" ");
                        // the JSON answer is the whole audio: its backend reference is the job's end
                        int at = transport == Transport.HTTP ? 4 : 1;
                        double backendP50 = Long.parseLong(backend[at + 1]) / 1e6;
                        double backendP99 = Long.parseLong(backend[at + 2]) / 1e6;
                        System.out.printf(Locale.ROOT, "| %s | %d | %d | %d | %.2f / %.2f | %.3f / %.3f | **%.2f / %.2f** |%n",
                                transport.name().toLowerCase(Locale.ROOT), level, result.requests(), result.errors(),
                                result.percentileMs(50), result.percentileMs(99), backendP50, backendP99,
                                result.percentileMs(50) - backendP50, result.percentileMs(99) - backendP99);
                    }
                }
                command(toServer, fromServer, "pace 0", "PACE");
                if (idle > 0) {
                    long before = Long.parseLong(command(toServer, fromServer, "heap", "HEAP").split(" ")[1]);
                    long started = System.nanoTime();
                    List<WebSocket> sockets = client.openIdle(idle, 64);
                    double openSeconds = (System.nanoTime() - started) / 1e9;
                    long after = Long.parseLong(command(toServer, fromServer, "heap", "HEAP").split(" ")[1]);
                    long open = OverheadClient.stillOpen(sockets);
                    System.out.printf(Locale.ROOT, "idle WebSocket connections: %d opened in %.1f s, %d still open after GC;"
                                    + " server heap after GC %.1f MB before, %.1f MB after: %.1f MB held (%.1f KB per connection)%n",
                            idle, openSeconds, open, before / 1048576.0, after / 1048576.0, (after - before) / 1048576.0,
                            (after - before) / 1024.0 / idle);
                    client.closeIdle(sockets);
                }
            }
            toServer.println("quit");
        } finally {
            if (!child.waitFor(60, TimeUnit.SECONDS)) {
                child.destroy();
            }
        }
        System.exit(0);
    }

    private static String command(PrintWriter toServer, BufferedReader fromServer, String command, String answer) throws Exception {
        toServer.println(command);
        return awaitLine(fromServer, answer);
    }

    /** The server's next line starting with {@code prefix} (its other output is skipped). */
    private static String awaitLine(BufferedReader fromServer, String prefix) throws Exception {
        for (String line = fromServer.readLine(); line != null; line = fromServer.readLine()) {
            if (line.startsWith(prefix + " ")) {
                return line;
            }
            if (line.startsWith("ERROR")) {
                throw new IllegalStateException("server: " + line);
            }
        }
        throw new IllegalStateException("the server process ended; see target/perf/overhead-server.log");
    }

    private static String loadAverage() {
        try {
            return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).split(" ")[0];
        } catch (Exception e) {
            return "?";
        }
    }

    static String option(String[] args, String name, String fallback) {
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equals(name)) {
                return args[i + 1];
            }
        }
        return fallback;
    }
}
