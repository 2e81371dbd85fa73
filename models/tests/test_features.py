"""Tests of reference.features against independent float32 computations (torch, as the official code).

Tolerances (float64 reference vs float32 independent computation, max absolute difference over all
bins and frames, on speech-like test audio with a quiet section):
    speech_tokenizer_mel  1e-4   (log10(power) / 4: 0.004 dB of mel power; seen <= 4e-5)
    speaker_fbank         1e-3   (ln of mel energies, after mean removal; seen <= 2.3e-4 at 30 s)
    prompt_mel            2e-4   (ln of mel magnitudes; seen <= 7e-5)
    resample              5e-7   (samples of amplitude <= 1; seen <= 1.2e-7)
    mel_filters_slaney    1e-12 vs librosa in float64, 2 float32 ulp vs librosa's float32 default
"""
import math

import numpy as np
import pytest
import torch

from reference import features as F

DURATIONS = [1.0, 3.7, 30.0]


def speechlike(seconds: float, sr: int, seed: int = 0) -> np.ndarray:
    """Gliding harmonic tone (f0 100→250 Hz, 25 harmonics), 4 Hz amplitude modulation, a 0.3 s pause
    of low noise, clipped to [-1, 1], float32."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    t = np.arange(n) / sr
    f0 = 100.0 + 150.0 * (0.5 + 0.5 * np.sin(2 * np.pi * 0.3 * t))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    x = sum((0.6 / h) * np.sin(h * phase + h) for h in range(1, 26) if h * 250 < sr / 2)
    x = x * (0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t)) * 0.4
    x[int(0.4 * n):int(0.4 * n) + int(0.3 * sr)] = 0.0
    x = x + 1e-3 * rng.standard_normal(n)
    return np.clip(x, -1, 1).astype(np.float32)


def _librosa_mel(sr, n_fft, n_mels, fmin, fmax):
    try:
        import librosa
    except ImportError:
        return F.mel_filters_slaney(sr, n_fft, n_mels, fmin, fmax).astype(np.float32)
    return librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)


# ------------------------------------------------------------------------------ filter banks

def test_mel_filters_slaney_equal_librosa():
    librosa = pytest.importorskip(
        "librosa", reason="librosa (test-only dependency) is not installed: mel_filters_slaney not compared")
    for sr, n_fft, n_mels, fmin, fmax in [(16000, 400, 128, 0.0, 8000.0), (24000, 1920, 80, 0.0, 8000.0),
                                          (16000, 400, 80, 0.0, None), (22050, 1024, 80, 30.0, 7600.0),
                                          (44100, 2048, 128, 0.0, None)]:
        ours = F.mel_filters_slaney(sr, n_fft, n_mels, fmin, fmax)
        ref64 = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, dtype=np.float64)
        ref32 = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
        assert ours.shape == ref64.shape == (n_mels, n_fft // 2 + 1)
        np.testing.assert_allclose(ours, ref64, rtol=0, atol=1e-12)
        np.testing.assert_allclose(ours.astype(np.float32), ref32, rtol=2.5e-7, atol=1e-12)  # 2 float32 ulp


def kaldi_mel_banks_loop(num_bins, n_fft, sr, low, high):
    """Kaldi's MelBanks constructor (mel-computations.cc), written out with loops."""
    nyquist = 0.5 * sr
    if high <= 0:
        high += nyquist
    mel = lambda f: 1127.0 * math.log(1.0 + f / 700.0)
    fft_bin_width = sr / n_fft
    lo, hi = mel(low), mel(high)
    delta = (hi - lo) / (num_bins + 1)
    banks = np.zeros((num_bins, n_fft // 2 + 1))
    for b in range(num_bins):
        left, center, right = lo + b * delta, lo + (b + 1) * delta, lo + (b + 2) * delta
        for i in range(n_fft // 2):
            m = mel(fft_bin_width * i)
            if left < m < right:
                banks[b, i] = (m - left) / (center - left) if m <= center else (right - m) / (right - center)
    return banks


def test_kaldi_mel_banks():
    np.testing.assert_allclose(F.kaldi_mel_banks(80, 512, 16000, 20, 0), kaldi_mel_banks_loop(80, 512, 16000, 20, 0),
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(F.kaldi_mel_banks(23, 256, 8000, 64, -400), kaldi_mel_banks_loop(23, 256, 8000, 64, -400),
                               rtol=0, atol=1e-12)


def test_windows():
    np.testing.assert_allclose(F.hann_window(400), torch.hann_window(400, dtype=torch.float64).numpy(), atol=1e-15)
    np.testing.assert_allclose(F.povey_window(400),
                               torch.hann_window(400, periodic=False, dtype=torch.float64).pow(0.85).numpy(), atol=1e-15)


# ------------------------------------------------------------------------------ independent features

def whisper_mel_torch(audio: np.ndarray) -> np.ndarray:
    """whisper.log_mel_spectrogram(audio, n_mels=128), float32 torch."""
    x = torch.from_numpy(audio)
    stft = torch.stft(x, 400, 160, window=torch.hann_window(400), return_complex=True)
    power = stft[..., :-1].abs() ** 2
    mel = torch.from_numpy(_librosa_mel(16000, 400, 128, 0.0, 8000.0)) @ power
    log_spec = torch.clamp(mel, min=1e-10).log10()
    log_spec = torch.maximum(log_spec, log_spec.max() - 8.0)
    return ((log_spec + 4.0) / 4.0).numpy()


def kaldi_fbank_loop(audio: np.ndarray) -> np.ndarray:
    """Kaldi fbank (num_mel_bins 80, dither 0, 16 kHz, defaults otherwise), frame by frame in float32,
    then the mean over frames subtracted (CosyVoice's _extract_spk_embedding)."""
    frame_len, shift, n_fft = 400, 160, 512
    banks = torch.from_numpy(kaldi_mel_banks_loop(80, n_fft, 16000, 20, 0)).float()
    n = np.arange(frame_len)
    povey = torch.from_numpy((0.5 - 0.5 * np.cos(2 * np.pi * n / (frame_len - 1))) ** 0.85).float()
    eps = torch.finfo(torch.float32).eps
    x = torch.from_numpy(audio)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)                                  # thousands of tiny ops: threads only cost
    try:
        rows = [_kaldi_frame(x[t * shift:t * shift + frame_len], povey, banks, n_fft, eps)
                for t in range(1 + (len(audio) - frame_len) // shift)]
    finally:
        torch.set_num_threads(threads)
    feat = torch.stack(rows)
    return (feat - feat.mean(dim=0, keepdim=True)).numpy()


def _kaldi_frame(frame, povey, banks, n_fft, eps):
    """One frame of Kaldi fbank (400 samples → 80 log mel energies)."""
    frame = frame - frame.mean()                              # remove_dc_offset
    prev = torch.cat([frame[:1], frame[:-1]])
    frame = frame - 0.97 * prev                               # preemphasis_coefficient, first sample vs itself
    frame = frame * povey                                     # window_type povey
    spec = torch.fft.rfft(torch.nn.functional.pad(frame, (0, n_fft - len(frame))))
    power = spec.real ** 2 + spec.imag ** 2                   # use_power
    return torch.clamp(banks @ power, min=eps).log()          # use_log_fbank, floor at float32 epsilon


def matcha_mel_torch(audio: np.ndarray) -> np.ndarray:
    """CosyVoice2's feat_extractor (matcha mel_spectrogram), float32 torch, returned [F, 80]."""
    y = torch.from_numpy(audio)[None, None]
    y = torch.nn.functional.pad(y, (720, 720), mode="reflect")[0]
    spec = torch.stft(y, 1920, hop_length=480, win_length=1920, window=torch.hann_window(1920), center=False,
                      return_complex=True)
    spec = torch.sqrt(torch.view_as_real(spec).pow(2).sum(-1) + 1e-9)
    spec = torch.from_numpy(_librosa_mel(24000, 1920, 80, 0.0, 8000.0)) @ spec
    return torch.log(torch.clamp(spec, min=1e-5))[0].T.numpy()


@pytest.mark.parametrize("seconds", DURATIONS)
def test_speech_tokenizer_mel(seconds):
    audio = speechlike(seconds, 16000)
    ours = F.speech_tokenizer_mel(audio)
    assert ours.dtype == np.float32 and ours.shape == (128, int(round(seconds * 100)))
    ref = whisper_mel_torch(audio)
    assert ref.shape == ours.shape
    assert np.abs(ours - ref).max() < 1e-4


@pytest.mark.parametrize("seconds", DURATIONS)
def test_speaker_fbank(seconds):
    audio = speechlike(seconds, 16000, seed=1)
    ours = F.speaker_fbank(audio)
    n = int(round(seconds * 16000))
    assert ours.dtype == np.float32 and ours.shape == (1 + (n - 400) // 160, 80)
    assert ours.shape[0] == {1.0: 98, 3.7: 368, 30.0: 2998}[seconds]
    np.testing.assert_allclose(ours.mean(axis=0), 0.0, atol=1e-4)
    ref = kaldi_fbank_loop(audio)
    assert np.abs(ours - ref).max() < 1e-3


def test_speaker_fbank_of_silence_is_floored():
    audio = np.zeros(16000, np.float32)
    audio[8000:] = speechlike(0.5, 16000)
    ref = kaldi_fbank_loop(audio)
    ours = F.speaker_fbank(audio)
    assert np.abs(ours - ref).max() < 1e-3


@pytest.mark.parametrize("seconds", DURATIONS)
def test_prompt_mel(seconds):
    audio = speechlike(seconds, 24000, seed=2)
    ours = F.prompt_mel(audio)
    assert ours.dtype == np.float32 and ours.shape == (int(round(seconds * 50)), 80)
    ref = matcha_mel_torch(audio)
    assert ref.shape == ours.shape
    assert np.abs(ours - ref).max() < 2e-4


def test_frame_counts_on_odd_lengths():
    for n in [201, 399, 400, 401, 559, 560, 16001]:
        assert F.speech_tokenizer_mel(np.ones(n, np.float32) * 0.1).shape == (128, n // 160)
    for n in [400, 559, 560, 16001]:
        assert F.speaker_fbank(speechlike(n / 16000, 16000)).shape == (1 + (n - 400) // 160, 80)
    for n in [721, 959, 960, 24001]:
        assert F.prompt_mel(speechlike(n / 24000, 24000)).shape == (1 + (n + 1440 - 1920) // 480, 80)
    with pytest.raises(ValueError):
        F.speech_tokenizer_mel(np.zeros(200, np.float32))
    with pytest.raises(ValueError):
        F.speaker_fbank(np.zeros(399, np.float32))
    with pytest.raises(ValueError):
        F.prompt_mel(np.zeros(720, np.float32))


# ------------------------------------------------------------------------------ resampling

def torchaudio_resample_torch(audio: np.ndarray, orig: int, new: int) -> np.ndarray:
    """torchaudio.functional.resample's algorithm (sinc_interp_hann, width 6, rolloff 0.99) on conv1d."""
    g = math.gcd(orig, new)
    orig, new = orig // g, new // g
    base = min(orig, new) * 0.99
    width = math.ceil(6 * orig / base)
    idx = torch.arange(-width, width + orig, dtype=torch.float64)[None, None] / orig
    t = torch.arange(0, -new, -1, dtype=torch.float64)[:, None, None] / new + idx
    t = (t * base).clamp(-6, 6)
    window = torch.cos(t * math.pi / 6 / 2) ** 2
    t = t * math.pi
    kernel = (torch.where(t == 0, torch.tensor(1.0, dtype=torch.float64), t.sin() / t) * window * base / orig).float()
    x = torch.from_numpy(audio)[None]
    length = x.shape[-1]
    x = torch.nn.functional.pad(x, (width, width + orig))
    y = torch.nn.functional.conv1d(x[:, None], kernel, stride=orig).transpose(1, 2).reshape(1, -1)
    return y[0, :int(math.ceil(new * length / orig))].numpy()


def _tone_amplitude(y, f, sr):
    n = len(y)
    t = np.arange(n) / sr
    s = slice(n // 4, 3 * n // 4)
    basis = np.stack([np.sin(2 * np.pi * f * t[s]), np.cos(2 * np.pi * f * t[s])], axis=1)
    c = np.linalg.lstsq(basis, y[s].astype(np.float64), rcond=None)[0]
    return math.hypot(*c)


RATES = [(24000, 16000), (16000, 24000), (44100, 24000), (48000, 16000), (22050, 16000)]


@pytest.mark.parametrize("orig,new", RATES)
def test_resample_matches_torchaudio_algorithm(orig, new):
    audio = speechlike(1.3, orig, seed=3)
    ours = F.resample(audio, orig, new)
    ref = torchaudio_resample_torch(audio, orig, new)
    assert ours.dtype == np.float32 and ours.shape == ref.shape == (math.ceil(len(audio) * new / orig),)
    assert np.abs(ours - ref).max() < 5e-7


@pytest.mark.parametrize("orig,new", RATES)
def test_resample_lengths(orig, new):
    for n in [1, 2, 3, 146, 147, 148, 1000, 16001, 44099, 44100, 44101]:
        assert len(F.resample(np.zeros(n, np.float32), orig, new)) == F.resample_length(n, orig, new) \
            == math.ceil(n * new / orig)
    assert np.array_equal(F.resample(np.arange(5, dtype=np.float32), 16000, 16000), np.arange(5, dtype=np.float32))


@pytest.mark.parametrize("orig,new", [(24000, 16000), (16000, 24000), (44100, 24000)])
def test_resample_passband_and_stopband(orig, new):
    n = 2 * orig + 13
    low_rate = min(orig, new)
    # in band (up to 0.2 × the lower rate): amplitude kept within 1e-3
    for f in [100.0, 440.0, 1000.0, 0.2 * low_rate]:
        y = F.resample(0.5 * np.sin(2 * np.pi * f * np.arange(n) / orig), orig, new)
        assert abs(_tone_amplitude(y, f, new) - 0.5) < 0.5e-3, f
    if new < orig:
        # above the new Nyquist: ≥ 45 dB down from 1.25 × Nyquist on (no aliasing back)
        for f in [1.25 * new / 2, 1.5 * new / 2, 0.95 * orig / 2]:
            y = F.resample(0.5 * np.sin(2 * np.pi * f * np.arange(n) / orig), orig, new)
            mid = y[len(y) // 4:3 * len(y) // 4]
            assert np.sqrt(np.mean(mid.astype(np.float64) ** 2)) < 0.006 * 0.5 / math.sqrt(2), f
    else:
        # upsampling: no image above the old Nyquist (≥ 45 dB down above 1.25 × old Nyquist)
        f = 0.3 * orig
        y = F.resample(0.5 * np.sin(2 * np.pi * f * np.arange(n) / orig), orig, new).astype(np.float64)
        mid = y[len(y) // 4:3 * len(y) // 4] * np.hanning(len(y) // 2)
        spec = np.abs(np.fft.rfft(mid))
        freqs = np.fft.rfftfreq(len(mid), 1 / new)
        assert spec[freqs > 1.25 * orig / 2].max() < 0.006 * spec.max()
