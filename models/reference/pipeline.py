"""Reference CosyVoice2 inference over a model directory (models/README.md, `cosyvoice2-onnx/1`).

Run-time dependencies: numpy, onnxruntime, tokenizers (and `reference.features` for the prompt
features). Everything a request needs lives in the request: two instances of the pipeline, or two
calls of one, share nothing but the read-only sessions and tables.

    python -m reference.pipeline --model-dir random/tiny --prompt-wav reference/prompt.wav \
        --prompt-text "..." --text "..." --mode zero_shot [--stream] [--seed N] --out out.wav

(run from `models/`, or with `models/` on PYTHONPATH).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from .rng import SplitMix64, vocoder_seed

CONTRACT = "cosyvoice2-onnx/1"
GRAPH_FILES = ("speech_tokenizer.onnx", "campplus.onnx", "llm.onnx", "flow_encoder.onnx",
               "flow_estimator.onnx", "hift.onnx")
ARRAY_FILES = ("llm_text_embedding.npy", "llm_speech_embedding.npy", "llm_special_embedding.npy",
               "flow_noise.npy")
REQUIRED_FILES = ("tokenizer.json",) + GRAPH_FILES + ARRAY_FILES

MODES = {
    "zero_shot": "zero_shot", "fast_replication": "zero_shot",
    "cross_lingual": "cross_lingual", "cross_lingual_replication": "cross_lingual",
    "instruct": "instruct", "natural_language_replication": "instruct",
}


class ModelDirectoryError(Exception):
    """The model directory is missing, of another contract version, incomplete or corrupt."""


# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------
@dataclass
class PromptFeatures:
    """What a reference voice contributes, already aligned (``len(prompt_mel) == 2 * len(speech_tokens)``)."""
    speech_tokens: np.ndarray      # int64 [n]
    speaker_embedding: np.ndarray  # float32 [192]
    prompt_mel: np.ndarray         # float32 [2n, 80]
    # intermediate features (for goldens and debugging); not needed by synthesize()
    extras: dict = field(default_factory=dict, repr=False)


@dataclass
class Result:
    text_tokens: list[int]          # the text to speak
    prompt_text_tokens: list[int]   # the prompt text (zero-shot) or instruct text (instruct) fed to the LLM
    speech_tokens: list[int]        # generated speech tokens (stop token excluded)
    chunks: list[np.ndarray]        # float32 audio chunks as a streaming client receives them
    audio: np.ndarray               # float32 concatenation of the chunks, 24 kHz
    mel: np.ndarray                 # float32 [80, 2 * len(speech_tokens)]: generated mel before speed
    timings: dict = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class SamplingParams:
    top_p: float = 0.8
    top_k: int = 25
    win_size: int = 10
    tau_r: float = 0.1
    eos: int = 6561


# ---------------------------------------------------------------------------------------------
# sampling (contract "Sampling (RAS), exactly")
# ---------------------------------------------------------------------------------------------
def _first_exceeding(running: np.ndarray, u: float) -> int:
    """Index of the first running sum strictly greater than ``u``, or -1."""
    i = int(np.searchsorted(running, u, side="right"))
    return i if i < len(running) else -1


def ras_sample(logits: np.ndarray, out_tokens: Sequence[int], rng: SplitMix64, params: SamplingParams,
               min_len: int) -> int:
    """One draw of repetition-aware sampling; consumes one or two ``uniform()`` values of ``rng``."""
    x = np.array(logits, dtype=np.float64).reshape(-1)
    if len(out_tokens) < min_len:
        x[params.eos] = -np.inf
    p = np.exp(x - x.max())
    p /= np.cumsum(p)[-1]  # the sum in index order

    # nucleus: by p descending, ties by lower index
    order = np.argsort(-p, kind="stable")
    taken: list[int] = []
    cum = 0.0
    for idx in order:
        if cum < params.top_p and len(taken) < params.top_k:
            cum += p[idx]
            taken.append(int(idx))
        else:
            break
    running = np.cumsum(p[taken])
    u = rng.uniform() * running[-1]
    j = _first_exceeding(running, u)
    pick = taken[j]  # j == -1: the last taken

    # repetition-aware fallback
    window = list(out_tokens[-params.win_size:]) if params.win_size > 0 else []
    if window.count(pick) >= params.win_size * params.tau_r:
        q = p.copy()
        q[pick] = 0.0
        running = np.cumsum(q)
        u = rng.uniform() * running[-1]
        j = _first_exceeding(running, u)
        if j < 0:  # only by rounding: the last token that can be drawn
            j = int(np.flatnonzero(q)[-1])
        pick = j
    return pick


# ---------------------------------------------------------------------------------------------
# small numeric helpers
# ---------------------------------------------------------------------------------------------
def interpolate_linear(mel: np.ndarray, size: int) -> np.ndarray:
    """``torch.nn.functional.interpolate(mel[None], size, mode='linear', align_corners=False)[0]``
    for ``mel [C, F]``, in float32 as torch computes it on CPU."""
    mel = np.asarray(mel, dtype=np.float32)
    n_in = mel.shape[1]
    if size <= 0:
        return np.zeros((mel.shape[0], 0), dtype=np.float32)
    scale = np.float32(n_in) / np.float32(size)
    dst = np.arange(size, dtype=np.float32)
    src = scale * (dst + np.float32(0.5)) - np.float32(0.5)
    src = np.maximum(src, np.float32(0.0))
    i0 = src.astype(np.int64)
    lam1 = np.clip(src - i0.astype(np.float32), np.float32(0), np.float32(1)).astype(np.float32)
    lam0 = np.float32(1.0) - lam1
    i1 = np.where(i0 < n_in - 1, i0 + 1, i0)
    return (lam0 * mel[:, i0] + lam1 * mel[:, i1]).astype(np.float32)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# the pipeline
# ---------------------------------------------------------------------------------------------
class CosyVoice2Reference:
    """CosyVoice2 inference over the graphs of a model directory, one request at a time."""

    def __init__(self, model_dir: str | Path, *, intra_op_threads: int = 1, verify_hashes: bool = True,
                 inplace_kv: bool = False):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.model_dir = Path(model_dir)
        self.inplace_kv = bool(inplace_kv)
        self.config = self._load_config(verify_hashes)
        cfg = self.config
        self.sample_rate = int(cfg["audio"]["sample_rate"])
        self.token_mel_ratio = int(cfg["audio"]["token_mel_ratio"])
        self.samples_per_frame = int(cfg["audio"]["samples_per_mel_frame"])
        self.max_prompt_seconds = float(cfg["audio"]["max_prompt_seconds"])
        llm = cfg["llm"]
        self.num_layers = int(llm["num_layers"])
        self.kv_heads = int(llm["num_kv_heads"])
        self.head_dim = int(llm["head_dim"])
        self.hidden = int(llm["hidden_size"])
        self.max_position = int(llm["max_position"])
        self.sos, self.task_id = int(llm["sos"]), int(llm["task_id"])
        self.stop_tokens = frozenset(int(t) for t in llm["stop_tokens"])
        s = cfg["sampling"]
        self.sampling = SamplingParams(top_p=float(s["top_p"]), top_k=int(s["top_k"]),
                                       win_size=int(s["win_size"]), tau_r=float(s["tau_r"]), eos=int(llm["eos"]))
        self.min_ratio = s["min_token_text_ratio"]
        self.max_ratio = s["max_token_text_ratio"]
        fl = cfg["flow"]
        self.mel_bins = int(fl["mel_bins"])
        self.lookahead_len = int(fl["pre_lookahead_len"])
        self.static_chunk = int(fl["static_chunk_size"])
        self.n_timesteps = int(fl["n_timesteps"])
        self.cfg_rate = float(fl["cfg_rate"])
        if fl.get("t_scheduler", "cosine") != "cosine":
            raise ModelDirectoryError(f"flow.t_scheduler {fl['t_scheduler']!r} is not the contract's 'cosine'")
        st = cfg["streaming"]
        self.hop_len = int(st["token_hop_len"])
        self.max_hop_len = int(st["token_max_hop_len"])
        self.stream_scale = int(st["stream_scale_factor"])
        self.mel_cache_len = int(st["mel_cache_len"])
        self.source_cache_len = int(st["source_cache_len"])
        self.endofprompt = cfg["text"]["endofprompt"]

        self.tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(intra_op_threads)
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.log_severity_level = 3
        self.sessions = {name: ort.InferenceSession(str(self.model_dir / name), sess_options=opts,
                                                    providers=["CPUExecutionProvider"])
                         for name in GRAPH_FILES}
        self.text_embedding = np.load(self.model_dir / "llm_text_embedding.npy", mmap_mode="r")
        self.speech_embedding = np.load(self.model_dir / "llm_speech_embedding.npy", mmap_mode="r")
        self.special_embedding = np.load(self.model_dir / "llm_special_embedding.npy", mmap_mode="r")
        self.flow_noise = np.load(self.model_dir / "flow_noise.npy", mmap_mode="r")
        self.noise_frames = int(self.flow_noise.shape[1])
        if self.flow_noise.shape[0] != self.mel_bins:
            raise ModelDirectoryError(f"flow_noise.npy has {self.flow_noise.shape[0]} rows, flow.mel_bins is {self.mel_bins}")
        if self.noise_frames != int(fl["noise_frames"]):
            raise ModelDirectoryError(f"flow_noise.npy has {self.noise_frames} frames, model.json says {fl['noise_frames']}")
        for name, table in (("llm_text_embedding.npy", self.text_embedding),
                            ("llm_speech_embedding.npy", self.speech_embedding),
                            ("llm_special_embedding.npy", self.special_embedding)):
            if table.dtype != np.float32 or table.ndim != 2 or table.shape[1] != self.hidden:
                raise ModelDirectoryError(f"{name} is {table.dtype}{list(table.shape)}, expected float32 [*, {self.hidden}]")

    # -- loading -------------------------------------------------------------------------------
    def _load_config(self, verify_hashes: bool) -> dict:
        d = self.model_dir
        if not d.is_dir():
            raise ModelDirectoryError(f"{d}: not a directory")
        path = d / "model.json"
        if not path.is_file():
            raise ModelDirectoryError(f"{d}: no model.json (not a model directory)")
        try:
            cfg = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise ModelDirectoryError(f"{path}: not valid JSON: {e}") from None
        if cfg.get("contract") != CONTRACT:
            raise ModelDirectoryError(f"{path}: contract {cfg.get('contract')!r} is not {CONTRACT!r}, "
                                      "the one this pipeline implements")
        files = cfg.get("files") or {}
        for name in REQUIRED_FILES:
            if name not in files:
                raise ModelDirectoryError(f"{path}: 'files' does not list {name}")
        for name, entry in files.items():
            fp = d / name
            if not fp.is_file():
                raise ModelDirectoryError(f"{d}: {name} is listed in model.json but missing")
            if "bytes" in entry and fp.stat().st_size != entry["bytes"]:
                raise ModelDirectoryError(f"{fp}: {fp.stat().st_size} bytes, model.json says {entry['bytes']}")
            if verify_hashes and _sha256(fp) != entry.get("sha256"):
                raise ModelDirectoryError(f"{fp}: SHA-256 differs from model.json (corrupt or replaced file)")
        return cfg

    # -- text ----------------------------------------------------------------------------------
    def encode_text(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=False).ids) if text else []

    # -- prompt --------------------------------------------------------------------------------
    def prompt_features(self, audio: np.ndarray, sample_rate: int) -> PromptFeatures:
        """Speech tokens, speaker embedding and prompt mel of a reference voice (mono float in [-1, 1])."""
        from . import features

        audio = np.asarray(audio)
        if audio.ndim != 1:
            raise ValueError(f"prompt audio must be mono (1-D), got shape {audio.shape}")
        if not np.issubdtype(audio.dtype, np.floating):
            raise ValueError(f"prompt audio must be float in [-1, 1], got {audio.dtype}")
        if sample_rate <= 0:
            raise ValueError(f"bad sample rate {sample_rate}")
        seconds = len(audio) / float(sample_rate)
        if seconds > self.max_prompt_seconds:
            raise ValueError(f"prompt audio is {seconds:.2f} s, longer than the {self.max_prompt_seconds:g} s allowed")
        if len(audio) == 0:
            raise ValueError("prompt audio is empty")
        if not np.all(np.isfinite(audio)):
            raise ValueError("prompt audio contains NaN or infinite samples")
        audio = audio.astype(np.float32)
        fc = self.config["features"]
        sr16 = int(fc["speech_tokenizer_mel"]["sample_rate"])
        sr24 = int(fc["prompt_mel"]["sample_rate"])
        a16 = np.asarray(features.resample(audio, sample_rate, sr16), dtype=np.float32)
        a24 = np.asarray(features.resample(audio, sample_rate, sr24), dtype=np.float32)

        st_mel = np.asarray(features.speech_tokenizer_mel(a16), dtype=np.float32)  # [128, T]
        tokens = self.sessions["speech_tokenizer.onnx"].run(
            ["speech_tokens"], {"feats": st_mel[None], "feats_length": np.array([st_mel.shape[1]], dtype=np.int32)})[0]
        tokens = np.asarray(tokens, dtype=np.int64).reshape(-1)

        fbank = np.asarray(features.speaker_fbank(a16), dtype=np.float32)  # [T, 80]
        embedding = self.sessions["campplus.onnx"].run(["embedding"], {"fbank": fbank[None]})[0]
        embedding = np.asarray(embedding, dtype=np.float32).reshape(-1)

        mel = np.asarray(features.prompt_mel(a24), dtype=np.float32)  # [F, 80]
        n = min(mel.shape[0] // self.token_mel_ratio, len(tokens))
        return PromptFeatures(
            speech_tokens=tokens[:n].copy(), speaker_embedding=embedding,
            prompt_mel=np.ascontiguousarray(mel[: self.token_mel_ratio * n]),
            extras={"audio_16k": a16, "audio_24k": a24, "speech_tokenizer_mel": st_mel, "speaker_fbank": fbank,
                    "prompt_mel_full": mel, "speech_tokens_full": tokens})

    # -- LLM -----------------------------------------------------------------------------------
    def llm_prefix(self, mode: str, text_tokens: list[int], prompt_text_tokens: list[int],
                   prompt_tokens: np.ndarray) -> np.ndarray:
        """``[sos] + text(prompt_text + text) + [task_id] + speech_embedding(prompt_tokens)`` as float32 [L, hidden]."""
        parts = [self.special_embedding[self.sos][None],
                 self.text_embedding[np.asarray(prompt_text_tokens + text_tokens, dtype=np.int64)],
                 self.special_embedding[self.task_id][None]]
        if mode == "zero_shot" and len(prompt_tokens):
            parts.append(self.speech_embedding[np.asarray(prompt_tokens, dtype=np.int64)])
        return np.ascontiguousarray(np.concatenate(parts, axis=0), dtype=np.float32)

    def generate_tokens(self, prefix: np.ndarray, min_len: int, max_len: int, seed: int,
                        timings: dict | None = None) -> Iterator[int]:
        """The LLM loop: prefill the prefix in one step, then one token per step; yields tokens."""
        rng = SplitMix64(seed)
        L = prefix.shape[0]
        capacity = L + max(max_len, 1)
        if capacity > self.max_position:
            raise ValueError(f"prefix {L} + max_len {max_len} exceeds max_position {self.max_position}")
        step_fn = self._llm_stepper(capacity)
        out: list[int] = []
        past = 0
        embeds = prefix[None]
        t_llm = 0.0
        n_steps = 0
        for step in range(max_len):
            S = embeds.shape[1]
            feeds = {
                "inputs_embeds": embeds,
                "position_ids": np.arange(past, past + S, dtype=np.int64)[None],
                "seqlens_k": np.array([past + S - 1], dtype=np.int32),
                "total_sequence_length": np.array(past + S, dtype=np.int32),
                "last_index": np.array([S - 1], dtype=np.int64),
            }
            t0 = time.perf_counter()
            logits = step_fn(feeds)
            t_llm += time.perf_counter() - t0
            n_steps += 1
            past += S
            token = ras_sample(logits, out, rng, self.sampling, min_len)
            if token in self.stop_tokens:
                break
            out.append(token)
            yield token
            if step + 1 < max_len:
                embeds = np.ascontiguousarray(self.speech_embedding[token][None, None], dtype=np.float32)
        if timings is not None:
            timings["llm_s"] = timings.get("llm_s", 0.0) + t_llm
            timings["llm_steps"] = timings.get("llm_steps", 0) + n_steps

    def _llm_stepper(self, capacity: int):
        """A function running one llm.onnx step over a fresh KV cache of ``capacity`` positions.

        Default: the ``present_*`` outputs are fed back as the next ``past_*`` inputs. With
        ``inplace_kv`` each ``present_*`` output is bound (IOBinding) to its ``past_*`` buffer, as the
        server's engine does, so ONNX Runtime writes the new positions in place.
        """
        import onnxruntime as ort

        session = self.sessions["llm.onnx"]
        shape = (1, self.kv_heads, capacity, self.head_dim)
        names = [(f"past_{kv}_{i}", f"present_{kv}_{i}") for i in range(self.num_layers) for kv in ("key", "value")]
        if not self.inplace_kv:
            cache = {past: np.zeros(shape, dtype=np.float32) for past, _ in names}
            out_names = ["logits"] + [present for _, present in names]

            def step(feeds: dict) -> np.ndarray:
                res = session.run(out_names, {**feeds, **cache})
                for j, (past, _) in enumerate(names, start=1):
                    cache[past] = res[j]
                return res[0][0]
            return step

        buffers = {past: ort.OrtValue.ortvalue_from_numpy(np.zeros(shape, dtype=np.float32)) for past, _ in names}

        def step_inplace(feeds: dict) -> np.ndarray:
            binding = session.io_binding()
            for name, value in feeds.items():
                binding.bind_cpu_input(name, np.ascontiguousarray(value))
            binding.bind_output("logits")  # first bound output: index 0 below
            for past, present in names:
                binding.bind_ortvalue_input(past, buffers[past])
                binding.bind_ortvalue_output(present, buffers[past])
            session.run_with_iobinding(binding)
            return binding.copy_outputs_to_cpu()[0][0]
        return step_inplace

    # -- flow ----------------------------------------------------------------------------------
    def flow(self, prompt: PromptFeatures, tokens: Sequence[int], lookahead: Sequence[int] | None,
             attention_chunk: int) -> np.ndarray:
        """Flow matching for ``prompt tokens + tokens`` (+ the look-ahead): generated mel [80, 2·len(tokens)]."""
        all_tokens = np.concatenate([prompt.speech_tokens.astype(np.int64), np.asarray(tokens, dtype=np.int64)])
        la = np.zeros(self.lookahead_len, dtype=np.int64)
        la_mask = np.zeros(self.lookahead_len, dtype=np.float32)
        if lookahead is not None:
            if len(lookahead) != self.lookahead_len:
                raise ValueError(f"look-ahead must have {self.lookahead_len} tokens")
            la[:] = lookahead
            la_mask[:] = 1.0
        mu, spks = self.sessions["flow_encoder.onnx"].run(["mu", "spks"], {
            "token": all_tokens[None], "lookahead": la[None], "lookahead_mask": la_mask[None],
            "attention_chunk": np.array([attention_chunk], dtype=np.int64),
            "embedding": prompt.speaker_embedding.reshape(1, -1).astype(np.float32)})
        F = mu.shape[2]
        pf = prompt.prompt_mel.shape[0]
        if F != self.token_mel_ratio * len(all_tokens):
            raise RuntimeError(f"flow_encoder gave {F} frames for {len(all_tokens)} tokens")
        if F > self.noise_frames:
            raise ValueError(f"{F} mel frames exceed the model's {self.noise_frames} frames of flow noise")
        zeros = np.zeros((1, self.mel_bins, F), dtype=np.float32)
        cond = zeros.copy()
        cond[0, :, :pf] = prompt.prompt_mel.T
        mu_in = np.concatenate([mu, zeros], axis=0)
        spks_in = np.concatenate([spks, np.zeros_like(spks)], axis=0)
        cond_in = np.concatenate([cond, zeros], axis=0)
        mask_in = np.ones((2, 1, F), dtype=np.float32)
        x = np.array(self.flow_noise[:, :F], dtype=np.float32)[None]
        t_span = [1.0 - math.cos(0.5 * math.pi * k / self.n_timesteps) for k in range(self.n_timesteps + 1)]
        w_cond, w_uncond = np.float32(1.0 + self.cfg_rate), np.float32(self.cfg_rate)
        est = self.sessions["flow_estimator.onnx"]
        for k in range(self.n_timesteps):
            v = est.run(["velocity"], {"x": np.concatenate([x, x], axis=0), "mask": mask_in, "mu": mu_in,
                                       "t": np.full(2, t_span[k], dtype=np.float32), "spks": spks_in,
                                       "cond": cond_in})[0]
            v = w_cond * v[:1] - w_uncond * v[1:]
            x = (x + np.float32(t_span[k + 1] - t_span[k]) * v).astype(np.float32)
        return np.ascontiguousarray(x[0, :, pf:])

    # -- vocoder -------------------------------------------------------------------------------
    def hift(self, mel: np.ndarray, cache_source: np.ndarray, rng: SplitMix64) -> tuple[np.ndarray, np.ndarray]:
        """One HiFT call; draws ``phase_init`` then ``noise`` from the vocoder stream."""
        F = mel.shape[1]
        phase = rng.uniform_array(9).astype(np.float32)
        phase[0] = 0.0
        noise = rng.normals(self.samples_per_frame * F * 9).reshape(1, self.samples_per_frame * F, 9)
        speech, source = self.sessions["hift.onnx"].run(["speech", "source"], {
            "mel": np.ascontiguousarray(mel[None], dtype=np.float32),
            "cache_source": np.ascontiguousarray(cache_source, dtype=np.float32).reshape(1, 1, -1),
            "phase_init": phase[None], "noise": noise})
        return speech[0], source

    # -- requests ------------------------------------------------------------------------------
    def _request_inputs(self, text: str, mode: str, prompt_text: str, instruct_text: str):
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {sorted(set(MODES.values()))}")
        mode = MODES[mode]
        text_tokens = self.encode_text(text)
        if not text_tokens:
            raise ValueError("nothing to speak: the text encodes to no tokens")
        if mode == "zero_shot":
            llm_prompt_text = prompt_text
        elif mode == "cross_lingual":
            llm_prompt_text = ""
        else:
            if not instruct_text or not instruct_text.strip():
                raise ValueError("instruct mode needs an instruct_text")
            llm_prompt_text = instruct_text if instruct_text.endswith(self.endofprompt) else instruct_text + self.endofprompt
        return mode, text_tokens, self.encode_text(llm_prompt_text)

    def length_limits(self, text_len: int, prompt_frames: int) -> tuple[int, int]:
        """``(min_len, max_len)`` of the generated tokens for ``text_len`` text tokens."""
        min_len = int(text_len * self.min_ratio)
        max_len = int(text_len * self.max_ratio)
        cap = (self.noise_frames - prompt_frames) // self.token_mel_ratio
        if cap <= 0:
            raise ValueError("the prompt leaves no room in the flow noise for generated frames")
        return min_len, min(max_len, cap)

    def synthesize_iter(self, text: str, mode: str, prompt: PromptFeatures, prompt_text: str = "",
                        instruct_text: str = "", seed: int = 0, stream: bool = False, speed: float = 1.0,
                        _state: dict | None = None) -> Iterator[np.ndarray]:
        """Yields the audio chunks of one request as they become available."""
        if not (speed > 0 and math.isfinite(speed)):
            raise ValueError(f"speed must be a positive number, got {speed}")
        mode, text_tokens, prompt_text_tokens = self._request_inputs(text, mode, prompt_text, instruct_text)
        state = _state if _state is not None else {}
        timings = state.setdefault("timings", {})
        state.update(mode=mode, text_tokens=text_tokens, prompt_text_tokens=prompt_text_tokens)
        tokens: list[int] = state.setdefault("speech_tokens", [])
        mels: list[np.ndarray] = state.setdefault("mels", [])

        pf = prompt.prompt_mel.shape[0]
        min_len, max_len = self.length_limits(len(text_tokens), pf)
        prefix = self.llm_prefix(mode, text_tokens, prompt_text_tokens, prompt.speech_tokens)
        token_iter = self.generate_tokens(prefix, min_len, max_len, seed, timings)
        voc_rng = SplitMix64(vocoder_seed(seed))
        window = np.hamming(2 * self.source_cache_len)
        cache = {"mel": None, "source": np.zeros((1, 1, 0), dtype=np.float32), "speech": None}

        def token2wav(upto: int, offset: int, final: bool, attention_chunk: int) -> np.ndarray:
            t0 = time.perf_counter()
            lookahead = None if final else tokens[upto:upto + self.lookahead_len]
            mel = self.flow(prompt, tokens[:upto], lookahead, attention_chunk)[:, self.token_mel_ratio * offset:]
            t1 = time.perf_counter()
            mels.append(mel)
            if speed != 1.0:
                mel = interpolate_linear(mel, int(mel.shape[1] / speed))
            if cache["mel"] is not None:
                mel = np.concatenate([cache["mel"], mel], axis=1)
            if mel.shape[1] == 0:  # only a non-streaming request sped up to nothing (speed > frames)
                return np.zeros(0, dtype=np.float32)
            speech, source = self.hift(mel, cache["source"], voc_rng)
            speech = speech.astype(np.float32)
            if cache["speech"] is not None:
                n = self.source_cache_len
                faded = speech[:n].astype(np.float64) * window[:n] + cache["speech"].astype(np.float64) * window[n:]
                speech = speech.copy()
                speech[:n] = faded.astype(np.float32)
            if not final:
                cache["mel"] = mel[:, -self.mel_cache_len:]
                cache["source"] = source[:, :, -self.source_cache_len:]
                cache["speech"] = speech[-self.source_cache_len:]
                speech = speech[:-self.source_cache_len]
            timings["flow_s"] = timings.get("flow_s", 0.0) + (t1 - t0)
            timings["hift_s"] = timings.get("hift_s", 0.0) + (time.perf_counter() - t1)
            return speech

        if stream:
            P = len(prompt.speech_tokens)
            pad = int(math.ceil(P / self.hop_len) * self.hop_len - P)
            hop = self.hop_len
            offset = 0
            for token in token_iter:
                tokens.append(token)
                this_hop = hop + pad if offset == 0 else hop
                if len(tokens) - offset >= this_hop + self.lookahead_len:
                    yield token2wav(offset + this_hop, offset, False, self.static_chunk)
                    offset += this_hop
                    hop = min(self.max_hop_len, hop * self.stream_scale)
            # the official final chunk: all remaining tokens, zero look-ahead, full attention
            yield token2wav(len(tokens), offset, True, 0)
        else:
            tokens.extend(token_iter)
            yield token2wav(len(tokens), 0, True, 0)

    def synthesize(self, text: str, mode: str, prompt: PromptFeatures, prompt_text: str = "",
                   instruct_text: str = "", seed: int = 0, stream: bool = False, speed: float = 1.0) -> Result:
        state: dict = {}
        t0 = time.perf_counter()
        chunks = [c for c in self.synthesize_iter(text, mode, prompt, prompt_text, instruct_text, seed, stream,
                                                  speed, _state=state)]
        timings = state["timings"]
        timings["total_s"] = time.perf_counter() - t0
        audio = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, dtype=np.float32)
        mel = np.concatenate(state["mels"], axis=1) if state["mels"] else np.zeros((self.mel_bins, 0), np.float32)
        return Result(text_tokens=state["text_tokens"], prompt_text_tokens=state["prompt_text_tokens"],
                      speech_tokens=list(state["speech_tokens"]), chunks=chunks, audio=audio,
                      mel=mel.astype(np.float32), timings=timings)


# ---------------------------------------------------------------------------------------------
# WAV I/O (stdlib only) and CLI
# ---------------------------------------------------------------------------------------------
def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Reads an integer-PCM WAV as mono float32 in [-1, 1] (channels averaged)."""
    with wave.open(str(path), "rb") as w:
        rate, channels, width, n = w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()
        raw = w.readframes(n)
    if width == 1:
        x = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        x = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    elif width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        x = v.astype(np.float32) / float(1 << 23)
    elif width == 4:
        x = (np.frombuffer(raw, dtype="<i4").astype(np.float64) / 2.0 ** 31).astype(np.float32)
    else:
        raise ValueError(f"{path}: unsupported sample width {width}")
    return x.reshape(-1, channels).mean(axis=1).astype(np.float32), rate


