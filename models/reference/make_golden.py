"""Writes the golden files of the reference pipeline (models/reference/golden/) from the tiny twin.

    cd models && python -m reference.make_golden [--model-dir random/tiny] [--out reference/golden]

Also (re)writes the test voice ``reference/prompt.wav`` (deterministic, generated with numpy) unless
``--keep-prompt`` is given. What each file is, and the tolerances a runtime should meet, are in
golden/README.md, which this script writes too.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MODELS = HERE.parent
if str(MODELS) not in sys.path:
    sys.path.insert(0, str(MODELS))

from reference.pipeline import CosyVoice2Reference, read_wav, write_wav  # noqa: E402
from reference.rng import SplitMix64  # noqa: E402

PROMPT_WAV = HERE / "prompt.wav"
PROMPT_RATE = 24000
PROMPT_TEXT = "希望你以后能够做得比我还好哟。"
INSTRUCT_TEXT = "开心地说"   # <|endofprompt|> is appended by the pipeline
SHORT_TEXT = "你好，欢迎使用。"
LONG_TEXT = "收到取消预约的短信后，我立刻给客服打了电话，今天天气很好。"

# name, mode, text, seed, stream, speed. Texts are short to keep the directory small; every
# streaming case has at least two chunks, the long one (streaming) three (hop 25 -> 50), and the
# instruct one a final chunk longer than one 25-token attention chunk (where attention_chunk 0 vs 25
# on the final chunk matters). With the twin, instruct mode always runs to max_len (20 x text tokens).
CASES = [
    ("zero_shot", "zero_shot", SHORT_TEXT, 4, False, 1.0),
    ("zero_shot_stream", "zero_shot", SHORT_TEXT, 4, True, 1.0),
    ("cross_lingual", "cross_lingual", "Hello, welcome!", 0, False, 1.0),
    ("cross_lingual_stream", "cross_lingual", "Hello, welcome!", 0, True, 1.0),
    ("instruct", "instruct", "今天天气很好。", 2, False, 1.0),
    ("instruct_stream", "instruct", "今天天气很好。", 2, True, 1.0),
    ("zero_shot_speed1.5", "zero_shot", SHORT_TEXT, 4, False, 1.5),
    ("zero_shot_long_stream", "zero_shot", LONG_TEXT, 3, True, 1.0),
]


# ------------------------------------------------------------------------------------------------
# the test voice
# ------------------------------------------------------------------------------------------------
def make_prompt_audio(rate: int = PROMPT_RATE, seconds: float = 3.0) -> np.ndarray:
    """About 3 s of a voice-like signal: a harmonic source with a gliding f0 (120–220 Hz),
    formant-shaped harmonic amplitudes that move between vowels, syllable-like amplitude
    envelope, a short pause, a little breath noise. Deterministic (numpy + SplitMix64)."""
    n = int(rate * seconds)
    t = np.arange(n) / rate
    # f0: rises 130 -> 220 Hz over the first phrase, falls 200 -> 120 Hz over the second, with vibrato
    f0 = np.where(t < 1.45, 130 + 90 * np.sin(np.pi / 2 * np.clip(t / 1.45, 0, 1)),
                  200 - 80 * np.clip((t - 1.75) / 1.25, 0, 1))
    f0 = f0 * (1 + 0.01 * np.sin(2 * np.pi * 5.5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    # formants (F1, F2, F3) move between /a/, /i/, /u/, /e/ every ~0.35 s
    vowels = np.array([[730, 1090, 2440], [270, 2290, 3010], [300, 870, 2240], [530, 1840, 2480]], dtype=np.float64)
    seg = 0.35
    k = t / seg
    i0 = np.floor(k).astype(int) % len(vowels)
    i1 = (i0 + 1) % len(vowels)
    frac = np.clip((k - np.floor(k) - 0.6) / 0.4, 0, 1)[:, None]  # glide in the last 40 % of a segment
    formants = vowels[i0] * (1 - frac) + vowels[i1] * frac          # [n, 3]
    bandwidths = np.array([90.0, 110.0, 170.0])
    gains = np.array([1.0, 0.6, 0.3])
    signal = np.zeros(n)
    n_harm = int(4000 // 120)
    for h in range(1, n_harm + 1):
        fh = h * f0
        amp = np.zeros(n)
        for j in range(3):
            amp += gains[j] / (1 + ((fh - formants[:, j]) / bandwidths[j]) ** 2)
        amp = amp * (fh < 0.45 * rate) / h ** 0.5
        signal += amp * np.sin(h * phase)
    # syllables at ~4 Hz, a pause 1.45-1.75 s, fades at both ends
    syll = 0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t - np.pi / 2) ** 2
    env = syll * np.clip(t / 0.05, 0, 1) * np.clip((seconds - t) / 0.08, 0, 1)
    pause = np.clip(np.abs(t - 1.6) / 0.15, 0, 1) ** 4
    env = env * np.where(np.abs(t - 1.6) < 0.15, pause, 1.0)
    noise = SplitMix64(2024).normals(n).astype(np.float64)
    voice = signal * env + 0.01 * noise * (0.3 + env)
    voice = voice / np.max(np.abs(voice)) * 0.6
    return voice.astype(np.float32)


# ------------------------------------------------------------------------------------------------
# goldens
# ------------------------------------------------------------------------------------------------
def rms(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=np.float64)
    return float(np.sqrt(np.mean(x * x))) if len(x) else 0.0


def save_f32(path: Path, array: np.ndarray) -> None:
    np.save(path, np.ascontiguousarray(array, dtype="<f4"))


def write_goldens(model_dir: Path, out: Path, threads: int = 1) -> dict:
    from reference import features

    model = CosyVoice2Reference(model_dir, intra_op_threads=threads)
    audio, rate = read_wav(PROMPT_WAV)
    if out.exists():
        shutil.rmtree(out)
    (out / "prompt").mkdir(parents=True)

    prompt = model.prompt_features(audio, rate)
    ex = prompt.extras
    pdir = out / "prompt"
    save_f32(pdir / "speech_tokenizer_mel.npy", ex["speech_tokenizer_mel"])
    save_f32(pdir / "speaker_fbank.npy", ex["speaker_fbank"])
    save_f32(pdir / "prompt_mel.npy", prompt.prompt_mel)
    save_f32(pdir / "speaker_embedding.npy", prompt.speaker_embedding)
    # the resampler: the prompt's first 0.25 s from 24 kHz to 16 kHz (the prompt path), and 0.1 s of
    # the same voice synthesised at 44.1 kHz to 16 kHz and 24 kHz (a typical upload)
    head = audio[: rate // 4]
    save_f32(pdir / "resample_in_24k.npy", head)
    save_f32(pdir / "resample_24k_to_16k.npy", features.resample(head, rate, 16000))
    x441 = make_prompt_audio(44100, 0.1)
    save_f32(pdir / "resample_in_44k1.npy", x441)
    save_f32(pdir / "resample_44k1_to_16k.npy", features.resample(x441, 44100, 16000))
    save_f32(pdir / "resample_44k1_to_24k.npy", features.resample(x441, 44100, 24000))
    (pdir / "speech_tokens.json").write_text(json.dumps({
        "speech_tokens": [int(t) for t in prompt.speech_tokens],
        "speech_tokens_before_alignment": [int(t) for t in ex["speech_tokens_full"]],
        "prompt_mel_frames_before_alignment": int(ex["prompt_mel_full"].shape[0]),
        "prompt_text": PROMPT_TEXT,
        "prompt_text_tokens": model.encode_text(PROMPT_TEXT),
        "prompt_wav": {"file": "../prompt.wav", "sample_rate": rate, "samples": int(len(audio))},
    }, indent=1) + "\n")

    summary = {"model": model.config["model"], "prompt_tokens": len(prompt.speech_tokens),
               "prompt_seconds": len(audio) / rate, "cases": {}}
    for name, mode, text, seed, stream, speed in CASES:
        started = time.perf_counter()
        res = model.synthesize(text, mode, prompt, prompt_text=PROMPT_TEXT if mode == "zero_shot" else "",
                               instruct_text=INSTRUCT_TEXT if mode == "instruct" else "",
                               seed=seed, stream=stream, speed=speed)
        elapsed = time.perf_counter() - started
        cdir = out / name
        cdir.mkdir()
        case = {
            "inputs": {"mode": mode, "text": text, "prompt_text": PROMPT_TEXT if mode == "zero_shot" else "",
                       "instruct_text": INSTRUCT_TEXT if mode == "instruct" else "", "seed": seed,
                       "stream": stream, "speed": speed},
            "outputs": {
                "text_tokens": res.text_tokens,
                "prompt_text_tokens": res.prompt_text_tokens,
                "speech_tokens": res.speech_tokens,
                "chunk_samples": [int(len(c)) for c in res.chunks],
                "audio_samples": int(len(res.audio)),
                "mel_frames": int(res.mel.shape[1]),
                "rms": rms(res.audio),
            },
        }
        (cdir / "case.json").write_text(json.dumps(case, indent=1, ensure_ascii=False) + "\n")
        save_f32(cdir / "audio.npy", res.audio)
        if not stream:
            save_f32(cdir / "mel.npy", res.mel)
        summary["cases"][name] = {"mode": mode, "stream": stream, "speed": speed, "seed": seed,
                                  "tokens": len(res.speech_tokens), "chunks": case["outputs"]["chunk_samples"],
                                  "seconds": len(res.audio) / model.sample_rate, "elapsed_s": round(elapsed, 3)}
        print(f"{name}: {len(res.speech_tokens)} tokens, chunks {case['outputs']['chunk_samples']}, "
              f"{elapsed:.2f} s", file=sys.stderr)
    return summary


# ------------------------------------------------------------------------------------------------
# drift: how far legitimate implementation differences move the outputs
# ------------------------------------------------------------------------------------------------
def _torch_float32_features(audio24k: np.ndarray):
    """The official float32 PyTorch feature code (whisper log-mel, Kaldi fbank, matcha mel), for the
    drift measurement only; None when torch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    from reference import features

    a16 = torch.from_numpy(features.resample(audio24k, 24000, 16000))
    a24 = torch.from_numpy(audio24k.astype(np.float32))
    stft = torch.stft(a16, 400, 160, window=torch.hann_window(400), return_complex=True)
    power = stft[..., :-1].abs() ** 2
    fb = torch.from_numpy(features.mel_filters_slaney(16000, 400, 128, 0.0, 8000.0).astype(np.float32))
    log_spec = torch.clamp(fb @ power, min=1e-10).log10()
    log_spec = torch.maximum(log_spec, log_spec.max() - 8.0)
    st_mel = ((log_spec + 4.0) / 4.0).numpy()

    y = torch.nn.functional.pad(a24[None, None], (720, 720), mode="reflect")[0]
    spec = torch.stft(y, 1920, hop_length=480, win_length=1920, window=torch.hann_window(1920), center=False,
                      return_complex=True)
    spec = torch.sqrt(torch.view_as_real(spec).pow(2).sum(-1) + 1e-9)
    fb80 = torch.from_numpy(features.mel_filters_slaney(24000, 1920, 80, 0.0, 8000.0).astype(np.float32))
    prompt_mel = torch.log(torch.clamp(fb80 @ spec, min=1e-5))[0].T.numpy()

    # Kaldi fbank in float32 (numpy: torchaudio is not a dependency here)
    x = a16.numpy().astype(np.float32)
    n_frames = 1 + (len(x) - 400) // 160
    idx = np.arange(400)[None] + 160 * np.arange(n_frames)[:, None]
    fr = x[idx]
    fr = fr - fr.mean(axis=1, keepdims=True)
    fr = fr - np.float32(0.97) * np.concatenate([fr[:, :1], fr[:, :-1]], axis=1)
    fr = fr * features.povey_window(400).astype(np.float32)
    spec = np.fft.rfft(np.pad(fr, ((0, 0), (0, 112))), axis=1).astype(np.complex64)
    power = (spec.real ** 2 + spec.imag ** 2).astype(np.float32)
    banks = features.kaldi_mel_banks(80, 512, 16000.0, 20.0, 0.0).astype(np.float32)
    fbank = np.log(np.maximum(power @ banks.T, np.float32(features.FLOAT32_EPS))).astype(np.float32)
    fbank = fbank - fbank.mean(axis=0, keepdims=True)
    return {"speech_tokenizer_mel": st_mel, "speaker_fbank": fbank, "prompt_mel_full": prompt_mel}


