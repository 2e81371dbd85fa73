"""Smoke tests of the reference loops on the committed tiny twin (a few seconds in all)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

PERF = Path(__file__).resolve().parent.parent
TINY = PERF.parent / "models" / "random" / "tiny"
sys.path.insert(0, str(PERF))

KEYS = {"system", "concurrency", "tokens_per_second", "ttft_p50_ms", "first_chunk_p50_ms", "requests",
        "requests_complete", "tokens_generated", "censored", "decode_step_ms_p50", "cpu_per_wall"}


def run(script, *extra):
    cmd = [sys.executable, str(PERF / script), "--model-dir", str(TINY), "--tokens", "30", "--prefix", "12",
           *extra]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return [json.loads(line) for line in res.stdout.splitlines() if line.strip()]


@pytest.mark.parametrize("script,system", [("official_style.py", "official_style"), ("plain_ort.py", "plain_ort")])
def test_script_on_tiny_twin(script, system):
    lines = run(script, "--concurrency", "1,3", "--max-waves", "2", "--max-seconds", "60")
    assert [x["concurrency"] for x in lines] == [1, 3]
    for x in lines:
        assert KEYS <= set(x), KEYS - set(x)
        assert x["system"] == system and x["model"] == "random-tiny"
        assert not x["censored"] and x["waves"] == 2 and x["requests"] == 2 * x["concurrency"]
        assert x["requests_complete"] == x["requests"] and x["tokens_generated"] == 30 * x["requests"]
        assert x["tokens_per_second"] > 0 and 0 < x["ttft_p50_ms"] <= x["first_chunk_p50_ms"]


def test_cut_wave_is_censored():
    # A wave that cannot finish in time: the first wave counts, cut at the deadline.
    [x] = run("plain_ort.py", "--concurrency", "2", "--max-seconds", "0.001", "--no-warmup")
    assert x["censored"] and x["requests"] == 2 and x["requests_complete"] == 0
    assert x["ttft_p50_ms"] is not None and x["first_chunk_p50_ms"] is None
    assert x["first_chunk_p50_ms_lower_bound"] > 0


def test_percentiles_with_censoring():
    import argparse

    import common

    args = argparse.Namespace(first_chunk_tokens=2, tokens=3, prefix=5, threads=2)
    reqs = []
    for i in range(4):   # served one after the other: request i gets tokens at 10i+1, 10i+2, 10i+3 s
        r = common.Request(index=i, arrival=0.0)
        r.token_times = [10.0 * i + k for k in (1, 2, 3)]
        reqs.append(r)
    reqs[3].token_times = reqs[3].token_times[:1]     # cut at 32 s after its first token
    line = common.summarize("x", 4, [common.Wave(reqs, 0.0, 32.0, False, cpu_s=0.0)], args, {})
    assert line["ttft_p50_ms"] == 11000.0 and line["ttft_p90_ms"] == 31000.0   # ranks 2 and 4 of 4
    assert line["first_chunk_p50_ms"] == 12000.0                               # rank 2: known
    assert line["first_chunk_p90_ms"] is None and line["first_chunk_p90_ms_lower_bound"] == 32000.0
    assert line["tokens_per_second"] == round(10 / 32.0, 2) and line["censored"]
