"""Audio features of the model-directory contract (README "Features"), in plain NumPy.

This is the reference a runtime's feature code must reproduce. Everything is computed in float64
from the float32 (or float64) input and returned as float32; the official pipeline computes the same
quantities in float32 with PyTorch, so the two differ by float32 rounding only (the tests bound it).

    speech_tokenizer_mel(audio16k) -> [128, T]   input of speech_tokenizer.onnx (T = n // 160)
    speaker_fbank(audio16k)        -> [T, 80]    input of campplus.onnx (T = 1 + (n - 400) // 160)
    prompt_mel(audio24k)           -> [F, 80]    the flow's prompt mel (F = n // 480 for n >= 480)
    mel_filters_slaney(...)        -> [n_mels, n_fft // 2 + 1]   librosa.filters.mel (Slaney)
    kaldi_mel_banks(...)           -> [num_bins, n_fft // 2 + 1] Kaldi's triangular mel banks
    resample(audio, from, to)      -> torchaudio's sinc_interp_hann resampler (official load_wav)

Only NumPy is needed at run time.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = [
    "speech_tokenizer_mel", "speaker_fbank", "prompt_mel", "mel_filters_slaney", "kaldi_mel_banks",
    "resample", "resample_kernel", "resample_length", "hann_window", "povey_window",
    "hz_to_mel_slaney", "mel_to_hz_slaney", "FLOAT32_EPS",
]

#: ``torch.finfo(torch.float32).eps``: Kaldi fbank's log floor (2^-23).
FLOAT32_EPS = 1.1920928955078125e-07


# --------------------------------------------------------------------------------------------
# Windows and filter banks
# --------------------------------------------------------------------------------------------

def hann_window(n: int) -> np.ndarray:
    """Periodic Hann window (``torch.hann_window(n)``): ``w[i] = 0.5 − 0.5·cos(2π·i / n)``."""
    i = np.arange(n, dtype=np.float64)
    return 0.5 - 0.5 * np.cos(2.0 * math.pi * i / n)


def povey_window(n: int) -> np.ndarray:
    """Kaldi's Povey window: ``(0.5 − 0.5·cos(2π·i / (n − 1)))^0.85`` (symmetric Hann to the 0.85)."""
    i = np.arange(n, dtype=np.float64)
    return (0.5 - 0.5 * np.cos(2.0 * math.pi * i / (n - 1))) ** 0.85


def hz_to_mel_slaney(f):
    """Slaney's mel scale (librosa ``htk=False``): linear ``f / (200/3)`` below 1 kHz, then
    ``15 + ln(f / 1000) / (ln(6.4) / 27)``."""
    f = np.asarray(f, dtype=np.float64)
    f_sp = 200.0 / 3.0
    logstep = math.log(6.4) / 27.0
    lin = f / f_sp
    log = 15.0 + np.log(np.maximum(f, 1e-300) / 1000.0) / logstep
    return np.where(f >= 1000.0, log, lin)


def mel_to_hz_slaney(m):
    """Inverse of :func:`hz_to_mel_slaney`: ``(200/3)·m`` below mel 15, else ``1000·exp(logstep·(m − 15))``."""
    m = np.asarray(m, dtype=np.float64)
    f_sp = 200.0 / 3.0
    logstep = math.log(6.4) / 27.0
    return np.where(m >= 15.0, 1000.0 * np.exp(logstep * (m - 15.0)), f_sp * m)


def mel_filters_slaney(sr: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None) -> np.ndarray:
    """Slaney-style mel filter bank, as ``librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax)``
    (``htk=False, norm="slaney"``), in float64, shape ``[n_mels, n_fft // 2 + 1]``.

    FFT bin ``k`` has frequency ``f_k = k·sr / n_fft``. The ``n_mels + 2`` edge frequencies are
    ``e_j = mel_to_hz(mel(fmin) + j·(mel(fmax) − mel(fmin)) / (n_mels + 1))``, ``j = 0 … n_mels + 1``
    (Slaney mel scale). Filter ``i`` is the triangle
    ``max(0, min((f_k − e_i) / (e_{i+1} − e_i), (e_{i+2} − f_k) / (e_{i+2} − e_{i+1})))``
    scaled by ``2 / (e_{i+2} − e_i)`` (unit area).
    """
    if fmax is None:
        fmax = sr / 2.0
    n_bins = n_fft // 2 + 1
    fft_freqs = np.arange(n_bins, dtype=np.float64) * (float(sr) / n_fft)
    mel_lo = hz_to_mel_slaney(float(fmin))
    mel_hi = hz_to_mel_slaney(float(fmax))
    edges = mel_to_hz_slaney(np.linspace(mel_lo, mel_hi, n_mels + 2))
    weights = np.zeros((n_mels, n_bins), dtype=np.float64)
    for i in range(n_mels):
        lower = (fft_freqs - edges[i]) / (edges[i + 1] - edges[i])
        upper = (edges[i + 2] - fft_freqs) / (edges[i + 2] - edges[i + 1])
        weights[i] = np.maximum(0.0, np.minimum(lower, upper)) * (2.0 / (edges[i + 2] - edges[i]))
    return weights


