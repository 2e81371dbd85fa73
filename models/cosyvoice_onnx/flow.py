"""Export and verification of the flow graphs: ``flow_encoder.onnx``, ``flow_estimator.onnx``, ``flow_noise.npy``.

The wrappers take a module with the attribute structure of CosyVoice2's ``CausalMaskedDiffWithXvec``
(official checkpoint or ``twin_flow``) and use only its public submodules:

    flow.input_embedding, flow.spk_embed_affine_layer, flow.encoder_proj, flow.pre_lookahead_len,
    flow.encoder.{embed, pre_lookahead_layer, encoders, up_layer(.stride), up_embed, up_encoders,
                  after_norm, static_chunk_size},
    flow.decoder.{estimator, rand_noise, inference_cfg_rate, t_scheduler}

``flow_encoder.onnx`` re-composes ``CausalMaskedDiffWithXvec.inference`` (encoder part) and
``UpsampleConformerEncoder.forward`` so that one graph serves every call the runtime makes:

* the look-ahead tokens are always an input; ``lookahead_mask`` = 0 zeroes their embeddings, which is
  exactly the zero padding ``PreLookaheadLayer`` applies on the final chunk (``finalize=True``), and
  ``lookahead_mask`` = 1 is the official ``context=`` path;
* the attention mask is computed from the ``attention_chunk`` tensor: 0 = full attention
  (``streaming=False``), n = the static chunk mask of n tokens before and 2n frames after the upsampling
  (``streaming=True`` with n = static_chunk_size);
* the relative positional encodings are computed in the graph from the ESPnet formula instead of being
  sliced from the module's precomputed table (checked equal at export), so the graph has no length
  limit and carries no large constant.
"""
from __future__ import annotations

import math
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

OPSET = 17
N_TIMESTEPS = 10
# a chunk size no sequence reaches: "attention_chunk = 0" becomes one chunk covering everything
_NO_CHUNK = 1 << 30


def _tensor_chunk_mask(size_like: torch.Tensor, chunk: torch.Tensor) -> torch.Tensor:
    """[1, T, T] bool static chunk mask, T = size_like.size(1); ``chunk`` is a 1-element int64 tensor, <= 0 = full.

    Built with cumsum over a ones row instead of arange so that the traced graph stays dynamic in T."""
    pos = torch.cumsum(torch.ones_like(size_like[0, :, 0], dtype=torch.int64), dim=0) - 1  # [T]
    n = torch.where(chunk > 0, chunk, torch.full_like(chunk, _NO_CHUNK))                    # [1]
    chunk_end = (torch.div(pos, n, rounding_mode="floor") + 1) * n                          # [T]
    return (pos.unsqueeze(0) < chunk_end.unsqueeze(1)).unsqueeze(0)


def _rel_pos_emb(x: torch.Tensor, div_term: torch.Tensor) -> torch.Tensor:
    """ESPnet relative positional encoding for T = x.size(1): relative positions T-1 ... -(T-1),
    [1, 2T-1, d] with sin at even and cos at odd channels (EspnetRelPositionalEncoding)."""
    ones = torch.ones_like(x[0, :, 0])                          # [T]
    forward_pos = torch.cumsum(ones, dim=0) - 1                 # 0 ... T-1
    positive = torch.flip(forward_pos, [0]).unsqueeze(1)         # T-1 ... 0
    negative = forward_pos[1:].unsqueeze(1)                     # 1 ... T-1
    arg_pos = positive * div_term                               # position * div_term, as the module
    arg_neg = -1 * negative * div_term
    pe_pos = torch.stack([torch.sin(arg_pos), torch.cos(arg_pos)], dim=-1).flatten(1)
    pe_neg = torch.stack([torch.sin(arg_neg), torch.cos(arg_neg)], dim=-1).flatten(1)
    return torch.cat([pe_pos, pe_neg], dim=0).unsqueeze(0)


def _div_term(d_model: int) -> torch.Tensor:
    return torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * -(math.log(10000.0) / d_model))


