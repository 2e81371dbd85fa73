package io.cosyvoice.support;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The PAI-EAS document's cURL and Python clients ({@code src/test/resources/pai-eas/}), run verbatim
 * with the placeholders substituted, against a server at {@code baseUrl}. Needs {@code curl} and
 * {@code python3} with {@code requests}, {@code packaging} and {@code websocket-client}.
 *
 * @param workDir where the scripts run: holds {@code zero_shot_prompt.wav} and receives their output files
 */
public record DocumentClients(String baseUrl, Path workDir) {

    /** Runs a document snippet with the placeholders substituted; returns what it printed. */
    public String run(String interpreter, String snippet, String id) throws Exception {
        String text;
        try (InputStream in = DocumentClients.class.getResourceAsStream("/pai-eas/" + snippet)) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        text = text.replace("<EAS_SERVICE_URL>", baseUrl)
                .replace("<EAS_TOKEN>", TestServer.TOKEN)
                .replace("/home/xxxx/zero_shot_prompt.wav", workDir.resolve("zero_shot_prompt.wav").toString())
                .replace("your-api-key", TestServer.TOKEN)
                .replace("ws://localhost:50000", baseUrl.replace("http://", "ws://"));
        if (id != null) {
            text = text.replace("<reference_audio_id>", id);
        }
        Path script = workDir.resolve(snippet);
        Files.writeString(script, text);
        Path stderr = workDir.resolve(snippet + ".stderr");
        Process process = new ProcessBuilder(List.of(interpreter, script.toString()))
                .directory(workDir.toFile()).redirectError(stderr.toFile()).start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), snippet + " finished");
        assertEquals(0, process.exitValue(), snippet + " failed: " + out + "\n" + Files.readString(stderr));
        return out;
    }
}
