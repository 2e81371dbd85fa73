"""``llm.onnx``: CosyVoice2's Qwen2 decoder stack and speech-token head as one batched step.

``export_llm(lm, out_dir)`` builds the graph directly with ``onnx.helper`` from the weights of a
``Qwen2LM`` (official, or a twin from ``twin_llm``), writes ``llm.onnx`` (+ ``llm.onnx.data`` when
the weights are large) and the three embedding tables, and returns the ``llm`` section of
``model.json``. ``verify_llm(lm, out_dir)`` runs the graph in ONNX Runtime and compares it with the
PyTorch module.

Graph (per the contract's ``llm.onnx`` table)::

    inputs_embeds [B,S,H] f32, position_ids [B,S] i64, seqlens_k [B] i32,
    total_sequence_length [] i32, last_index [B] i64, past_key_i / past_value_i [B,kvh,C,hd] f32
    -> logits [B, speech_token_size+3] f32, present_key_i / present_value_i [B,kvh,C,hd] f32

Per layer: RMSNorm, fused q|k|v MatMul + bias, RoPE (rotate-half, as HF Qwen2) from
``position_ids``, ``com.microsoft.GroupQueryAttention`` (do_rotary=0), o_proj, residual, RMSNorm,
SiLU(gate) * up -> down, residual. Then the row ``last_index`` of every sequence, final RMSNorm,
``llm_decoder``.

ONNX Runtime 1.30 CPU GroupQueryAttention, as measured (see ``verify_llm`` and the tests):

* head_dim must be a multiple of 8; num_heads a multiple of kv_num_heads.
* present has length ``max(C, total_sequence_length)``. Not sharing buffers, present is zeroed,
  then each row gets ``past[:seqlens_k + 1 - S]`` and the S new entries; the rest stays 0.
* sharing (IOBinding binds the same OrtValue as ``past_*`` and ``present_*``): only the S new
  entries per row are written, at ``seqlens_k + 1 - S ... seqlens_k``; nothing else is copied.
* a row's past length is ``seqlens_k + 1 - S``, i.e. rows are assumed unpadded, EXCEPT in the
  "first prompt" case ``S == total_sequence_length`` where every row's past is taken as 0 (rows may
  then be right-padded: ``seqlens_k = len - 1``).
* ``S > 1`` with ``S != total_sequence_length`` (a chunk on top of a past) is refused unless
  ``B == 1`` ("batch_size must be 1 when sequence_length > 1 and past context is given"). So a
  step is: decode (S = 1, any B, any mix of lengths), a fresh batched prefill (all rows start at
  0, S = total_sequence_length), or a single-sequence chunk (B = 1, any past).
"""
from __future__ import annotations

import json
import math
import pathlib

import numpy as np

OPSET_AI_ONNX = 17
OPSET_MS = 1
IR_VERSION = 10                       # ONNX Runtime 1.30 reads IR <= 13; opset 17 needs >= 8
EXTERNAL_DATA_THRESHOLD = 64 << 20    # weights above this go to llm.onnx.data
EXTERNAL_DATA_ALIGN = 65536           # offsets aligned so ONNX Runtime can memory-map them


# ----------------------------------------------------------------------------------------------
# Reading the module


def _config_value(config, *names, default=None):
    for n in names:
        v = getattr(config, n, None)
        if v is not None:
            return v
    return default


def _rope_theta(config) -> float:
    rp = getattr(config, "rope_parameters", None)
    if isinstance(rp, dict):
        rope_type = rp.get("rope_type", rp.get("type", "default"))
        if rope_type != "default":
            raise ValueError(f"unsupported rope_type {rope_type!r}")
        if rp.get("rope_theta") is not None:
            return float(rp["rope_theta"])
    rs = getattr(config, "rope_scaling", None)
    if isinstance(rs, dict) and rs.get("rope_type", rs.get("type", "default")) != "default":
        raise ValueError(f"unsupported rope_scaling {rs!r}")
    theta = getattr(config, "rope_theta", None)
    if theta is None:
        raise ValueError("config has no rope_theta")
    return float(theta)


