package io.cosyvoice.perf.gatling;

import io.cosyvoice.audio.TestAudio;
import io.gatling.javaapi.core.Assertion;
import io.gatling.javaapi.core.ClosedInjectionStep;
import io.gatling.javaapi.http.HttpProtocolBuilder;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedQueue;

import static io.gatling.javaapi.core.CoreDsl.constantConcurrentUsers;
import static io.gatling.javaapi.core.CoreDsl.global;
import static io.gatling.javaapi.core.CoreDsl.rampConcurrentUsers;
import static io.gatling.javaapi.http.HttpDsl.http;

/**
 * What every simulation shares: where the server is (loopback only), its token, the ramp of
 * concurrent users, a voice to speak with, and the real-time factors measured per request.
 * Settings are system properties: {@code -Dcosyvoice.url} (default http://127.0.0.1:8080),
 * {@code -Dcosyvoice.token} (default: {@code COSYVOICE_API_TOKENS}, else the server's generated
 * {@code data/api-token}), {@code -Dusers} (the concurrency reached, default 8), {@code -Dramp}
 * and {@code -Dhold} (seconds of ramp from 1 user and of holding the top, default 20 and 30).
 */
final class LoadSettings {

    static final String URL = System.getProperty("cosyvoice.url", "http://127.0.0.1:8080");
    static final int USERS = Integer.getInteger("users", 8);
    static final int RAMP_SECONDS = Integer.getInteger("ramp", 20);
    static final int HOLD_SECONDS = Integer.getInteger("hold", 30);
    /** Text per synthesis request: two sentences. */
    static final String TEXT = System.getProperty("text", "今天天气很好。我们去公园散步吧。");
    /** Audio as 16-bit PCM at 24 kHz, so its duration is its byte count over 48000. */
    static final int SAMPLE_RATE = 24000;
    static final double BYTES_PER_SECOND = SAMPLE_RATE * 2.0;

    private LoadSettings() {
    }

    static String token() {
        String token = System.getProperty("cosyvoice.token");
        if (token == null && System.getenv("COSYVOICE_API_TOKENS") != null) {
            token = System.getenv("COSYVOICE_API_TOKENS").split(",")[0].trim();
        }
        if (token == null) {
            try {
                token = Files.readString(Path.of("data/api-token")).trim();
            } catch (IOException e) {
                throw new IllegalStateException("no token: pass -Dcosyvoice.token=... (or COSYVOICE_API_TOKENS)");
            }
        }
        return token;
    }

    /** Loopback only: a load test is not to be pointed at someone else's server by accident. */
    static HttpProtocolBuilder protocol() {
        String host = URI.create(URL).getHost();
        if (!host.equals("127.0.0.1") && !host.equals("localhost") && !host.equals("::1")
                && !Boolean.getBoolean("cosyvoice.allowRemote")) {
            throw new IllegalArgumentException("cosyvoice.url " + URL + " is not loopback; -Dcosyvoice.allowRemote=true to insist");
        }
        return http.baseUrl(URL).wsBaseUrl(URL.replaceFirst("^http", "ws"))
                .disableWarmUp() // the default warm-up calls an outside host
                .authorizationHeader("Bearer " + token())
                .wsUnmatchedInboundMessageBufferSize(10_000)
                .sseUnmatchedInboundMessageBufferSize(10_000);
    }

    /** Ramping concurrency: from 1 to {@link #USERS} users, then holding there; each user repeats its scenario. */
    /** The run fails when more than {@code -DmaxErrorPercent} (1) percent of its requests failed. */
    static Assertion errorBudget() {
        return global().failedRequests().percent().lte(Double.parseDouble(System.getProperty("maxErrorPercent", "1")));
    }

    static ClosedInjectionStep[] ramp() {
        return new ClosedInjectionStep[]{
                rampConcurrentUsers(1).to(USERS).during(Duration.ofSeconds(RAMP_SECONDS)),
                constantConcurrentUsers(USERS).during(Duration.ofSeconds(HOLD_SECONDS))};
    }

