"""flow_encoder.onnx / flow_estimator.onnx / flow_noise.npy: export of the tiny twin, verification against
PyTorch, the contract's I/O, and the attention-chunk semantics."""
import time

import numpy as np
import onnx
import pytest
import torch

from cosyvoice_onnx.flow import export_flow, verify_flow, euler_solve, time_estimator, _session
from cosyvoice_onnx.twin_flow import make_twin_flow

NOISE_FRAMES = 3000

ENCODER_IO = (
    [("token", np.int64, 2), ("lookahead", np.int64, 2), ("lookahead_mask", np.float32, 2),
     ("attention_chunk", np.int64, 1), ("embedding", np.float32, 2)],
    [("mu", np.float32, 3), ("spks", np.float32, 2)],
)
ESTIMATOR_IO = (
    [("x", np.float32, 3), ("mask", np.float32, 3), ("mu", np.float32, 3), ("t", np.float32, 1),
     ("spks", np.float32, 2), ("cond", np.float32, 3)],
    [("velocity", np.float32, 3)],
)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("flow")
    flow = make_twin_flow("tiny", seed=0)
    section = export_flow(flow, out, noise_frames=NOISE_FRAMES)
    return flow, out, section


@pytest.fixture(scope="module")
def encoder(exported):
    return _session(exported[1] / "flow_encoder.onnx")


def _encode(sess, token, lookahead=None, mask=0.0, chunk=0, embedding=None):
    token = np.asarray(token, np.int64).reshape(1, -1)
    lookahead = np.zeros((1, 3), np.int64) if lookahead is None else np.asarray(lookahead, np.int64).reshape(1, 3)
    embedding = np.ones((1, 192), np.float32) if embedding is None else embedding
    return sess.run(["mu", "spks"], {"token": token, "lookahead": lookahead,
                                     "lookahead_mask": np.full((1, 3), mask, np.float32),
                                     "attention_chunk": np.array([chunk], np.int64), "embedding": embedding})


def _ports(values):
    return [(v.name, onnx.helper.tensor_dtype_to_np_dtype(v.type.tensor_type.elem_type).type,
             len(v.type.tensor_type.shape.dim)) for v in values]


def test_section(exported):
    _, _, section = exported
    assert section == {"vocab_size": 6561, "mel_bins": 80, "spk_embed_dim": 192, "pre_lookahead_len": 3,
                       "static_chunk_size": 25, "n_timesteps": 10, "t_scheduler": "cosine", "cfg_rate": 0.7,
                       "noise_frames": NOISE_FRAMES}


@pytest.mark.parametrize("name,io", [("flow_encoder.onnx", ENCODER_IO), ("flow_estimator.onnx", ESTIMATOR_IO)])
def test_graph_io_matches_contract(exported, name, io):
    graph = onnx.load(str(exported[1] / name)).graph
    initializers = {i.name for i in graph.initializer}
    assert _ports([i for i in graph.input if i.name not in initializers]) == io[0]
    assert _ports(graph.output) == io[1]


def test_noise_is_the_official_noise(exported):
    noise = np.load(exported[1] / "flow_noise.npy")
    assert noise.dtype == np.dtype("<f4") and noise.flags.c_contiguous and noise.shape == (80, NOISE_FRAMES)
    torch.manual_seed(0)
    expected = torch.randn([1, 80, 50 * 300])[0, :, :NOISE_FRAMES].numpy()
    np.testing.assert_array_equal(noise, expected)
    with open(exported[1] / "flow_noise.npy", "rb") as f:
        assert f.read(8) == b"\x93NUMPY\x01\x00"


def test_verify_against_pytorch(exported):
    flow, out, _ = exported
    report = verify_flow(flow, out)
    assert report["encoder_context_chunk"] < 1e-4
    assert report["euler_solve_vs_decoder"] < 1e-3


@pytest.mark.parametrize("tokens", [1, 7, 26])
def test_encoder_dynamic_length(exported, encoder, tokens):
    flow = exported[0]
    g = torch.Generator().manual_seed(tokens)
    tok = torch.randint(0, 6561, (1, tokens), generator=g)
    emb = torch.randn(1, 192, generator=g)
    for streaming in (False, True):
        mu, spks = _encode(encoder, tok.numpy(), chunk=25 if streaming else 0, embedding=emb.numpy())
        with torch.inference_mode():
            h, _ = flow.encoder(flow.input_embedding(tok), torch.tensor([tokens]), streaming=streaming)
            ref = flow.encoder_proj(h).transpose(1, 2).numpy()
        assert mu.shape == (1, 80, 2 * tokens) and spks.shape == (1, 80)
        np.testing.assert_allclose(mu, ref, atol=1e-4 * max(1.0, np.abs(ref).max()))


