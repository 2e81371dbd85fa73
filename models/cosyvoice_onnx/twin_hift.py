"""Random-weight twin of CosyVoice2's HiFT vocoder (``HiFTGenerator`` with ``ConvRNNF0Predictor``).

Mimics the official attribute structure and call signatures the export wrapper in ``hift.py`` uses:

    hift.f0_predictor                  ConvRNNF0Predictor-like: condnet (5 weight-normed convs + ELU), classifier
    hift.m_source.l_sin_gen            SineGen2-like (sampling_rate 24000, upsample_scale 480, harmonic_num 8,
                                       sine_amp 0.1, noise_std 0.003, voiced_threshold 10), non-causal
    hift.m_source.l_linear             Linear(9, 1)
    hift.conv_pre / ups / source_downs / source_resblocks / resblocks / conv_post / reflection_pad
    hift.decode(x, s), hift._stft(x), hift._istft(magnitude, phase), hift.inference(speech_feat, cache_source)
    hift.istft_params, hift.audio_limit, hift.stft_window, hift.num_kernels, hift.num_upsamples, hift.lrelu_slope

Written from the behaviour of the official code (same arithmetic, random draws in the same order), not
copied. The random weights are calibrated once at construction so the twin is plausible: F0 mostly in
100-250 Hz (a harmonic source), STFT log-magnitudes around -1.5 (speech-like levels, not clipped).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

SAMPLE_RATE = 24000
UPSAMPLE_RATES = [8, 5, 3]
UPSAMPLE_KERNELS = [16, 11, 7]
ISTFT = {"n_fft": 16, "hop_len": 4}
RESBLOCK_KERNELS = [3, 7, 11]
RESBLOCK_DILATIONS = [[1, 3, 5], [1, 3, 5], [1, 3, 5]]
SOURCE_RESBLOCK_KERNELS = [7, 7, 11]
SOURCE_RESBLOCK_DILATIONS = [[1, 3, 5], [1, 3, 5], [1, 3, 5]]

SIZES = {"full": dict(base_channels=512, cond_channels=512), "tiny": dict(base_channels=16, cond_channels=16)}


def _padding(kernel: int, dilation: int = 1) -> int:
    return (kernel * dilation - dilation) // 2


class Snake(nn.Module):
    """x + sin(alpha x)^2 / alpha, per channel."""

    def __init__(self, in_features: int, alpha: float = 1.0):
        super().__init__()
        self.in_features = in_features
        self.alpha_logscale = False
        self.alpha = nn.Parameter(torch.ones(in_features) * alpha)
        self.no_div_by_zero = 0.000000001

    def forward(self, x):
        alpha = self.alpha.unsqueeze(0).unsqueeze(-1)
        return x + (1.0 / (alpha + self.no_div_by_zero)) * torch.pow(torch.sin(x * alpha), 2)


class ResBlock(nn.Module):
    def __init__(self, channels: int, kernel_size: int, dilations):
        super().__init__()
        self.convs1 = nn.ModuleList([weight_norm(nn.Conv1d(channels, channels, kernel_size, 1, dilation=d,
                                                           padding=_padding(kernel_size, d))) for d in dilations])
        self.convs2 = nn.ModuleList([weight_norm(nn.Conv1d(channels, channels, kernel_size, 1, dilation=1,
                                                           padding=_padding(kernel_size, 1))) for _ in dilations])
        self.activations1 = nn.ModuleList([Snake(channels) for _ in dilations])
        self.activations2 = nn.ModuleList([Snake(channels) for _ in dilations])

    def forward(self, x):
        for c1, c2, a1, a2 in zip(self.convs1, self.convs2, self.activations1, self.activations2):
            x = c2(a2(c1(a1(x)))) + x
        return x


class SineGen2(nn.Module):
    """Harmonic sine source, non-causal: the per-sample phase increment is averaged down to frame rate,
    accumulated, and linearly interpolated back up (official SineGen2 arithmetic)."""

    def __init__(self, samp_rate: int, upsample_scale: int, harmonic_num: int = 0, sine_amp: float = 0.1,
                 noise_std: float = 0.003, voiced_threshold: float = 0):
        super().__init__()
        self.sine_amp = sine_amp
        self.noise_std = noise_std
        self.harmonic_num = harmonic_num
        self.dim = harmonic_num + 1
        self.sampling_rate = samp_rate
        self.voiced_threshold = voiced_threshold
        self.flag_for_pulse = False
        self.upsample_scale = upsample_scale
        self.causal = False

    def _f02uv(self, f0):
        return (f0 > self.voiced_threshold).type(torch.float32)

    def _f02sine(self, f0_values):
        rad_values = (f0_values / self.sampling_rate) % 1
        rand_ini = torch.rand(f0_values.shape[0], f0_values.shape[2], device=f0_values.device)
        rand_ini[:, 0] = 0
        rad_values[:, 0, :] = rad_values[:, 0, :] + rand_ini
        rad_values = F.interpolate(rad_values.transpose(1, 2), scale_factor=1 / self.upsample_scale,
                                   mode="linear").transpose(1, 2)
        phase = torch.cumsum(rad_values, dim=1) * 2 * np.pi
        phase = F.interpolate(phase.transpose(1, 2) * self.upsample_scale, scale_factor=self.upsample_scale,
                              mode="linear").transpose(1, 2)
        return torch.sin(phase)

    def forward(self, f0):
        """f0 [B, L, 1] -> sine_waves [B, L, dim], uv [B, L, 1], noise [B, L, dim]."""
        harmonics = torch.arange(1, self.harmonic_num + 2, dtype=torch.float32, device=f0.device).view(1, 1, -1)
        sine_waves = self._f02sine(f0 * harmonics) * self.sine_amp
        uv = self._f02uv(f0)
        noise_amp = uv * self.noise_std + (1 - uv) * self.sine_amp / 3
        noise = noise_amp * torch.randn_like(sine_waves)
        sine_waves = sine_waves * uv + noise
        return sine_waves, uv, noise


class SourceModuleHnNSF(nn.Module):
    def __init__(self, sampling_rate: int, upsample_scale: int, harmonic_num: int = 0, sine_amp: float = 0.1,
                 add_noise_std: float = 0.003, voiced_threshod: float = 0):
        super().__init__()
        self.sine_amp = sine_amp
        self.noise_std = add_noise_std
        self.l_sin_gen = SineGen2(sampling_rate, upsample_scale, harmonic_num, sine_amp, add_noise_std,
                                  voiced_threshod)
        self.l_linear = nn.Linear(harmonic_num + 1, 1)
        self.l_tanh = nn.Tanh()
        self.causal = False

    def forward(self, x):
        with torch.no_grad():
            sine_wavs, uv, _ = self.l_sin_gen(x)
        sine_merge = self.l_tanh(self.l_linear(sine_wavs))
        noise = torch.randn_like(uv) * self.sine_amp / 3
        return sine_merge, noise, uv


class ConvRNNF0Predictor(nn.Module):
    def __init__(self, num_class: int = 1, in_channels: int = 80, cond_channels: int = 512):
        super().__init__()
        self.num_class = num_class
        layers = []
        for i in range(5):
            layers += [weight_norm(nn.Conv1d(in_channels if i == 0 else cond_channels, cond_channels, 3, padding=1)),
                       nn.ELU()]
        self.condnet = nn.Sequential(*layers)
        self.classifier = nn.Linear(cond_channels, num_class)

    def forward(self, x):
        x = self.condnet(x).transpose(1, 2)
        return torch.abs(self.classifier(x).squeeze(-1))


class HiFTGenerator(nn.Module):
    def __init__(self, in_channels: int = 80, base_channels: int = 512, nb_harmonics: int = 8,
                 sampling_rate: int = SAMPLE_RATE, nsf_alpha: float = 0.1, nsf_sigma: float = 0.003,
                 nsf_voiced_threshold: float = 10, upsample_rates=UPSAMPLE_RATES,
                 upsample_kernel_sizes=UPSAMPLE_KERNELS, istft_params=ISTFT,
                 resblock_kernel_sizes=RESBLOCK_KERNELS, resblock_dilation_sizes=RESBLOCK_DILATIONS,
                 source_resblock_kernel_sizes=SOURCE_RESBLOCK_KERNELS,
                 source_resblock_dilation_sizes=SOURCE_RESBLOCK_DILATIONS,
                 lrelu_slope: float = 0.1, audio_limit: float = 0.99, f0_predictor: nn.Module = None):
        super().__init__()
        self.out_channels = 1
        self.nb_harmonics = nb_harmonics
        self.sampling_rate = sampling_rate
        self.istft_params = dict(istft_params)
        self.lrelu_slope = lrelu_slope
        self.audio_limit = audio_limit
        self.num_kernels = len(resblock_kernel_sizes)
        self.num_upsamples = len(upsample_rates)
        scale = int(np.prod(upsample_rates)) * istft_params["hop_len"]
        self.m_source = SourceModuleHnNSF(sampling_rate, scale, nb_harmonics, nsf_alpha, nsf_sigma,
                                          nsf_voiced_threshold)
        self.f0_upsamp = nn.Upsample(scale_factor=scale)
        self.conv_pre = nn.Conv1d(in_channels, base_channels, 7, 1, padding=3)
        self.ups = nn.ModuleList([
            nn.ConvTranspose1d(base_channels // 2 ** i, base_channels // 2 ** (i + 1), k, u, padding=(k - u) // 2)
            for i, (u, k) in enumerate(zip(upsample_rates, upsample_kernel_sizes))])
        n_bins2 = istft_params["n_fft"] + 2
        self.source_downs = nn.ModuleList()
        self.source_resblocks = nn.ModuleList()
        cum = np.cumprod([1] + list(upsample_rates[::-1][:-1]))[::-1]
        for i, (u, k, d) in enumerate(zip(cum, source_resblock_kernel_sizes, source_resblock_dilation_sizes)):
            ch, u = base_channels // 2 ** (i + 1), int(u)
            self.source_downs.append(nn.Conv1d(n_bins2, ch, 1, 1) if u == 1
                                     else nn.Conv1d(n_bins2, ch, u * 2, u, padding=u // 2))
            self.source_resblocks.append(ResBlock(ch, k, d))
        self.resblocks = nn.ModuleList()
        for i in range(self.num_upsamples):
            ch = base_channels // 2 ** (i + 1)
            for k, d in zip(resblock_kernel_sizes, resblock_dilation_sizes):
                self.resblocks.append(ResBlock(ch, k, d))
        self.conv_post = nn.Conv1d(ch, n_bins2, 7, 1, padding=3)
        self.reflection_pad = nn.ReflectionPad1d((1, 0))
        n_fft = istft_params["n_fft"]
        # periodic Hann, as scipy.signal.get_window("hann", n_fft, fftbins=True)
        self.stft_window = (0.5 - 0.5 * torch.cos(2 * torch.pi * torch.arange(n_fft, dtype=torch.float64) / n_fft)).float()
        self.f0_predictor = f0_predictor

    def _weight_norm(self):
        """Wraps the layers the official model weight-normalises (after calibration, so values are kept)."""
        self.conv_pre = weight_norm(self.conv_pre)
        for i in range(len(self.ups)):
            self.ups[i] = weight_norm(self.ups[i])
        self.conv_post = weight_norm(self.conv_post)

    def _stft(self, x):
        spec = torch.stft(x, self.istft_params["n_fft"], self.istft_params["hop_len"], self.istft_params["n_fft"],
                          window=self.stft_window.to(x.device), return_complex=True)
        spec = torch.view_as_real(spec)
        return spec[..., 0], spec[..., 1]

    def _istft(self, magnitude, phase):
        magnitude = torch.clip(magnitude, max=1e2)
        real = magnitude * torch.cos(phase)
        img = magnitude * torch.sin(phase)
        return torch.istft(torch.complex(real, img), self.istft_params["n_fft"], self.istft_params["hop_len"],
                           self.istft_params["n_fft"], window=self.stft_window.to(magnitude.device))

    def _features(self, x, s):
        """decode() up to conv_post's input."""
        s_real, s_imag = self._stft(s.squeeze(1))
        s_stft = torch.cat([s_real, s_imag], dim=1)
        x = self.conv_pre(x)
        for i in range(self.num_upsamples):
            x = self.ups[i](F.leaky_relu(x, self.lrelu_slope))
            if i == self.num_upsamples - 1:
                x = self.reflection_pad(x)
            x = x + self.source_resblocks[i](self.source_downs[i](s_stft))
            xs = None
            for j in range(self.num_kernels):
                y = self.resblocks[i * self.num_kernels + j](x)
                xs = y if xs is None else xs + y
            x = xs / self.num_kernels
        return F.leaky_relu(x)

    def decode(self, x: torch.Tensor, s: torch.Tensor = torch.zeros(1, 1, 0)) -> torch.Tensor:
        x = self.conv_post(self._features(x, s))
        n = self.istft_params["n_fft"] // 2 + 1
        magnitude = torch.exp(x[:, :n, :])
        phase = torch.sin(x[:, n:, :])
        x = self._istft(magnitude, phase)
        return torch.clamp(x, -self.audio_limit, self.audio_limit)

    def _source(self, speech_feat):
        f0 = self.f0_predictor(speech_feat)
        s = self.f0_upsamp(f0[:, None]).transpose(1, 2)
        s, _, _ = self.m_source(s)
        return s.transpose(1, 2)

    @torch.inference_mode()
    def inference(self, speech_feat: torch.Tensor, cache_source: torch.Tensor = torch.zeros(1, 1, 0)):
        s = self._source(speech_feat)
        if cache_source.shape[2] != 0:
            s[:, :, :cache_source.shape[2]] = cache_source
        return self.decode(x=speech_feat, s=s), s


