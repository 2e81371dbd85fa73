package io.cosyvoice;

import io.cosyvoice.config.ConfigLoader;
import io.cosyvoice.support.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A model that cannot run stops start-up at once with a message naming the problem, and leaves nothing running. */
class EngineStartupTest {

    private static String startupFailure(Map<String, String> overrides) {
        Map<String, String> env = TestServer.defaults();
        env.put("COSYVOICE_ENGINE_ENABLED", "true");
        env.putAll(overrides);
        Exception e = assertThrows(Exception.class,
                () -> CosyVoiceServer.start(ConfigLoader.load(env, Optional.empty())).await(60, TimeUnit.SECONDS));
        return e.getMessage();
    }

    @Test
    void aModelDirectoryMissingAGraphIsNamed(@TempDir Path dir) throws Exception {
        try (var files = Files.list(Path.of("models/random/tiny"))) {
            for (Path f : files.toList()) {
                if (!f.getFileName().toString().equals("hift.onnx")) {
                    Files.copy(f, dir.resolve(f.getFileName()));
                }
            }
        }
        String message = startupFailure(Map.of("COSYVOICE_MODEL_DIR", dir.toString()));
        assertTrue(message.contains("cannot load the model") && message.contains("hift.onnx"), message);
    }

    @Test
    void aDirectoryThatIsNoModelIsNamed(@TempDir Path dir) {
        String message = startupFailure(Map.of("COSYVOICE_MODEL_DIR", dir.toString()));
        assertTrue(message.contains("not a model directory"), message);
    }

    @Test
    void cudaWithoutAGpuBuildIsAStartupErrorNotACpuFallBack() {
        String message = startupFailure(Map.of("COSYVOICE_ENGINE_DEVICE", "cuda"));
        assertTrue(message.contains("device=cuda") && message.contains("-Pcuda"), message);
    }
}