class FlowEncoderWrapper(nn.Module):
    """token/lookahead/lookahead_mask/attention_chunk/embedding -> mu [1, 80, 2T], spks [1, 80]."""

    def __init__(self, flow: nn.Module):
        super().__init__()
        self.flow = flow
        enc = flow.encoder
        self.enc = enc
        self.stride = int(enc.up_layer.stride)
        if getattr(enc, "global_cmvn", None) is not None:
            raise ValueError("flow.encoder.global_cmvn is set; the wrapper does not apply it")
        self.normalize_before = bool(getattr(enc, "normalize_before", True))
        d_embed = enc.embed.out[0].out_features if hasattr(enc.embed, "out") else enc.output_size()
        d_up = enc.up_embed.out[0].out_features if hasattr(enc.up_embed, "out") else enc.output_size()
        self.register_buffer("div_term", _div_term(d_embed), persistent=False)
        self.register_buffer("div_term_up", _div_term(d_up), persistent=False)

    def check_positional_encoding(self, length: int = 16) -> None:
        """The in-graph encodings must equal what the module's ``embed``/``up_embed`` return."""
        for embed, div in ((self.enc.embed, self.div_term), (self.enc.up_embed, self.div_term_up)):
            x = torch.zeros(1, length, embed.out[0].in_features if hasattr(embed, "out") else div.numel() * 2)
            _, pos_emb, _ = embed(x, torch.ones(1, 1, length, dtype=torch.bool))
            ours = _rel_pos_emb(torch.zeros(1, length, 1), div)
            if pos_emb.shape != ours.shape or not torch.allclose(pos_emb, ours, atol=1e-5):
                raise ValueError("flow.encoder positional encoding is not the ESPnet relative encoding "
                                 f"the wrapper computes ({tuple(pos_emb.shape)} vs {tuple(ours.shape)})")

    def _layers(self, layers, xs, chunk, div_term, chunk_scale: int):
        ones = torch.ones_like(xs[:, :, :1]).transpose(1, 2).bool()   # [1, 1, T] padding mask (no padding)
        pos_emb = _rel_pos_emb(xs, div_term)
        chunk_masks = _tensor_chunk_mask(xs, chunk * chunk_scale) & ones
        for layer in layers:
            xs, chunk_masks, _, _ = layer(xs, chunk_masks, pos_emb, ones)
        return xs

    def forward(self, token, lookahead, lookahead_mask, attention_chunk, embedding):
        flow, enc = self.flow, self.enc
        spks = flow.spk_embed_affine_layer(F.normalize(embedding, dim=1))
        xs = flow.input_embedding(torch.clamp(token, min=0))
        ctx = flow.input_embedding(torch.clamp(lookahead, min=0))
        ones = torch.ones_like(xs[:, :, :1]).transpose(1, 2).bool()
        xs, _, _ = enc.embed(xs, ones)
        ctx, _, _ = enc.embed(ctx, torch.ones_like(ctx[:, :, :1]).transpose(1, 2).bool())
        ctx = ctx * lookahead_mask.unsqueeze(-1)       # masked look-ahead == the official zero padding
        xs = enc.pre_lookahead_layer(xs, context=ctx)
        xs = self._layers(enc.encoders, xs, attention_chunk, self.div_term, 1)
        xs, _ = enc.up_layer(xs.transpose(1, 2).contiguous(), torch.ones_like(attention_chunk))
        xs = xs.transpose(1, 2).contiguous()
        xs, _, _ = enc.up_embed(xs, torch.ones_like(xs[:, :, :1]).transpose(1, 2).bool())
        xs = self._layers(enc.up_encoders, xs, attention_chunk, self.div_term_up, self.stride)
        if self.normalize_before:
            xs = enc.after_norm(xs)
        mu = flow.encoder_proj(xs).transpose(1, 2).contiguous()
        return mu, spks


class EstimatorWrapper(nn.Module):
    """The estimator with full attention (``streaming=False``), output named ``velocity``."""

    def __init__(self, estimator: nn.Module):
        super().__init__()
        self.estimator = estimator

    def forward(self, x, mask, mu, t, spks, cond):
        return self.estimator(x, mask, mu, t, spks, cond, streaming=False)


def _export(module, args, path, input_names, output_names, dynamic_axes):
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")   # legacy-exporter deprecation and tracer notes about python-side checks
        torch.onnx.export(module, args, str(path), dynamo=False, opset_version=OPSET, do_constant_folding=True,
                          input_names=input_names, output_names=output_names, dynamic_axes=dynamic_axes)


def _fix_dim(path: Path, output: str, axis: int, value: int) -> None:
    """Sets a graph output's dimension the exporter left symbolic (cosmetic: it is 1 by construction)."""
    import onnx
    model = onnx.load(str(path))
    for value_info in model.graph.output:
        if value_info.name == output:
            value_info.type.tensor_type.shape.dim[axis].Clear()
            value_info.type.tensor_type.shape.dim[axis].dim_value = value
    onnx.save(model, str(path))