def write_wav(path: str | Path, audio: np.ndarray, sample_rate: int) -> None:
    """Writes mono 16-bit PCM (rounded, clipped)."""
    pcm = np.clip(np.round(np.asarray(audio, dtype=np.float64) * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(sample_rate))
        w.writeframes(pcm.tobytes())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m reference.pipeline", description="CosyVoice2 reference synthesis")
    ap.add_argument("--model-dir", required=True, type=Path)
    ap.add_argument("--prompt-wav", required=True, type=Path)
    ap.add_argument("--prompt-text", default="", help="transcript of the prompt (zero_shot)")
    ap.add_argument("--instruct-text", default="", help="instruction (instruct mode)")
    ap.add_argument("--text", required=True)
    ap.add_argument("--mode", default="zero_shot", choices=sorted(MODES))
    ap.add_argument("--stream", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--speed", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    ap.add_argument("--no-verify", action="store_true", help="skip the SHA-256 check of the model files")
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    model = CosyVoice2Reference(args.model_dir, intra_op_threads=args.threads, verify_hashes=not args.no_verify)
    t1 = time.perf_counter()
    audio, rate = read_wav(args.prompt_wav)
    prompt = model.prompt_features(audio, rate)
    t2 = time.perf_counter()
    res = model.synthesize(args.text, args.mode, prompt, prompt_text=args.prompt_text,
                           instruct_text=args.instruct_text, seed=args.seed, stream=args.stream, speed=args.speed)
    write_wav(args.out, res.audio, model.sample_rate)
    dur = len(res.audio) / model.sample_rate
    print(f"load {t1 - t0:.2f} s, prompt {t2 - t1:.2f} s ({len(prompt.speech_tokens)} tokens), "
          f"synthesis {res.timings['total_s']:.2f} s: {len(res.speech_tokens)} tokens, {len(res.chunks)} chunk(s) "
          f"{[len(c) for c in res.chunks]}, {dur:.2f} s of audio -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
