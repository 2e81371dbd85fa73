"""Tests of cosyvoice_onnx.frontend: twin tokenizer, tokenizer export, front-end graphs and their adoption."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from cosyvoice_onnx import frontend as fe

TEXTS = [
    "收到取消预约的短信后，我立刻给客服打了电话。",
    "Hello, and welcome! It's 9:30 a.m.; the total is $128.50 (20% off).",
    "我昨天买了一台新的laptop，它的CPU是8核的，内存有16GB。",
    "罕见字：龘靐齉爩；繁體字：說話；日本語：こんにちは；한국어；emoji 😀👍🏽",
    "  leading and trailing spaces, tabs\tand\nnew lines\r\n  ",
    "Ünïcödé façade naïve café — “quotes” ‘single’ … 「括号」",
    "1234567890 3.14159 -42 1/2 100% +86 138-0013-8000",
    "",
]


def _sess(path):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


# ------------------------------------------------------------------------------ text tokenizer

@pytest.fixture(scope="module")
def twin_tok(tmp_path_factory):
    from tokenizers import Tokenizer

    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    total = fe.make_twin_tokenizer(path)
    return path, total, Tokenizer.from_file(str(path))


def test_twin_tokenizer_is_deterministic(tmp_path, twin_tok):
    path, total, _ = twin_tok
    again = tmp_path / "tokenizer.json"
    assert fe.make_twin_tokenizer(again) == total
    assert again.read_bytes() == path.read_bytes()


def test_twin_tokenizer_is_deterministic_across_processes(tmp_path, twin_tok):
    """Hash seeds differ between processes: training must not depend on them."""
    path, _, _ = twin_tok
    out = tmp_path / "other_process.json"
    code = ("import sys; from pathlib import Path; from cosyvoice_onnx import frontend as fe; "
            f"fe.make_twin_tokenizer(Path({str(out)!r}))")
    env = dict(os.environ, PYTHONPATH=str(Path(fe.__file__).resolve().parents[1]), PYTHONHASHSEED="12345")
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    assert out.read_bytes() == path.read_bytes()


def test_twin_tokenizer_vocab_and_specials(twin_tok):
    _, total, tok = twin_tok
    assert total == 2048 + len(fe.SPECIAL_TOKENS) == tok.get_vocab_size(with_added_tokens=True)
    assert tok.get_vocab_size(with_added_tokens=False) == 2048
    for i, t in enumerate(fe.SPECIAL_TOKENS):
        assert tok.token_to_id(t) == 2048 + i
        assert tok.encode(t).ids == [2048 + i]
    ids = tok.encode("[breath]你好<|endofprompt|>").ids
    assert ids[0] == tok.token_to_id("[breath]") and ids[-1] == tok.token_to_id("<|endofprompt|>")


@pytest.mark.parametrize("text", TEXTS)
def test_twin_tokenizer_round_trip(twin_tok, text):
    _, _, tok = twin_tok
    enc = tok.encode(text)
    assert tok.encode(text, add_special_tokens=True).ids == tok.encode(text, add_special_tokens=False).ids
    assert all(0 <= i < 2048 for i in enc.ids)
    assert tok.decode(enc.ids, skip_special_tokens=False) == text


def test_twin_tokenizer_json_is_old_runtime_compatible(twin_tok):
    """Only fields that the Rust tokenizers 0.20-0.22 (DJL) understand."""
    path, _, _ = twin_tok
    d = json.loads(path.read_text(encoding="utf-8"))
    assert d["version"] == "1.0"
    assert set(d) == {"version", "truncation", "padding", "added_tokens", "normalizer", "pre_tokenizer",
                      "post_processor", "decoder", "model"}
    assert set(d["model"]) <= {"type", "dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix",
                               "fuse_unk", "byte_fallback", "ignore_merges", "vocab", "merges"}
    assert d["model"]["type"] == "BPE"
    assert all(isinstance(m, list) and len(m) == 2 for m in d["model"]["merges"])
    assert d["normalizer"] == {"type": "NFC"}
    assert d["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] == fe.QWEN2_SPLIT_REGEX
    assert d["decoder"]["type"] == "ByteLevel"
    assert d["post_processor"]["type"] == "ByteLevel"
    for a in d["added_tokens"]:
        assert set(a) == {"id", "content", "single_word", "lstrip", "rstrip", "normalized", "special"}
        assert a["special"] and not a["normalized"]


@pytest.mark.parametrize("layout,base_specials", [
    ("tokenizer.json", fe.QWEN2_BASE_SPECIALS),
    ("vocab_merges", fe.QWEN2_BASE_SPECIALS),
    ("vocab_merges", ()),
])
def test_export_official_tokenizer(tmp_path, twin_tok, layout, base_specials):
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    _, twin_total, twin = twin_tok
    qwen = tmp_path / "qwen"
    base = fe.make_qwen_like_dir(qwen, layout=layout, base_specials=base_specials)
    assert base == 2048
    before = AutoTokenizer.from_pretrained(str(qwen))
    out = tmp_path / "out" / "tokenizer.json"
    total = fe.export_official_tokenizer(qwen, out)
    assert [p.name for p in out.parent.iterdir()] == ["tokenizer.json"]
    tok = Tokenizer.from_file(str(out))
    assert total == base + len(fe.SPECIAL_TOKENS) == tok.get_vocab_size(with_added_tokens=True) == twin_total
    # the specials follow the base vocabulary, in CosyVoice2Tokenizer's order (the twin's ids)
    for i, t in enumerate(fe.SPECIAL_TOKENS):
        assert tok.token_to_id(t) == base + i == twin.token_to_id(t)
        assert tok.encode(t).ids == [base + i]
    # plain text keeps the base tokenizer's ids, with nothing added around it
    for text in TEXTS:
        ids = tok.encode(text).ids
        assert ids == before(text)["input_ids"] == twin.encode(text).ids
        assert tok.decode(ids) == text
    mixed = "你好[breath]world<|endofprompt|>"
    assert tok.encode(mixed).ids == twin.encode(mixed).ids


# ------------------------------------------------------------------------------ twin graphs

def _mel_like(t, seed):
    """A Whisper-log-mel-like [1, 128, T] (values in about [-1, 1.5], smooth over time)."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((1, 128, t)).cumsum(axis=2) * 0.05
    return np.clip(base + rng.uniform(-0.5, 0.5, (1, 128, 1)), -1.0, 1.5).astype(np.float32)