def test_chunk_mask_restricts_attention(encoder):
    rng = np.random.default_rng(0)
    tok = rng.integers(0, 6561, 60)
    changed = tok.copy()
    changed[28:] = rng.integers(0, 6561, 32)     # tokens of the later chunks (25 + 3 look-ahead stay)
    for chunk in (25, 0):
        a, _ = _encode(encoder, tok, chunk=chunk)
        b, _ = _encode(encoder, changed, chunk=chunk)
        first_chunk = np.abs(a[:, :, :50] - b[:, :, :50]).max()
        if chunk:   # streaming: the first chunk's 50 frames cannot see tokens past 25 + look-ahead
            assert first_chunk < 1e-6
        else:       # full attention: everything sees everything
            assert first_chunk > 1e-3
        assert np.abs(a[:, :, 60:] - b[:, :, 60:]).max() > 1e-3


def test_chunk_mask_matches_full_attention_within_one_chunk(encoder):
    tok = np.random.default_rng(1).integers(0, 6561, 20)
    full, _ = _encode(encoder, tok, chunk=0)
    chunked, _ = _encode(encoder, tok, chunk=25)
    np.testing.assert_allclose(chunked, full, atol=1e-6)
    # more than one chunk: they must differ
    tok = np.random.default_rng(1).integers(0, 6561, 40)
    assert np.abs(_encode(encoder, tok, chunk=0)[0] - _encode(encoder, tok, chunk=25)[0]).max() > 1e-3


def test_lookahead_mask_and_reach(encoder):
    rng = np.random.default_rng(2)
    tok = rng.integers(0, 6561, 60)
    la1, la2 = rng.integers(0, 6561, 3), rng.integers(0, 6561, 3)
    # masked look-ahead: its values do not matter
    np.testing.assert_array_equal(_encode(encoder, tok, la1, 0.0, 25)[0], _encode(encoder, tok, la2, 0.0, 25)[0])
    # real look-ahead: with the chunk mask it reaches only the last chunk (tokens 50..59 -> frames 100..119)
    a = _encode(encoder, tok, la1, 1.0, 25)[0]
    b = _encode(encoder, tok, la2, 1.0, 25)[0]
    assert np.abs(a[:, :, :100] - b[:, :, :100]).max() < 1e-6
    assert np.abs(a[:, :, 100:] - b[:, :, 100:]).max() > 1e-3


def test_estimator_batch_of_three(exported):
    flow, out, _ = exported
    sess = _session(out / "flow_estimator.onnx")
    g = torch.Generator().manual_seed(3)
    b, frames = 3, 23
    x, mu, cond = (torch.randn(b, 80, frames, generator=g) for _ in range(3))
    mask = torch.ones(b, 1, frames)
    mask[2, :, 15:] = 0
    t, spks = torch.rand(b, generator=g), torch.randn(b, 80, generator=g)
    with torch.inference_mode():
        ref = flow.decoder.estimator(x, mask, mu, t, spks, cond, streaming=False).numpy()
    got = sess.run(["velocity"], {"x": x.numpy(), "mask": mask.numpy(), "mu": mu.numpy(), "t": t.numpy(),
                                  "spks": spks.numpy(), "cond": cond.numpy()})[0]
    np.testing.assert_allclose(got, ref, atol=1e-4 * max(1.0, np.abs(ref).max()))
    assert np.all(got[2, :, 15:] == 0)


def test_euler_solve_is_finite_and_uses_the_noise(exported):
    _, out, _ = exported
    sess = _session(out / "flow_estimator.onnx")
    noise = np.load(out / "flow_noise.npy")
    mu = np.zeros((1, 80, 30), np.float32)
    x = euler_solve(sess, mu, np.zeros((1, 80), np.float32), np.zeros_like(mu), noise, 0.7)
    assert x.shape == (1, 80, 30) and np.all(np.isfinite(x))


@pytest.mark.slow
def test_full_twin_export(tmp_path):
    flow = make_twin_flow("full", seed=0)
    started = time.perf_counter()
    export_flow(flow, tmp_path)
    exported_in = time.perf_counter() - started
    seconds = time_estimator(tmp_path, batch=2, frames=500)
    report = verify_flow(flow, tmp_path)
    sizes = {p.name: p.stat().st_size for p in tmp_path.iterdir()}
    print(f"\nfull flow: export {exported_in:.0f} s, estimator B=2 F=500 {seconds:.2f} s, sizes {sizes}, {report}")
