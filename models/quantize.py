"""Writes a copy of a model directory whose LLM has 4- or 8-bit weights (weight-only, blockwise).

    python models/quantize.py --bits 4 --block-size 32 models/random/full models/random/full-int4
    python models/quantize.py --bits 8 IN_DIR OUT_DIR

OUT_DIR is a complete model directory (contract cosyvoice2-onnx/1 with ``llm.quantization`` in
model.json): point the server at it with COSYVOICE_MODEL_DIR. Files other than the LLM graph are
hard-linked from IN_DIR where the file system allows (else copied). See models/README.md.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cosyvoice_onnx.quantize import BITS, BLOCK_SIZES, DEFAULT_ACCURACY_LEVEL, describe, quantize_model_dir  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("in_dir", type=Path, help="a float32 model directory")
    p.add_argument("out_dir", type=Path, help="where to write the quantised directory (replaced if it exists)")
    p.add_argument("--bits", type=int, choices=BITS, default=4)
    p.add_argument("--block-size", type=int, choices=BLOCK_SIZES, default=32,
                   help="input rows sharing one scale (and zero point); smaller is closer and larger")
    p.add_argument("--symmetric", action="store_true", help="no zero points (default: asymmetric)")
    p.add_argument("--accuracy-level", type=int, choices=range(5), default=DEFAULT_ACCURACY_LEVEL,
                   help="MatMulNBits compute type: 4 = int8 activations (default; the only one for --bits 8), "
                        "0 = float32 activations (4 bits only)")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    started = time.monotonic()
    config = quantize_model_dir(a.in_dir, a.out_dir, bits=a.bits, block_size=a.block_size,
                                symmetric=a.symmetric, accuracy_level=a.accuracy_level)
    print(f"{a.out_dir}: {config['model']['variant']} {config['model']['version']}, LLM {describe(config)}, "
          f"in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
