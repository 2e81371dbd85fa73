"""Shared parts of the reference LLM loops (``official_style.py``, ``plain_ort.py``).

What is shared: the command line, the request shape (every request gets a prefix of the same
length and generates the same number of tokens), the waves of arrivals, and the statistics and
JSON line written per configuration. See ``perf/README.md`` for what is measured and how.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
MODELS = REPO / "models"
if str(MODELS) not in sys.path:
    sys.path.insert(0, str(MODELS))


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def parse_args(description: str, argv=None, extra=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--model-dir", type=Path, default=MODELS / "random" / "full",
                   help="model directory (default: models/random/full of this checkout)")
    p.add_argument("--concurrency", default="1,4,16,32",
                   help="comma-separated concurrencies, one configuration (and JSON line) each")
    p.add_argument("--tokens", type=int, default=60, help="speech tokens generated per request (stop tokens masked)")
    p.add_argument("--prefix", type=int, default=150, help="prefix length: sos + text + task_id + prompt speech tokens")
    p.add_argument("--max-seconds", type=float, default=120.0,
                   help="cap on the measured time of each configuration (warm-up not included)")
    p.add_argument("--max-waves", type=int, default=0,
                   help="stop a configuration after this many waves of arrivals (0: only --max-seconds)")
    p.add_argument("--threads", type=int, default=2, help="intra-op threads")
    p.add_argument("--first-chunk-tokens", type=int, default=28,
                   help="tokens a request needs before its first audio chunk can start (25 hop + 3 look-ahead)")
    p.add_argument("--seed", type=int, default=0, help="seed of the prefixes and of the sampling")
    p.add_argument("--no-warmup", action="store_true", help="skip the warm-up before each configuration")
    p.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS",
                   help="before each configuration wait up to SECONDS until other processes use < 0.15 cores")
    if extra:
        extra(p)
    a = p.parse_args(argv)
    a.concurrency_list = [int(c) for c in str(a.concurrency).split(",") if c.strip()]
    if a.prefix < 3:
        p.error("--prefix must be at least 3 (sos, one text token, task_id)")
    if a.tokens < 1 or any(c < 1 for c in a.concurrency_list):
        p.error("--tokens and --concurrency must be positive")
    return a


def load_model_json(model_dir: Path) -> dict:
    path = Path(model_dir) / "model.json"
    if not path.is_file():
        sys.exit(f"no model.json in {model_dir} (generate it: python models/random/generate.py --size full)")
    return json.loads(path.read_text())


def prefix_tokens(rng: np.random.Generator, prefix: int, text_vocab: int, speech_token_size: int):
    """Text and prompt-speech token ids of one request: ``[sos] + text + [task_id] + speech`` has
    ``prefix`` positions, about one third text and two thirds prompt speech (a zero-shot request).
    The prompt speech is a whole number of 25-token hops when it can be (150: 48 text + 100 speech),
    so the contract's first chunk needs exactly 25 + 3 generated tokens (no padding)."""
    n_speech = (prefix - 2) * 2 // 3
    if round(n_speech / 25) >= 1 and round(n_speech / 25) * 25 < prefix - 2:
        n_speech = round(n_speech / 25) * 25
    n_text = prefix - 2 - n_speech
    text = rng.integers(0, min(text_vocab, 151643), n_text)   # ordinary text tokens, no specials
    speech = rng.integers(0, speech_token_size, n_speech)
    return text.astype(np.int64), speech.astype(np.int64)