    /** A 2-second recording (a tone at 16 kHz) as a WAV file. */
    static byte[] voiceWav() {
        return TestAudio.wav16(2.0, 16000);
    }

    /** Uploads a reference audio (outside the measurement) and returns its id. */
    static String uploadVoice() {
        String boundary = "cosyvoice-load-" + System.nanoTime();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        try {
            body.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n希望你以后能够做得比我还好哟\r\n"
                    + "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"voice.wav\"\r\n"
                    + "Content-Type: audio/wav\r\n\r\n").getBytes(StandardCharsets.UTF_8));
            body.write(voiceWav());
            body.write(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
            HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(URL + "/api/v1/audio/reference_audio"))
                    .header("Authorization", "Bearer " + token())
                    .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build(), HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                throw new IllegalStateException("voice upload: " + response.statusCode() + " " + response.body());
            }
            return new io.vertx.core.json.JsonObject(response.body()).getString("id");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Real-time factors of the requests of one kind: generation time over the seconds of audio received. */
    static final class RealTimeFactors {
        private final String name;
        private final ConcurrentLinkedQueue<Double> values = new ConcurrentLinkedQueue<>();
        private final java.util.concurrent.atomic.DoubleAdder audioSeconds = new java.util.concurrent.atomic.DoubleAdder();

        RealTimeFactors(String name) {
            this.name = name;
        }

        void add(double generationSeconds, long audioBytes) {
            if (audioBytes > 0) {
                audioSeconds.add(audioBytes / BYTES_PER_SECOND);
                values.add(generationSeconds / (audioBytes / BYTES_PER_SECOND));
            }
        }

        /** One line for the console, and the same in target/gatling/rtf.txt (appended). */
        void report() {
            List<Double> sorted = new ArrayList<>(values);
            sorted.sort(Double::compare);
            String line = sorted.isEmpty() ? "RTF " + name + ": no successful request"
                    : String.format(Locale.ROOT, "RTF %s: %d requests, p50 %.3f, p90 %.3f, p99 %.3f, max %.3f; mean audio %.2f s",
                    name, sorted.size(), at(sorted, 50), at(sorted, 90), at(sorted, 99), sorted.getLast(),
                    audioSeconds.sum() / sorted.size());
            System.out.println(line);
            try {
                Path file = Path.of("target/gatling/rtf.txt");
                Files.createDirectories(file.getParent());
                Files.writeString(file, line + "\n", StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE,
                        java.nio.file.StandardOpenOption.APPEND);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        private static double at(List<Double> sorted, double p) {
            int rank = (int) Math.ceil(p / 100 * sorted.size());
            return sorted.get(Math.max(0, Math.min(sorted.size() - 1, rank - 1)));
        }
    }

    /**
     * Audio bytes per request (or task), from every message a simulation saw: the first check's,
     * those the final check's matching condition looked at (Gatling drops the messages a pending
     * check does not match, so the condition tallies them), and the unmatched buffer's. A message
     * seen twice on two of these ways counts once.
     */
    static final class AudioTally {
        private final java.util.concurrent.ConcurrentHashMap<String, java.util.Map<String, Long>> messages =
                new java.util.concurrent.ConcurrentHashMap<>();

        void add(String key, String message, long audioBytes) {
            messages.computeIfAbsent(key, k -> new java.util.concurrent.ConcurrentHashMap<>()).put(message, audioBytes);
        }

        long take(String key) {
            java.util.Map<String, Long> seen = messages.remove(key);
            return seen == null ? 0 : seen.values().stream().mapToLong(Long::longValue).sum();
        }
    }

    /** Bytes of audio in a base64 string. */
    static long decodedLength(String base64) {
        return base64 == null ? 0 : java.util.Base64.getDecoder().decode(base64).length;
    }
}
