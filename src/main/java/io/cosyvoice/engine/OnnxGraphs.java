package io.cosyvoice.engine;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import ai.onnxruntime.providers.OrtCUDAProviderOptions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The model's six ONNX Runtime sessions, each checked against the contract's input and output
 * names, element types and ranks when it opens. Sessions are thread-safe for {@code run}; all
 * per-request state lives in the caller.
 */
public final class OnnxGraphs implements AutoCloseable {

    private record Port(String name, OnnxJavaType type, int rank) {}

    private static Port f32(String name, int rank) {
        return new Port(name, OnnxJavaType.FLOAT, rank);
    }

    private static Port i64(String name, int rank) {
        return new Port(name, OnnxJavaType.INT64, rank);
    }

    private static Port i32(String name, int rank) {
        return new Port(name, OnnxJavaType.INT32, rank);
    }

    /** Rank -1: a scalar, given as rank 0 or 1. */
    private static Map<String, List<List<Port>>> contract(int layers) {
        List<Port> llmIn = new ArrayList<>(List.of(f32("inputs_embeds", 3), i64("position_ids", 2), i32("seqlens_k", 1),
                i32("total_sequence_length", -1), i64("last_index", 1)));
        List<Port> llmOut = new ArrayList<>(List.of(f32("logits", 2)));
        for (int i = 0; i < layers; i++) {
            llmIn.add(f32("past_key_" + i, 4));
            llmIn.add(f32("past_value_" + i, 4));
            llmOut.add(f32("present_key_" + i, 4));
            llmOut.add(f32("present_value_" + i, 4));
        }
        Map<String, List<List<Port>>> graphs = new LinkedHashMap<>();
        graphs.put("speech_tokenizer.onnx", List.of(List.of(f32("feats", 3), i32("feats_length", 1)),
                List.of(i64("speech_tokens", 2))));
        graphs.put("campplus.onnx", List.of(List.of(f32("fbank", 3)), List.of(f32("embedding", 2))));
        graphs.put("llm.onnx", List.of(llmIn, llmOut));
        graphs.put("flow_encoder.onnx", List.of(List.of(i64("token", 2), i64("lookahead", 2), f32("lookahead_mask", 2),
                i64("attention_chunk", 1), f32("embedding", 2)), List.of(f32("mu", 3), f32("spks", 2))));
        graphs.put("flow_estimator.onnx", List.of(List.of(f32("x", 3), f32("mask", 3), f32("mu", 3), f32("t", 1),
                f32("spks", 2), f32("cond", 3)), List.of(f32("velocity", 3))));
        graphs.put("hift.onnx", List.of(List.of(f32("mel", 3), f32("cache_source", 3), f32("phase_init", 2),
                f32("noise", 3)), List.of(f32("speech", 2), f32("source", 3))));
        return graphs;
    }

    private final OrtEnvironment env;
    private final Map<String, OrtSession> sessions;
    private final EngineOptions options;

    private OnnxGraphs(OrtEnvironment env, Map<String, OrtSession> sessions, EngineOptions options) {
        this.env = env;
        this.sessions = sessions;
        this.options = options;
    }

    /** Opens every graph of the directory; a missing CUDA runtime with {@code device=cuda} is an error here. */
    public static OnnxGraphs open(ModelDirectory model, EngineOptions options) throws ModelException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Map<String, OrtSession> sessions = new LinkedHashMap<>();
        try {
            for (var graph : contract(model.config().llm().numLayers()).entrySet()) {
                String name = graph.getKey();
                try (OrtSession.SessionOptions opts = sessionOptions(options, name)) {
                    OrtSession session = env.createSession(model.file(name).toString(), opts);
                    sessions.put(name, session);
                    check(model, name, "input", session.getInputInfo(), graph.getValue().get(0));
                    check(model, name, "output", session.getOutputInfo(), graph.getValue().get(1));
                } catch (OrtException e) {
                    throw new ModelException(model.file(name) + ": ONNX Runtime cannot load it: " + e.getMessage(), e);
                }
            }
            return new OnnxGraphs(env, sessions, options);
        } catch (ModelException | RuntimeException e) {
            sessions.values().forEach(OnnxGraphs::closeQuietly);
            throw e;
        }
    }

    private static OrtSession.SessionOptions sessionOptions(EngineOptions options, String graph) throws ModelException, OrtException {
        OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
        opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        if (options.intraOpThreads() > 0) {
            opts.setIntraOpNumThreads(options.intraOpThreads());
        }
        if (options.cuda()) {
            try (OrtCUDAProviderOptions cuda = new OrtCUDAProviderOptions(options.cudaDeviceId())) {
                if (options.cudaMemoryLimit() > 0) {
                    cuda.add("gpu_mem_limit", Long.toString(options.cudaMemoryLimit()));
                }
                opts.addCUDA(cuda);
            } catch (OrtException | UnsatisfiedLinkError | IllegalArgumentException e) {
                opts.close();
                String remedy = EngineOptions.onnxRuntimeArtifact().equals("onnxruntime_gpu")
                        ? "install CUDA 12 and cuDNN 9 where the server runs"
                        : "this build carries the CPU ONNX Runtime: build with -Pcuda";
                throw new ModelException("device=cuda, but ONNX Runtime has no usable CUDA execution provider for " + graph
                        + " (" + remedy + ", or set COSYVOICE_ENGINE_DEVICE=cpu): " + e.getMessage(), e);
            }
        }
        return opts;
    }

    private static void check(ModelDirectory model, String graph, String kind, Map<String, NodeInfo> actual,
            List<Port> expected) throws ModelException {
        var expectedNames = new TreeSet<String>();
        expected.forEach(p -> expectedNames.add(p.name()));
        if (!expectedNames.equals(new TreeSet<>(actual.keySet()))) {
            throw new ModelException(model.file(graph) + ": " + kind + "s are " + new TreeSet<>(actual.keySet())
                    + ", the contract says " + expectedNames);
        }
        for (Port port : expected) {
            if (!(actual.get(port.name()).getInfo() instanceof TensorInfo info)) {
                throw new ModelException(model.file(graph) + ": " + kind + " " + port.name() + " is not a tensor");
            }
            int rank = info.getShape().length;
            boolean rankOk = port.rank() < 0 ? rank <= 1 : rank == port.rank();
            if (info.type != port.type() || !rankOk) {
                throw new ModelException(model.file(graph) + ": " + kind + " " + port.name() + " is " + info.type
                        + " of rank " + rank + ", the contract says " + port.type() + " of rank " + Math.max(port.rank(), 0));
            }
        }
    }

    public OrtEnvironment environment() {
        return env;
    }

    /** How the sessions were opened (device, threads). */
    public EngineOptions options() {
        return options;
    }

    /** The session of one graph, by file name (e.g. {@code "llm.onnx"}). */
    public OrtSession session(String graph) {
        OrtSession session = sessions.get(graph);
        if (session == null) {
            throw new IllegalArgumentException("no graph " + graph);
        }
        return session;
    }

    @Override
    public void close() {
        sessions.values().forEach(OnnxGraphs::closeQuietly);
    }

    private static void closeQuietly(OrtSession session) {
        try {
            session.close();
        } catch (OrtException ignored) {
            // closing a session only frees memory; nothing to recover
        }
    }
}
