package io.cosyvoice.api;

import io.cosyvoice.CosyVoiceServer;
import io.cosyvoice.audio.TestAudio;
import io.cosyvoice.config.ConfigLoader;
import io.cosyvoice.support.PrometheusText;
import io.cosyvoice.support.TestServer;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Shutdown stops accepting connections at once but lets an upload already under way finish. */
class GracefulShutdownTest {

    @Test
    void inFlightUploadCompletesWhileNewConnectionsAreRefused() throws Exception {
        var env = TestServer.defaults();
        CosyVoiceServer server = CosyVoiceServer.start(ConfigLoader.load(env, Optional.empty())).await(120, TimeUnit.SECONDS);
        int port = server.port();

        String boundary = "----cosyvoice-shutdown-test";
        byte[] head = ("--" + boundary + "\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nslow upload\r\n"
                + "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"slow.wav\"\r\n"
                + "Content-Type: audio/wav\r\n\r\n").getBytes(StandardCharsets.UTF_8);
        byte[] wav = TestAudio.wav16(2, 16000);
        byte[] tail = ("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8);
        int length = head.length + wav.length + tail.length;

        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(30_000);
            OutputStream out = socket.getOutputStream();
            out.write(("POST /api/v1/audio/reference_audio HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "Authorization: Bearer " + TestServer.TOKEN + "\r\n"
                    + "Content-Type: multipart/form-data; boundary=" + boundary + "\r\n"
                    + "Content-Length: " + length + "\r\n\r\n").getBytes(StandardCharsets.UTF_8));
            out.write(head);
            out.write(Arrays.copyOf(wav, wav.length / 2));
            out.flush();
            awaitRequestInFlight(port);

            Future<Void> stopped = server.stop();
            Thread.sleep(500);
            assertFalse(stopped.isComplete(), "shutdown waits for the upload in flight");
            assertThrows(ConnectException.class, () -> new Socket("127.0.0.1", port).close(), "no new connections");

            out.write(Arrays.copyOfRange(wav, wav.length / 2, wav.length));
            out.write(tail);
            out.flush();
            String response = readResponse(socket.getInputStream());
            assertTrue(response.startsWith("HTTP/1.1 200"), response);
            JsonObject body = new JsonObject(response.substring(response.indexOf("\r\n\r\n") + 4));
            assertEquals("slow.wav", body.getString("filename"));
            assertEquals(wav.length, body.getLong("bytes"));

            stopped.await(30, TimeUnit.SECONDS);
        }
    }

    /**
     * Waits until the server has the upload's request: a shutdown that came first would rightly refuse it.
     * The scrape that asks is a request in flight too.
     */
    private static void awaitRequestInFlight(int port) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            String scrape = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            double active = PrometheusText.parse(scrape).sum("vertx_http_server_active_requests");
            if (active >= 2) {
                return;
            }
            assertTrue(System.nanoTime() < deadline, "the upload never reached the server: " + active + " requests in flight");
            Thread.sleep(20);
        }
    }

    private static String readResponse(InputStream in) throws Exception {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        byte[] chunk = new byte[8192];
        int n;
        while ((n = in.read(chunk)) > 0) {
            buffer.write(chunk, 0, n);
            String text = buffer.toString(StandardCharsets.UTF_8);
            int split = text.indexOf("\r\n\r\n");
            if (split > 0) {
                int lengthAt = text.toLowerCase().indexOf("content-length:");
                if (lengthAt > 0) {
                    int end = text.indexOf("\r\n", lengthAt);
                    int bodyLength = Integer.parseInt(text.substring(lengthAt + 15, end).trim());
                    if (buffer.size() >= split + 4 + bodyLength) {
                        return text;
                    }
                }
            }
        }
        return buffer.toString(StandardCharsets.UTF_8);
    }
}
