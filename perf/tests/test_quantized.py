"""perf/quantized.py on the committed tiny twin and its int4 copy (a few seconds)."""
import json
import subprocess
import sys
from pathlib import Path

PERF = Path(__file__).resolve().parent.parent
RANDOM = PERF.parent / "models" / "random"


def test_speed_logits_and_tokens_lines_on_the_tiny_twins():
    cmd = [sys.executable, str(PERF / "quantized.py"), str(RANDOM / "tiny"), str(RANDOM / "tiny-int4"),
           "--prefix", "12", "--tokens", "5", "--rounds", "1", "--batches", "1,3", "--steps", "20", "--sequences", "2"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    lines = [json.loads(x) for x in res.stdout.splitlines() if x.strip()]
    speed = [x for x in lines if x["part"] == "speed"]
    assert [(x["weights"], x["batch"]) for x in speed] == [("fp32", 1), ("int4-b32-acc4", 1), ("fp32", 3), ("int4-b32-acc4", 3)]
    assert all(x["decode_steps"] == 5 and x["decode_step_ms_p50"] > 0 for x in speed)
    [logits] = [x for x in lines if x["part"] == "logits"]
    assert logits["compared_logit_rows"] == 40 and logits["weights"] == "int4-b32-acc4"
    assert 0 < logits["max_abs_error"] < logits["fp32_logit_std"] and 0 < logits["kl_mean"] < 0.05
    assert 0.5 < logits["nucleus_jaccard_mean"] <= 1
    [tokens] = [x for x in lines if x["part"] == "tokens"]
    assert 0 <= tokens["identical_fraction"] <= 1 and len(tokens["first_divergence"]) == 2


def test_the_float32_directory_comes_first():
    res = subprocess.run([sys.executable, str(PERF / "quantized.py"), str(RANDOM / "tiny-int4"), str(RANDOM / "tiny")],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode != 0 and "must be the float32 one" in res.stderr
