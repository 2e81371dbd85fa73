"""The export, as far as it can run without the official checkpoint.

The official code and weights are not available here, so the far side of the export (the
`cosyvoice` package and a checkpoint directory) is a stand-in built from our tiny twins, which
have the official modules' attribute structure; everything on our side runs for real: input
checks, weight-norm folding, tokenizer and ONNX adoption, graph export, verification, model.json.
"""
from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

MODELS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(MODELS / "export"))

import export as export_script  # noqa: E402
from cosyvoice_onnx.contract import check_model_dir  # noqa: E402
from cosyvoice_onnx.frontend import make_qwen_like_dir, make_twin_campplus, make_twin_speech_tokenizer  # noqa: E402

STUB = textwrap.dedent('''
    """Stand-in for the official cosyvoice.cli.cosyvoice, built from the tiny twins."""
    import torch
    from cosyvoice_onnx.twin_flow import make_twin_flow
    from cosyvoice_onnx.twin_hift import make_twin_hift
    from cosyvoice_onnx.twin_llm import make_twin_lm


    class _Model:
        def __init__(self):
            self.llm = make_twin_lm("tiny", text_vocab=2112, seed=0)
            self.flow = make_twin_flow("tiny", seed=1)
            self.hift = make_twin_hift("tiny", seed=2)
            # the official HiFT is built with weight norm: give the stand-in some
            plain = [m for m in self.hift.modules() if isinstance(m, torch.nn.Conv1d) and not hasattr(m, "weight_g")
                     and not hasattr(m, "parametrizations")]
            for conv in plain[:3]:
                torch.nn.utils.parametrizations.weight_norm(conv)


    class CosyVoice2:
        def __init__(self, model_dir, load_jit=False, load_trt=False, load_vllm=False, fp16=False):
            assert not (load_jit or load_trt or load_vllm or fp16), "the export wants plain fp32 modules"
            self.model = _Model()
''')


def _rename_io(path: Path, mapping: dict[str, str], out_dtype=None) -> None:
    """Gives one of our graphs other input/output names, as the official files have."""
    model = onnx.load(str(path))
    graph = model.graph
    for node in graph.node:
        node.input[:] = [mapping.get(n, n) for n in node.input]
        node.output[:] = [mapping.get(n, n) for n in node.output]
    for value in list(graph.input) + list(graph.output):
        value.name = mapping.get(value.name, value.name)
    onnx.save(model, str(path))


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    root = tmp_path_factory.mktemp("official")
    checkout = root / "CosyVoice"
    (checkout / "cosyvoice" / "cli").mkdir(parents=True)
    (checkout / "cosyvoice" / "__init__.py").write_text("")
    (checkout / "cosyvoice" / "cli" / "__init__.py").write_text("")
    (checkout / "cosyvoice" / "cli" / "cosyvoice.py").write_text(STUB)
    (checkout / "third_party" / "Matcha-TTS" / "matcha").mkdir(parents=True)
    checkpoint = root / "CosyVoice2-0.5B"
    checkpoint.mkdir()
    for name in ("cosyvoice2.yaml", "llm.pt", "flow.pt", "hift.pt"):
        (checkpoint / name).write_bytes(b"")
    make_qwen_like_dir(checkpoint / "CosyVoice-BlankEN")
    make_twin_speech_tokenizer(checkpoint / "speech_tokenizer_v2.onnx", seed=3)
    _rename_io(checkpoint / "speech_tokenizer_v2.onnx",
               {"feats": "speech_feat", "feats_length": "speech_feat_len", "speech_tokens": "indices"})
    make_twin_campplus(checkpoint / "campplus.onnx", seed=4)
    _rename_io(checkpoint / "campplus.onnx", {"fbank": "input", "embedding": "output"})
    yield checkout, checkpoint
    sys.modules.pop("cosyvoice.cli.cosyvoice", None)
    sys.modules.pop("cosyvoice.cli", None)
    sys.modules.pop("cosyvoice", None)


def test_export_writes_a_verified_model_directory(official, tmp_path):
    checkout, checkpoint = official
    out = tmp_path / "cosyvoice2-0.5b"
    assert export_script.main(["--cosyvoice", str(checkout), "--checkpoint", str(checkpoint),
                               "--out", str(out)]) == 0
    config = check_model_dir(out)
    assert config["model"]["variant"] == "official"
    assert config["model"]["random_weights"] is False
    assert config["model"]["created_by"] == "export.py"
    # the renamed official graphs answer to the contract's names
    import onnxruntime as ort
    tokenizer = ort.InferenceSession(str(out / "speech_tokenizer.onnx"))
    assert [i.name for i in tokenizer.get_inputs()] == ["feats", "feats_length"]
    assert [o.name for o in tokenizer.get_outputs()] == ["speech_tokens"]
    tokens = tokenizer.run(None, {"feats": np.random.default_rng(0).standard_normal((1, 128, 40)).astype(np.float32),
                                  "feats_length": np.array([40], np.int32)})[0]
    assert tokens.dtype == np.int64 and tokens.shape == (1, 10)
    # the tokenizer carries the CosyVoice2 specials after the base vocabulary
    vocab = json.loads((out / "tokenizer.json").read_text())
    added = {t["content"]: t["id"] for t in vocab["added_tokens"]}
    assert added["<|endofprompt|>"] == added["<|im_end|>"] + 1


def test_export_names_what_is_missing(official, tmp_path, capsys):
    checkout, checkpoint = official
    broken = tmp_path / "checkpoint"
    broken.mkdir()
    (broken / "llm.pt").write_bytes(b"")
    status = export_script.main(["--cosyvoice", str(checkout), "--checkpoint", str(broken), "--out", str(tmp_path / "o")])
    assert status == 2
    err = capsys.readouterr().err
    assert "flow.pt" in err and "speech_tokenizer_v2.onnx" in err and "CosyVoice-BlankEN" in err
    assert not (tmp_path / "o").exists()

    status = export_script.main(["--cosyvoice", str(tmp_path), "--checkpoint", str(checkpoint), "--out", str(tmp_path / "o")])
    assert status == 2
    assert "not a CosyVoice checkout" in capsys.readouterr().err


def test_export_asks_for_the_matcha_submodule(official, tmp_path, capsys):
    _, checkpoint = official
    checkout = tmp_path / "CosyVoice"
    (checkout / "cosyvoice" / "cli").mkdir(parents=True)
    (checkout / "cosyvoice" / "cli" / "cosyvoice.py").write_text("")
    assert export_script.main(["--cosyvoice", str(checkout), "--checkpoint", str(checkpoint),
                               "--out", str(tmp_path / "o")]) == 2
    assert "git submodule update" in capsys.readouterr().err


def test_weight_norm_folding_keeps_the_output():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv1d(4, 8, 3, padding=1), torch.nn.ELU(), torch.nn.Conv1d(8, 2, 3, padding=1))
    torch.nn.utils.parametrizations.weight_norm(net[0])
    torch.nn.utils.weight_norm(net[2])  # the older hook form
    x = torch.randn(1, 4, 50)
    before = net(x)
    assert export_script.fold_weight_norm(net) == 2
    assert export_script.fold_weight_norm(net) == 0
    assert not any(hasattr(m, "parametrizations") for m in net.modules())
    torch.testing.assert_close(net(x), before, rtol=1e-6, atol=1e-6)