def _probe_mels(in_channels: int) -> torch.Tensor:
    """Mel-like probe inputs: a log-mel level around -6 with structure, and plain N(0, 1) (what a random flow gives)."""
    g = torch.Generator().manual_seed(1234)
    frames = 64
    a = -6.0 + 2.0 * torch.randn(1, in_channels, frames, generator=g)
    b = torch.randn(1, in_channels, frames, generator=g)
    return torch.cat([a, b], dim=0)


@torch.no_grad()
def _calibrate(hift: HiFTGenerator) -> None:
    mel = _probe_mels(hift.conv_pre.in_channels)
    # F0: classifier output ~ N(175 Hz, 35 Hz) on the probes
    pred = hift.f0_predictor
    feats = pred.condnet(mel).transpose(1, 2)                      # [B, T, C]
    proj = feats @ pred.classifier.weight[0]
    pred.classifier.weight.mul_(35.0 / proj.std().clamp_min(1e-6))
    proj = feats @ pred.classifier.weight[0]
    pred.classifier.bias.fill_(175.0 - float(proj.mean()))
    # source merge: keep the harmonic source at a few tenths
    hift.m_source.l_linear.weight.mul_(0.0).add_(torch.linspace(1.0, 0.3, hift.nb_harmonics + 1).unsqueeze(0))
    hift.m_source.l_linear.bias.zero_()
    # conv_post: log-magnitudes ~ N(-1.5, 1), phases ~ N(0, 2)
    torch.manual_seed(4321)
    s = hift._source(mel)
    x = hift._features(mel, s)                                    # [B, C, T]
    y = hift.conv_post(x)
    n = hift.istft_params["n_fft"] // 2 + 1
    for sl, mean, std in ((slice(0, n), -1.5, 1.0), (slice(n, 2 * n), 0.0, 2.0)):
        yy = y[:, sl]
        scale = std / yy.std().clamp_min(1e-6)
        hift.conv_post.weight[sl].mul_(scale)
        hift.conv_post.bias[sl].mul_(scale)
        hift.conv_post.bias[sl].add_(mean - float(yy.mean() * scale))


def make_twin_hift(size: str = "tiny", seed: int = 0) -> HiFTGenerator:
    """A random-weight HiFTGenerator twin in eval mode. ``size``: "tiny" or "full"."""
    cfg = SIZES[size]
    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        f0 = ConvRNNF0Predictor(1, 80, cfg["cond_channels"])
        hift = HiFTGenerator(80, cfg["base_channels"], f0_predictor=f0).eval()
        _calibrate(hift)
        hift._weight_norm()
    finally:
        torch.random.set_rng_state(state)
    return hift.eval()