@pytest.fixture(scope="module")
def twin_graphs(tmp_path_factory):
    d = tmp_path_factory.mktemp("graphs")
    sizes = {"st": fe.make_twin_speech_tokenizer(d / "speech_tokenizer.onnx", seed=1),
             "cp": fe.make_twin_campplus(d / "campplus.onnx", seed=2)}
    return d, sizes


def test_twin_speech_tokenizer_io(twin_graphs, tmp_path):
    d, sizes = twin_graphs
    path = d / "speech_tokenizer.onnx"
    assert sizes["st"] == path.stat().st_size < 300_000
    sess = _sess(path)
    assert [(i.name, i.type) for i in sess.get_inputs()] == [("feats", "tensor(float)"),
                                                             ("feats_length", "tensor(int32)")]
    assert [(o.name, o.type) for o in sess.get_outputs()] == [("speech_tokens", "tensor(int64)")]
    for t in [1, 2, 3, 4, 5, 7, 8, 9, 301, 3000]:
        tokens = sess.run(None, {"feats": _mel_like(t, t), "feats_length": np.array([t], np.int32)})[0]
        assert tokens.shape == (1, fe.speech_tokenizer_tokens(t)) == (1, math.ceil(t / 4))
        assert tokens.dtype == np.int64 and tokens.min() >= 0 and tokens.max() < 6561
    # same seed → same bytes; "full" is the same graph; another seed → other weights
    fe.make_twin_speech_tokenizer(tmp_path / "a.onnx", seed=1, size="full")
    assert (tmp_path / "a.onnx").read_bytes() == path.read_bytes()
    fe.make_twin_speech_tokenizer(tmp_path / "b.onnx", seed=3)
    assert (tmp_path / "b.onnx").read_bytes() != path.read_bytes()


def test_twin_speech_tokenizer_follows_the_audio(twin_graphs):
    d, _ = twin_graphs
    sess = _sess(d / "speech_tokenizer.onnx")
    t = 400
    a = sess.run(None, {"feats": _mel_like(t, 1), "feats_length": np.array([t], np.int32)})[0][0]
    b = sess.run(None, {"feats": _mel_like(t, 2), "feats_length": np.array([t], np.int32)})[0][0]
    assert len(set(a.tolist())) >= 10 and len(set(b.tolist())) >= 10
    assert np.mean(a != b) > 0.5
    # feats_length masks the frames past it
    feats = _mel_like(t, 1)
    c = sess.run(None, {"feats": feats, "feats_length": np.array([200], np.int32)})[0][0]
    assert np.array_equal(c[:49], a[:49]) and not np.array_equal(c[51:], a[51:])


