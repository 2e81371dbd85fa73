"""Exports the official CosyVoice2-0.5B checkpoint to a model directory (contract cosyvoice2-onnx/1)
and verifies every graph against the PyTorch module it came from.

    python models/export/export.py --cosyvoice /path/to/CosyVoice \
        --checkpoint /path/to/pretrained_models/CosyVoice2-0.5B --out /path/to/cosyvoice2-0.5b

`--cosyvoice` is a checkout of github.com/FunAudioLLM/CosyVoice with its submodule
third_party/Matcha-TTS and its requirements installed; `--checkpoint` is the downloaded
CosyVoice2-0.5B directory (cosyvoice2.yaml, llm.pt, flow.pt, hift.pt, campplus.onnx,
speech_tokenizer_v2.onnx, CosyVoice-BlankEN/). See models/README.md for time and memory.
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
from cosyvoice_onnx.frontend import adopt_official_onnx, export_official_tokenizer  # noqa: E402

REQUIRED = ("cosyvoice2.yaml", "llm.pt", "flow.pt", "hift.pt", "campplus.onnx", "speech_tokenizer_v2.onnx",
            "CosyVoice-BlankEN")


class ExportError(Exception):
    pass


def check_inputs(cosyvoice: Path, checkpoint: Path) -> None:
    """Fails early, naming what is missing, before minutes of loading."""
    if not (cosyvoice / "cosyvoice" / "cli" / "cosyvoice.py").is_file():
        raise ExportError(f"--cosyvoice {cosyvoice}: not a CosyVoice checkout (no cosyvoice/cli/cosyvoice.py)")
    if not (cosyvoice / "third_party" / "Matcha-TTS" / "matcha").is_dir():
        raise ExportError(f"--cosyvoice {cosyvoice}: third_party/Matcha-TTS is empty "
                          "(run: git submodule update --init --recursive)")
    missing = [name for name in REQUIRED if not (checkpoint / name).exists()]
    if missing:
        raise ExportError(f"--checkpoint {checkpoint}: missing {', '.join(missing)} "
                          "(is this the CosyVoice2-0.5B directory?)")


def load_official(cosyvoice: Path, checkpoint: Path):
    """Loads the official model in fp32 on the CPU, with plain PyTorch modules (no JIT, TensorRT or vLLM)."""
    sys.path[:0] = [str(cosyvoice), str(cosyvoice / "third_party" / "Matcha-TTS")]
    import torch
    from cosyvoice.cli.cosyvoice import CosyVoice2  # the official code, from the user's checkout

    torch.set_grad_enabled(False)
    model = CosyVoice2(str(checkpoint), load_jit=False, load_trt=False, load_vllm=False, fp16=False).model
    for module in (model.llm, model.flow, model.hift):
        module.float().cpu().eval()
    fold_weight_norm(model.hift)
    return model


def fold_weight_norm(module) -> int:
    """Replaces weight norm by the plain weights it computes, so the graph holds one weight per
    convolution. Handles torch's parametrizations (what the official code uses on current torch) and
    the older hook form. (The official HiFTGenerator.remove_weight_norm predates parametrizations and
    fails on them.) Returns how many were folded."""
    import torch
    from torch.nn.utils import parametrize

    folded = 0
    for sub in module.modules():
        if parametrize.is_parametrized(sub, "weight"):
            parametrize.remove_parametrizations(sub, "weight", leave_parametrized=True)
            folded += 1
        elif hasattr(sub, "weight_g") and hasattr(sub, "weight_v"):
            torch.nn.utils.remove_weight_norm(sub)
            folded += 1
    return folded


def export(cosyvoice: Path, checkpoint: Path, out: Path, verify: bool = True) -> dict:
    check_inputs(cosyvoice, checkpoint)
    model = load_official(cosyvoice, checkpoint)
    sources = ModelSources(
        lm=model.llm, flow=model.flow, hift=model.hift,
        write_tokenizer=lambda path: export_official_tokenizer(checkpoint / "CosyVoice-BlankEN", path),
        write_speech_tokenizer=lambda path: adopt_official_onnx(checkpoint / "speech_tokenizer_v2.onnx", path,
                                                                "speech_tokenizer"),
        write_campplus=lambda path: adopt_official_onnx(checkpoint / "campplus.onnx", path, "campplus"),
    )
    return build_model_directory(sources, out, variant="official", random_weights=False,
                                 created_by="export.py", verify=verify)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cosyvoice", type=Path, required=True, help="checkout of FunAudioLLM/CosyVoice")
    parser.add_argument("--checkpoint", type=Path, required=True, help="the CosyVoice2-0.5B directory")
    parser.add_argument("--out", type=Path, required=True, help="model directory to write")
    parser.add_argument("--no-verify", action="store_true", help="skip comparing graphs with PyTorch")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    started = time.monotonic()
    try:
        config = export(args.cosyvoice.resolve(), args.checkpoint.resolve(), args.out.resolve(),
                        verify=not args.no_verify)
    except ExportError as e:
        print(f"export: {e}", file=sys.stderr)
        return 2
    print(f"wrote {args.out} (version {config['model']['version']}) in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