def machine_busy_s() -> float:
    """CPU seconds all processes of the machine have been busy (from /proc/stat; 0 elsewhere)."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
    except OSError:
        return 0.0
    user, nice, system, idle, iowait, irq, softirq, steal = v
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def others_cpu(seconds: float) -> float:
    """Cores used by other processes over the next ``seconds`` (this process is idle meanwhile)."""
    b0, c0 = machine_busy_s(), time.process_time()
    time.sleep(seconds)
    return max(0.0, (machine_busy_s() - b0 - (time.process_time() - c0)) / seconds)


def wait_quiet(max_wait: float, threshold: float = 0.15) -> float:
    """Wait up to ``max_wait`` s until other processes use under ``threshold`` cores (2-s samples);
    returns the last sample. For shared machines: a benchmark next to a compiler measures both."""
    deadline = time.monotonic() + max_wait
    used = others_cpu(2.0)
    while used >= threshold and time.monotonic() < deadline:
        log(f"waiting for a quiet machine: other processes use {used:.2f} cores")
        used = others_cpu(2.0)
    return used


@dataclass
class Request:
    index: int
    arrival: float                         # time.perf_counter() when it arrived
    token_times: list = field(default_factory=list)   # perf_counter() of each generated token
    tokens: list = field(default_factory=list)


def _nearest_rank(sorted_known: list, n_total: int, q: float):
    """Nearest-rank percentile q of n_total values of which ``sorted_known`` are known and the
    others are known to be larger: (value, True) when determined, (bound, False) otherwise."""
    rank = max(1, math.ceil(q / 100.0 * n_total))
    if rank <= len(sorted_known):
        return sorted_known[rank - 1], True
    return None, False


@dataclass
class Wave:
    requests: list
    t_start: float
    t_end: float
    complete: bool
    cpu_s: float                                  # process CPU time spent in the wave
    machine_s: float = 0.0                        # CPU time of the whole machine in the wave
    steps: dict = field(default_factory=dict)     # name -> step durations (s) recorded in the wave


def _ms(values, fn):
    return round(1e3 * float(fn(values)), 2) if len(values) else None


def summarize(system: str, concurrency: int, waves: list, args, extra: dict) -> dict:
    """One JSON-able line for a configuration.

    When at least one wave completed only the completed waves count; otherwise the first (cut)
    wave counts and latencies of requests that had not reached the milestone by the cut are
    censored (known only to exceed the cut time): a percentile that falls on a censored request
    is null, with ``..._lower_bound`` instead. Percentiles are nearest-rank.
    """
    done = [w for w in waves if w.complete]
    used = done if done else waves[:1]
    reqs = [r for w in used for r in w.requests]
    wall = sum(w.t_end - w.t_start for w in used)
    ntok = sum(len(r.token_times) for r in reqs)
    fc = min(args.first_chunk_tokens, args.tokens)
    out = {"system": system, "concurrency": concurrency,
           "tokens_per_second": round(ntok / wall, 2) if wall > 0 else None}
    cut_at = {id(r): w.t_end - w.t_start for w in used for r in w.requests}
    for name, k in (("ttft", 1), ("first_chunk", fc)):
        known = sorted((r.token_times[k - 1] - r.arrival) * 1e3 for r in reqs if len(r.token_times) >= k)
        bound = min((cut_at[id(r)] * 1e3 for r in reqs if len(r.token_times) < k), default=None)
        for q in (50, 90):
            v, ok = _nearest_rank(known, len(reqs), q)
            out[f"{name}_p{q}_ms"] = round(v, 1) if ok else None
            if not ok:
                out[f"{name}_p{q}_ms_lower_bound"] = round(bound, 1)
    steps = {}
    for w in used:
        for key, vals in w.steps.items():
            steps.setdefault(key, []).extend(vals)
    dec = steps.get("decode", [])
    out.update({
        "requests": len(reqs),
        "requests_complete": sum(1 for r in reqs if len(r.token_times) >= args.tokens),
        "tokens_generated": ntok,
        "waves": len(used),
        "censored": not done,
        "wall_s": round(wall, 2),
        "prefix": args.prefix, "tokens": args.tokens, "first_chunk_tokens": fc,
        "threads": args.threads,
        "prefill_ms_mean": _ms(steps.get("prefill", []), np.mean),
        "decode_step_ms_p50": _ms(dec, np.median),
        "decode_step_ms_mean": _ms(dec, np.mean),
        "decode_tokens_per_second": round(extra.pop("tokens_per_decode_step", 1) / float(np.median(dec)), 2)
        if dec else None,
        "sample_ms_per_step_mean": _ms(steps.get("sample", []), np.mean),
        # process CPU seconds per wall second: about `threads` when nothing else competed for the cores
        "cpu_per_wall": round(sum(w.cpu_s for w in used) / wall, 2) if wall > 0 else None,
        # cores other processes used meanwhile: near 0 on a quiet machine
        "others_cpu_per_wall": round(max(0.0, sum(w.machine_s - w.cpu_s for w in used)) / wall, 2)
        if wall > 0 else None,
    })
    out.update(extra)
    out["loadavg_1m"] = round(os.getloadavg()[0], 2)
    out["date"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    return out


def run_configuration(serve_wave, concurrency: int, args, seed: int) -> list:
    """Waves of ``concurrency`` requests arriving together, back to back, until ``--max-seconds``.

    ``serve_wave(requests, deadline, seed, steps) -> bool`` serves one wave, appends step durations
    to ``steps[name]`` and returns True when every request got all its tokens before the deadline
    (a wave still running at the deadline is cut there, and is the last).
    """
    start = time.perf_counter()
    deadline = start + args.max_seconds
    waves: list = []
    w = 0
    while not waves or time.perf_counter() < deadline:   # at least one wave, even if cut at once
        steps = {"prefill": [], "decode": [], "sample": []}
        c0, m0 = time.process_time(), machine_busy_s()
        t0 = time.perf_counter()
        reqs = [Request(index=w * concurrency + i, arrival=t0) for i in range(concurrency)]
        complete = serve_wave(reqs, deadline, seed + w, steps)
        t1 = time.perf_counter()
        if complete:
            t1 = max(r.token_times[-1] for r in reqs)
        waves.append(Wave(reqs, t0, t1, complete, cpu_s=time.process_time() - c0,
                          machine_s=machine_busy_s() - m0, steps=steps))
        w += 1
        if not complete or (args.max_waves and w >= args.max_waves):
            break
    return waves


def emit(line: dict) -> None:
    print(json.dumps(line), flush=True)
