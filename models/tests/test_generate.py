"""The committed tiny twin is exactly what the generator makes, and satisfies the contract."""
from __future__ import annotations

import json
import sys
from pathlib import Path

MODELS = Path(__file__).resolve().parent.parent
TINY = MODELS / "random" / "tiny"
sys.path.insert(0, str(MODELS / "random"))

import generate  # noqa: E402
from cosyvoice_onnx.contract import CONTRACT, check_model_dir, content_files  # noqa: E402


def test_committed_tiny_twin_satisfies_the_contract():
    config = check_model_dir(TINY)
    assert config["contract"] == CONTRACT
    assert config["model"] == {**config["model"], "variant": "random-tiny", "random_weights": True}
    total = sum(entry["bytes"] for entry in config["files"].values())
    assert total < 6_000_000, f"the committed tiny twin grew to {total} bytes"
    # interface sizes are the real model's; only the layers are small
    assert config["llm"]["speech_token_size"] == 6561
    assert config["flow"]["mel_bins"] == 80 and config["audio"]["sample_rate"] == 24000


def test_generator_reproduces_the_committed_tiny_twin_byte_for_byte(tmp_path):
    out = tmp_path / "tiny"
    assert generate.main(["--size", "tiny", "--out", str(out)]) == 0
    committed = json.loads((TINY / "model.json").read_text())
    fresh = json.loads((out / "model.json").read_text())
    assert content_files(out) == content_files(TINY)
    assert fresh["files"] == committed["files"], "regenerate models/random/tiny (see models/README.md)"
    assert fresh["model"]["version"] == committed["model"]["version"]


def test_a_tampered_file_is_refused(tmp_path):
    import shutil

    import pytest
    from cosyvoice_onnx.contract import ContractError

    copy = tmp_path / "tiny"
    shutil.copytree(TINY, copy)
    with open(copy / "flow_noise.npy", "r+b") as f:
        f.seek(-4, 2)
        f.write(b"\0\0\0\0")
    with pytest.raises(ContractError, match="flow_noise.npy: SHA-256"):
        check_model_dir(copy)
    (copy / "hift.onnx").unlink()
    with pytest.raises(ContractError, match="hift.onnx"):
        check_model_dir(copy)
