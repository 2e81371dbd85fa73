"""Weight-only quantisation of ``llm.onnx``: a complete model directory whose LLM runs its
transformer MatMuls on 4- or 8-bit weights (ONNX Runtime's ``com.microsoft.MatMulNBits``).

``quantize_model_dir(in_dir, out_dir, bits=4, block_size=32)`` reads a contract directory and
writes another one: every file but ``llm.onnx`` (+ ``llm.onnx.data``) and ``model.json`` is the
same (hard-linked when the file system allows, else copied); ``llm.onnx`` has each layer's four
weight MatMuls (fused q|k|v, o_proj, fused gate|up, down) replaced by ``MatMulNBits`` with the
same input and output; ``model.json`` gains ``llm.quantization`` and the new files' hashes.
Kept in float32: the embedding tables (they are ``.npy`` files the runtime gathers rows from),
the norms, the biases, RoPE, attention and the KV cache, and the speech-token head (6564 x 896,
1.6 % of the weights; its logits are what sampling reads).

The blockwise quantisation itself is ONNX Runtime's (the C++ ``quantize_matmul_{4,8}bits`` its
``MatMulNBitsQuantizer`` calls): per output column, per block of ``block_size`` input rows, a
float32 scale and (asymmetric, the default) a uint8 zero point. The graph I/O is unchanged, so
a runtime needs nothing but an ONNX Runtime with the ``MatMulNBits`` CPU kernel (1.29 and 1.30
run bits 4 and 8). The output is byte-for-byte reproducible.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .contract import MODEL_JSON, check_model_dir, content_files, write_model_json

log = logging.getLogger("cosyvoice_onnx")

BITS = (4, 8)
BLOCK_SIZES = (16, 32, 64, 128, 256)
# accuracy_level 4: activations quantised to int8 per block, int32 accumulation (MLAS's fastest
# CPU path where AVX2/AVX-512 VNNI or ARM dot products exist). 0 or 1: float32 activations; MLAS
# has that kernel for 4 bits only (8 bits would dequantise every weight on every call).
DEFAULT_ACCURACY_LEVEL = 4
LLM_FILES = ("llm.onnx", "llm.onnx.data")
# the weight initializers of one layer's four MatMuls, as llm.py names them
LAYER_WEIGHT = re.compile(r"^layers\.\d+\.(self_attn\.qkv|self_attn\.o_proj|mlp\.gate_up|mlp\.down_proj)\.weight$")
EXTERNAL_DATA_THRESHOLD = 64 << 20


def block_quantize(weight: np.ndarray, *, bits: int, block_size: int, symmetric: bool):
    """ONNX Runtime's own blockwise quantiser (the C++ routine its MatMulNBits quantiser calls) on a
    ``[K, N]`` float32 weight: packed ``[N, K/block, block*bits/8]`` uint8, scales ``[N, K/block]``
    float32, zero points ``[N, ceil(K/block / (8/bits))]`` uint8 (all 0 when symmetric)."""
    from onnxruntime.capi._pybind_state import quantize_matmul_4bits, quantize_matmul_8bits

    k, n = weight.shape
    blocks = (k + block_size - 1) // block_size
    per_byte = 8 // bits
    if blocks * block_size != k:
        weight = np.pad(weight, ((0, blocks * block_size - k), (0, 0)))
    weight = np.ascontiguousarray(weight, np.float32)
    packed = np.zeros((n, blocks, block_size // per_byte), np.uint8)
    scales = np.zeros((n, blocks), np.float32)
    zero_points = np.zeros((n, (blocks + per_byte - 1) // per_byte), np.uint8)
    kernel = quantize_matmul_4bits if bits == 4 else quantize_matmul_8bits
    kernel(packed, weight, scales, zero_points, block_size, n, k, symmetric)
    return packed, scales, zero_points


def quantize_llm_graph(model, *, bits: int, block_size: int, symmetric: bool, accuracy_level: int) -> int:
    """Replaces, in place, every MatMul whose weight is a layer weight (``LAYER_WEIGHT``) by a
    ``MatMulNBits`` of the same name, input and output. Returns how many were replaced."""
    from onnx import helper, numpy_helper

    graph = model.graph
    weights = {t.name: t for t in graph.initializer}
    replaced = 0
    new_nodes = []
    dropped = set()
    added = []
    for node in graph.node:
        w = node.input[1] if node.op_type == "MatMul" and node.domain in ("", "ai.onnx") else None
        if w is None or not LAYER_WEIGHT.match(w) or w not in weights:
            new_nodes.append(node)
            continue
        b = numpy_helper.to_array(weights[w])
        if b.ndim != 2 or b.dtype != np.float32:
            raise ValueError(f"{w}: expected a 2-D float32 weight, got {b.dtype}{list(b.shape)}")
        k, n = b.shape
        packed, scales, zero_points = block_quantize(b, bits=bits, block_size=block_size, symmetric=symmetric)
        inputs = [node.input[0], f"{w}.q{bits}", f"{w}.scales"]
        added += [numpy_helper.from_array(packed, inputs[1]), numpy_helper.from_array(scales, inputs[2])]
        if not symmetric:
            inputs.append(f"{w}.zero_points")
            added.append(numpy_helper.from_array(zero_points, inputs[3]))
        new_nodes.append(helper.make_node(
            "MatMulNBits", inputs, list(node.output), name=node.name, domain="com.microsoft",
            K=k, N=n, bits=bits, block_size=block_size, accuracy_level=accuracy_level))
        dropped.add(w)
        replaced += 1
    del graph.node[:]
    graph.node.extend(new_nodes)
    kept = [t for t in graph.initializer if t.name not in dropped]
    del graph.initializer[:]
    graph.initializer.extend(kept + added)
    return replaced


def _place(src: Path, dst: Path) -> None:
    """Hard link when possible (a quantised full model then costs only its new LLM), else copy."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def quantize_model_dir(in_dir: Path, out_dir: Path, *, bits: int = 4, block_size: int = 32,
                       symmetric: bool = False, accuracy_level: int = DEFAULT_ACCURACY_LEVEL) -> dict:
    """Writes the quantised directory into a scratch directory beside ``out_dir``, checks it
    against the contract, then moves it into place; returns its model.json."""
    import onnx

    if bits not in BITS:
        raise ValueError(f"bits must be one of {BITS}, got {bits}")
    if block_size not in BLOCK_SIZES:
        raise ValueError(f"block_size must be one of {BLOCK_SIZES}, got {block_size}")
    if not 0 <= accuracy_level <= 4:
        raise ValueError(f"accuracy_level must be 0..4, got {accuracy_level}")
    if bits == 8 and accuracy_level != 4:
        # measured on ORT 1.30 x86: about 20 s per full-size decode step instead of 60 ms
        raise ValueError("8-bit weights need accuracy level 4: ONNX Runtime's CPU MatMulNBits has no float32 "
                         "kernel for them and dequantises every weight on every call")
    in_dir, out_dir = Path(in_dir), Path(out_dir)
    source = check_model_dir(in_dir, verify_hashes=False)
    if "quantization" in source["llm"]:
        raise ValueError(f"{in_dir}: its LLM is already quantised ({source['llm']['quantization']})")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    work.chmod(0o755)
    try:
        for name in content_files(in_dir):
            if name not in LLM_FILES:
                _place(in_dir / name, work / name)
        model = onnx.load(str(in_dir / "llm.onnx"), load_external_data=True)
        replaced = quantize_llm_graph(model, bits=bits, block_size=block_size, symmetric=symmetric,
                                      accuracy_level=accuracy_level)
        expected = 4 * source["llm"]["num_layers"]
        if replaced != expected:
            raise ValueError(f"{in_dir / 'llm.onnx'}: found {replaced} layer MatMuls to quantise, expected {expected}")
        external = sum(t.ByteSize() for t in model.graph.initializer) > EXTERNAL_DATA_THRESHOLD
        kwargs = dict(save_as_external_data=True, all_tensors_to_one_file=True, location="llm.onnx.data",
                      size_threshold=1024) if external else {}
        onnx.save_model(model, str(work / "llm.onnx"), **kwargs)
        del model
        onnx.checker.check_model(str(work / "llm.onnx"))

        llm = dict(source["llm"])
        llm["quantization"] = {
            "method": "weight-only, blockwise, com.microsoft.MatMulNBits",
            "bits": bits, "block_size": block_size, "symmetric": symmetric, "accuracy_level": accuracy_level,
            "quantized": "the q|k|v, o_proj, gate|up and down_proj MatMuls of every layer",
            "float32": "embeddings, norms, biases, attention, KV cache, speech-token head",
            "source_version": source["model"]["version"],
        }
        m = source["model"]
        write_model_json(work, variant=m["variant"], random_weights=m["random_weights"],
                         created_by=f"{m['created_by']} + quantize.py", llm=llm,
                         flow=source["flow"], hift=source["hift"])
        config = check_model_dir(work)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        work.rename(out_dir)
        log.info("wrote %s: %d MatMuls at %d bits, block %d; llm files %.1f MB (fp32 %.1f MB)", out_dir, replaced,
                 bits, block_size, _llm_bytes(out_dir) / 1e6, _llm_bytes(in_dir) / 1e6)
        return config
    finally:
        if work.exists():
            shutil.rmtree(work)


def _llm_bytes(model_dir: Path) -> int:
    return sum((model_dir / n).stat().st_size for n in LLM_FILES if (model_dir / n).exists())


def describe(config: dict) -> str:
    """"int4 (block 32)" or "fp32": what the LLM's weights are."""
    q = config["llm"].get("quantization")
    return "fp32" if q is None else f"int{q['bits']} (block {q['block_size']})"
