"""The model-directory contract (models/README.md) as data, and a checker for a directory.

The Java engine checks the same things at start-up; this module is what the export and the twin
generator run on their own output before they call it done.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

CONTRACT = "cosyvoice2-onnx/1"
MODEL_JSON = "model.json"

F32, I32, I64 = "float32", "int32", "int64"


@dataclass(frozen=True)
class Port:
    name: str
    dtype: str
    rank: int  # -1: any rank (a scalar given as rank 0 or 1)


def _io(*ports: tuple[str, str, int]) -> tuple[Port, ...]:
    return tuple(Port(n, d, r) for n, d, r in ports)


def llm_ports(num_layers: int) -> tuple[tuple[Port, ...], tuple[Port, ...]]:
    inputs = [("inputs_embeds", F32, 3), ("position_ids", I64, 2), ("seqlens_k", I32, 1),
              ("total_sequence_length", I32, -1), ("last_index", I64, 1)]
    outputs = [("logits", F32, 2)]
    for i in range(num_layers):
        inputs += [(f"past_key_{i}", F32, 4), (f"past_value_{i}", F32, 4)]
        outputs += [(f"present_key_{i}", F32, 4), (f"present_value_{i}", F32, 4)]
    return _io(*inputs), _io(*outputs)


GRAPHS: dict[str, tuple[tuple[Port, ...], tuple[Port, ...]]] = {
    "speech_tokenizer.onnx": (_io(("feats", F32, 3), ("feats_length", I32, 1)),
                              _io(("speech_tokens", I64, 2))),
    "campplus.onnx": (_io(("fbank", F32, 3)), _io(("embedding", F32, 2))),
    "flow_encoder.onnx": (_io(("token", I64, 2), ("lookahead", I64, 2), ("lookahead_mask", F32, 2),
                              ("attention_chunk", I64, 1), ("embedding", F32, 2)),
                          _io(("mu", F32, 3), ("spks", F32, 2))),
    "flow_estimator.onnx": (_io(("x", F32, 3), ("mask", F32, 3), ("mu", F32, 3), ("t", F32, 1),
                                ("spks", F32, 2), ("cond", F32, 3)),
                            _io(("velocity", F32, 3))),
    "hift.onnx": (_io(("mel", F32, 3), ("cache_source", F32, 3), ("phase_init", F32, 2), ("noise", F32, 3)),
                  _io(("speech", F32, 2), ("source", F32, 3))),
}

ARRAYS = ("llm_text_embedding.npy", "llm_speech_embedding.npy", "llm_special_embedding.npy", "flow_noise.npy")

SECTIONS = ("model", "audio", "features", "text", "llm", "sampling", "flow", "hift", "streaming", "files")

# Constants that are the model's, not a twin's choice: every directory carries them unchanged.
AUDIO = {"sample_rate": 24000, "token_rate": 25, "token_mel_ratio": 2, "samples_per_mel_frame": 480,
         "max_prompt_seconds": 30}
FEATURES = {
    "speech_tokenizer_mel": {"sample_rate": 16000, "n_fft": 400, "hop": 160, "n_mels": 128},
    "speaker_fbank": {"sample_rate": 16000, "num_mel_bins": 80, "frame_length_ms": 25, "frame_shift_ms": 10,
                      "preemphasis": 0.97, "window": "povey", "low_freq": 20, "high_freq": 0, "dither": 0},
    "prompt_mel": {"sample_rate": 24000, "n_fft": 1920, "hop": 480, "win": 1920, "n_mels": 80,
                   "fmin": 0, "fmax": 8000, "center": False},
}
TEXT = {"endofprompt": "<|endofprompt|>"}
SAMPLING = {"top_p": 0.8, "top_k": 25, "win_size": 10, "tau_r": 0.1,
            "min_token_text_ratio": 2, "max_token_text_ratio": 20}
STREAMING = {"token_hop_len": 25, "token_max_hop_len": 100, "stream_scale_factor": 2,
             "mel_cache_len": 8, "source_cache_len": 3840}


# Optional `llm.quantization` (see models/README.md): weight-only MatMulNBits in llm.onnx.
QUANT_BITS = (4, 8)
QUANT_BLOCK_SIZES = (16, 32, 64, 128, 256)


class ContractError(Exception):
    """A model directory does not satisfy the contract; the message names the file and the field."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def content_files(model_dir: Path) -> list[str]:
    """Every file of the directory but model.json, sorted: what model.json's `files` must list."""
    return sorted(p.name for p in model_dir.iterdir() if p.is_file() and p.name != MODEL_JSON)


def write_model_json(model_dir: Path, *, variant: str, random_weights: bool, created_by: str,
                     llm: dict, flow: dict, hift: dict) -> dict:
    """Writes model.json over the files already in `model_dir`, with their hashes and a version id."""
    files = {name: {"sha256": sha256_file(model_dir / name), "bytes": (model_dir / name).stat().st_size}
             for name in content_files(model_dir)}
    version = hashlib.sha256("".join(f"{n}:{f['sha256']}\n" for n, f in files.items()).encode()).hexdigest()[:16]
    config = {
        "contract": CONTRACT,
        "model": {"name": "CosyVoice2-0.5B", "variant": variant, "random_weights": random_weights,
                  "version": version, "created_by": created_by},
        "audio": AUDIO, "features": FEATURES, "text": TEXT, "llm": llm, "sampling": SAMPLING,
        "flow": flow, "hift": hift, "streaming": STREAMING, "files": files,
    }
    (model_dir / MODEL_JSON).write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    return config