def llm_shape(lm) -> dict:
    """The ``llm`` section of model.json for a ``Qwen2LM``-like module."""
    qwen = lm.llm.model
    cfg = qwen.config
    hidden = int(cfg.hidden_size)
    heads = int(cfg.num_attention_heads)
    kv_heads = int(_config_value(cfg, "num_key_value_heads", default=heads))
    head_dim = int(_config_value(cfg, "head_dim", default=hidden // heads))
    if getattr(cfg, "use_sliding_window", False) and getattr(cfg, "sliding_window", None):
        raise ValueError("sliding-window attention is not supported")
    sts = int(lm.speech_token_size)
    return {
        "hidden_size": hidden,
        "num_layers": int(cfg.num_hidden_layers),
        "num_heads": heads,
        "num_kv_heads": kv_heads,
        "head_dim": head_dim,
        "intermediate_size": int(cfg.intermediate_size),
        "rope_theta": _rope_theta(cfg),
        "max_position": int(cfg.max_position_embeddings),
        "text_vocab": int(qwen.model.embed_tokens.weight.shape[0]),
        "speech_token_size": sts,
        "sos": 0,
        "task_id": 1,
        "eos": sts,
        "fill": sts + 2,
        "stop_tokens": [sts, sts + 1, sts + 2],
    }


def _np(t) -> np.ndarray:
    return t.detach().to("cpu").float().numpy()


def _inv_freq(lm, head_dim: int, theta: float) -> np.ndarray:
    """RoPE inverse frequencies exactly as the HF module computes them (float32)."""
    rot = getattr(lm.llm.model.model, "rotary_emb", None)
    buf = getattr(rot, "inv_freq", None) if rot is not None else None
    if buf is not None and buf.numel() == head_dim // 2 and getattr(rot, "attention_scaling", 1.0) == 1.0:
        return _np(buf).astype(np.float32)
    import torch
    return (1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))).numpy()


# ----------------------------------------------------------------------------------------------
# Graph construction


class _Weights:
    """Collects initializers; large models write them to an external data file as they come."""

    def __init__(self, data_path: pathlib.Path | None):
        from onnx import TensorProto
        self._TensorProto = TensorProto
        self.tensors = []
        self.data_path = data_path
        self._file = open(data_path, "wb") if data_path is not None else None
        self.nbytes = 0

    def add(self, name: str, array: np.ndarray) -> str:
        from onnx import numpy_helper
        array = np.ascontiguousarray(array)
        self.nbytes += array.nbytes
        if self._file is None or array.nbytes < 1024:
            self.tensors.append(numpy_helper.from_array(array, name))
            return name
        TP = self._TensorProto
        t = TP()
        t.name = name
        t.data_type = {np.dtype(np.float32): TP.FLOAT, np.dtype(np.int64): TP.INT64}[array.dtype]
        t.dims.extend(array.shape)
        pos = self._file.tell()
        pad = (-pos) % EXTERNAL_DATA_ALIGN
        if pad:
            self._file.write(b"\0" * pad)
            pos += pad
        array.tofile(self._file)  # raw C-order bytes; little-endian host (checked in export_llm)
        t.data_location = TP.EXTERNAL
        for k, v in (("location", self.data_path.name), ("offset", str(pos)), ("length", str(array.nbytes))):
            e = t.external_data.add()
            e.key, e.value = k, v
        self.tensors.append(t)
        return name

    def close(self):
        if self._file is not None:
            self._file.close()


class _Builder:
    def __init__(self):
        self.nodes = []
        self._n = 0

    def op(self, op_type, inputs, n_out=1, name=None, domain=None, **attrs):
        from onnx import helper
        self._n += 1
        base = name or f"{op_type.lower()}_{self._n}"
        outs = [f"{base}" if n_out == 1 else f"{base}:{i}" for i in range(n_out)]
        kw = {"domain": domain} if domain else {}
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, name=f"n_{base}", **kw, **attrs))
        return outs[0] if n_out == 1 else outs


