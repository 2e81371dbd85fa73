"""Float32 vs weight-only quantised LLM, side by side in one process: decode speed and closeness.

    python perf/quantized.py /work/main/models/random/full /tmp/full-int8 /tmp/full-int4

The first directory is the float32 reference; the others are ``models/quantize.py`` outputs of
it. Three parts, one JSON line each on stdout (progress on stderr):

* ``speed`` (per batch size and directory): one batched prefill of ``--prefix`` positions, then
  rounds of ``--tokens`` decode steps with the KV cache bound as past and present (IOBinding, as
  the server does), the directories taking turns round by round (``--rounds``, after a warm-up
  round) so background load hits them alike. ``decode_step_ms_p50`` is the median model call; ``decode_tokens_per_second`` = batch /
  that median. ``others_cpu_per_wall``: cores other processes used meanwhile (``/proc/stat``).
* ``logits`` (per quantised directory): teacher forcing. The float32 model generates
  ``--steps`` tokens for ``--sequences`` sequences (contract RAS sampling, stop tokens masked); each
  quantised model is fed the same inputs, and at every step its logits are compared with float32's:
  max and mean absolute error (all logits), the float32 logits' standard deviation for scale, and
  over the distribution sampled here (softmax of the speech tokens, float64, stop tokens masked):
  KL(p_fp32 || p_q), how often the argmax agrees, and the overlap (Jaccard) of the two models'
  sampling nuclei (the top-k / top-p sets RAS draws from).
* ``tokens`` (per quantised directory): free running with the same seeds: each model samples its
  own tokens (contract RAS, SplitMix64 per sequence, stop tokens masked); the fraction of positions
  with the same token as float32 and the position of the first difference per sequence.

Random-weight twins have nearly flat speech-token distributions (hundreds of tokens with similar
probability), where any small logit change moves a draw: the token figures then exaggerate what
quantisation does to a trained model. The logits figures are the measure of closeness.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import common  # noqa: E402  (puts models/ on sys.path)
from cosyvoice_onnx.llm import KVPool, make_session  # noqa: E402
from reference.pipeline import SamplingParams, ras_sample  # noqa: E402
from reference.rng import SplitMix64  # noqa: E402


class Model:
    def __init__(self, model_dir: Path, threads: int):
        self.dir = model_dir
        self.config = common.load_model_json(model_dir)
        q = self.config["llm"].get("quantization")
        self.label = "fp32" if q is None else f"int{q['bits']}-b{q['block_size']}-acc{q['accuracy_level']}"
        t0 = time.perf_counter()
        self.sess = make_session(model_dir, threads)
        common.log(f"quantized: {self.label} session on {model_dir} in {time.perf_counter() - t0:.1f} s")


class Inputs:
    """Embedding tables and request prefixes: shared by all directories (quantisation leaves them)."""

    def __init__(self, model_dir: Path, config: dict, prefix: int, seed: int):
        llm = config["llm"]
        self.shape = llm
        self.text = np.load(model_dir / "llm_text_embedding.npy", mmap_mode="r")
        self.speech = np.load(model_dir / "llm_speech_embedding.npy")
        self.special = np.load(model_dir / "llm_special_embedding.npy")
        self.prefix_len = prefix
        self.seed = seed
        self.stop = list(llm["stop_tokens"])
        s = config["sampling"]
        self.params = SamplingParams(top_p=s["top_p"], top_k=s["top_k"], win_size=s["win_size"],
                                     tau_r=s["tau_r"], eos=llm["eos"])

    def prefixes(self, batch: int) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        rows = []
        for _ in range(batch):
            text, speech = common.prefix_tokens(rng, self.prefix_len, self.shape["text_vocab"],
                                                self.shape["speech_token_size"])
            rows.append(np.concatenate([self.special[0:1], self.text[text], self.special[1:2],
                                        self.speech[speech]], 0))
        return np.stack(rows).astype(np.float32)

    def sample(self, logits: np.ndarray, out: list, rng: SplitMix64) -> int:
        lg = np.array(logits, np.float64)
        lg[self.stop] = -np.inf
        return ras_sample(lg, out, rng, self.params, 0)


class Run:
    """One batch of sequences on one model: prefill, then one decode step per call."""

    def __init__(self, model: Model, inputs: Inputs, batch: int, capacity: int):
        self.model, self.inputs, self.batch = model, inputs, batch
        self.pool = KVPool(model.config["llm"], batch, capacity)
        self.pos = 0

    def prefill(self) -> np.ndarray:
        x = self.inputs.prefixes(self.batch)
        b, p = self.batch, x.shape[1]
        self.pos = p
        return self.pool.step(self.model.sess, slice(0, b), x, np.tile(np.arange(p), (b, 1)),
                              np.full(b, p - 1), np.full(b, p - 1))

    def decode(self, tokens) -> np.ndarray:
        b = self.batch
        x = self.inputs.speech[np.asarray(tokens)][:, None, :].astype(np.float32)
        logits = self.pool.step(self.model.sess, slice(0, b), x, np.full((b, 1), self.pos),
                                np.full(b, self.pos), np.zeros(b))
        self.pos += 1
        return logits


def speed(models, inputs, batch: int, tokens: int, rounds: int) -> list[dict]:
    """Each model prefills its batch once; then rounds of ``tokens`` decode steps, the models
    taking turns, so that background load hits them alike. The first round warms up."""
    runs = {}
    for m in models:
        runs[m.label] = Run(m, inputs, batch, inputs.prefix_len + (rounds + 1) * tokens)
        runs[m.label].prefill()
    common.log(f"quantized: speed batch {batch}: prefills done")
    steps = {m.label: [] for m in models}
    busy = {m.label: [0.0, 0.0, 0.0] for m in models}   # wall, own cpu, machine cpu
    rng = np.random.default_rng(1)
    for r in range(rounds + 1):
        for m in models:
            w0, c0, b0 = time.perf_counter(), time.process_time(), common.machine_busy_s()
            for _ in range(tokens):
                picks = rng.integers(0, inputs.shape["speech_token_size"], batch)
                t0 = time.perf_counter()
                runs[m.label].decode(picks)
                if r:
                    steps[m.label].append(time.perf_counter() - t0)
            if r:
                acc = busy[m.label]
                acc[0] += time.perf_counter() - w0
                acc[1] += time.process_time() - c0
                acc[2] += common.machine_busy_s() - b0
        common.log(f"quantized: speed batch {batch} round {r} done")
    del runs
    lines = []
    for m in models:
        s = np.array(steps[m.label])
        wall, own, machine = busy[m.label]
        lines.append({"part": "speed", "weights": m.label, "batch": batch, "decode_steps": len(s),
                      "kv_positions": f"{inputs.prefix_len + tokens}..{inputs.prefix_len + (rounds + 1) * tokens}",
                      "decode_step_ms_p50": round(1e3 * float(np.median(s)), 2),
                      "decode_step_ms_mean": round(1e3 * float(s.mean()), 2),
                      "decode_step_ms_p90": round(1e3 * float(np.percentile(s, 90)), 2),
                      "decode_step_ms_min": round(1e3 * float(s.min()), 2),
                      "decode_tokens_per_second": round(batch / float(np.median(s)), 1),
                      "cpu_per_wall": round(own / wall, 2),
                      "others_cpu_per_wall": round(max(0.0, machine - own) / wall, 2)})
    base = lines[0]["decode_step_ms_p50"]
    for line in lines:
        line["speedup_vs_fp32"] = round(base / line["decode_step_ms_p50"], 2)
    return lines


def _softmax(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    p = np.exp(x - x.max(-1, keepdims=True))
    return p / p.sum(-1, keepdims=True)


def _nucleus(p: np.ndarray, params: SamplingParams) -> set:
    """The contract's nucleus: by p descending (ties: lower index), taken while the running sum
    is below top_p and fewer than top_k are taken."""
    order = np.argsort(-p, kind="stable")[: params.top_k]
    before = np.concatenate([[0.0], np.cumsum(p[order])[:-1]])
    return set(order[before < params.top_p].tolist())


def logits_closeness(ref: Model, quantized: list, inputs: Inputs, sequences: int, steps: int) -> list[dict]:
    cap = inputs.prefix_len + steps
    runs = [Run(ref, inputs, sequences, cap)] + [Run(q, inputs, sequences, cap) for q in quantized]
    rngs = [SplitMix64(1000 + i) for i in range(sequences)]
    outs = [[] for _ in range(sequences)]
    stats = {q.label: {"max_abs": [], "mean_abs": [], "kl": [], "argmax_same": [], "nucleus_jaccard": []}
             for q in quantized}
    ref_std = []
    logits = [r.prefill() for r in runs]
    for step in range(steps):
        ref_logits = logits[0]
        ref_std.append(float(ref_logits.std(-1).mean()))
        picks = [inputs.sample(ref_logits[i], outs[i], rngs[i]) for i in range(sequences)]
        speech = slice(0, inputs.shape["speech_token_size"])   # the distribution sampled: stop tokens masked
        p_ref = _softmax(ref_logits[:, speech])
        for q, ql in zip(quantized, logits[1:]):
            st = stats[q.label]
            diff = np.abs(ql.astype(np.float64) - ref_logits)
            st["max_abs"].append(float(diff.max()))
            st["mean_abs"].append(float(diff.mean()))
            p_q = _softmax(ql[:, speech])
            st["kl"] += list((p_ref * (np.log(p_ref + 1e-300) - np.log(p_q + 1e-300))).sum(-1))
            st["argmax_same"] += list(p_q.argmax(-1) == p_ref.argmax(-1))
            # the sampling nucleus (top-k / top-p set) of both models: how much it overlaps
            for i in range(sequences):
                a, b = _nucleus(p_ref[i], inputs.params), _nucleus(p_q[i], inputs.params)
                st["nucleus_jaccard"].append(len(a & b) / len(a | b))
        for i, t in enumerate(picks):
            outs[i].append(t)
        if step + 1 < steps:
            logits = [r.decode(picks) for r in runs]
        if (step + 1) % 50 == 0:
            common.log(f"quantized: teacher-forced step {step + 1}/{steps}")
    lines = []
    for q in quantized:
        st = stats[q.label]
        kl = np.array(st["kl"])
        lines.append({"part": "logits", "weights": q.label, "sequences": sequences, "steps": steps,
                      "compared_logit_rows": len(kl),
                      "max_abs_error": round(max(st["max_abs"]), 4),
                      "mean_abs_error": round(float(np.mean(st["mean_abs"])), 5),
                      "fp32_logit_std": round(float(np.mean(ref_std)), 4),
                      "kl_mean": float(f"{kl.mean():.3g}"), "kl_p99": float(f"{np.percentile(kl, 99):.3g}"),
                      "kl_max": float(f"{kl.max():.3g}"),
                      "argmax_agreement": round(float(np.mean(st["argmax_same"])), 4),
                      "nucleus_jaccard_mean": round(float(np.mean(st["nucleus_jaccard"])), 4)})
    return lines


def free_running(ref: Model, quantized: list, inputs: Inputs, sequences: int, steps: int) -> list[dict]:
    tokens = {}
    for m in [ref] + quantized:
        run = Run(m, inputs, sequences, inputs.prefix_len + steps)
        rngs = [SplitMix64(1000 + i) for i in range(sequences)]
        outs = [[] for _ in range(sequences)]
        logits = run.prefill()
        for step in range(steps):
            picks = [inputs.sample(logits[i], outs[i], rngs[i]) for i in range(sequences)]
            for i, t in enumerate(picks):
                outs[i].append(t)
            if step + 1 < steps:
                logits = run.decode(picks)
        tokens[m.label] = np.array(outs)
        common.log(f"quantized: free-running {m.label} done")
    ref_tokens = tokens[ref.label]
    lines = []
    for q in quantized:
        same = tokens[q.label] == ref_tokens
        first = [int(np.argmin(row)) if not row.all() else None for row in same]
        lines.append({"part": "tokens", "weights": q.label, "sequences": sequences, "steps": steps,
                      "identical_fraction": round(float(same.mean()), 4),
                      "first_divergence": first})
    return lines


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dirs", type=Path, nargs="+", help="the float32 directory first, then quantised ones")
    p.add_argument("--batches", default="1,16", help="batch sizes of the speed part")
    p.add_argument("--prefix", type=int, default=150)
    p.add_argument("--tokens", type=int, default=40, help="decode steps per round of the speed part")
    p.add_argument("--rounds", type=int, default=3, help="measured rounds of the speed part (after one warm-up)")
    p.add_argument("--sequences", type=int, default=4, help="sequences of the closeness parts")
    p.add_argument("--steps", type=int, default=300, help="decode steps of the closeness parts")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS",
                   help="before each speed batch size wait up to SECONDS until other processes use < 0.15 cores")
    p.add_argument("--skip", default="", help="comma-separated parts to skip: speed, logits, tokens")
    a = p.parse_args(argv)
    skip = set(filter(None, a.skip.split(",")))
    models = [Model(d, a.threads) for d in a.dirs]
    ref, quantized = models[0], models[1:]
    if "quantization" in ref.config["llm"]:
        sys.exit(f"{a.dirs[0]}: the first directory must be the float32 one")
    inputs = Inputs(a.dirs[0], ref.config, a.prefix, a.seed)
    common.log(f"quantized: other processes use {common.others_cpu(2.0):.2f} cores before the run")
    stamp = {"model": ref.config["model"]["variant"], "threads": a.threads, "prefix": a.prefix}

    def emit(line):
        line.update(stamp)
        line["loadavg_1m"] = round(__import__("os").getloadavg()[0], 2)
        line["date"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        common.emit(line)

    if "speed" not in skip:
        for b in [int(x) for x in a.batches.split(",") if x.strip()]:
            if a.wait_quiet > 0:
                common.log(f"quantized: other processes use {common.wait_quiet(a.wait_quiet):.2f} cores")
            for line in speed(models, inputs, b, a.tokens, a.rounds):
                emit(line)
    if quantized and "logits" not in skip:
        for line in logits_closeness(ref, quantized, inputs, a.sequences, a.steps):
            emit(line)
    if quantized and "tokens" not in skip:
        for line in free_running(ref, quantized, inputs, a.sequences, a.steps):
            emit(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