def test_twin_campplus(twin_graphs, tmp_path):
    d, sizes = twin_graphs
    path = d / "campplus.onnx"
    assert sizes["cp"] == path.stat().st_size < 300_000
    sess = _sess(path)
    assert [(i.name, i.type) for i in sess.get_inputs()] == [("fbank", "tensor(float)")]
    assert [(o.name, o.type) for o in sess.get_outputs()] == [("embedding", "tensor(float)")]
    rng = np.random.default_rng(0)
    f1 = rng.standard_normal((1, 300, 80)).astype(np.float32)
    f2 = (rng.standard_normal((1, 250, 80)) * 2 + 0.3).astype(np.float32)
    e1 = sess.run(None, {"fbank": f1})[0]
    e2 = sess.run(None, {"fbank": f2})[0]
    assert e1.shape == e2.shape == (1, 192) and e1.dtype == np.float32
    assert np.array_equal(e1, sess.run(None, {"fbank": f1})[0])
    cos = float((e1 * e2).sum() / np.linalg.norm(e1) / np.linalg.norm(e2))
    assert cos < 0.99
    fe.make_twin_campplus(tmp_path / "c.onnx", seed=2)
    assert (tmp_path / "c.onnx").read_bytes() == path.read_bytes()


# ------------------------------------------------------------------------------ adoption

def _fake_speech_tokenizer(path, out_dtype=TensorProto.INT32, len_dtype=TensorProto.INT32):
    """Official-like: other names, an initializer listed among the inputs (old exporters), a tensor that
    already uses a contract name, a subgraph reading an outer input, a second output."""
    w = numpy_helper.from_array(np.linspace(-1, 1, 128, dtype=np.float32).reshape(1, 128, 1), "w")
    init = [w,
            numpy_helper.from_array(np.array([4], np.int64), "k4"),
            numpy_helper.from_array(np.array(1000.0, np.float32), "scale"),
            numpy_helper.from_array(np.array(6561.0, np.float32), "vocab"),
            numpy_helper.from_array(np.array([1], np.int64), "ax1")]
    then_g = helper.make_graph([helper.make_node("Identity", ["mel_in"], ["then_out"])], "then", [],
                               [helper.make_tensor_value_info("then_out", TensorProto.FLOAT, [1, 128, "T"])])
    else_g = helper.make_graph([helper.make_node("Neg", ["mel_in"], ["else_out"])], "else", [],
                               [helper.make_tensor_value_info("else_out", TensorProto.FLOAT, [1, 128, "T"])])
    nodes = [
        helper.make_node("Mul", ["mel_in", "w"], ["feats"]),                       # clashes with a contract name
        helper.make_node("ReduceSum", ["feats", "ax1"], ["s"], keepdims=0),       # [1, T]
        helper.make_node("AveragePool", ["s3"], ["pooled3"], kernel_shape=[4], strides=[4], ceil_mode=1),
        helper.make_node("Unsqueeze", ["s", "ax1"], ["s3"]),
        helper.make_node("Squeeze", ["pooled3", "ax1"], ["pooled"]),
        helper.make_node("Mul", ["pooled", "scale"], ["p1"]),
        helper.make_node("Abs", ["p1"], ["p2"]),
        helper.make_node("Mod", ["p2", "vocab"], ["p3"], fmod=1),
        helper.make_node("Floor", ["p3"], ["p4"]),
        helper.make_node("Cast", ["p4"], ["indices"], to=out_dtype),
        helper.make_node("Cast", ["mel_len"], ["len_i64"], to=TensorProto.INT64),
        helper.make_node("ReduceSum", ["len_i64"], ["len_sum"], keepdims=0),
        helper.make_node("Cast", ["len_sum"], ["cond"], to=TensorProto.BOOL),
        helper.make_node("If", ["cond"], ["extra"], then_branch=then_g, else_branch=else_g),
    ]
    # topological order for the checker
    order = [0, 1, 3, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]
    graph = helper.make_graph(
        [nodes[i] for i in order], "fake_tokenizer",
        [helper.make_tensor_value_info("mel_in", TensorProto.FLOAT, [1, 128, "T"]),
         helper.make_tensor_value_info("w", TensorProto.FLOAT, [1, 128, 1]),
         helper.make_tensor_value_info("mel_len", len_dtype, [1])],
        [helper.make_tensor_value_info("indices", out_dtype, [1, "N"]),
         helper.make_tensor_value_info("extra", TensorProto.FLOAT, [1, 128, "T"])],
        initializer=init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _fake_campplus(path, flat_output=False):
    init = [numpy_helper.from_array(np.random.default_rng(0).standard_normal((80, 192)).astype(np.float32), "proj"),
            numpy_helper.from_array(np.array([1], np.int64), "ax1"),
            numpy_helper.from_array(np.array([0], np.int64), "ax0")]
    nodes = [helper.make_node("MatMul", ["x", "proj"], ["h"]),
             helper.make_node("ReduceMean", ["h"], ["embs" if not flat_output else "m"], axes=[1], keepdims=0)]
    if flat_output:
        nodes.append(helper.make_node("Squeeze", ["m", "ax0"], ["embs"]))
    graph = helper.make_graph(
        nodes, "fake_campplus",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, "T", 80])],
        [helper.make_tensor_value_info("embs", TensorProto.FLOAT, [192] if flat_output else [1, 192])],
        initializer=init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def test_adopt_speech_tokenizer(tmp_path):
    src, dst = tmp_path / "speech_tokenizer_v2.onnx", tmp_path / "out" / "speech_tokenizer.onnx"
    _fake_speech_tokenizer(src)
    report = fe.adopt_official_onnx(src, dst, "speech_tokenizer")
    assert report["inputs"] == ["mel_in", "mel_len"] and report["output"] == "indices"
    assert report["cast_from"] == "INT32" and report["dropped_outputs"] == ["extra"]
    assert report["reshaped_from"] is None and report["probe_shape"] == [1, 50]
    onnx.checker.check_model(str(dst), full_check=True)
    new, old = _sess(dst), _sess(src)
    assert [(i.name, i.type) for i in new.get_inputs()] == [("feats", "tensor(float)"),
                                                            ("feats_length", "tensor(int32)")]
    assert [(o.name, o.type) for o in new.get_outputs()] == [("speech_tokens", "tensor(int64)")]
    feats = _mel_like(37, 5)
    want = old.run(None, {"mel_in": feats, "mel_len": np.array([37], np.int32)})[0]
    got = new.run(None, {"feats": feats, "feats_length": np.array([37], np.int32)})[0]
    assert got.dtype == np.int64 and got.shape == (1, 10) and np.array_equal(got, want.astype(np.int64))
    # the subgraph's reference to the renamed input was rewritten
    model = onnx.load(str(dst))
    if_node = next(n for n in model.graph.node if n.op_type == "If")
    branch = next(a.g for a in if_node.attribute if a.name == "then_branch")
    assert list(branch.node[0].input) == ["feats"]


