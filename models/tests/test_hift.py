"""hift.onnx: export of the tiny twin, verification against PyTorch, the contract's I/O, output length,
cache_source replacement, the conv (i)STFT and robustness."""
import time

import numpy as np
import onnx
import pytest
import torch

from cosyvoice_onnx.hift import (FORBIDDEN_OPS, HiFTWrapper, export_hift, graph_ops, time_hift, verify_hift,
                                 verify_stft, _session)
from cosyvoice_onnx.twin_hift import make_twin_hift

HIFT_IO = (
    [("mel", np.float32, 3), ("cache_source", np.float32, 3), ("phase_init", np.float32, 2),
     ("noise", np.float32, 3)],
    [("speech", np.float32, 2), ("source", np.float32, 3)],
)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("hift")
    hift = make_twin_hift("tiny", seed=0)
    section = export_hift(hift, out)
    return hift, out, section


@pytest.fixture(scope="module")
def session(exported):
    return _session(exported[1] / "hift.onnx")


def _inputs(batch, frames, cache=0, seed=0):
    rng = np.random.default_rng(seed)
    return {"mel": (rng.standard_normal((batch, 80, frames)) * 2 - 5).astype(np.float32),
            "cache_source": (rng.standard_normal((batch, 1, cache)) * 0.1).astype(np.float32),
            "phase_init": rng.random((batch, 9)).astype(np.float32),
            "noise": rng.standard_normal((batch, 480 * frames, 9)).astype(np.float32)}


def _ports(values):
    return [(v.name, onnx.helper.tensor_dtype_to_np_dtype(v.type.tensor_type.elem_type).type,
             len(v.type.tensor_type.shape.dim)) for v in values]


def test_section(exported):
    assert exported[2] == {"upsample_rates": [8, 5, 3], "istft_n_fft": 16, "istft_hop": 4, "nb_harmonics": 8,
                           "audio_limit": 0.99}


def test_graph_io_matches_contract(exported):
    graph = onnx.load(str(exported[1] / "hift.onnx")).graph
    initializers = {i.name for i in graph.initializer}
    assert _ports([i for i in graph.input if i.name not in initializers]) == HIFT_IO[0]
    assert _ports(graph.output) == HIFT_IO[1]


def test_no_stft_or_complex_ops(exported):
    ops = graph_ops(exported[1] / "hift.onnx")
    assert not ops & FORBIDDEN_OPS
    assert "ConvTranspose" in ops and "Conv" in ops


def test_verify_against_pytorch(exported):
    hift, out, _ = exported
    report = verify_hift(hift, out, frames=40)
    assert all(v < 2e-3 for v in report.values())


def test_conv_stft_matches_torch():
    report = verify_stft(make_twin_hift("tiny", seed=1))
    assert report["conv_istft_vs_torch_istft"] < 1e-5 and report["conv_stft_vs_torch_stft"] < 1e-5


@pytest.mark.parametrize("batch,frames", [(1, 1), (1, 5), (2, 23)])
def test_output_length_is_480_per_frame(session, batch, frames):
    speech, source = session.run(["speech", "source"], _inputs(batch, frames))
    assert speech.shape == (batch, 480 * frames) and source.shape == (batch, 1, 480 * frames)
    assert speech.dtype == np.float32 and source.dtype == np.float32


def test_cache_source_replaces_the_first_samples(session):
    frames, k = 30, 3840
    feeds = _inputs(1, frames, cache=k, seed=4)
    speech_c, source_c = session.run(["speech", "source"], feeds)
    speech_0, source_0 = session.run(["speech", "source"], dict(feeds, cache_source=np.zeros((1, 1, 0), np.float32)))
    np.testing.assert_array_equal(source_c[:, :, :k], feeds["cache_source"])
    np.testing.assert_array_equal(source_c[:, :, k:], source_0[:, :, k:])
    # the speech changes where the replaced source reaches, and not far beyond it
    assert np.abs(speech_c[:, :k] - speech_0[:, :k]).max() > 1e-4
    assert np.abs(speech_c[:, k + 4800:] - speech_0[:, k + 4800:]).max() < 1e-6


def test_randomness_inputs(session):
    feeds = _inputs(1, 12, seed=5)
    speech, _ = session.run(["speech", "source"], feeds)
    # phase_init only touches sample 0, which SineGen2's linear 1/480 down-sampling never reads (see hift.py)
    other_phase, _ = session.run(["speech", "source"], dict(feeds, phase_init=np.random.default_rng(9).random((1, 9),
                                                                                             dtype=np.float32)))
    np.testing.assert_array_equal(speech, other_phase)
    other_noise, _ = session.run(["speech", "source"], dict(feeds, noise=feeds["noise"][:, ::-1].copy()))
    assert np.abs(other_noise - speech).max() > 1e-5


def test_batch_rows_are_independent(session):
    both = _inputs(2, 9, cache=480, seed=6)
    speech, source = session.run(["speech", "source"], both)
    for b in range(2):
        one = {k: v[b:b + 1] for k, v in both.items()}
        s1, src1 = session.run(["speech", "source"], one)
        np.testing.assert_allclose(s1[0], speech[b], atol=1e-6)
        np.testing.assert_allclose(src1[0], source[b], atol=1e-6)


@pytest.mark.parametrize("level", [0.0, -11.5, 5.0, 50.0, -1e4])
def test_bounded_and_finite_for_extreme_mels(session, level):
    feeds = _inputs(1, 8, seed=7)
    feeds["mel"] = np.full_like(feeds["mel"], level) + feeds["mel"] * (0 if abs(level) > 100 else 1)
    speech, source = session.run(["speech", "source"], feeds)
    assert np.all(np.isfinite(speech)) and np.all(np.isfinite(source))
    assert np.abs(speech).max() <= 0.99 + 1e-7


def test_twin_is_plausible():
    hift = make_twin_hift("tiny", seed=0)
    mel = torch.randn(2, 80, 50) * 2 - 5
    with torch.inference_mode():
        f0 = hift.f0_predictor(mel)
        speech, _ = hift.inference(mel)
    voiced = (f0 > 10).float().mean().item()
    assert voiced > 0.95 and 80 < f0.median().item() < 300
    rms = speech.pow(2).mean().sqrt().item()
    assert 0.005 < rms < 0.5 and (speech.abs() >= 0.99).float().mean().item() < 0.01


def test_wrapper_rejects_nothing_it_needs():
    # the wrapper reads constants from the module, not from its own defaults
    w = HiFTWrapper(make_twin_hift("tiny", seed=0))
    assert (w.scale, w.dim, w.sampling_rate, w.sine_amp, w.noise_std, w.voiced_threshold) == \
        (480, 9, 24000.0, 0.1, 0.003, 10.0)


@pytest.mark.slow
def test_full_twin_export(tmp_path):
    hift = make_twin_hift("full", seed=0)
    started = time.perf_counter()
    export_hift(hift, tmp_path)
    exported_in = time.perf_counter() - started
    seconds = time_hift(tmp_path, frames=100)
    report = verify_hift(hift, tmp_path)
    size = (tmp_path / "hift.onnx").stat().st_size
    print(f"\nfull hift: export {exported_in:.0f} s, F=100 call {seconds:.2f} s, {size} bytes, {report}")