def _encoder_inputs(tokens: int, vocab: int, seed: int = 0, chunk: int = 0, mask: float = 1.0, spk_dim: int = 192):
    g = torch.Generator().manual_seed(seed)
    return (torch.randint(0, vocab, (1, tokens), generator=g),
            torch.randint(0, vocab, (1, 3), generator=g),
            torch.full((1, 3), mask),
            torch.tensor([chunk], dtype=torch.int64),
            torch.randn(1, spk_dim, generator=g))


def flow_section(flow: nn.Module, noise_frames: int) -> dict:
    return {
        "vocab_size": int(flow.input_embedding.num_embeddings),
        "mel_bins": int(flow.encoder_proj.out_features),
        "spk_embed_dim": int(flow.spk_embed_affine_layer.in_features),
        "pre_lookahead_len": int(flow.pre_lookahead_len),
        "static_chunk_size": int(flow.encoder.static_chunk_size),
        "n_timesteps": N_TIMESTEPS,
        "t_scheduler": str(flow.decoder.t_scheduler),
        "cfg_rate": float(flow.decoder.inference_cfg_rate),
        "noise_frames": int(noise_frames),
    }


def export_flow(flow: nn.Module, out_dir, noise_frames: int | None = None) -> dict:
    """Writes flow_encoder.onnx, flow_estimator.onnx and flow_noise.npy into ``out_dir``; returns the
    model.json ``flow`` section."""
    out_dir = Path(out_dir)
    flow = flow.eval()
    if flow.pre_lookahead_len != 3:
        raise ValueError(f"pre_lookahead_len {flow.pre_lookahead_len}: the contract fixes 3")
    if flow.decoder.t_scheduler != "cosine":
        raise ValueError(f"t_scheduler {flow.decoder.t_scheduler!r}: the contract fixes cosine")
    noise = flow.decoder.rand_noise.detach().float().cpu().numpy()[0]  # [80, 15000]
    if noise_frames is None:
        noise_frames = noise.shape[1]
    if not 0 < noise_frames <= noise.shape[1]:
        raise ValueError(f"noise_frames {noise_frames} not in (0, {noise.shape[1]}]")
    np.save(out_dir / "flow_noise.npy", np.ascontiguousarray(noise[:, :noise_frames], dtype="<f4"))

    vocab, spk_dim = flow.input_embedding.num_embeddings, flow.spk_embed_affine_layer.in_features
    wrapper = FlowEncoderWrapper(flow).eval()
    wrapper.check_positional_encoding()
    _export(wrapper, _encoder_inputs(31, vocab, chunk=25, spk_dim=spk_dim), out_dir / "flow_encoder.onnx",
            ["token", "lookahead", "lookahead_mask", "attention_chunk", "embedding"], ["mu", "spks"],
            {"token": {1: "T"}, "mu": {2: "F"}})

    _fix_dim(out_dir / "flow_encoder.onnx", "mu", 0, 1)

    est = EstimatorWrapper(flow.decoder.estimator).eval()
    mel = flow.encoder_proj.out_features
    g = torch.Generator().manual_seed(0)
    b, frames = 2, 64
    args = (torch.randn(b, mel, frames, generator=g), torch.ones(b, 1, frames), torch.randn(b, mel, frames, generator=g),
            torch.rand(b, generator=g), torch.randn(b, mel, generator=g), torch.randn(b, mel, frames, generator=g))
    seq = {0: "B", 2: "F"}
    _export(est, args, out_dir / "flow_estimator.onnx", ["x", "mask", "mu", "t", "spks", "cond"], ["velocity"],
            {"x": seq, "mask": seq, "mu": seq, "cond": seq, "t": {0: "B"}, "spks": {0: "B"}, "velocity": seq})
    return flow_section(flow, noise_frames)


# ----------------------------------------------------------------------------------------------
# verification
# ----------------------------------------------------------------------------------------------

