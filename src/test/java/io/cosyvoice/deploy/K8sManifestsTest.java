package io.cosyvoice.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cosyvoice.config.ConfigLoader;
import io.cosyvoice.config.ConfigLoader.Setting;
import io.cosyvoice.config.ServerConfig;
import io.cosyvoice.support.TestServer;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpResponse;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every rendering of {@code k8s/} (the base and each overlay) checked against the server itself:
 * the environment each container gets is loaded by the real {@link ConfigLoader} over the
 * {@code conf/application.yaml} the image ships, so every variable must be a real setting with a
 * valid value; container ports, probe ports and schemes follow the loaded configuration; the probe
 * paths are fetched from a running server; references between objects resolve; rollouts go one pod
 * at a time and drain; Secrets hold only placeholders.
 */
class K8sManifestsTest {

    static final Path ROOT = Path.of("").toAbsolutePath();
    static final Path K8S = ROOT.resolve("k8s");
    private static final Map<String, Path> OVERLAYS = Map.of(
            "base", K8S.resolve("base"), "single", K8S.resolve("overlays/single"), "split", K8S.resolve("overlays/split"));

    /**
     * The cluster settings (see README, Clustering). Until they are settings of this build's
     * {@link ConfigLoader} they are checked here by name only; once they are, the loader checks them
     * like every other setting and this list no longer matters.
     */
    private static final Set<String> CLUSTER_SETTINGS = Set.of("COSYVOICE_ROLE", "COSYVOICE_CLUSTER_MEMBERS",
            "COSYVOICE_CLUSTER_KUBERNETES_SERVICE", "COSYVOICE_CLUSTER_HOST", "COSYVOICE_CLUSTER_PORT",
            "COSYVOICE_CLUSTER_EVENT_BUS_PORT");
    /** Variables that are not the server's settings: the AWS SDK's credentials, and one for $(...) expansion. */
    private static final Set<String> OTHER_VARIABLES = Set.of("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "POD_NAMESPACE");
    /** Secrets the user creates (documented in k8s/README.md): certificates cannot be placeholders. */
    private static final Map<String, String> EXTERNAL_SECRETS = Map.of("cosyvoice-tls", "kubectl create secret tls cosyvoice-tls");
    private static final Map<String, String> API_VERSIONS = Map.of("Deployment", "apps/v1", "Service", "v1",
            "ConfigMap", "v1", "Secret", "v1", "HorizontalPodAutoscaler", "autoscaling/v2",
            "PodDisruptionBudget", "policy/v1", "PersistentVolumeClaim", "v1");
    /** Stand-in values the kubelet fills in (the address is only parsed, never contacted). */
    private static final Map<String, String> FIELD_SAMPLES = Map.of("status.podIP", "127.0.0.1",
            "metadata.namespace", "default", "metadata.name", "cosyvoice-0");
    private static final Pattern VARIABLE_REF = Pattern.compile("\\$\\(([A-Za-z_][A-Za-z0-9_]*)\\)");

    private static final Map<String, List<ObjectNode>> RENDERED = new ConcurrentHashMap<>();

    static List<ObjectNode> rendered(String overlay) {
        return RENDERED.computeIfAbsent(overlay, o -> Kustomize.render(OVERLAYS.get(o)));
    }

    static List<ObjectNode> ofKind(List<ObjectNode> objects, String kind) {
        return objects.stream().filter(o -> o.path("kind").asText().equals(kind)).toList();
    }

    static Optional<ObjectNode> find(List<ObjectNode> objects, String kind, String name) {
        return ofKind(objects, kind).stream().filter(o -> name(o).equals(name)).findFirst();
    }

    static String name(JsonNode object) {
        return object.path("metadata").path("name").asText();
    }

    static List<JsonNode> containers(JsonNode deployment) {
        List<JsonNode> list = new ArrayList<>();
        deployment.path("spec").path("template").path("spec").path("containers").forEach(list::add);
        return list;
    }

    static Map<String, String> labels(JsonNode node) {
        Map<String, String> labels = new TreeMap<>();
        node.properties().forEach(e -> labels.put(e.getKey(), e.getValue().asText()));
        return labels;
    }

    static boolean selects(JsonNode selector, JsonNode deployment) {
        Map<String, String> podLabels = labels(deployment.path("spec").path("template").path("metadata").path("labels"));
        Map<String, String> wanted = labels(selector);
        return !wanted.isEmpty() && podLabels.entrySet().containsAll(wanted.entrySet());
    }

    // ---- the environment a container gets, as the kubelet builds it --------------------------------------------

    /** Variables in the kubelet's order: envFrom first, then env with $(VAR) expanded from what came before. */
    static Map<String, String> environment(List<ObjectNode> objects, JsonNode container) {
        Map<String, String> env = new LinkedHashMap<>();
        for (JsonNode source : container.path("envFrom")) {
            if (source.has("configMapRef")) {
                String ref = source.get("configMapRef").path("name").asText();
                ObjectNode map = find(objects, "ConfigMap", ref).orElseThrow(() -> new AssertionError("envFrom: no ConfigMap " + ref));
                map.path("data").properties().forEach(e -> env.put(e.getKey(), e.getValue().asText()));
            } else if (source.has("secretRef")) {
                String ref = source.get("secretRef").path("name").asText();
                env.putAll(secretValues(find(objects, "Secret", ref).orElseThrow(() -> new AssertionError("envFrom: no Secret " + ref))));
            } else {
                fail("envFrom entry of an unknown kind: " + source);
            }
        }
        for (JsonNode variable : container.path("env")) {
            String name = variable.path("name").asText();
            if (variable.has("value")) {
                Matcher m = VARIABLE_REF.matcher(variable.get("value").asText());
                StringBuilder expanded = new StringBuilder();
                while (m.find()) {
                    String ref = m.group(1);
                    assertTrue(env.containsKey(ref), name + " refers to $(" + ref + "), which is not defined before it");
                    m.appendReplacement(expanded, Matcher.quoteReplacement(env.get(ref)));
                }
                m.appendTail(expanded);
                env.put(name, expanded.toString());
            } else {
                JsonNode from = variable.path("valueFrom");
                if (from.has("fieldRef")) {
                    String field = from.get("fieldRef").path("fieldPath").asText();
                    env.put(name, Optional.ofNullable(FIELD_SAMPLES.get(field)).orElseThrow(() -> new AssertionError(name + ": fieldRef " + field)));
                } else if (from.has("configMapKeyRef") || from.has("secretKeyRef")) {
                    boolean secret = from.has("secretKeyRef");
                    JsonNode ref = from.get(secret ? "secretKeyRef" : "configMapKeyRef");
                    ObjectNode object = find(objects, secret ? "Secret" : "ConfigMap", ref.path("name").asText())
                            .orElseThrow(() -> new AssertionError(name + ": no " + ref));
                    Map<String, String> values = secret ? secretValues(object) : labels(object.path("data"));
                    String value = values.get(ref.path("key").asText());
                    assertNotNull(value, name + ": no key " + ref);
                    env.put(name, value);
                } else {
                    fail(name + ": a variable without value or a supported valueFrom");
                }
            }
        }
        return env;
    }

    static Map<String, String> secretValues(JsonNode secret) {
        Map<String, String> values = new TreeMap<>(labels(secret.path("stringData")));
        secret.path("data").properties().forEach(e -> values.put(e.getKey(),
                new String(Base64.getDecoder().decode(e.getValue().asText()), StandardCharsets.UTF_8)));
        return values;
    }

    /** The mount a path in the container lives under, or empty. */
    static Optional<JsonNode> mountOf(JsonNode container, String path) {
        for (JsonNode mount : container.path("volumeMounts")) {
            String at = mount.path("mountPath").asText();
            if (path.equals(at) || path.startsWith(at.endsWith("/") ? at : at + "/")) {
                return Optional.of(mount);
            }
        }
        return Optional.empty();
    }

    /**
     * The configuration the server in this container starts with: its environment loaded by the real
     * loader over the shipped {@code conf/application.yaml}. Paths must lie on the container's volumes;
     * they are replaced by local stand-ins of the right type, since the loader checks they exist.
     */
    static ServerConfig configuration(JsonNode container, Map<String, String> env) throws IOException {
        Set<String> settings = Arrays.stream(Setting.values()).map(s -> s.variable).collect(Collectors.toSet());
        Map<String, String> server = new HashMap<>();
        for (var entry : env.entrySet()) {
            String variable = entry.getKey();
            if (settings.contains(variable)) {
                server.put(variable, entry.getValue());
            } else if (variable.startsWith("COSYVOICE_")) {
                assertTrue(CLUSTER_SETTINGS.contains(variable), variable + " is no setting of the server (ConfigLoader)");
            } else {
                assertTrue(OTHER_VARIABLES.contains(variable), "unexpected variable " + variable);
            }
        }
        Path standIns = TestServer.tempDir("k8s-paths");
        for (Setting setting : List.of(Setting.DATA_DIR, Setting.MODEL_DIR, Setting.HTTP_TLS_CERT, Setting.HTTP_TLS_KEY)) {
            String value = server.get(setting.variable);
            if (value == null || value.isBlank()) {
                continue;
            }
            assertTrue(value.startsWith("/"), setting.variable + " must be absolute in a container: " + value);
            assertTrue(mountOf(container, value).isPresent(), setting.variable + "=" + value + " lies on no volume of the container");
            Path standIn = standIns.resolve(setting.name());
            if (setting == Setting.HTTP_TLS_CERT || setting == Setting.HTTP_TLS_KEY) {
                Files.writeString(standIn, "stand-in");
            } else {
                Files.createDirectories(standIn);
            }
            server.put(setting.variable, standIn.toString());
        }
        return ConfigLoader.load(server, Optional.of(ROOT.resolve(ConfigLoader.DEFAULT_CONFIG_FILE)));
    }

    static String role(Map<String, String> env) {
        return env.getOrDefault("COSYVOICE_ROLE", "all");
    }

    static int containerPort(JsonNode container, JsonNode port) {
        if (port.isInt()) {
            return port.asInt();
        }
        for (JsonNode p : container.path("ports")) {
            if (p.path("name").asText().equals(port.asText())) {
                return p.path("containerPort").asInt();
            }
        }
        throw new AssertionError("no container port named " + port + " in " + container.path("name"));
    }

    static long seconds(Duration duration) {
        return (duration.toMillis() + 999) / 1000;
    }

    // ---- the checks -----------------------------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(strings = {"base", "single", "split"})
    void everyObjectIsWellFormed(String overlay) {
        List<ObjectNode> objects = rendered(overlay);
        assertFalse(objects.isEmpty());
        Set<String> seen = new TreeSet<>();
        for (ObjectNode object : objects) {
            String kind = object.path("kind").asText();
            assertTrue(API_VERSIONS.containsKey(kind), "unexpected kind " + kind);
            assertEquals(API_VERSIONS.get(kind), object.path("apiVersion").asText(), kind + " apiVersion");
            assertFalse(name(object).isBlank(), kind + " without a name");
            assertTrue(name(object).matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?"), "not a DNS label: " + name(object));
            assertTrue(seen.add(kind + "/" + name(object)), "defined twice: " + kind + "/" + name(object));
            assertEquals("cosyvoice", object.path("metadata").path("labels").path("app.kubernetes.io/name").asText(),
                    kind + "/" + name(object) + " carries app.kubernetes.io/name=cosyvoice");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"base", "single", "split"})
    void deploymentsRollOnePodAtATimeAndDrain(String overlay) throws IOException {
        List<ObjectNode> objects = rendered(overlay);
        List<ObjectNode> deployments = ofKind(objects, "Deployment");
        assertFalse(deployments.isEmpty());
        for (ObjectNode deployment : deployments) {
            String name = name(deployment);
            JsonNode spec = deployment.path("spec");
            assertTrue(selects(spec.path("selector").path("matchLabels"), deployment), name + ": selector matches its pods");
            assertEquals("RollingUpdate", spec.path("strategy").path("type").asText(), name);
            JsonNode rolling = spec.path("strategy").path("rollingUpdate");
            assertTrue(rolling.path("maxSurge").isInt() && rolling.path("maxUnavailable").isInt(), name + ": counts, not percentages");
            assertEquals(1, rolling.path("maxSurge").asInt() + rolling.path("maxUnavailable").asInt(), name + ": one pod at a time");

            List<ObjectNode> budgets = ofKind(objects, "PodDisruptionBudget").stream()
                    .filter(pdb -> labels(pdb.path("spec").path("selector").path("matchLabels"))
                            .equals(labels(spec.path("selector").path("matchLabels")))).toList();
            assertEquals(1, budgets.size(), name + ": one PodDisruptionBudget for exactly its pods");
            assertEquals(1, budgets.getFirst().path("spec").path("maxUnavailable").asInt(), name + ": PDB lets one pod go at a time");

            JsonNode pod = spec.path("template").path("spec");
            assertTrue(pod.path("securityContext").path("runAsNonRoot").asBoolean(), name + ": runs as non-root");
            for (JsonNode container : containers(deployment)) {
                assertFalse(container.path("image").asText().isBlank(), name + ": image");
                JsonNode resources = container.path("resources");
                assertTrue(resources.path("requests").has("cpu") && resources.path("requests").has("memory"), name + ": requests");
                assertTrue(resources.path("limits").has("memory"), name + ": memory limit");

                JsonNode preStop = container.path("lifecycle").path("preStop").path("exec").path("command");
                assertEquals("sleep", preStop.path(0).asText(), name + ": preStop pause so the endpoint leaves the Service first");
                long pause = Long.parseLong(preStop.path(1).asText());
                ServerConfig config = configuration(container, environment(objects, container));
                long needed = pause + seconds(config.http().shutdownTimeout()) + 5;
                long grace = pod.path("terminationGracePeriodSeconds").asLong(30);
                assertTrue(grace >= needed, name + ": terminationGracePeriodSeconds " + grace + " < preStop " + pause
                        + "s + http.shutdown-timeout " + config.http().shutdownTimeout() + " + 5s");
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"base", "single", "split"})
    void portsAndProbesFollowTheServerConfiguration(String overlay) throws IOException {
        List<ObjectNode> objects = rendered(overlay);
        for (ObjectNode deployment : ofKind(objects, "Deployment")) {
            String name = name(deployment);
            JsonNode container = containers(deployment).getFirst();
            ServerConfig config = configuration(container, environment(objects, container));
            int port = config.http().port();
            assertEquals(port, containerPort(container, com.fasterxml.jackson.databind.node.TextNode.valueOf("http")),
                    name + ": the container port named http is http.port");
            String scheme = config.http().tls().enabled() ? "HTTPS" : "HTTP";
            Map<String, String> paths = Map.of("startupProbe", "/health/live", "readinessProbe", "/health/ready",
                    "livenessProbe", "/health/live");
            for (var probe : paths.entrySet()) {
                JsonNode get = container.path(probe.getKey()).path("httpGet");
                assertFalse(get.isMissingNode(), name + ": " + probe.getKey() + " is an HTTP GET");
                assertEquals(probe.getValue(), get.path("path").asText(), name + ": " + probe.getKey() + " path");
                assertEquals(port, containerPort(container, get.path("port")), name + ": " + probe.getKey() + " port");
                assertEquals(scheme, get.path("scheme").asText("HTTP"), name + ": " + probe.getKey() + " scheme (TLS "
                        + (config.http().tls().enabled() ? "on" : "off") + ")");
            }
            JsonNode annotations = deployment.path("spec").path("template").path("metadata").path("annotations");
            if (annotations.has("prometheus.io/port")) {
                assertEquals(String.valueOf(port), annotations.get("prometheus.io/port").asText(), name + ": scrape port");
                assertEquals(config.metrics().enabled(), annotations.path("prometheus.io/scrape").asText().equals("true"));
                assertEquals(config.http().tls().enabled() ? "https" : "http", annotations.path("prometheus.io/scheme").asText("http"));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"base", "single", "split"})
    void servicesAndAutoscalersPointAtRealPods(String overlay) {
        List<ObjectNode> objects = rendered(overlay);
        List<ObjectNode> deployments = ofKind(objects, "Deployment");
        for (ObjectNode service : ofKind(objects, "Service")) {
            List<ObjectNode> backing = deployments.stream().filter(d -> selects(service.path("spec").path("selector"), d)).toList();
            assertFalse(backing.isEmpty(), "Service " + name(service) + " selects no pods");
            for (JsonNode port : service.path("spec").path("ports")) {
                for (ObjectNode deployment : backing) {
                    containerPort(containers(deployment).getFirst(), port.path("targetPort"));
                }
            }
        }
        assertFalse(ofKind(objects, "HorizontalPodAutoscaler").isEmpty());
        for (ObjectNode hpa : ofKind(objects, "HorizontalPodAutoscaler")) {
            JsonNode spec = hpa.path("spec");
            ObjectNode target = find(objects, "Deployment", spec.path("scaleTargetRef").path("name").asText())
                    .orElseThrow(() -> new AssertionError("HPA " + name(hpa) + " scales no Deployment"));
            assertTrue(spec.path("minReplicas").asInt() >= 2 && spec.path("minReplicas").asInt() <= spec.path("maxReplicas").asInt());
            assertEquals("cpu", spec.path("metrics").path(0).path("resource").path("name").asText());
            assertTrue(containers(target).getFirst().path("resources").path("requests").has("cpu"),
                    "CPU utilization needs a CPU request on " + name(target));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"base", "single", "split"})
    void rolesEnginesAndClusterDiscovery(String overlay) throws IOException {
        List<ObjectNode> objects = rendered(overlay);
        Map<String, String> roles = new TreeMap<>();
        for (ObjectNode deployment : ofKind(objects, "Deployment")) {
            String name = name(deployment);
            JsonNode container = containers(deployment).getFirst();
            Map<String, String> env = environment(objects, container);
            ServerConfig config = configuration(container, env);
            String role = role(env);
            roles.put(name, role);
            Set<String> clusterVariables = env.keySet().stream().filter(v -> v.startsWith("COSYVOICE_CLUSTER_")).collect(Collectors.toSet());
            if (role.equals("all")) {
                assertTrue(clusterVariables.isEmpty(), name + ": role all joins no cluster: " + clusterVariables);
                assertTrue(config.engine().enabled(), name + ": role all runs the engine");
                continue;
            }
            // a cluster member: discovery through a headless Service that selects it, ports it opens
            String dns = env.get("COSYVOICE_CLUSTER_KUBERNETES_SERVICE");
            assertNotNull(dns, name + ": COSYVOICE_CLUSTER_KUBERNETES_SERVICE");
            ObjectNode headless = find(objects, "Service", dns.split("\\.")[0])
                    .orElseThrow(() -> new AssertionError(name + ": no Service " + dns));
            assertEquals("None", headless.path("spec").path("clusterIP").asText(), "the discovery Service is headless");
            assertTrue(headless.path("spec").path("publishNotReadyAddresses").asBoolean(), "members find each other before ready");
            assertTrue(selects(headless.path("spec").path("selector"), deployment), name + " is selected by " + name(headless));
            assertEquals(dns.split("\\.")[0] + ".default.svc.cluster.local", dns, "the full DNS name in the pod's namespace");
            JsonNode hostSource = null;
            for (JsonNode v : container.path("env")) {
                if (v.path("name").asText().equals("COSYVOICE_CLUSTER_HOST")) {
                    hostSource = v;
                }
            }
            assertNotNull(hostSource, name + ": COSYVOICE_CLUSTER_HOST");
            assertEquals("status.podIP", hostSource.path("valueFrom").path("fieldRef").path("fieldPath").asText(),
                    name + ": the event bus announces the pod IP");
            Map<String, String> targets = new HashMap<>();
            for (JsonNode port : headless.path("spec").path("ports")) {
                targets.put(port.path("name").asText(), String.valueOf(containerPort(container, port.path("targetPort"))));
                assertEquals(port.path("port").asInt(), containerPort(container, port.path("targetPort")),
                        "headless Service port " + port.path("name").asText() + " is the pod's own");
            }
            assertEquals(env.get("COSYVOICE_CLUSTER_PORT"), targets.get("hazelcast"), name + ": Hazelcast port");
            assertEquals(env.get("COSYVOICE_CLUSTER_EVENT_BUS_PORT"), targets.get("eventbus"), name + ": event-bus port");
            if (role.equals("backend")) {
                JsonNode resources = container.path("resources");
                assertTrue(resources.path("limits").path("nvidia.com/gpu").asInt() >= 1, name + ": a GPU");
                assertEquals("cuda", config.engine().device(), name + ": runs on the GPU");
                assertTrue(container.path("image").asText().contains("cosyvoice-server-cuda"), name + ": the CUDA image");
                String modelDir = config.engine().modelDir().map(Path::toString).orElse("");
                assertFalse(modelDir.isEmpty(), name + ": the real model");
                String claim = modelClaim(deployment, container, env.get("COSYVOICE_MODEL_DIR"));
                assertTrue(find(objects, "PersistentVolumeClaim", claim).isPresent(), "no PersistentVolumeClaim " + claim);
            } else {
                assertEquals("frontend", role, name);
                assertFalse(env.containsKey("COSYVOICE_MODEL_DIR"), name + ": a frontend loads no model");
            }
        }
        Map<String, Map<String, String>> expected = Map.of(
                "base", Map.of("cosyvoice-api", "all"),
                "single", Map.of("cosyvoice-api", "all"),
                "split", Map.of("cosyvoice-api", "frontend", "cosyvoice-backend", "backend"));
        assertEquals(expected.get(overlay), roles);
        if (overlay.equals("single")) {
            JsonNode api = find(objects, "Deployment", "cosyvoice-api").orElseThrow();
            JsonNode container = containers(api).getFirst();
            String claim = modelClaim(api, container, environment(objects, container).get("COSYVOICE_MODEL_DIR"));
            assertTrue(find(objects, "PersistentVolumeClaim", claim).isPresent());
        }
    }

    private static String modelClaim(JsonNode deployment, JsonNode container, String modelDir) {
        assertNotNull(modelDir, name(deployment) + ": COSYVOICE_MODEL_DIR");
        String volume = mountOf(container, modelDir).orElseThrow().path("name").asText();
        for (JsonNode v : deployment.path("spec").path("template").path("spec").path("volumes")) {
            if (v.path("name").asText().equals(volume)) {
                return v.path("persistentVolumeClaim").path("claimName").asText();
            }
        }
        throw new AssertionError("no volume " + volume);
    }

    @ParameterizedTest
    @ValueSource(strings = {"base", "single", "split"})
    void referencesResolveAndSecretsHoldOnlyPlaceholders(String overlay) throws IOException {
        List<ObjectNode> objects = rendered(overlay);
        for (ObjectNode secret : ofKind(objects, "Secret")) {
            assertFalse(secret.has("data"), name(secret) + ": placeholders in stringData, nothing encoded");
            secret.path("stringData").properties().forEach(e -> assertTrue(e.getValue().asText().contains("change-me"),
                    name(secret) + "." + e.getKey() + " must be a placeholder containing change-me"));
        }
        String readme = Files.readString(K8S.resolve("README.md"));
        for (ObjectNode deployment : ofKind(objects, "Deployment")) {
            JsonNode pod = deployment.path("spec").path("template").path("spec");
            Set<String> volumes = new TreeSet<>();
            for (JsonNode volume : pod.path("volumes")) {
                volumes.add(volume.path("name").asText());
                if (volume.has("secret")) {
                    String secret = volume.get("secret").path("secretName").asText();
                    if (find(objects, "Secret", secret).isEmpty()) {
                        assertTrue(EXTERNAL_SECRETS.containsKey(secret), name(deployment) + ": no Secret " + secret);
                        assertTrue(readme.contains(EXTERNAL_SECRETS.get(secret)), "k8s/README.md says how to create " + secret);
                    }
                }
                if (volume.has("persistentVolumeClaim")) {
                    String claim = volume.get("persistentVolumeClaim").path("claimName").asText();
                    assertTrue(find(objects, "PersistentVolumeClaim", claim).isPresent(), "no PersistentVolumeClaim " + claim);
                }
            }
            for (JsonNode container : containers(deployment)) {
                for (JsonNode mount : container.path("volumeMounts")) {
                    assertTrue(volumes.contains(mount.path("name").asText()), "mount of an undefined volume " + mount);
                }
                environment(objects, container); // every ConfigMap, Secret and key referenced exists
            }
        }
    }

    /** The probe and scrape paths, fetched from a running server: they are real routes, open without a token. */
    @Test
    void theProbedPathsAreServedWithoutAToken() {
        Set<String> paths = new TreeSet<>();
        for (String overlay : OVERLAYS.keySet()) {
            for (ObjectNode deployment : ofKind(rendered(overlay), "Deployment")) {
                JsonNode container = containers(deployment).getFirst();
                for (String probe : List.of("startupProbe", "readinessProbe", "livenessProbe")) {
                    paths.add(container.path(probe).path("httpGet").path("path").asText());
                }
                JsonNode annotations = deployment.path("spec").path("template").path("metadata").path("annotations");
                if (annotations.has("prometheus.io/path")) {
                    paths.add(annotations.get("prometheus.io/path").asText());
                }
            }
        }
        assertTrue(paths.containsAll(Set.of("/health/live", "/health/ready")), paths.toString());
        try (TestServer server = TestServer.start()) {
            for (String path : paths) {
                HttpResponse<Buffer> response = server.client().get(path).timeout(10_000).send().await();
                assertEquals(200, response.statusCode(), path + ": " + response.bodyAsString());
                if (path.startsWith("/health/")) {
                    assertEquals("UP", response.bodyAsJsonObject().getString("status"), path);
                }
            }
        }
    }

    /** Where kubectl with kustomize v4+ is installed, it renders exactly what the validation above checked. */
    @ParameterizedTest
    @ValueSource(strings = {"base", "single", "split"})
    void kubectlKustomizeRendersTheSameObjects(String overlay) throws Exception {
        Optional<String> kubectl = Kubectl.withKustomize();
        Assumptions.assumeTrue(kubectl.isPresent(), "kubectl with kustomize v4+ is not installed: cross-check skipped");
        Path out = Files.createTempFile("kustomize", ".yaml");
        Process process = new ProcessBuilder(kubectl.get(), "kustomize", OVERLAYS.get(overlay).toString())
                .redirectErrorStream(false).redirectOutput(out.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "kubectl kustomize finished");
        assertEquals(0, process.exitValue(), "kubectl kustomize " + overlay);
        Map<String, JsonNode> theirs = byKey(Kustomize.readAll(out));
        Map<String, JsonNode> ours = byKey(rendered(overlay));
        assertEquals(theirs.keySet(), ours.keySet());
        for (String key : ours.keySet()) {
            assertEquals(theirs.get(key), ours.get(key), key + " renders the same");
        }
    }

    private static Map<String, JsonNode> byKey(List<ObjectNode> objects) {
        Map<String, JsonNode> map = new TreeMap<>();
        objects.forEach(o -> map.put(o.path("kind").asText() + "/" + name(o), o));
        return map;
    }

    /** Finds a kubectl whose embedded kustomize understands {@code resources} directories and {@code patches}. */
    static final class Kubectl {
        static Optional<String> withKustomize() {
            try {
                Process version = new ProcessBuilder("kubectl", "version", "--client").redirectErrorStream(true).start();
                String text = new String(version.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (!version.waitFor(30, TimeUnit.SECONDS) || version.exitValue() != 0) {
                    return Optional.empty();
                }
                Matcher m = Pattern.compile("Kustomize Version: v(\\d+)").matcher(text);
                return m.find() && Integer.parseInt(m.group(1)) >= 4 ? Optional.of("kubectl") : Optional.empty();
            } catch (IOException e) {
                return Optional.empty();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Optional.empty();
            }
        }
    }
}