def kaldi_mel_banks(num_bins: int = 80, n_fft: int = 512, sample_rate: float = 16000.0,
                    low_freq: float = 20.0, high_freq: float = 0.0) -> np.ndarray:
    """Kaldi's triangular mel banks (``torchaudio.compliance.kaldi.get_mel_banks`` without VTLN, plus
    the zero Nyquist column fbank appends), float64, shape ``[num_bins, n_fft // 2 + 1]``.

    ``mel(f) = 1127·ln(1 + f / 700)``; ``high_freq <= 0`` means ``nyquist + high_freq``. With
    ``Δ = (mel(high) − mel(low)) / (num_bins + 1)``, bin ``b`` has left/center/right mels
    ``mel(low) + (b + 0, 1, 2)·Δ``; FFT bin ``k < n_fft / 2`` (frequency ``k·sr / n_fft``, in mel ``m_k``)
    gets weight ``max(0, min((m_k − left) / (center − left), (right − m_k) / (right − center)))``;
    the Nyquist bin ``k = n_fft / 2`` gets 0. Triangles are in the mel domain, without normalisation.
    """
    nyquist = 0.5 * sample_rate
    if high_freq <= 0.0:
        high_freq += nyquist
    half = n_fft // 2

    def mel(f):
        return 1127.0 * np.log(1.0 + np.asarray(f, dtype=np.float64) / 700.0)

    mel_low, mel_high = mel(low_freq), mel(high_freq)
    delta = (mel_high - mel_low) / (num_bins + 1)
    b = np.arange(num_bins, dtype=np.float64)[:, None]
    left = mel_low + b * delta
    center = mel_low + (b + 1.0) * delta
    right = mel_low + (b + 2.0) * delta
    m = mel((sample_rate / n_fft) * np.arange(half, dtype=np.float64))[None, :]
    up = (m - left) / (center - left)
    down = (right - m) / (right - center)
    banks = np.maximum(0.0, np.minimum(up, down))
    return np.concatenate([banks, np.zeros((num_bins, 1))], axis=1)


def _frames(x: np.ndarray, size: int, hop: int) -> np.ndarray:
    """``[1 + (len(x) − size) // hop, size]``: frame ``t`` is ``x[t·hop : t·hop + size]`` (a copy)."""
    n = 1 + (len(x) - size) // hop
    idx = np.arange(n)[:, None] * hop + np.arange(size)[None, :]
    return x[idx]


def _mono(audio) -> np.ndarray:
    a = np.asarray(audio)
    if a.ndim == 2 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 1:
        raise ValueError(f"expected mono audio [n] or [1, n], got shape {a.shape}")
    return a.astype(np.float64)


# --------------------------------------------------------------------------------------------
# The three features
# --------------------------------------------------------------------------------------------

