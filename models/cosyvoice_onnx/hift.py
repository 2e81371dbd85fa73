"""Export and verification of ``hift.onnx``: mel -> 24 kHz waveform, F0 predictor, harmonic source and iSTFT in one graph.

The wrapper takes a module with the attribute structure of CosyVoice2's ``HiFTGenerator`` (official or
``twin_hift``) and uses only its public parts: ``f0_predictor``, ``m_source.l_sin_gen`` (constants),
``m_source.l_linear``, ``conv_pre``, ``ups``, ``reflection_pad``, ``source_downs``, ``source_resblocks``,
``resblocks``, ``conv_post``, ``num_kernels``, ``num_upsamples``, ``lrelu_slope``, ``istft_params``,
``stft_window``, ``audio_limit``.

Differences from ``HiFTGenerator.inference`` (all arithmetic-preserving):

* the randomness of ``SineGen2`` is an input: ``phase_init`` [B, 9] (element 0 forced to 0) replaces
  ``torch.rand(B, 9)`` and ``noise`` [B, 480·F, 9] replaces ``torch.randn_like(sine_waves)``;
* the linear down-interpolation by 1/480 is evaluated at the two samples it reads (480·i + 239 and
  480·i + 240, weights 1/2), the nearest ×480 upsampling of F0 is a repeat, and the linear ×480
  up-interpolation is computed as ``torch.nn.functional.interpolate(mode="linear", align_corners=False)``
  does (float32 source coordinates, clamped at the edges) with two gathers;
* STFT is a strided convolution with the windowed DFT basis after reflect padding; the inverse STFT is
  a transposed convolution with the windowed inverse basis divided by the overlap-added squared window
  (as ``torch.istft`` does), trimmed by n_fft/2 at both ends. No STFT/DFT/complex ops in the graph.

Note: in the official non-causal SineGen2 the initial phase is added to sample 0 only, and the 1/480
linear down-interpolation never reads sample 0 (frame 0 reads samples 239 and 240), so ``phase_init``
has no effect on the output, in the official module as in this graph. It is kept as an input because
the contract (and the official code) draw it.
"""
from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

OPSET = 17
FORBIDDEN_OPS = {"STFT", "DFT", "MelWeightMatrix"}


# ----------------------------------------------------------------------------------------------
# STFT / iSTFT as convolutions
# ----------------------------------------------------------------------------------------------