def test_adopt_keeps_int64_output(tmp_path):
    src, dst = tmp_path / "st.onnx", tmp_path / "adopted.onnx"
    _fake_speech_tokenizer(src, out_dtype=TensorProto.INT64)
    report = fe.adopt_official_onnx(src, dst, "speech_tokenizer")
    assert report["cast_from"] is None
    assert not any(n.op_type == "Cast" and n.output[0] == "speech_tokens" and n.input[0].startswith("speech_tokens__")
                   for n in onnx.load(str(dst)).graph.node)


@pytest.mark.parametrize("flat", [False, True])
def test_adopt_campplus(tmp_path, flat):
    src, dst = tmp_path / "campplus_official.onnx", tmp_path / "campplus.onnx"
    _fake_campplus(src, flat_output=flat)
    report = fe.adopt_official_onnx(src, dst, "campplus")
    assert report["inputs"] == ["x"] and report["output"] == "embs"
    assert report["reshaped_from"] == ([192] if flat else None)
    new, old = _sess(dst), _sess(src)
    assert [i.name for i in new.get_inputs()] == ["fbank"]
    assert [o.name for o in new.get_outputs()] == ["embedding"]
    x = np.random.default_rng(1).standard_normal((1, 123, 80)).astype(np.float32)
    got = new.run(None, {"fbank": x})[0]
    assert got.shape == (1, 192)
    np.testing.assert_array_equal(got.reshape(-1), old.run(None, {"x": x})[0].reshape(-1))


def test_adopt_refuses_what_does_not_fit(tmp_path):
    src = tmp_path / "st.onnx"
    _fake_speech_tokenizer(src, out_dtype=TensorProto.FLOAT)
    with pytest.raises(ValueError, match="expected INT64"):
        fe.adopt_official_onnx(src, tmp_path / "a.onnx", "speech_tokenizer")
    _fake_speech_tokenizer(src, len_dtype=TensorProto.INT64)
    with pytest.raises(ValueError, match="expected INT32"):
        fe.adopt_official_onnx(src, tmp_path / "a.onnx", "speech_tokenizer")
    _fake_campplus(src)
    with pytest.raises(ValueError, match="expected 2 inputs"):
        fe.adopt_official_onnx(src, tmp_path / "a.onnx", "speech_tokenizer")
    with pytest.raises(ValueError, match="kind"):
        fe.adopt_official_onnx(src, tmp_path / "a.onnx", "hift")
