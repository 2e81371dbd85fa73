"""Generates the random-weight twins of CosyVoice2-0.5B: same files, graph names, dtypes and
constants as an exported model directory, with random weights.

    python models/random/generate.py            # both: random/tiny (committed) and random/full
    python models/random/generate.py --size tiny

`tiny` keeps every interface size of the real model (80 mel bins, 192-dim speaker embedding, 6561
speech tokens, 24 kHz, 25 Hz tokens) with tiny layers, a few MB in all, for tests and the server's
default start. `full` has the real layer sizes (about 2.3 GB) for benchmarks. Both are deterministic:
the same seed and package versions give byte-identical files.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from cosyvoice_onnx.directory import ModelSources, build_model_directory  # noqa: E402
from cosyvoice_onnx.frontend import make_twin_campplus, make_twin_speech_tokenizer, make_twin_tokenizer  # noqa: E402
from cosyvoice_onnx.twin_flow import make_twin_flow  # noqa: E402
from cosyvoice_onnx.twin_hift import make_twin_hift  # noqa: E402
from cosyvoice_onnx.twin_llm import make_twin_lm  # noqa: E402

# The real Qwen2-0.5B embedding table; the tiny twin sizes its table to its own tokenizer.
FULL_TEXT_VOCAB = 151936
# 60 s of flow noise keeps the tiny directory small; the real model has 300 s (15000 frames).
TINY_NOISE_FRAMES = 3000


def generate(size: str, out_dir: Path, seed: int = 0, verify: bool = True) -> dict:
    import tempfile
    import torch

    torch.manual_seed(seed)
    with tempfile.TemporaryDirectory() as scratch:
        tokenizer_path = Path(scratch) / "tokenizer.json"
        vocab = make_twin_tokenizer(tokenizer_path)
        text_vocab = FULL_TEXT_VOCAB if size == "full" else (vocab + 63) // 64 * 64
        sources = ModelSources(
            lm=make_twin_lm(size, text_vocab=text_vocab, seed=seed),
            flow=make_twin_flow(size, seed=seed + 1),
            hift=make_twin_hift(size, seed=seed + 2),
            write_tokenizer=lambda path: path.write_bytes(tokenizer_path.read_bytes()),
            write_speech_tokenizer=lambda path: make_twin_speech_tokenizer(path, seed=seed + 3, size=size),
            write_campplus=lambda path: make_twin_campplus(path, seed=seed + 4),
        )
        return build_model_directory(sources, out_dir, variant=f"random-{size}", random_weights=True,
                                     created_by="generate.py", verify=verify,
                                     noise_frames=TINY_NOISE_FRAMES if size == "tiny" else None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=["tiny", "full", "all"], default="all")
    parser.add_argument("--out", type=Path, help="output directory (default: models/random/<size>)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-verify", action="store_true", help="skip comparing each graph with its PyTorch module")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    sizes = ["tiny", "full"] if args.size == "all" else [args.size]
    if args.out and len(sizes) > 1:
        parser.error("--out needs a single --size")
    for size in sizes:
        started = time.monotonic()
        out = args.out or HERE / size
        config = generate(size, out, seed=args.seed, verify=not args.no_verify)
        total = sum(f["bytes"] for f in config["files"].values())
        print(f"{size}: {out} version {config['model']['version']}, {total / 1e6:.1f} MB, "
              f"{time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