def speech_tokenizer_mel(audio16k) -> np.ndarray:
    """Whisper log-mel (``whisper.log_mel_spectrogram(audio, n_mels=128)``) of 16 kHz audio: ``[128, T]``.

    1. Reflect-pad 200 samples each side (``x[-i] = x[i]``, the edge sample not repeated); needs
       ``n > 200``.
    2. Frames of 400 samples every 160: ``1 + n // 160`` frames; drop the last one → ``T = n // 160``.
    3. Each frame times the periodic Hann window of 400, 400-point DFT, power ``re² + im²`` of bins
       0 … 200.
    4. Slaney mel filter bank ``mel_filters_slaney(16000, 400, 128, 0, 8000)`` times the power.
    5. ``L = log10(max(mel, 1e-10))``; ``L = max(L, max(L over all bins and frames) − 8)``;
       return ``(L + 4) / 4`` as float32.
    """
    x = _mono(audio16k)
    n_fft, hop = 400, 160
    if len(x) <= n_fft // 2:
        raise ValueError(f"speech_tokenizer_mel needs more than {n_fft // 2} samples, got {len(x)}")
    padded = np.pad(x, (n_fft // 2, n_fft // 2), mode="reflect")
    frames = _frames(padded, n_fft, hop)[:-1]
    spec = np.fft.rfft(frames * hann_window(n_fft)[None, :], n=n_fft, axis=1)
    power = spec.real ** 2 + spec.imag ** 2                              # [T, 201]
    mel = mel_filters_slaney(16000, n_fft, 128, 0.0, 8000.0) @ power.T  # [128, T]
    log_spec = np.log10(np.maximum(mel, 1e-10))
    log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
    return ((log_spec + 4.0) / 4.0).astype(np.float32)


def speaker_fbank(audio16k) -> np.ndarray:
    """Kaldi fbank of 16 kHz audio minus its mean over frames: ``[T, 80]``, the input of campplus.

    As ``kaldi.fbank(wav, num_mel_bins=80, dither=0, sample_frequency=16000)`` followed by
    ``feat - feat.mean(0)`` (the official ``_extract_spk_embedding``); samples in [-1, 1], not scaled.

    1. Frames of 400 samples every 160 without padding (``snip_edges``):
       ``T = 1 + (n − 400) // 160``; needs ``n >= 400``.
    2. Per frame: subtract the frame's mean; pre-emphasis ``y[i] = x[i] − 0.97·x[i−1]`` for
       ``i >= 1`` and ``y[0] = x[0] − 0.97·x[0]``; times the Povey window (:func:`povey_window`).
    3. Zero-pad to 512, DFT, power ``re² + im²`` of bins 0 … 256.
    4. ``kaldi_mel_banks(80, 512, 16000, 20, 0)`` times the power; ``ln(max(e, 2^-23))``.
    5. Subtract each bin's mean over the ``T`` frames; return float32.
    """
    x = _mono(audio16k)
    size, hop, n_fft = 400, 160, 512
    if len(x) < size:
        raise ValueError(f"speaker_fbank needs at least {size} samples, got {len(x)}")
    frames = _frames(x, size, hop)
    frames = frames - frames.mean(axis=1, keepdims=True)
    prev = np.concatenate([frames[:, :1], frames[:, :-1]], axis=1)
    frames = (frames - 0.97 * prev) * povey_window(size)[None, :]
    spec = np.fft.rfft(frames, n=n_fft, axis=1)
    power = spec.real ** 2 + spec.imag ** 2                               # [T, 257]
    energies = power @ kaldi_mel_banks(80, n_fft, 16000.0, 20.0, 0.0).T   # [T, 80]
    feat = np.log(np.maximum(energies, FLOAT32_EPS))
    feat = feat - feat.mean(axis=0, keepdims=True)
    return feat.astype(np.float32)


def prompt_mel(audio24k) -> np.ndarray:
    """The flow's mel of 24 kHz audio (Matcha ``mel_spectrogram``, CosyVoice2's ``feat_extractor``): ``[F, 80]``.

    1. Reflect-pad 720 = (1920 − 480) / 2 samples each side; needs ``n > 720``.
    2. Frames of 1920 every 480 (no further centring): ``F = 1 + (n + 1440 − 1920) // 480``
       (``= n // 480`` for ``n >= 480``).
    3. Each frame times the periodic Hann window of 1920, 1920-point DFT, magnitude
       ``sqrt(re² + im² + 1e-9)`` of bins 0 … 960.
    4. ``mel_filters_slaney(24000, 1920, 80, 0, 8000)`` times the magnitude; ``ln(max(x, 1e-5))``.
    5. Return frames × bins as float32.
    """
    x = _mono(audio24k)
    n_fft, hop = 1920, 480
    pad = (n_fft - hop) // 2
    if len(x) <= pad:
        raise ValueError(f"prompt_mel needs more than {pad} samples, got {len(x)}")
    padded = np.pad(x, (pad, pad), mode="reflect")
    frames = _frames(padded, n_fft, hop)
    spec = np.fft.rfft(frames * hann_window(n_fft)[None, :], n=n_fft, axis=1)
    mag = np.sqrt(spec.real ** 2 + spec.imag ** 2 + 1e-9)                 # [F, 961]
    mel = mag @ mel_filters_slaney(24000, n_fft, 80, 0.0, 8000.0).T      # [F, 80]
    return np.log(np.maximum(mel, 1e-5)).astype(np.float32)


# --------------------------------------------------------------------------------------------
# Resampling
# --------------------------------------------------------------------------------------------

def _reduced(from_rate: int, to_rate: int) -> tuple[int, int]:
    if int(from_rate) != from_rate or int(to_rate) != to_rate or from_rate <= 0 or to_rate <= 0:
        raise ValueError(f"sample rates must be positive integers, got {from_rate} → {to_rate}")
    g = math.gcd(int(from_rate), int(to_rate))
    return int(from_rate) // g, int(to_rate) // g


def resample_kernel(from_rate: int, to_rate: int, lowpass_filter_width: int = 6,
                    rolloff: float = 0.99) -> tuple[np.ndarray, int]:
    """The polyphase kernel ``h[k][m]`` (float64, shape ``[b, 2W + a]``) and its half-width ``W``.

    See :func:`resample` for the formula (``a``, ``b`` the gcd-reduced rates).
    """
    a, b = _reduced(from_rate, to_rate)
    base = min(a, b) * rolloff
    width = math.ceil(lowpass_filter_width * a / base)
    m = np.arange(2 * width + a, dtype=np.float64)
    k = np.arange(b, dtype=np.float64)
    t = ((m[None, :] - width) / a - k[:, None] / b) * base
    t = np.clip(t, -lowpass_filter_width, lowpass_filter_width)
    window = np.cos(t * math.pi / lowpass_filter_width / 2.0) ** 2
    pt = t * math.pi
    safe = np.where(pt == 0.0, 1.0, pt)
    sinc = np.where(pt == 0.0, 1.0, np.sin(safe) / safe)
    return sinc * window * (base / a), width


def resample_length(n: int, from_rate: int, to_rate: int) -> int:
    """Output length: ``ceil(n·b / a)`` in exact integer arithmetic (``a``, ``b`` the reduced rates)."""
    a, b = _reduced(from_rate, to_rate)
    return -(-n * b // a)


def resample(audio, from_rate: int, to_rate: int) -> np.ndarray:
    """Band-limited resampling as ``torchaudio.transforms.Resample(from_rate, to_rate)`` with its
    defaults (``sinc_interp_hann``, ``lowpass_filter_width = 6``, ``rolloff = 0.99``), the resampler
    of the official ``load_wav``. Returns float32 (float64 arithmetic inside).

    With ``g = gcd(from_rate, to_rate)``, ``a = from_rate / g``, ``b = to_rate / g``,
    ``base = 0.99·min(a, b)`` and ``W = ceil(6·a / base)``, the kernel for output phase
    ``k = 0 … b−1`` and tap ``m = 0 … 2W + a − 1`` is::

        t      = clamp(((m − W) / a − k / b) · base, −6, 6)
        h[k,m] = sinc(t) · cos(π·t / 12)² · base / a,      sinc(t) = sin(π·t) / (π·t), sinc(0) = 1

    and the output is (``x[p] = 0`` outside ``0 … n−1``)::

        y[i·b + k] = Σ_m h[k,m] · x[i·a + m − W],    i = 0 … n // a

    truncated to ``L = ceil(n·b / a)`` samples (:func:`resample_length`). The same rates return the
    input unchanged.

    Differences from torchaudio, all below float32 resolution except the last: torchaudio evaluates
    ``k / b`` in float32 before promoting to float64 for the kernel, rounds the kernel to float32 and
    convolves in float32; and recent torchaudio versions compute ``L`` as
    ``ceil(float32(b·n / a))``, which is one sample shorter when ``b·n / a`` lies within half a
    float32 ulp above an integer (possible for ``a`` > ~100, e.g. 44.1 kHz → 16/24 kHz, and long
    inputs). Older versions (``int(math.ceil(b·n / a))``) agree with ``L`` exactly.
    """
    x = _mono(audio)
    if int(from_rate) == int(to_rate):
        return x.astype(np.float32)
    a, b = _reduced(from_rate, to_rate)
    h, width = resample_kernel(from_rate, to_rate)
    n = len(x)
    taps = h.shape[1]
    n_blocks = n // a + 1
    padded = np.zeros(n_blocks * a + taps, dtype=np.float64)
    padded[width:width + n] = x
    out = np.empty((n_blocks, b), dtype=np.float64)
    chunk = max(1, (1 << 22) // taps)                      # bound the frame matrix to ~32 MB
    for start in range(0, n_blocks, chunk):
        stop = min(n_blocks, start + chunk)
        frames = _frames(padded[start * a:(stop - 1) * a + taps], taps, a)   # [stop − start, taps]
        out[start:stop] = frames @ h.T
    return out.reshape(-1)[:resample_length(n, from_rate, to_rate)].astype(np.float32)