def _onnx_dtype(elem_type: int) -> str:
    import onnx
    return onnx.helper.tensor_dtype_to_np_dtype(elem_type).name


def _check_ports(file: str, kind: str, actual, expected: tuple[Port, ...]) -> None:
    by_name = {v.name: v for v in actual}
    missing = [p.name for p in expected if p.name not in by_name]
    extra = sorted(set(by_name) - {p.name for p in expected})
    if missing or extra:
        raise ContractError(f"{file}: {kind}s differ from the contract: missing {missing}, unexpected {extra}")
    for port in expected:
        value = by_name[port.name]
        dtype = _onnx_dtype(value.type.tensor_type.elem_type)
        rank = len(value.type.tensor_type.shape.dim)
        if dtype != port.dtype:
            raise ContractError(f"{file}: {kind} {port.name} is {dtype}, the contract says {port.dtype}")
        if port.rank >= 0 and rank != port.rank:
            raise ContractError(f"{file}: {kind} {port.name} has rank {rank}, the contract says {port.rank}")
        if port.rank < 0 and rank > 1:
            raise ContractError(f"{file}: {kind} {port.name} has rank {rank}, the contract says a scalar")


def check_model_dir(model_dir: Path, *, verify_hashes: bool = True) -> dict:
    """Checks a model directory against the contract and returns its model.json; raises ContractError."""
    import numpy as np
    import onnx

    model_dir = Path(model_dir)
    config_path = model_dir / MODEL_JSON
    if not config_path.is_file():
        raise ContractError(f"{model_dir}: no {MODEL_JSON}")
    config = json.loads(config_path.read_text())
    if config.get("contract") != CONTRACT:
        raise ContractError(f"{MODEL_JSON}: contract is {config.get('contract')!r}, expected {CONTRACT!r}")
    for section in SECTIONS:
        if section not in config:
            raise ContractError(f"{MODEL_JSON}: missing section {section!r}")
    listed = config["files"]
    present = content_files(model_dir)
    if sorted(listed) != present:
        raise ContractError(f"{MODEL_JSON}: files lists {sorted(listed)}, the directory has {present}")
    if verify_hashes:
        for name, entry in listed.items():
            if sha256_file(model_dir / name) != entry["sha256"]:
                raise ContractError(f"{name}: SHA-256 differs from {MODEL_JSON}")
    for name in ("tokenizer.json", *GRAPHS, *ARRAYS):
        if name not in listed:
            raise ContractError(f"{model_dir}: missing {name}")

    llm = config["llm"]
    graphs = dict(GRAPHS)
    graphs["llm.onnx"] = llm_ports(llm["num_layers"])
    for name, (inputs, outputs) in graphs.items():
        graph = onnx.load(str(model_dir / name), load_external_data=False).graph
        initializers = {i.name for i in graph.initializer}
        _check_ports(name, "input", [i for i in graph.input if i.name not in initializers], inputs)
        _check_ports(name, "output", graph.output, outputs)

    _check_quantization(model_dir, llm)

    hidden, speech_vocab = llm["hidden_size"], llm["speech_token_size"] + 3
    shapes = {"llm_text_embedding.npy": (llm["text_vocab"], hidden),
              "llm_speech_embedding.npy": (speech_vocab, hidden),
              "llm_special_embedding.npy": (2, hidden),
              "flow_noise.npy": (config["flow"]["mel_bins"], config["flow"]["noise_frames"])}
    for name, shape in shapes.items():
        array = np.load(model_dir / name, mmap_mode="r")
        if array.dtype != np.float32 or array.shape != shape:
            raise ContractError(f"{name}: {array.dtype}{list(array.shape)}, the contract says float32{list(shape)}")
    if llm["stop_tokens"] != [llm["speech_token_size"] + i for i in range(3)] or llm["eos"] != llm["speech_token_size"]:
        raise ContractError(f"{MODEL_JSON}: llm.eos/stop_tokens must be speech_token_size + 0..2")
    return config


def _check_quantization(model_dir: Path, llm: dict) -> None:
    """`llm.quantization` absent: llm.onnx has no MatMulNBits. Present: bits and block size are
    supported ones and every MatMulNBits node of llm.onnx has exactly them."""
    import onnx

    graph = onnx.load(str(model_dir / "llm.onnx"), load_external_data=False).graph
    nbits = [n for n in graph.node if n.op_type == "MatMulNBits"]
    q = llm.get("quantization")
    if q is None:
        if nbits:
            raise ContractError(f"llm.onnx: {len(nbits)} MatMulNBits nodes, but {MODEL_JSON} has no llm.quantization")
        return
    if not isinstance(q, dict) or q.get("bits") not in QUANT_BITS or q.get("block_size") not in QUANT_BLOCK_SIZES:
        raise ContractError(f"{MODEL_JSON}: llm.quantization needs bits in {list(QUANT_BITS)} and block_size in "
                            f"{list(QUANT_BLOCK_SIZES)}, got {q!r}")
    if len(nbits) != 4 * llm["num_layers"]:
        raise ContractError(f"llm.onnx: {len(nbits)} MatMulNBits nodes, llm.quantization implies "
                            f"4 per layer ({4 * llm['num_layers']})")
    for node in nbits:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if attrs.get("bits") != q["bits"] or attrs.get("block_size") != q["block_size"]:
            raise ContractError(f"llm.onnx: {node.name} has bits {attrs.get('bits')} block_size "
                                f"{attrs.get('block_size')}, llm.quantization says {q['bits']} / {q['block_size']}")