def _diff(a: np.ndarray, b: np.ndarray) -> dict:
    if a.shape != b.shape:
        return {"shape": [list(a.shape), list(b.shape)]}
    d = np.abs(a.astype(np.float64) - b.astype(np.float64))
    return {"max_abs": float(d.max()) if d.size else 0.0, "rms": float(np.sqrt(np.mean(d * d))) if d.size else 0.0}


def measure_drift(model_dir: Path, out: Path) -> dict:
    """Re-runs every golden case (1) with 2 intra-op threads and the KV cache bound in place, and
    (2) from prompt features computed by the official float32 PyTorch code; returns the differences."""
    from reference.pipeline import PromptFeatures

    audio, rate = read_wav(PROMPT_WAV)
    cases = {p.name: json.loads((p / "case.json").read_text()) for p in sorted(out.iterdir())
             if (p / "case.json").is_file()}
    result: dict = {}
    m2 = CosyVoice2Reference(model_dir, intra_op_threads=2, inplace_kv=True, verify_hashes=False)
    prompt2 = m2.prompt_features(audio, rate)
    variants = {"threads2_inplace_kv": (m2, prompt2)}
    result["threads2_inplace_kv"] = {"prompt": {
        "speech_tokens_equal": bool(np.array_equal(prompt2.speech_tokens, np.array(
            json.loads((out / "prompt" / "speech_tokens.json").read_text())["speech_tokens"]))),
        "speaker_embedding": _diff(prompt2.speaker_embedding, np.load(out / "prompt" / "speaker_embedding.npy"))}}

    f32 = _torch_float32_features(audio) if rate == 24000 else None
    if f32 is not None:
        m1 = CosyVoice2Reference(model_dir, intra_op_threads=1, verify_hashes=False)
        st = m1.sessions["speech_tokenizer.onnx"].run(["speech_tokens"], {
            "feats": f32["speech_tokenizer_mel"][None],
            "feats_length": np.array([f32["speech_tokenizer_mel"].shape[1]], dtype=np.int32)})[0].reshape(-1)
        emb = m1.sessions["campplus.onnx"].run(["embedding"], {"fbank": f32["speaker_fbank"][None]})[0].reshape(-1)
        n = min(f32["prompt_mel_full"].shape[0] // 2, len(st))
        prompt32 = PromptFeatures(speech_tokens=st[:n].astype(np.int64), speaker_embedding=emb,
                                  prompt_mel=np.ascontiguousarray(f32["prompt_mel_full"][:2 * n]))
        golden_tokens = json.loads((out / "prompt" / "speech_tokens.json").read_text())["speech_tokens"]
        result["official_float32_features"] = {"prompt": {
            "speech_tokenizer_mel": _diff(f32["speech_tokenizer_mel"], np.load(out / "prompt" / "speech_tokenizer_mel.npy")),
            "speaker_fbank": _diff(f32["speaker_fbank"], np.load(out / "prompt" / "speaker_fbank.npy")),
            "prompt_mel": _diff(prompt32.prompt_mel, np.load(out / "prompt" / "prompt_mel.npy")),
            "speaker_embedding": _diff(emb, np.load(out / "prompt" / "speaker_embedding.npy")),
            "speech_tokens_equal": [int(t) for t in prompt32.speech_tokens] == golden_tokens}}
        variants["official_float32_features"] = (m1, prompt32)

    for tag, (model, prompt) in variants.items():
        per_case = result[tag].setdefault("cases", {})
        for name, case in cases.items():
            i = case["inputs"]
            res = model.synthesize(i["text"], i["mode"], prompt, prompt_text=i["prompt_text"],
                                   instruct_text=i["instruct_text"], seed=i["seed"], stream=i["stream"],
                                   speed=i["speed"])
            entry = {"speech_tokens_equal": res.speech_tokens == case["outputs"]["speech_tokens"],
                     "audio": _diff(res.audio, np.load(out / name / "audio.npy"))}
            if (out / name / "mel.npy").is_file():
                entry["mel"] = _diff(res.mel, np.load(out / name / "mel.npy"))
            per_case[name] = entry
    return result


# ------------------------------------------------------------------------------------------------
# tolerances and README
# ------------------------------------------------------------------------------------------------
#: What a runtime must meet against these goldens. Chosen as a few times the drift that legitimate
#: implementation differences cause (measure_drift: other thread counts, in-place KV cache, the
#: official float32 feature code) and far below what a real bug causes (a mel off by one token,
#: wrong noise or a wrong cross-fade differ by 0.1 or more).
TOLERANCES = {
    "text_tokens": "exact", "prompt_text_tokens": "exact", "speech_tokens": "exact",
    "chunk_samples": "exact", "audio_samples": "exact",
    "speech_tokenizer_mel_max_abs": 2e-4,
    "speaker_fbank_max_abs": 1e-3,
    "prompt_mel_max_abs": 5e-4,
    "speaker_embedding_max_abs_rel": 1e-4,
    "resample_max_abs": 2e-5,
    "mel_max_abs": 1e-4,
    "audio_max_abs": 5e-3,
    "audio_rms_diff": 2e-4,
}


def _worst(drift: dict, key: str, field: str = "max_abs") -> float:
    worst = 0.0
    for variant in drift.values():
        for entry in variant.get("cases", {}).values():
            if key in entry and field in entry[key]:
                worst = max(worst, entry[key][field])
    return worst


def write_readme(out: Path, summary: dict, drift: dict) -> None:
    if "official_float32_features" not in drift:
        print("warning: torch not installed, the float32-feature drift was not measured", file=sys.stderr)
    f32 = drift.get("official_float32_features", {}).get("prompt", {})
    feat = {k: f32.get(k, {}).get("max_abs", float("nan")) for k in
            ("speech_tokenizer_mel", "speaker_fbank", "prompt_mel", "speaker_embedding")}
    tokens_equal = all(e["speech_tokens_equal"] for v in drift.values() for e in v.get("cases", {}).values())
    rows = "\n".join(
        f"| `{name}/` | {c['mode']} | {'yes' if c['stream'] else 'no'} | {c['speed']} | {c['seed']} | "
        f"{c['tokens']} | {c['chunks']} | {c['seconds']:.2f} |"
        for name, c in summary["cases"].items())
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    text = f"""# Golden files of the reference pipeline

Written by `reference/make_golden.py` from the tiny random-weight twin (`random/tiny/`, model version
`{summary['model']['version']}`) and the generated test voice `reference/prompt.wav`; a runtime that
implements models/README.md (contract `cosyvoice2-onnx/1`) reproduces them. Regenerate (after the
tiny twin changed) with

    cd models && python -m reference.make_golden --keep-prompt

(without `--keep-prompt` it first rewrites `prompt.wav` from its numpy recipe). `tests/test_pipeline.py`
checks that the pipeline still reproduces these files. Total size {total / 1e6:.2f} MB.

All `.npy` files are float32 little-endian, C order. Token ids are in JSON.

## `prompt/`: the reference voice

Input: `../prompt.wav` (24 kHz, 16-bit mono, {summary['prompt_seconds']:.2f} s), transcript `{PROMPT_TEXT}`.

| file | what |
|---|---|
| `speech_tokenizer_mel.npy` | `[128, T]` Whisper log-mel of the prompt resampled to 16 kHz: the input of `speech_tokenizer.onnx` |
| `speaker_fbank.npy` | `[T, 80]` Kaldi fbank of the 16 kHz prompt, mean subtracted: the input of `campplus.onnx` |
| `speaker_embedding.npy` | `[192]` `campplus.onnx` output on `speaker_fbank.npy` |
| `prompt_mel.npy` | `[2n, 80]` prompt mel (24 kHz), already cut to `2n` frames by the alignment |
| `speech_tokens.json` | `speech_tokens` (the `n` aligned prompt tokens), `speech_tokens_before_alignment` (the graph's output), `prompt_mel_frames_before_alignment`, the prompt text and its token ids |
| `resample_in_24k.npy` → `resample_24k_to_16k.npy` | the resampler on the prompt's first 0.25 s (the prompt path) |
| `resample_in_44k1.npy` → `resample_44k1_to_16k.npy`, `resample_44k1_to_24k.npy` | the resampler on 0.1 s of the same voice made at 44.1 kHz (a typical upload) |

## One directory per synthesis case

| case | mode | stream | speed | seed | speech tokens | chunk samples | seconds |
|---|---|---|---|---|---|---|---|
{rows}

Each has `case.json`:

* `inputs`: `mode`, `text`, `prompt_text` (zero-shot only), `instruct_text` (instruct only, as given:
  the pipeline appends `<|endofprompt|>`), `seed`, `stream`, `speed`. Every case uses the prompt above
  for the flow (prompt tokens, prompt mel, embedding).
* `outputs`: `text_tokens` (the text to speak), `prompt_text_tokens` (the prompt text or instruct text
  with `<|endofprompt|>` as fed to the LLM; empty for cross-lingual), `speech_tokens` (generated, stop
  token excluded), `chunk_samples` (the size of each audio chunk in order), `audio_samples`,
  `mel_frames` (`2 × len(speech_tokens)`), `rms` of the audio.

and `audio.npy` (`[audio_samples]`, the concatenated chunks, 24 kHz) and, for non-streaming cases,
`mel.npy` (`[80, 2 × tokens]`: the generated mel before any speed change, i.e. HiFT's input when speed
is 1).

`drift.json` holds the measurements behind the tolerances; `tolerances.json` the tolerances as data.

## Tolerances a runtime should meet

| quantity | tolerance |
|---|---|
| text tokens, prompt/instruct tokens, speech tokens, chunk sizes, sample counts | exact |
| `speech_tokenizer_mel` | max abs {TOLERANCES['speech_tokenizer_mel_max_abs']:g} |
| `speaker_fbank` | max abs {TOLERANCES['speaker_fbank_max_abs']:g} |
| `prompt_mel` | max abs {TOLERANCES['prompt_mel_max_abs']:g} |
| `speaker_embedding` | max abs {TOLERANCES['speaker_embedding_max_abs_rel']:g} × max abs of the golden |
| resampler outputs | max abs {TOLERANCES['resample_max_abs']:g} |
| generated `mel` | max abs {TOLERANCES['mel_max_abs']:g} |
| `audio` | max abs {TOLERANCES['audio_max_abs']:g} and RMS of the difference {TOLERANCES['audio_rms_diff']:g} |

How they were chosen (`drift.json`): the same pipeline with onnxruntime at 2 intra-op threads instead
of 1 and the KV cache bound in place (IOBinding) instead of fed back, and the pipeline run from prompt
features computed by the official float32 PyTorch code instead of `features.py` (float64), moved the
outputs by at most: speech tokens {'never' if tokens_equal else 'CHANGED (see drift.json)'}; features
`speech_tokenizer_mel` {feat['speech_tokenizer_mel']:.1e}, `speaker_fbank` {feat['speaker_fbank']:.1e},
`prompt_mel` {feat['prompt_mel']:.1e}, `speaker_embedding` {feat['speaker_embedding']:.1e}; generated mel
{_worst(drift, 'mel'):.1e}; audio max abs {_worst(drift, 'audio'):.1e}, RMS {_worst(drift, 'audio', 'rms'):.1e}.
The audio is the most sensitive output: HiFT integrates its predicted F0 into the phase of the
harmonics, so a mel change of 1e-4 moves samples by up to ~5e-3 (measured on this twin). The feature
tolerances are a little looser than the bounds `tests/test_features.py` holds `features.py` to against
the official float32 code (1e-4, 1e-3 and 2e-4 for the three features).
A runtime that computes its own features should still get the speech tokens exactly (a token flips only
when the 16 kHz log-mel moves by ~1e-3); to separate feature errors from synthesis errors, it can also
feed the golden `prompt/*.npy` features to the graphs.

## Decisions the goldens encode (where models/README.md leaves room)

* Streaming: the final chunk runs `flow_encoder` with `attention_chunk = 0` (full attention), as the
  official `CosyVoice2Model.tts` does (its final `token2wav` call leaves `stream=False`); earlier chunks
  use `attention_chunk = 25`. So the final chunk's new mel frames equal the non-streaming mel.
* Flow time steps: `t_k = 1 − cos(π/2 · k/10)` in float64; the estimator gets `float32(t_k)` and the
  update is `x ← x + float32(t_(k+1) − t_k) · v` in float32, with `v = 1.7·v_cond − 0.7·v_uncond` in float32.
* Cross-fade: `np.hamming(7680)` (symmetric) in float64, the faded samples rounded to float32.
* The vocoder stream is consumed per HiFT call in call order: 9 uniforms for `phase_init` (the first
  then set to 0), then `480·F·9` normals as Box–Muller pairs, row-major `[480·F, 9]`.
* RAS: the repetition window is the last `win_size` generated tokens (prompt tokens not included);
  the fallback draw that by rounding exceeds every running sum takes the last token with non-zero p.
* `max_len = min(int(text_len · 20), (noise_frames − prompt_mel_frames) // 2)`; the LLM KV cache
  capacity is `prefix_len + max_len`.
"""
    (out / "README.md").write_text(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", type=Path, default=MODELS / "random" / "tiny")
    ap.add_argument("--out", type=Path, default=HERE / "golden")
    ap.add_argument("--keep-prompt", action="store_true", help="do not rewrite reference/prompt.wav")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    if not args.keep_prompt or not PROMPT_WAV.exists():
        write_wav(PROMPT_WAV, make_prompt_audio(), PROMPT_RATE)
    summary = write_goldens(args.model_dir, args.out, args.threads)
    drift = measure_drift(args.model_dir, args.out)
    (args.out / "drift.json").write_text(json.dumps(drift, indent=1) + "\n")
    (args.out / "tolerances.json").write_text(json.dumps(TOLERANCES, indent=1) + "\n")
    write_readme(args.out, summary, drift)
    total = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(json.dumps(summary, indent=1, ensure_ascii=False), file=sys.stderr)
    print(f"{args.out}: {total / 1e6:.2f} MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