def _build_graph(lm, shape: dict, weights: _Weights):
    from onnx import TensorProto, helper

    H, L = shape["hidden_size"], shape["num_layers"]
    nh, kvh, hd = shape["num_heads"], shape["num_kv_heads"], shape["head_dim"]
    V = shape["speech_token_size"] + 3
    if hd % 8 != 0:
        raise ValueError(f"GroupQueryAttention needs head_dim % 8 == 0, got {hd}")
    if nh % kvh != 0:
        raise ValueError("num_heads must be a multiple of num_kv_heads")
    qwen = lm.llm.model.model
    eps_default = float(getattr(lm.llm.model.config, "rms_norm_eps", 1e-6))
    b = _Builder()
    W = weights.add

    # shared constants
    c_two = W("const.two", np.array(2.0, np.float32))
    c_axes_last = W("const.axes_last", np.array([-1], np.int64))
    c_axes_2 = W("const.axes_2", np.array([2], np.int64))
    c_q4 = W("const.shape_q", np.array([0, 0, nh, hd], np.int64))
    c_k4 = W("const.shape_k", np.array([0, 0, kvh, hd], np.int64))
    c_q3 = W("const.shape_q3", np.array([0, 0, nh * hd], np.int64))
    c_k3 = W("const.shape_k3", np.array([0, 0, kvh * hd], np.int64))
    c_half = W("const.split_half", np.array([hd // 2, hd // 2], np.int64))
    c_qkv = W("const.split_qkv", np.array([nh * hd, kvh * hd, kvh * hd], np.int64))
    inter = shape["intermediate_size"]
    c_gu = W("const.split_gate_up", np.array([inter, inter], np.int64))
    eps_names = {}

    def rms_norm(x, norm, tag):
        eps = float(getattr(norm, "variance_epsilon", getattr(norm, "eps", eps_default)))
        if eps not in eps_names:
            eps_names[eps] = W(f"const.eps{len(eps_names)}", np.array(eps, np.float32))
        w = W(f"{tag}.weight", _np(norm.weight))
        sq = b.op("Pow", [x, c_two], name=f"{tag}/pow")
        ms = b.op("ReduceMean", [sq], name=f"{tag}/mean", axes=[-1], keepdims=1)
        ve = b.op("Add", [ms, eps_names[eps]], name=f"{tag}/add_eps")
        sd = b.op("Sqrt", [ve], name=f"{tag}/sqrt")
        xn = b.op("Div", [x, sd], name=f"{tag}/div")
        return b.op("Mul", [xn, w], name=f"{tag}/scale")

    # RoPE cos/sin [B,S,1,hd] from position_ids, computed as HF does (float32 product).
    inv = W("rope.inv_freq", _inv_freq(lm, hd, shape["rope_theta"]))
    pos = b.op("Cast", ["position_ids"], name="rope/pos_f", to=TensorProto.FLOAT)
    pos = b.op("Unsqueeze", [pos, c_axes_last], name="rope/pos_u")
    freqs = b.op("Mul", [pos, inv], name="rope/freqs")
    emb = b.op("Concat", [freqs, freqs], name="rope/emb", axis=-1)
    cos = b.op("Unsqueeze", [b.op("Cos", [emb], name="rope/cos_"), c_axes_2], name="rope/cos")
    sin = b.op("Unsqueeze", [b.op("Sin", [emb], name="rope/sin_"), c_axes_2], name="rope/sin")

    def rope(x, shape4, shape3, tag):
        x4 = b.op("Reshape", [x, shape4], name=f"{tag}/r4")
        x1, x2 = b.op("Split", [x4, c_half], n_out=2, name=f"{tag}/halves", axis=-1)
        rot = b.op("Concat", [b.op("Neg", [x2], name=f"{tag}/neg"), x1], name=f"{tag}/rot", axis=-1)
        y = b.op("Add", [b.op("Mul", [x4, cos], name=f"{tag}/xcos"),
                         b.op("Mul", [rot, sin], name=f"{tag}/rsin")], name=f"{tag}/sum")
        return b.op("Reshape", [y, shape3], name=f"{tag}/r3")

    h = "inputs_embeds"
    outputs_kv = []
    for i, layer in enumerate(qwen.layers):
        p = f"layers.{i}"
        att, mlp = layer.self_attn, layer.mlp
        x = rms_norm(h, layer.input_layernorm, f"{p}.input_layernorm")
        wqkv = np.concatenate([_np(att.q_proj.weight), _np(att.k_proj.weight), _np(att.v_proj.weight)], 0).T
        bqkv = np.concatenate([_np(att.q_proj.bias), _np(att.k_proj.bias), _np(att.v_proj.bias)], 0)
        qkv = b.op("MatMul", [x, W(f"{p}.self_attn.qkv.weight", wqkv)], name=f"{p}.self_attn/qkv_mm")
        qkv = b.op("Add", [qkv, W(f"{p}.self_attn.qkv.bias", bqkv)], name=f"{p}.self_attn/qkv")
        q, k, v = b.op("Split", [qkv, c_qkv], n_out=3, name=f"{p}.self_attn/split", axis=-1)
        q = rope(q, c_q4, c_q3, f"{p}.self_attn/rope_q")
        k = rope(k, c_k4, c_k3, f"{p}.self_attn/rope_k")
        b.nodes.append(helper.make_node(
            "GroupQueryAttention",
            [q, k, v, f"past_key_{i}", f"past_value_{i}", "seqlens_k", "total_sequence_length"],
            [f"{p}.self_attn/gqa", f"present_key_{i}", f"present_value_{i}"],
            name=f"n_{p}.self_attn/gqa", domain="com.microsoft",
            num_heads=nh, kv_num_heads=kvh, do_rotary=0,
            scale=float(getattr(att, "scaling", 1.0 / math.sqrt(hd)))))
        outputs_kv += [f"present_key_{i}", f"present_value_{i}"]
        o = b.op("MatMul", [f"{p}.self_attn/gqa", W(f"{p}.self_attn.o_proj.weight", _np(att.o_proj.weight).T)],
                 name=f"{p}.self_attn/o_proj")
        if getattr(att.o_proj, "bias", None) is not None:
            o = b.op("Add", [o, W(f"{p}.self_attn.o_proj.bias", _np(att.o_proj.bias))], name=f"{p}.self_attn/o_bias")
        h = b.op("Add", [h, o], name=f"{p}/res_attn")
        x = rms_norm(h, layer.post_attention_layernorm, f"{p}.post_attention_layernorm")
        wgu = np.concatenate([_np(mlp.gate_proj.weight), _np(mlp.up_proj.weight)], 0).T
        gu = b.op("MatMul", [x, W(f"{p}.mlp.gate_up.weight", wgu)], name=f"{p}.mlp/gate_up")
        gate, up = b.op("Split", [gu, c_gu], n_out=2, name=f"{p}.mlp/split", axis=-1)
        act = b.op("Mul", [gate, b.op("Sigmoid", [gate], name=f"{p}.mlp/sigmoid")], name=f"{p}.mlp/silu")
        act = b.op("Mul", [act, up], name=f"{p}.mlp/gated")
        d = b.op("MatMul", [act, W(f"{p}.mlp.down_proj.weight", _np(mlp.down_proj.weight).T)], name=f"{p}.mlp/down")
        h = b.op("Add", [h, d], name=f"{p}/res_mlp")

    # the row last_index of every sequence, final norm, speech-token head
    idx = b.op("Unsqueeze", ["last_index", c_axes_last], name="head/index")
    last = b.op("GatherND", [h, idx], name="head/last", batch_dims=1)
    last = rms_norm(last, qwen.norm, "norm")
    dec = lm.llm_decoder
    logits = b.op("MatMul", [last, W("llm_decoder.weight", _np(dec.weight).T)], name="head/mm")
    b.nodes.append(helper.make_node("Add", [logits, W("llm_decoder.bias", _np(dec.bias))], ["logits"],
                                    name="n_head/logits"))

    f32, i64, i32 = TensorProto.FLOAT, TensorProto.INT64, TensorProto.INT32
    vi = helper.make_tensor_value_info
    inputs = [vi("inputs_embeds", f32, ["B", "S", H]), vi("position_ids", i64, ["B", "S"]),
              vi("seqlens_k", i32, ["B"]), vi("total_sequence_length", i32, []),
              vi("last_index", i64, ["B"])]
    outputs = [vi("logits", f32, ["B", V])]
    for i in range(L):
        for kind in ("key", "value"):
            inputs.append(vi(f"past_{kind}_{i}", f32, ["B", kvh, "C", hd]))
            outputs.append(vi(f"present_{kind}_{i}", f32, ["B", kvh, "C", hd]))
    graph = helper.make_graph(b.nodes, "cosyvoice2_llm_step", inputs, outputs, initializer=weights.tensors)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET_AI_ONNX),
                                                     helper.make_opsetid("com.microsoft", OPSET_MS)],
                              producer_name="cosyvoice_onnx.llm", ir_version=IR_VERSION)
    return model