def _session(path: Path):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _rel_err(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| / max(1, max |b|)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


def _check(report: dict, name: str, err: float, tol: float) -> None:
    report[name] = err
    if not err <= tol:   # also catches NaN
        raise AssertionError(f"flow verification {name}: error {err:.3g} exceeds {tol:.3g}")


# tolerances, on max |onnx - torch| / max(1, max |torch|)
ENCODER_TOL = 1e-4
ESTIMATOR_TOL = 1e-4
SOLVE_TOL = 1e-3


def euler_solve(estimator_session, mu: np.ndarray, spks: np.ndarray, cond: np.ndarray, noise: np.ndarray,
                cfg_rate: float, n_timesteps: int = N_TIMESTEPS) -> np.ndarray:
    """The contract's flow matching in numpy over flow_estimator.onnx. mu/cond [1, 80, F], spks [1, 80]."""
    frames = mu.shape[2]
    x = noise[None, :, :frames].astype(np.float32)
    t_span = 1 - np.cos(np.linspace(0, 1, n_timesteps + 1, dtype=np.float64) * 0.5 * np.pi)
    mask = np.ones((2, 1, frames), np.float32)
    zeros = np.zeros_like
    mu_in = np.concatenate([mu, zeros(mu)]).astype(np.float32)
    spks_in = np.concatenate([spks, zeros(spks)]).astype(np.float32)
    cond_in = np.concatenate([cond, zeros(cond)]).astype(np.float32)
    for k in range(n_timesteps):
        feeds = {"x": np.concatenate([x, x]), "mask": mask, "mu": mu_in,
                 "t": np.full((2,), t_span[k], np.float32), "spks": spks_in, "cond": cond_in}
        v = estimator_session.run(["velocity"], feeds)[0]
        v = (1.0 + cfg_rate) * v[:1] - cfg_rate * v[1:]
        x = (x + np.float32(t_span[k + 1] - t_span[k]) * v).astype(np.float32)
    return x


@torch.inference_mode()
def verify_flow(flow: nn.Module, out_dir, tokens: int = 60, seed: int = 0) -> dict:
    """Compares the flow graphs with the PyTorch module; raises AssertionError past the tolerances.

    * encoder: the graph vs the module path of the official inference (``flow.encoder(xs, xs_lens,
      context=..., streaming=...)`` + ``encoder_proj``; speaker projection) for the final chunk
      (``lookahead_mask`` 0 vs no context) and a middle chunk (``lookahead_mask`` 1 vs ``context=``), with
      full attention (0 vs ``streaming=False``) and the chunk mask (static_chunk_size vs ``streaming=True``);
    * estimator vs ``flow.decoder.estimator`` at two batch sizes and lengths;
    * the contract's 10-step CFG Euler solve in numpy over the estimator graph vs ``flow.decoder(...)``
      and end to end vs ``flow.inference(...)`` (non-streaming).
    """
    out_dir = Path(out_dir)
    flow = flow.eval()
    report: dict = {}
    noise = np.load(out_dir / "flow_noise.npy")
    if noise.shape[1] < 2 * tokens:
        raise ValueError(f"flow_noise.npy has {noise.shape[1]} frames; verification needs {2 * tokens}")
    enc_sess = _session(out_dir / "flow_encoder.onnx")
    est_sess = _session(out_dir / "flow_estimator.onnx")
    vocab, spk_dim = flow.input_embedding.num_embeddings, flow.spk_embed_affine_layer.in_features
    chunk = int(flow.encoder.static_chunk_size)
    la = int(flow.pre_lookahead_len)

    g = torch.Generator().manual_seed(seed)
    all_tokens = torch.randint(0, vocab, (1, tokens + la), generator=g)
    embedding = torch.randn(1, spk_dim, generator=g)
    spks_ref = flow.spk_embed_affine_layer(F.normalize(embedding, dim=1))
    outputs = {}
    for final in (True, False):
        for streaming in (False, True):
            if final:   # the final chunk: every token, no look-ahead
                tok, look, lmask = all_tokens[:, :tokens], torch.zeros(1, la, dtype=torch.int64), 0.0
                xs = flow.input_embedding(tok)
                h, _ = flow.encoder(xs, torch.tensor([tokens]), streaming=streaming)
            else:       # a middle chunk: the last `la` tokens are look-ahead
                tok, look, lmask = all_tokens[:, :tokens], all_tokens[:, tokens:], 1.0
                emb = flow.input_embedding(all_tokens)
                h, _ = flow.encoder(emb[:, :tokens], torch.tensor([tokens + la]), context=emb[:, tokens:],
                                    streaming=streaming)
            mu_ref = flow.encoder_proj(h).transpose(1, 2).numpy()
            feeds = {"token": tok.numpy(), "lookahead": look.numpy(),
                     "lookahead_mask": np.full((1, la), lmask, np.float32),
                     "attention_chunk": np.array([chunk if streaming else 0], np.int64),
                     "embedding": embedding.numpy()}
            mu, spks = enc_sess.run(["mu", "spks"], feeds)
            name = f"encoder_{'final' if final else 'context'}_{'chunk' if streaming else 'full'}"
            if mu.shape != (1, flow.encoder_proj.out_features, 2 * tokens):
                raise AssertionError(f"{name}: mu shape {mu.shape}")
            _check(report, name, _rel_err(mu, mu_ref), ENCODER_TOL)
            _check(report, name + "_spks", _rel_err(spks, spks_ref.numpy()), ENCODER_TOL)
            outputs[(final, streaming)] = mu
    # the chunk mask must matter when there is more than one chunk, and only after the first chunk
    if tokens > chunk:
        diff = np.abs(outputs[(True, True)] - outputs[(True, False)])
        report["chunk_vs_full_max_diff"] = float(diff.max())
        if not diff.max() > 1e-4:
            raise AssertionError("streaming and full attention give the same mu")

    # estimator, two shapes (dynamic batch and length)
    mel = flow.encoder_proj.out_features
    for b, frames in ((2, 2 * tokens), (1, 37)):
        x = torch.randn(b, mel, frames, generator=g)
        mask = torch.ones(b, 1, frames)
        mu_t = torch.randn(b, mel, frames, generator=g)
        t = torch.rand(b, generator=g)
        spk = torch.randn(b, mel, generator=g)
        cond = torch.randn(b, mel, frames, generator=g)
        ref = flow.decoder.estimator(x, mask, mu_t, t, spk, cond, streaming=False).numpy()
        got = est_sess.run(["velocity"], {"x": x.numpy(), "mask": mask.numpy(), "mu": mu_t.numpy(), "t": t.numpy(),
                                          "spks": spk.numpy(), "cond": cond.numpy()})[0]
        _check(report, f"estimator_B{b}_F{frames}", _rel_err(got, ref), ESTIMATOR_TOL)

    # the full CFG Euler solve: numpy over the estimator graph vs the module's own decoder
    cfg = float(flow.decoder.inference_cfg_rate)
    prompt_frames = 20
    mu = outputs[(True, False)]
    frames = mu.shape[2]
    cond = np.zeros_like(mu)
    cond[:, :, :prompt_frames] = torch.randn(1, mel, prompt_frames, generator=g).numpy()
    spks_np = spks_ref.numpy()
    ours = euler_solve(est_sess, mu, spks_np, cond, noise, cfg)
    ref, _ = flow.decoder(mu=torch.from_numpy(mu), mask=torch.ones(1, 1, frames), n_timesteps=N_TIMESTEPS,
                          spks=spks_ref, cond=torch.from_numpy(cond), streaming=False)
    _check(report, "euler_solve_vs_decoder", _rel_err(ours, ref.numpy()), SOLVE_TOL)

    # end to end, non-streaming: prompt tokens + tokens -> mel, final and middle chunk
    prompt_tokens = prompt_frames // 2
    prompt_feat = torch.randn(1, prompt_frames, mel, generator=g)
    for final in (True, False):
        gen = all_tokens[:, prompt_tokens:] if not final else all_tokens[:, prompt_tokens:tokens]
        ref, _ = flow.inference(token=gen, token_len=torch.tensor([gen.shape[1]]),
                                prompt_token=all_tokens[:, :prompt_tokens], prompt_token_len=torch.tensor([prompt_tokens]),
                                prompt_feat=prompt_feat, prompt_feat_len=torch.tensor([prompt_frames]),
                                embedding=embedding, streaming=False, finalize=final)
        feeds = {"token": all_tokens[:, :tokens].numpy(),
                 "lookahead": all_tokens[:, tokens:].numpy() if not final else np.zeros((1, la), np.int64),
                 "lookahead_mask": np.full((1, la), 0.0 if final else 1.0, np.float32),
                 "attention_chunk": np.array([0], np.int64), "embedding": embedding.numpy()}
        mu, spks = enc_sess.run(["mu", "spks"], feeds)
        cond = np.zeros_like(mu)
        cond[:, :, :prompt_frames] = prompt_feat.transpose(1, 2).numpy()
        ours = euler_solve(est_sess, mu, spks, cond, noise, cfg)[:, :, prompt_frames:]
        _check(report, f"inference_{'final' if final else 'context'}", _rel_err(ours, ref.numpy()), SOLVE_TOL)
    return report


def time_estimator(out_dir, batch: int = 2, frames: int = 500, repeats: int = 1) -> float:
    """Seconds for one flow_estimator.onnx call (best of ``repeats`` after a warm-up)."""
    sess = _session(Path(out_dir) / "flow_estimator.onnx")
    rng = np.random.default_rng(0)
    feeds = {"x": rng.standard_normal((batch, 80, frames), np.float32), "mask": np.ones((batch, 1, frames), np.float32),
             "mu": rng.standard_normal((batch, 80, frames), np.float32), "t": np.full((batch,), 0.5, np.float32),
             "spks": rng.standard_normal((batch, 80), np.float32),
             "cond": rng.standard_normal((batch, 80, frames), np.float32)}
    sess.run(None, feeds)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        sess.run(None, feeds)
        best = min(best, time.perf_counter() - started)
    return best