def dft_bases(window: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(forward [2·(N/2+1), 1, N], inverse [2·(N/2+1), 1, N]) for a window of length N.

    forward: channel k = window·cos(2πkn/N) (real part), channel N/2+1+k = -window·sin(2πkn/N) (imaginary).
    inverse: the one-sided inverse real DFT (1/N, bins 1..N/2-1 doubled, imaginary parts of DC and
    Nyquist ignored, as irfft) times the synthesis window."""
    n_fft = window.numel()
    bins = n_fft // 2 + 1
    w = window.double()
    n = torch.arange(n_fft, dtype=torch.float64)
    k = torch.arange(bins, dtype=torch.float64).unsqueeze(1)
    angle = 2 * torch.pi * k * n / n_fft                         # [bins, N]
    fwd = torch.cat([torch.cos(angle) * w, -torch.sin(angle) * w], dim=0)
    weight = torch.full((bins, 1), 2.0, dtype=torch.float64)
    weight[0] = 1.0
    if n_fft % 2 == 0:
        weight[-1] = 1.0
    inv = torch.cat([weight * torch.cos(angle), -weight * torch.sin(angle)], dim=0) * w / n_fft
    return fwd.float().unsqueeze(1), inv.float().unsqueeze(1)


class ConvSTFT(nn.Module):
    """torch.stft(center=True, reflect padding, onesided) and torch.istft(center=True) as convolutions."""

    def __init__(self, window: torch.Tensor, hop: int):
        super().__init__()
        self.n_fft = int(window.numel())
        self.hop = int(hop)
        fwd, inv = dft_bases(window)
        self.register_buffer("fwd", fwd, persistent=False)
        self.register_buffer("inv", inv, persistent=False)
        self.register_buffer("win_sq", (window.double() ** 2).float().view(1, 1, -1), persistent=False)

    def stft(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, L] -> [B, 2·(N/2+1), 1 + L/hop]: real parts then imaginary parts (the decode's ``s_stft``)."""
        pad = self.n_fft // 2
        x = F.pad(x.unsqueeze(1), (pad, pad), mode="reflect")
        return F.conv1d(x, self.fwd, stride=self.hop)

    def istft(self, real: torch.Tensor, imag: torch.Tensor) -> torch.Tensor:
        """[B, N/2+1, T] real and imaginary parts -> [B, hop·(T-1)] (torch.istft, center=True, length=None)."""
        frames = F.conv_transpose1d(torch.cat([real, imag], dim=1), self.inv, stride=self.hop)   # [B, 1, N + hop(T-1)]
        envelope = F.conv_transpose1d(torch.ones_like(real[:1, :1, :]), self.win_sq, stride=self.hop)
        pad = self.n_fft // 2
        y = frames[:, 0, pad:-pad] / envelope[:, 0, pad:-pad]
        return y


# ----------------------------------------------------------------------------------------------
# the graph
# ----------------------------------------------------------------------------------------------

class HiFTWrapper(nn.Module):
    """mel [B, 80, F], cache_source [B, 1, K], phase_init [B, 9], noise [B, 480F, 9] -> speech [B, 480F], source [B, 1, 480F]."""

    def __init__(self, hift: nn.Module):
        super().__init__()
        self.hift = hift
        gen = hift.m_source.l_sin_gen
        self.sampling_rate = float(gen.sampling_rate)
        self.scale = int(gen.upsample_scale)
        self.dim = int(gen.harmonic_num) + 1
        self.sine_amp = float(gen.sine_amp)
        self.noise_std = float(gen.noise_std)
        self.voiced_threshold = float(gen.voiced_threshold)
        if getattr(gen, "causal", False) or getattr(gen, "flag_for_pulse", False):
            raise ValueError("only the non-causal SineGen2 without pulse mode is supported")
        hop = int(hift.istft_params["hop_len"])
        if self.scale != int(np.prod([u.stride[0] for u in hift.ups])) * hop:
            raise ValueError("SineGen2 upsample_scale differs from prod(upsample_rates) * hop_len")
        window = getattr(hift, "stft_window", None)
        if window is None:
            n_fft = int(hift.istft_params["n_fft"])
            window = 0.5 - 0.5 * torch.cos(2 * torch.pi * torch.arange(n_fft, dtype=torch.float64) / n_fft)
        self.stft = ConvSTFT(torch.as_tensor(window, dtype=torch.float32), hop)
        self.register_buffer("harmonics", torch.arange(1, self.dim + 1, dtype=torch.float32).view(1, 1, -1),
                             persistent=False)
        # linear down-interpolation by 1/scale (align_corners=False) of a length scale·F signal: output i
        # reads source coordinate scale·i + (scale-1)/2
        centre = (self.scale - 1) / 2
        self.down_i0 = int(np.floor(centre))
        self.down_lambda = float(centre - self.down_i0)
        self.up_inv_scale = float(np.float32(1.0 / self.scale))

    def source(self, f0: torch.Tensor, phase_init: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """f0 [B, F] -> the merged harmonic source [B, 1, scale·F] (SineGen2 + l_linear + tanh)."""
        scale, dim = self.scale, self.dim
        f0_up = f0.unsqueeze(-1).expand(-1, -1, scale).flatten(1).unsqueeze(-1)     # nearest ×scale, [B, L, 1]
        rad = (f0_up * self.harmonics / self.sampling_rate) % 1                        # [B, L, dim]
        init = phase_init * torch.cat([torch.zeros_like(phase_init[:, :1]), torch.ones_like(phase_init[:, 1:])], 1)
        rad = torch.cat([rad[:, :1, :] + init.unsqueeze(1), rad[:, 1:, :]], dim=1)
        # linear down-interpolation: frame i reads samples scale·i + i0 and + i0 + 1
        frames = rad.reshape(rad.size(0), -1, scale, dim)                           # [B, F, scale, dim]
        rad_down = frames[:, :, self.down_i0, :]
        if self.down_lambda > 0:
            rad_down = rad_down * (1 - self.down_lambda) + frames[:, :, self.down_i0 + 1, :] * self.down_lambda
        # torch's CPU cumsum accumulates float32 in float64; doing the same keeps the graph's phases equal to
        # torch's (they reach ~1e4 rad, where float32 accumulation would drift by several ulps)
        phase = torch.cumsum(rad_down.double(), dim=1).float() * 2 * np.pi          # [B, F, dim]
        phase = phase.transpose(1, 2) * scale                                       # [B, dim, F]
        phase = self._linear_up(phase, f0_up)                                       # [B, dim, L]
        sines = torch.sin(phase).transpose(1, 2) * self.sine_amp                    # [B, L, dim]
        uv = (f0_up > self.voiced_threshold).to(torch.float32)
        noise_amp = uv * self.noise_std + (1 - uv) * self.sine_amp / 3
        sine_waves = sines * uv + noise_amp * noise
        merged = torch.tanh(self.hift.m_source.l_linear(sine_waves))               # [B, L, 1]
        return merged.transpose(1, 2)

    def _linear_up(self, x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """F.interpolate(x, scale_factor=scale, mode="linear") for x [B, C, F], output length like.size(1)."""
        dst = torch.cumsum(torch.ones_like(like[0, :, 0]), dim=0) - 1               # 0 ... L-1, float32
        src = torch.clamp(self.up_inv_scale * (dst + 0.5) - 0.5, min=0.0)
        i0f = torch.floor(src)
        lam = src - i0f
        i0 = i0f.to(torch.int64)
        last = torch.ones_like(x[0, 0, :], dtype=torch.int64).sum() - 1            # F - 1
        i0 = torch.minimum(i0, last)
        i1 = torch.minimum(i0 + 1, last)
        x0 = torch.index_select(x, 2, i0)
        x1 = torch.index_select(x, 2, i1)
        return x0 * (1 - lam) + x1 * lam

    def decode(self, mel: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        h = self.hift
        s_stft = self.stft.stft(s[:, 0, :])
        x = h.conv_pre(mel)
        for i in range(h.num_upsamples):
            x = h.ups[i](F.leaky_relu(x, h.lrelu_slope))
            if i == h.num_upsamples - 1:
                x = h.reflection_pad(x)
            x = x + h.source_resblocks[i](h.source_downs[i](s_stft))
            xs = None
            for j in range(h.num_kernels):
                y = h.resblocks[i * h.num_kernels + j](x)
                xs = y if xs is None else xs + y
            x = xs / h.num_kernels
        x = h.conv_post(F.leaky_relu(x))
        bins = int(h.istft_params["n_fft"]) // 2 + 1
        magnitude = torch.clamp(torch.exp(x[:, :bins, :]), max=1e2)
        phase = torch.sin(x[:, bins:, :])
        wave = self.stft.istft(magnitude * torch.cos(phase), magnitude * torch.sin(phase))
        return torch.clamp(wave, -h.audio_limit, h.audio_limit)

    def forward(self, mel, cache_source, phase_init, noise):
        f0 = self.hift.f0_predictor(mel)                                            # [B, F]
        s = self.source(f0, phase_init, noise)
        s = torch.cat([cache_source, s[:, :, cache_source.size(2):]], dim=2)      # the cache replaces the first K samples
        return self.decode(mel, s), s


def hift_section(hift: nn.Module) -> dict:
    return {
        "upsample_rates": [int(u.stride[0]) for u in hift.ups],
        "istft_n_fft": int(hift.istft_params["n_fft"]),
        "istft_hop": int(hift.istft_params["hop_len"]),
        "nb_harmonics": int(hift.nb_harmonics),
        "audio_limit": float(hift.audio_limit),
    }


def _inputs(batch: int, frames: int, cache: int, seed: int = 0, scale: int = 480, dim: int = 9):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(batch, 80, frames, generator=g) * 2 - 5,
            torch.randn(batch, 1, cache, generator=g) * 0.1,
            torch.rand(batch, dim, generator=g),
            torch.randn(batch, scale * frames, dim, generator=g))


def graph_ops(path) -> set[str]:
    import onnx
    model = onnx.load(str(path), load_external_data=False)
    ops = {n.op_type for n in model.graph.node}
    for fn in model.functions:
        ops |= {n.op_type for n in fn.node}
    return ops


def export_hift(hift: nn.Module, out_dir) -> dict:
    """Writes hift.onnx into ``out_dir``; returns the model.json ``hift`` section."""
    out_dir = Path(out_dir)
    hift = hift.eval()
    wrapper = HiFTWrapper(hift).eval()
    path = out_dir / "hift.onnx"
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")   # legacy-exporter deprecation and tracer notes
        torch.onnx.export(wrapper, _inputs(2, 12, 960, scale=wrapper.scale, dim=wrapper.dim), str(path), dynamo=False,
                          opset_version=OPSET, do_constant_folding=True,
                          input_names=["mel", "cache_source", "phase_init", "noise"], output_names=["speech", "source"],
                          dynamic_axes={"mel": {0: "B", 2: "F"}, "cache_source": {0: "B", 2: "K"},
                                        "phase_init": {0: "B"}, "noise": {0: "B", 1: "L"},
                                        "speech": {0: "B", 1: "L"}, "source": {0: "B", 2: "L"}})
    bad = graph_ops(path) & FORBIDDEN_OPS
    if bad:
        raise RuntimeError(f"hift.onnx contains {sorted(bad)}")
    return hift_section(hift)


# ----------------------------------------------------------------------------------------------
# verification
# ----------------------------------------------------------------------------------------------

# tolerances, max |a - b| (speech and source are bounded by 1). The harmonic phases reach ~1e4 rad within a
# second, so a 1-ulp difference in F0 (e.g. ORT vs torch convolutions) or in the interpolation weights shifts
# them by ~1e-3 rad: source samples (amplitude ~0.1 per harmonic) then differ by a few 1e-4 at 60 frames.
SOURCE_TOL = 2e-3           # source, wrapper vs official path and ONNX vs wrapper
SPEECH_TOL = 5e-3           # speech: harmonic phases reach ~1e4 rad, so 1-ulp F0 differences drift samples by a few 1e-3 (of a ±0.99 waveform)
ISTFT_TOL = 1e-5            # conv iSTFT vs torch.istft, relative to max |x|


def _session(path: Path):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _check(report: dict, name: str, err: float, tol: float) -> None:
    report[name] = err
    if not err <= tol:
        raise AssertionError(f"hift verification {name}: error {err:.3g} exceeds {tol:.3g}")


def _maxabs(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


@torch.inference_mode()
def verify_stft(hift: nn.Module, seed: int = 0) -> dict:
    """(c) the conv STFT vs ``hift._stft`` (torch.stft) and the conv iSTFT vs ``hift._istft`` (torch.istft)."""
    report: dict = {}
    wrapper = HiFTWrapper(hift)
    g = torch.Generator().manual_seed(seed)
    bins = int(hift.istft_params["n_fft"]) // 2 + 1
    x = torch.randn(2, 4 * 300, generator=g) * 0.3
    real, imag = hift._stft(x)
    ours = wrapper.stft.stft(x)
    ref = torch.cat([real, imag], dim=1)
    _check(report, "conv_stft_vs_torch_stft", _maxabs(ours, ref) / float(ref.abs().max()), ISTFT_TOL)
    magnitude = torch.exp(torch.randn(2, bins, 301, generator=g) - 1)
    magnitude[0, :, :5] = 1e3                                       # exercise the clip at 100
    phase = torch.randn(2, bins, 301, generator=g) * 3
    ref = hift._istft(magnitude, phase)
    m = torch.clamp(magnitude, max=1e2)
    ours = wrapper.stft.istft(m * torch.cos(phase), m * torch.sin(phase))
    _check(report, "conv_istft_vs_torch_istft", _maxabs(ours, ref) / float(ref.abs().max()), ISTFT_TOL)
    return report


@torch.inference_mode()
def verify_hift(hift: nn.Module, out_dir, frames: int = 60, seed: int = 0) -> dict:
    """Compares hift.onnx and the wrapper with the PyTorch module; raises AssertionError past the tolerances.

    (a) wrapper in torch vs ``hift.inference(speech_feat=mel, cache_source=...)`` with the randomness made
        equal (seed torch, draw ``phase_init = torch.rand(B, 9)`` then the noise, as SineGen2 draws them:
        its ``randn_like`` fills a transposed tensor: ``torch.empty(B, 9, L).transpose(1, 2).normal_()``;
        reseed, run the module), with and without a cache;
    (b) ONNX vs the wrapper at two batch sizes / lengths / cache lengths; output length 480·F, |speech| <= limit;
    (c) the conv STFT/iSTFT vs torch.stft/torch.istft.
    """
    out_dir = Path(out_dir)
    hift = hift.eval()
    wrapper = HiFTWrapper(hift).eval()
    report: dict = {}
    scale, dim = wrapper.scale, wrapper.dim
    g = torch.Generator().manual_seed(seed)

    # (a) wrapper vs official path, B = 1 (the official inference's batch) and B = 2
    for batch, cache in ((1, 0), (1, 3 * scale), (2, 960)):
        mel = torch.randn(batch, 80, frames, generator=g) * 2 - 5
        cache_source = torch.randn(batch, 1, cache, generator=g) * 0.1
        torch.manual_seed(seed + 17)
        phase_init = torch.rand(batch, dim)
        # SineGen2's randn_like() fills a transposed ([B, dim, L] in memory, non-contiguous) tensor,
        # which torch fills element by element rather than with its contiguous vectorised sampler
        noise = torch.empty(batch, dim, scale * frames).transpose(1, 2).normal_()
        torch.manual_seed(seed + 17)
        ref_speech, ref_source = hift.inference(speech_feat=mel, cache_source=cache_source)
        speech, source = wrapper(mel, cache_source, phase_init, noise)
        tag = f"B{batch}_K{cache}"
        _check(report, f"wrapper_vs_module_source_{tag}", _maxabs(source, ref_source), SOURCE_TOL)
        _check(report, f"wrapper_vs_module_speech_{tag}", _maxabs(speech, ref_speech), SPEECH_TOL)

    # (b) ONNX vs wrapper
    sess = _session(out_dir / "hift.onnx")
    for batch, n_frames, cache in ((1, 37, 0), (2, frames, 3840 if frames * scale > 3840 else scale)):
        mel, cache_source, phase_init, noise = _inputs(batch, n_frames, cache, seed=seed + batch, scale=scale, dim=dim)
        speech, source = wrapper(mel, cache_source, phase_init, noise)
        got_speech, got_source = sess.run(["speech", "source"], {
            "mel": mel.numpy(), "cache_source": cache_source.numpy(), "phase_init": phase_init.numpy(),
            "noise": noise.numpy()})
        tag = f"B{batch}_F{n_frames}_K{cache}"
        if got_speech.shape != (batch, scale * n_frames) or got_source.shape != (batch, 1, scale * n_frames):
            raise AssertionError(f"onnx {tag}: shapes {got_speech.shape} {got_source.shape}")
        if not np.all(np.isfinite(got_speech)) or np.abs(got_speech).max() > hift.audio_limit + 1e-6:
            raise AssertionError(f"onnx {tag}: speech not finite or beyond the audio limit")
        if cache and not np.array_equal(got_source[:, :, :cache], cache_source.numpy()):
            raise AssertionError(f"onnx {tag}: the first K source samples are not cache_source")
        _check(report, f"onnx_vs_wrapper_source_{tag}", _maxabs(got_source, source), SOURCE_TOL)
        _check(report, f"onnx_vs_wrapper_speech_{tag}", _maxabs(got_speech, speech), SPEECH_TOL)

    report.update(verify_stft(hift, seed))
    return report


def time_hift(out_dir, frames: int = 100, batch: int = 1, repeats: int = 1) -> float:
    """Seconds for one hift.onnx call (best of ``repeats`` after a warm-up)."""
    sess = _session(Path(out_dir) / "hift.onnx")
    mel, cache_source, phase_init, noise = _inputs(batch, frames, 0)
    feeds = {"mel": mel.numpy(), "cache_source": cache_source.numpy(), "phase_init": phase_init.numpy(),
             "noise": noise.numpy()}
    sess.run(None, feeds)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        sess.run(None, feeds)
        best = min(best, time.perf_counter() - started)
    return best