# ----------------------------------------------------------------------------------------------
# Export


def export_llm(lm, out_dir: pathlib.Path, external_data: bool | None = None) -> dict:
    """Write ``llm.onnx`` (+ ``llm.onnx.data``) and the three embedding tables into ``out_dir``.

    ``external_data``: None chooses by size (weights over 64 MiB go to ``llm.onnx.data``).
    Returns the ``llm`` section of model.json.
    """
    import onnx
    import torch

    import sys
    if sys.byteorder != "little":
        raise RuntimeError("export_llm writes little-endian data and needs a little-endian host")
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    shape = llm_shape(lm)
    H, L, inter = shape["hidden_size"], shape["num_layers"], shape["intermediate_size"]
    nh, kvh, hd = shape["num_heads"], shape["num_kv_heads"], shape["head_dim"]
    approx = 4 * (L * (H * (nh + 2 * kvh) * hd + nh * hd * H + 3 * H * inter) + H * (shape["speech_token_size"] + 3))
    if external_data is None:
        external_data = approx > EXTERNAL_DATA_THRESHOLD
    onnx_path = out_dir / "llm.onnx"
    data_path = out_dir / "llm.onnx.data"
    for stale in (onnx_path, data_path):
        if stale.exists():
            stale.unlink()
    with torch.no_grad():
        weights = _Weights(data_path if external_data else None)
        try:
            model = _build_graph(lm, shape, weights)
        finally:
            weights.close()
        onnx.save_model(model, str(onnx_path))
        del model
        onnx.checker.check_model(str(onnx_path))

        qwen = lm.llm.model.model
        np.save(out_dir / "llm_text_embedding.npy", _np(qwen.embed_tokens.weight).astype("<f4"))
        np.save(out_dir / "llm_speech_embedding.npy", _np(lm.speech_embedding.weight).astype("<f4"))
        np.save(out_dir / "llm_special_embedding.npy", _np(lm.llm_embedding.weight).astype("<f4"))
    return shape


