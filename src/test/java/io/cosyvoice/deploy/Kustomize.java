package io.cosyvoice.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The part of kustomize that {@code k8s/} uses, so the manifests can be validated where no
 * kustomize binary is installed: {@code resources} (files and directories), {@code patches} with a
 * strategic-merge patch file (target found by the patch's kind and name; lists of named items
 * merged by name, new items first, as kustomize does), and {@code images}. Any other field of a
 * kustomization fails loudly rather than being ignored. Where {@code kubectl kustomize} exists,
 * {@link K8sManifestsTest} checks that both render the same objects.
 */
final class Kustomize {

    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Set<String> SUPPORTED = Set.of("apiVersion", "kind", "resources", "patches", "images");

    private Kustomize() {
    }

    /** Every object the kustomization in this directory renders, in resource order. */
    static List<ObjectNode> render(Path dir) {
        Path file = dir.resolve("kustomization.yaml");
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("no kustomization.yaml in " + dir);
        }
        JsonNode kustomization = readOne(file);
        kustomization.fieldNames().forEachRemaining(field -> {
            if (!SUPPORTED.contains(field)) {
                throw new IllegalArgumentException(file + ": field '" + field + "' is not supported by this renderer");
            }
        });
        List<ObjectNode> objects = new ArrayList<>();
        for (JsonNode resource : kustomization.path("resources")) {
            Path path = dir.resolve(resource.asText()).normalize();
            if (Files.isDirectory(path)) {
                objects.addAll(render(path));
            } else {
                objects.addAll(readAll(path));
            }
        }
        for (JsonNode patch : kustomization.path("patches")) {
            if (!patch.has("path") || patch.size() != 1) {
                throw new IllegalArgumentException(file + ": only patches with a path (strategic merge) are supported: " + patch);
            }
            ObjectNode body = (ObjectNode) readOne(dir.resolve(patch.get("path").asText()));
            String kind = body.path("kind").asText();
            String name = body.path("metadata").path("name").asText();
            ObjectNode target = objects.stream()
                    .filter(o -> o.path("kind").asText().equals(kind) && o.path("metadata").path("name").asText().equals(name))
                    .findFirst()
                    .orElseThrow(() -> new IllegalArgumentException(file + ": patch " + patch.get("path").asText()
                            + " targets " + kind + "/" + name + ", which no resource defines"));
            merge(target, body);
        }
        for (JsonNode image : kustomization.path("images")) {
            objects.forEach(o -> setImages(o, image));
        }
        return objects;
    }

    static List<ObjectNode> readAll(Path file) {
        try (var parser = YAML.getFactory().createParser(file.toFile())) {
            List<ObjectNode> docs = new ArrayList<>();
            Iterator<JsonNode> it = YAML.readValues(parser, JsonNode.class);
            while (it.hasNext()) {
                JsonNode doc = it.next();
                if (doc == null || doc.isNull() || doc.isMissingNode()) {
                    continue;
                }
                if (!doc.isObject()) {
                    throw new IllegalArgumentException(file + ": a document is not a mapping");
                }
                docs.add((ObjectNode) doc);
            }
            return docs;
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": not valid YAML", e);
        }
    }

    static JsonNode readOne(Path file) {
        List<ObjectNode> docs = readAll(file);
        if (docs.size() != 1) {
            throw new IllegalArgumentException(file + ": expected one YAML document, found " + docs.size());
        }
        return docs.getFirst();
    }

    /** Strategic merge: mappings recursively, lists of named mappings by name, anything else replaced. */
    static void merge(ObjectNode target, JsonNode patch) {
        for (Map.Entry<String, JsonNode> field : patch.properties()) {
            String key = field.getKey();
            JsonNode value = field.getValue();
            if (key.startsWith("$")) {
                throw new IllegalArgumentException("patch directive " + key + " is not supported by this renderer");
            }
            JsonNode existing = target.get(key);
            if (value.isNull()) {
                target.remove(key);
            } else if (existing instanceof ObjectNode object && value.isObject()) {
                merge(object, value);
            } else if (existing instanceof ArrayNode list && value.isArray() && named(value)) {
                target.set(key, mergeNamed(list, (ArrayNode) value));
            } else {
                target.set(key, value.deepCopy());
            }
        }
    }

    private static boolean named(JsonNode list) {
        if (list.isEmpty()) {
            return false;
        }
        for (JsonNode item : list) {
            if (!item.isObject() || !item.path("name").isTextual()) {
                return false;
            }
        }
        return true;
    }

    private static ArrayNode mergeNamed(ArrayNode existing, ArrayNode patch) {
        ArrayNode result = YAML.createArrayNode();
        for (JsonNode item : patch) {
            if (find(existing, item.get("name").asText()) == null) {
                result.add(item.deepCopy());
            }
        }
        for (JsonNode item : existing) {
            JsonNode update = find(patch, item.path("name").asText());
            if (update != null && item instanceof ObjectNode object) {
                merge(object, update);
            }
            result.add(item);
        }
        return result;
    }

    private static JsonNode find(ArrayNode list, String name) {
        for (JsonNode item : list) {
            if (item.path("name").asText().equals(name)) {
                return item;
            }
        }
        return null;
    }

    /** The images transformer: a container image named {@code name} gets the new name and tag. */
    private static void setImages(JsonNode node, JsonNode image) {
        if (node instanceof ObjectNode object) {
            for (String containers : List.of("containers", "initContainers")) {
                for (JsonNode container : object.path(containers)) {
                    String current = container.path("image").asText();
                    int colon = current.lastIndexOf(':');
                    boolean tagged = colon > current.lastIndexOf('/');
                    String name = tagged ? current.substring(0, colon) : current;
                    String tag = tagged ? current.substring(colon + 1) : null;
                    if (name.equals(image.path("name").asText())) {
                        String newName = image.has("newName") ? image.get("newName").asText() : name;
                        String newTag = image.has("newTag") ? image.get("newTag").asText() : tag;
                        ((ObjectNode) container).set("image", TextNode.valueOf(newTag == null ? newName : newName + ":" + newTag));
                    }
                }
            }
            object.forEach(child -> setImages(child, image));
        } else if (node instanceof ArrayNode list) {
            list.forEach(child -> setImages(child, image));
        }
    }
}
