package io.cosyvoice.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cosyvoice.config.ConfigLoader;
import io.cosyvoice.config.ConfigLoader.Setting;
import io.cosyvoice.config.EngineConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

import javax.xml.parsers.DocumentBuilderFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Dockerfile, checked statically (no image can be pulled or built here): its stages, that
 * what it copies exists and is what the build produces (the pom's final name and lib directory),
 * that the runtime images put the configuration file and the default model where the server looks
 * for them, expose the configured port and start the copied jar, and that the images the
 * Kubernetes manifests run are the ones it documents.
 */
class DockerfileTest {

    private static final Path ROOT = K8sManifestsTest.ROOT;
    private static final Pattern VARIABLE = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)}");

    /** One instruction: keyword and its arguments (continuation lines joined). */
    record Instruction(String keyword, String args) {
    }

    /** One build stage. */
    record Stage(String name, String image, List<Instruction> instructions) {
        List<String> all(String keyword) {
            return instructions.stream().filter(i -> i.keyword().equals(keyword)).map(Instruction::args).toList();
        }

        String workdir() {
            List<String> dirs = all("WORKDIR");
            return dirs.isEmpty() ? "/" : dirs.getLast();
        }

        /** COPY instructions as (from or null, sources..., destination). */
        List<List<String>> copies() {
            List<List<String>> copies = new ArrayList<>();
            for (String args : all("COPY")) {
                List<String> words = new ArrayList<>(Arrays.asList(args.trim().split("\\s+")));
                String from = null;
                while (words.getFirst().startsWith("--")) {
                    String flag = words.removeFirst();
                    if (flag.startsWith("--from=")) {
                        from = flag.substring("--from=".length());
                    }
                }
                List<String> copy = new ArrayList<>();
                copy.add(from);
                copy.addAll(words);
                copies.add(copy);
            }
            return copies;
        }
    }

    private static String dockerfile;
    private static Map<String, Stage> stages;
    private static Document pom;

    @BeforeAll
    static void parse() throws Exception {
        dockerfile = Files.readString(ROOT.resolve("Dockerfile"));
        stages = new LinkedHashMap<>();
        Map<String, String> args = new TreeMap<>();
        Stage current = null;
        for (Instruction instruction : instructions(dockerfile)) {
            switch (instruction.keyword()) {
                case "ARG" -> {
                    String[] kv = instruction.args().split("=", 2);
                    if (current == null && kv.length == 2) {
                        args.put(kv[0].trim(), kv[1].trim());
                    }
                }
                case "FROM" -> {
                    String[] words = instruction.args().trim().split("\\s+");
                    assertTrue(words.length == 3 && words[1].equalsIgnoreCase("AS"), "every stage is named: FROM " + instruction.args());
                    String image = substitute(words[0], args);
                    current = new Stage(words[2], image, new ArrayList<>());
                    assertTrue(stages.put(current.name(), current) == null, "stage named twice: " + current.name());
                }
                default -> {
                    assertNotNull(current, instruction.keyword() + " before the first FROM");
                    current.instructions().add(instruction);
                }
            }
        }
        pom = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(ROOT.resolve("pom.xml").toFile());
    }

    static List<Instruction> instructions(String text) {
        List<Instruction> list = new ArrayList<>();
        StringBuilder pending = new StringBuilder();
        for (String line : text.split("\n")) {
            String trimmed = line.strip();
            if (pending.isEmpty() && (trimmed.isEmpty() || trimmed.startsWith("#"))) {
                continue;
            }
            if (trimmed.startsWith("#")) {
                continue; // a comment inside a continued instruction
            }
            if (trimmed.endsWith("\\")) {
                pending.append(trimmed, 0, trimmed.length() - 1).append(' ');
                continue;
            }
            pending.append(trimmed);
            String full = pending.toString().strip();
            pending.setLength(0);
            int space = full.indexOf(' ');
            list.add(new Instruction(full.substring(0, space).toUpperCase(), full.substring(space + 1).strip()));
        }
        assertTrue(pending.isEmpty(), "the Dockerfile ends inside a continued line");
        return list;
    }

    private static String substitute(String value, Map<String, String> args) {
        Matcher m = VARIABLE.matcher(value);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String arg = args.get(m.group(1));
            assertNotNull(arg, "ARG " + m.group(1) + " has no default");
            m.appendReplacement(out, Matcher.quoteReplacement(arg));
        }
        m.appendTail(out);
        return out.toString();
    }

    private static String pomText(String tag) {
        NodeList nodes = pom.getElementsByTagName(tag);
        assertTrue(nodes.getLength() > 0, "pom.xml has no <" + tag + ">");
        return nodes.item(0).getTextContent().trim();
    }

    @Test
    void buildStagesRunTheMavenBuildOnTheProjectsJdk() {
        assertEquals(Set.of("build", "build-cuda", "cpu", "cuda"), stages.keySet());
        String release = pomText("java.release");
        for (String name : List.of("build", "build-cuda")) {
            Stage stage = stages.get(name);
            assertTrue(stage.image().startsWith("maven:") && stage.image().contains("temurin-" + release),
                    name + " builds with Maven on JDK " + release + ": " + stage.image());
            String build = stage.all("RUN").getLast();
            assertTrue(build.contains("mvn") && build.contains(" package") && build.contains("-DskipTests"), name + ": " + build);
            assertEquals(name.equals("build-cuda"), build.contains("-Pcuda"), name + ": -Pcuda only for the CUDA build");
        }
        NodeList profiles = pom.getElementsByTagName("profile");
        boolean cudaProfile = false;
        for (int i = 0; i < profiles.getLength(); i++) {
            cudaProfile |= ((Element) profiles.item(i)).getElementsByTagName("id").item(0).getTextContent().trim().equals("cuda");
        }
        assertTrue(cudaProfile, "pom.xml has the cuda profile the CUDA build asks for");
        assertTrue(stages.get("cpu").image().startsWith("eclipse-temurin:" + release + "-jre"), stages.get("cpu").image());
        String cuda = stages.get("cuda").image();
        assertTrue(cuda.startsWith("nvidia/cuda:12.") && cuda.contains("cudnn") && cuda.contains("runtime"),
                "CUDA 12 + cuDNN runtime base (what onnxruntime_gpu needs): " + cuda);
    }

    @Test
    void everyCopiedPathExistsAndIsWhatTheBuildProduces() throws IOException {
        List<String> ignored = Files.readAllLines(ROOT.resolve(".dockerignore")).stream()
                .map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
        assertTrue(ignored.containsAll(List.of(".git", "target", "data")), "the context leaves out local builds and data");
        String finalName = pomText("finalName");
        Map<String, Stage> earlier = new LinkedHashMap<>();
        for (Stage stage : stages.values()) {
            for (List<String> copy : stage.copies()) {
                String from = copy.getFirst();
                List<String> sources = copy.subList(1, copy.size() - 1);
                assertFalse(sources.isEmpty(), stage.name() + ": COPY without a source");
                for (String source : sources) {
                    if (from == null) {
                        Path path = ROOT.resolve(source);
                        assertTrue(Files.exists(path), stage.name() + ": COPY " + source + " does not exist in the repository");
                        for (String pattern : ignored) {
                            assertFalse(source.equals(pattern) || source.startsWith(pattern + "/"),
                                    source + " is excluded by .dockerignore (" + pattern + ")");
                        }
                    } else if (earlier.containsKey(from)) {
                        Stage producer = earlier.get(from);
                        if (producer.name().startsWith("build")) {
                            String target = producer.workdir() + "/target/";
                            assertTrue(source.equals(target + finalName + ".jar") || source.equals(target + "lib/"),
                                    stage.name() + ": COPY --from=" + from + " " + source + " is not what mvn package makes ("
                                            + target + finalName + ".jar, " + target + "lib/)");
                        } else {
                            assertEquals("/opt/java/openjdk", source, "the JRE of the Temurin image");
                        }
                    } else {
                        throw new AssertionError(stage.name() + ": COPY --from=" + from + " names no earlier stage");
                    }
                }
            }
            earlier.put(stage.name(), stage);
        }
    }

    @Test
    void runtimeImagesStartTheServerWithItsConfigurationModelAndPort() {
        int port = ConfigLoader.load(Map.of(), Optional.of(ROOT.resolve(ConfigLoader.DEFAULT_CONFIG_FILE))).http().port();
        Set<String> settings = Arrays.stream(Setting.values()).map(s -> s.variable).collect(Collectors.toSet());
        for (String name : List.of("cpu", "cuda")) {
            Stage stage = stages.get(name);
            String workdir = stage.workdir();
            Map<String, String> copied = new TreeMap<>();
            for (List<String> copy : stage.copies()) {
                copied.put(stripSlash(copy.get(copy.size() - 2)), stripSlash(copy.getLast()));
            }
            assertEquals(workdir + "/" + ConfigLoader.DEFAULT_CONFIG_FILE, copied.get(ConfigLoader.DEFAULT_CONFIG_FILE.toString()),
                    name + ": conf/application.yaml where the server reads it (working directory)");
            assertEquals(workdir + "/" + EngineConfig.DEFAULT_MODEL_DIR, copied.get(EngineConfig.DEFAULT_MODEL_DIR.toString()),
                    name + ": the default model where the server looks for it");
            assertEquals(List.of(String.valueOf(port)), stage.all("EXPOSE"), name + ": EXPOSE http.port");

            List<String> entrypoint = Arrays.stream(stage.all("ENTRYPOINT").getLast().replaceAll("[\\[\\]\"]", "").split(","))
                    .map(String::strip).toList();
            assertEquals("java", entrypoint.getFirst());
            String jar = entrypoint.get(entrypoint.indexOf("-jar") + 1);
            String copiedJar = stage.copies().stream().filter(c -> c.get(c.size() - 2).endsWith(".jar")).map(List::getLast)
                    .findFirst().orElseThrow();
            assertEquals(copiedJar, jar, name + ": starts the jar it copied");
            assertTrue(stage.copies().stream().anyMatch(c -> stripSlash(c.getLast()).equals(Path.of(jar).getParent() + "/lib")),
                    name + ": the dependencies beside the jar, in lib/ (its manifest's Class-Path)");

            for (String env : stage.all("ENV")) {
                for (String pair : env.split("\\s+")) {
                    String variable = pair.split("=", 2)[0];
                    if (variable.startsWith("COSYVOICE_")) {
                        assertTrue(settings.contains(variable), name + ": ENV " + variable + " is no setting");
                    }
                    if (variable.equals(Setting.DATA_DIR.variable)) {
                        String dir = pair.split("=", 2)[1];
                        assertTrue(stage.all("RUN").stream().anyMatch(r -> r.contains("mkdir -p " + dir) && r.contains("chown")),
                                name + ": the data directory exists and belongs to the server's user");
                    }
                }
            }
            String user = stage.all("USER").getLast();
            assertFalse(user.equals("0") || user.equals("root"), name + ": not root");
        }
    }

    @Test
    void theManifestsRunTheImagesTheDockerfileBuilds() throws IOException {
        Map<String, String> imageToStage = new TreeMap<>();
        Matcher m = Pattern.compile("docker build --target (\\S+)\\s+-t ([^:\\s]+):").matcher(dockerfile);
        while (m.find()) {
            assertTrue(stages.containsKey(m.group(1)), "documented target " + m.group(1) + " is a stage");
            imageToStage.put(m.group(2), m.group(1));
        }
        assertEquals(Map.of("cosyvoice-server", "cpu", "cosyvoice-server-cuda", "cuda"), imageToStage);
        List<Path> files;
        try (Stream<Path> walk = Files.walk(K8sManifestsTest.K8S)) {
            files = walk.filter(p -> p.toString().endsWith(".yaml")).toList();
        }
        int images = 0;
        for (Path file : files) {
            for (ObjectNode object : Kustomize.readAll(file)) {
                if (!object.path("kind").asText().equals("Deployment") || !object.path("spec").path("template").has("spec")) {
                    continue;
                }
                for (JsonNode container : object.path("spec").path("template").path("spec").path("containers")) {
                    if (!container.has("image")) {
                        continue; // a patch
                    }
                    String image = container.get("image").asText().split(":")[0];
                    assertTrue(imageToStage.containsKey(image), file + ": image " + image + " is not built by the Dockerfile");
                    images++;
                }
            }
        }
        assertEquals(2, images, "the API image and the backend image");
    }

    private static String stripSlash(String path) {
        return path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    }
}