# ----------------------------------------------------------------------------------------------
# Running the graph (shared by verify_llm and the tests)


def make_session(out_dir: pathlib.Path, threads: int = 2, quiet: bool = False):
    """A CPU session on ``out_dir/llm.onnx``; ``quiet`` also silences kernel errors in the log
    (they still raise), for probing steps that are expected to fail."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 4 if quiet else 3
    return ort.InferenceSession(str(pathlib.Path(out_dir) / "llm.onnx"), so, providers=["CPUExecutionProvider"])


class KVPool:
    """A slot pool as the runtime keeps it: per layer K and V ``[max_batch, kv_heads, C, head_dim]``."""

    def __init__(self, shape: dict, max_batch: int, capacity: int):
        L, kvh, hd = shape["num_layers"], shape["num_kv_heads"], shape["head_dim"]
        self.keys = [np.zeros((max_batch, kvh, capacity, hd), np.float32) for _ in range(L)]
        self.values = [np.zeros((max_batch, kvh, capacity, hd), np.float32) for _ in range(L)]

    def step(self, sess, slots: slice, inputs_embeds, position_ids, seqlens_k, last_index) -> np.ndarray:
        """One step over the contiguous slots ``slots``, past and present bound to the same memory."""
        import onnxruntime as ort

        io = sess.io_binding()
        seqlens_k = np.asarray(seqlens_k, np.int32)
        feeds = {"inputs_embeds": np.ascontiguousarray(inputs_embeds, np.float32),
                 "position_ids": np.ascontiguousarray(position_ids, np.int64),
                 "seqlens_k": seqlens_k,
                 "total_sequence_length": np.array(int(seqlens_k.max()) + 1, np.int32),
                 "last_index": np.ascontiguousarray(last_index, np.int64)}
        for n, a in feeds.items():
            io.bind_cpu_input(n, a)
        io.bind_output("logits")  # first bound output: copy_outputs_to_cpu()[0]
        keep = []
        for i, (k, v) in enumerate(zip(self.keys, self.values)):
            kv, vv = k[slots], v[slots]
            assert kv.flags.c_contiguous and vv.flags.c_contiguous
            ok, ov = ort.OrtValue.ortvalue_from_numpy(kv), ort.OrtValue.ortvalue_from_numpy(vv)
            keep += [ok, ov]
            io.bind_ortvalue_input(f"past_key_{i}", ok)
            io.bind_ortvalue_input(f"past_value_{i}", ov)
            io.bind_ortvalue_output(f"present_key_{i}", ok)
            io.bind_ortvalue_output(f"present_value_{i}", ov)
        sess.run_with_iobinding(io)
        return io.copy_outputs_to_cpu()[0]


def run_step(sess, shape: dict, inputs_embeds, position_ids, seqlens_k, last_index, past):
    """One step with plain ``run`` (no buffer sharing); ``past`` is a list [k0, v0, k1, v1, ...]."""
    seqlens_k = np.asarray(seqlens_k, np.int32)
    feeds = {"inputs_embeds": np.asarray(inputs_embeds, np.float32),
             "position_ids": np.asarray(position_ids, np.int64),
             "seqlens_k": seqlens_k,
             "total_sequence_length": np.array(int(seqlens_k.max()) + 1, np.int32),
             "last_index": np.asarray(last_index, np.int64)}
    for i in range(shape["num_layers"]):
        feeds[f"past_key_{i}"] = past[2 * i]
        feeds[f"past_value_{i}"] = past[2 * i + 1]
    out = sess.run(None, feeds)
    return out[0], out[1:]


# ----------------------------------------------------------------------------------------------
# Verification against PyTorch


class _TorchRef:
    """Single-sequence incremental reference: the official inference loop's HF call with its own cache."""

    def __init__(self, lm):
        self.lm = lm

    def logits_all(self, embeds: np.ndarray) -> np.ndarray:
        """Logits at every position of one sequence ``[T, H]`` (no cache, full causal pass)."""
        import torch
        with torch.no_grad():
            x = torch.from_numpy(np.asarray(embeds, np.float32))[None]
            hs = self.lm.llm.model.model(inputs_embeds=x).last_hidden_state
            return self.lm.llm_decoder(hs)[0].float().numpy()

    def incremental(self, chunks):
        """Feed ``chunks`` (list of ``[S_i, H]``) one call each with an HF cache; logits after each."""
        import torch
        from transformers import DynamicCache
        try:
            cache = DynamicCache(config=self.lm.llm.model.config)
        except TypeError:  # older transformers
            cache = DynamicCache()
        out = []
        with torch.no_grad():
            for c in chunks:
                x = torch.from_numpy(np.asarray(c, np.float32))[None]
                r = self.lm.llm.model.model(inputs_embeds=x, past_key_values=cache, use_cache=True)
                cache = r.past_key_values
                out.append(self.lm.llm_decoder(r.last_hidden_state[:, -1])[0].float().numpy())
        return out


def _embed(tables, text, speech):
    text_t, speech_t, special = tables
    parts = [special[0:1], text_t[np.asarray(text, np.int64)], special[1:2], speech_t[np.asarray(speech, np.int64)]]
    return np.concatenate(parts, 0).astype(np.float32)


def _load_tables(out_dir):
    out_dir = pathlib.Path(out_dir)
    return (np.load(out_dir / "llm_text_embedding.npy", mmap_mode="r"),
            np.load(out_dir / "llm_speech_embedding.npy"),
            np.load(out_dir / "llm_special_embedding.npy"))


def _check(name, got, want, atol, rtol, report):
    got, want = np.asarray(got), np.asarray(want)
    err = float(np.max(np.abs(got - want))) if got.size else 0.0
    report[name] = max(report.get(name, 0.0), err)
    if not np.allclose(got, want, atol=atol, rtol=rtol):
        raise AssertionError(f"llm.onnx verify {name}: max abs error {err:.3g} (atol {atol}, rtol {rtol})")


def verify_llm(lm, out_dir: pathlib.Path, atol: float = 2e-4, rtol: float = 1e-4, seed: int = 0,
               threads: int = 2) -> dict:
    """Compare ``out_dir/llm.onnx`` with the PyTorch module; raise AssertionError on a mismatch.

    (a) one sequence: prefill of ``[sos, text, task_id, speech]`` then decode steps, plain
        ``run`` with present fed back as past, against HF with its own cache;
    (b) three sequences of different lengths in one slot pool (shared past/present buffers):
        a batched right-padded fresh prefill, decode steps together, a chunk (S = 3) appended to
        one sequence (B = 1 on its slot), more decode steps together; each row against its own
        single-sequence result. Also records whether ONNX Runtime accepts a mixed step (B > 1
        with a chunk on top of a past), which the CPU kernel refuses in 1.30;
    (c) shared buffers: present bound to the past OrtValue is updated in place (only the new
        positions change) and gives the same logits as (a).
    Returns the max abs errors and facts found.
    """
    out_dir = pathlib.Path(out_dir)
    shape = llm_shape(lm)
    tables = _load_tables(out_dir)
    sess = make_session(out_dir, threads)
    ref = _TorchRef(lm)
    rng = np.random.default_rng(seed)
    H, L = shape["hidden_size"], shape["num_layers"]
    kvh, hd = shape["num_kv_heads"], shape["head_dim"]
    sts = shape["speech_token_size"]
    n_text = min(shape["text_vocab"], 151643)
    report: dict = {}

    # I/O names (dtypes and shapes: contract.check_model_dir and tests/test_llm.py)
    names_in = [i.name for i in sess.get_inputs()]
    names_out = [o.name for o in sess.get_outputs()]
    want_in = ["inputs_embeds", "position_ids", "seqlens_k", "total_sequence_length", "last_index"] + \
        [f"past_{k}_{i}" for i in range(L) for k in ("key", "value")]
    want_out = ["logits"] + [f"present_{k}_{i}" for i in range(L) for k in ("key", "value")]
    if sorted(names_in) != sorted(want_in) or sorted(names_out) != sorted(want_out):
        raise AssertionError(f"llm.onnx I/O names differ: {names_in} -> {names_out}")

    # (a) one sequence, plain run
    text = rng.integers(0, n_text, 7)
    prompt_speech = rng.integers(0, sts, 5)
    decoded = rng.integers(0, sts, 6)
    prefix = _embed(tables, text, prompt_speech)
    T0 = prefix.shape[0]
    C = T0 + len(decoded) + 8
    chunks = [prefix] + [tables[1][[t]] for t in decoded]
    want = ref.incremental(chunks)
    full = ref.logits_all(np.concatenate(chunks, 0))
    _check("a_hf_cache_vs_full", np.stack(want), full[[T0 - 1 + j for j in range(len(chunks))]], atol, rtol, report)
    past = [np.zeros((1, kvh, C, hd), np.float32) for _ in range(2 * L)]
    got = []
    pos = 0
    for c in chunks:
        S = c.shape[0]
        lg, past = run_step(sess, shape, c[None], np.arange(pos, pos + S)[None], [pos + S - 1], [S - 1], past)
        if past[0].shape != (1, kvh, C, hd):
            raise AssertionError(f"present shape {past[0].shape}, expected capacity {C}")
        got.append(lg[0])
        pos += S
    _check("a_single_sequence", np.stack(got), np.stack(want), atol, rtol, report)

    # (c) shared buffer: bind the same OrtValue as past and present
    pool = KVPool(shape, 1, C)
    got_c = []
    pos = 0
    for c in chunks:
        S = c.shape[0]
        before = [k.copy() for k in pool.keys[:1]] + [v.copy() for v in pool.values[:1]]
        lg = pool.step(sess, slice(0, 1), c[None], np.arange(pos, pos + S)[None], [pos + S - 1], [S - 1])
        changed = np.nonzero(np.any(pool.keys[0][0] != before[0][0], axis=(0, 2)))[0]
        if not (set(changed.tolist()) <= set(range(pos, pos + S))) or len(changed) == 0:
            raise AssertionError(f"shared buffer: positions {changed.tolist()} changed, expected {pos}..{pos + S - 1}")
        got_c.append(lg[0])
        pos += S
    _check("c_shared_buffer", np.stack(got_c), np.stack(want), atol, rtol, report)
    _check("c_cache_content", pool.keys[0][0, :, :pos], past[0][0, :, :pos], atol, rtol, report)
    report["c_in_place"] = True

    # (b) three sequences of different lengths in one pool
    seqs = []
    for n_t, n_p in ((3, 0), (9, 6), (5, 2)):
        seqs.append(_embed(tables, rng.integers(0, n_text, n_t), rng.integers(0, sts, n_p)))
    steps = [rng.integers(0, sts, 9) for _ in seqs]  # tokens fed back to each row
    lens = [s.shape[0] for s in seqs]
    Smax = max(lens)
    C = Smax + 12
    pool = KVPool(shape, 4, C)  # one slot more than used: the pool is larger than the batch
    # single-sequence references: prefix, 3 decodes, (row 1: a chunk of 3 tokens, others: 1), 2 decodes
    plan = {r: [seqs[r]] + [tables[1][[t]] for t in steps[r][:3]] for r in range(3)}
    plan[1] = plan[1] + [tables[1][steps[1][3:6]]]
    for r in range(3):  # then decode tokens: row 1 two more, rows 0 and 2 three more
        nxt, cnt = (6, 2) if r == 1 else (3, 3)
        plan[r] += [tables[1][[t]] for t in steps[r][nxt:nxt + cnt]]
    want_b = {r: ref.incremental(plan[r]) for r in range(3)}
    got_b = {r: [] for r in range(3)}
    # batched fresh prefill, right-padded: S == total_sequence_length
    x = np.zeros((3, Smax, H), np.float32)
    for r, s in enumerate(seqs):
        x[r, :lens[r]] = s
        x[r, lens[r]:] = rng.standard_normal((Smax - lens[r], H))  # garbage padding must not matter
    lg = pool.step(sess, slice(0, 3), x, np.tile(np.arange(Smax), (3, 1)), [n - 1 for n in lens], [n - 1 for n in lens])
    for r in range(3):
        got_b[r].append(lg[r])
    cur = list(lens)
    for j in range(3):  # decode together, different lengths
        x = np.stack([plan[r][1 + j] for r in range(3)])
        lg = pool.step(sess, slice(0, 3), x, np.array(cur)[:, None], cur, [0, 0, 0])
        for r in range(3):
            got_b[r].append(lg[r])
        cur = [c + 1 for c in cur]
    # a mixed step (B > 1, row 1 with a chunk of 3 on top of its past, rows 0 and 2 decoding):
    # does ONNX Runtime accept it? (1.30's CPU kernel refuses; if a later one accepts, check it.)
    xm = np.zeros((3, 3, H), np.float32)
    xm[1] = plan[1][4]
    xm[0, 0], xm[2, 0] = plan[0][4][0], plan[2][4][0]
    scratch = KVPool(shape, 3, C)
    for d, s in zip(scratch.keys + scratch.values, pool.keys + pool.values):
        d[:] = s[:3]
    try:
        lg = scratch.step(make_session(out_dir, threads, quiet=True), slice(0, 3), xm,
                          np.array(cur)[:, None] + np.arange(3)[None], [cur[0], cur[1] + 2, cur[2]], [0, 2, 0])
    except Exception as e:  # noqa: BLE001 - ORT raises its own exception types
        report["mixed_chunk_step_supported"] = False
        report["mixed_chunk_step_error"] = str(e).split("Status Message: ")[-1].strip()[:200]
    else:
        report["mixed_chunk_step_supported"] = True
        _check("b_mixed_step", lg, np.stack([want_b[r][4] for r in range(3)]), atol, rtol, report)
    del scratch
    # row 1 alone on its slot appends a chunk of 3 (B = 1, S = 3, past > 0)
    lg = pool.step(sess, slice(1, 2), plan[1][4][None], np.arange(cur[1], cur[1] + 3)[None], [cur[1] + 2], [2])
    got_b[1].append(lg[0])
    cur[1] += 3
    # rows 0 and 2 decode their 4th token as a pair? They are slots 0 and 2: not contiguous, so
    # each runs alone (B = 1) - the runtime would move slots to keep a prefix; here we just check.
    for r in (0, 2):
        lg = pool.step(sess, slice(r, r + 1), plan[r][4][None], np.array([[cur[r]]]), [cur[r]], [0])
        got_b[r].append(lg[0])
        cur[r] += 1
    for j in range(2):  # all three decode together again
        x = np.stack([plan[r][5 + j] for r in range(3)])
        lg = pool.step(sess, slice(0, 3), x, np.array(cur)[:, None], cur, [0, 0, 0])
        for r in range(3):
            got_b[r].append(lg[r])
        cur = [c + 1 for c in cur]
    for r in range(3):
        _check("b_batch", np.stack(got_b[r]), np.stack(want_b[r]), atol, rtol, report)
    report["b_untouched_slot"] = bool(all(np.all(k[3] == 0) for k in pool.keys + pool.values))
    if not report["b_untouched_slot"]:
        raise AssertionError("a step wrote into a slot outside its batch")
    report["atol"], report["rtol"] = atol, rtol
    return report


def file_sizes(out_dir: pathlib.Path) -> dict:
    out_dir = pathlib.Path(out_dir)
    return {p.name: p.stat().st_size for p in sorted(out_dir.iterdir()) if p.name.startswith("llm")}


if __name__ == "__main__":  # pragma: no cover - manual use: python -m cosyvoice_onnx.llm tiny /tmp/x
    import sys
    from .twin_llm import make_twin_lm
    size, out = sys.argv[1], pathlib.Path(sys.argv[2])
    lm_ = make_twin_lm(size, 151936, 0)
    print(json.dumps(export_llm(lm_, out)))
    print(json.dumps(verify_llm(lm_, out), indent=1))
    print(file_sizes(out))
