"""Assembles a model directory from modules with the official attribute structure.

The export (official checkpoint) and the twin generator (random weights) both end here, so the
files, names and checks are the same code for both: what the tests exercise on the twins is what
a user runs on the real model.
"""
from __future__ import annotations

import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .contract import check_model_dir, write_model_json
from .flow import export_flow, verify_flow
from .hift import export_hift, verify_hift
from .llm import export_llm, verify_llm

log = logging.getLogger("cosyvoice_onnx")


@dataclass
class ModelSources:
    """What a model directory is made of.

    `lm`, `flow` and `hift` are torch modules shaped like the official Qwen2LM,
    CausalMaskedDiffWithXvec and HiFTGenerator; the three writers produce tokenizer.json,
    speech_tokenizer.onnx and campplus.onnx at the path they are given.
    """
    lm: object
    flow: object
    hift: object
    write_tokenizer: Callable[[Path], None]
    write_speech_tokenizer: Callable[[Path], None]
    write_campplus: Callable[[Path], None]


def build_model_directory(sources: ModelSources, out_dir: Path, *, variant: str, random_weights: bool,
                          created_by: str, noise_frames: int | None = None, verify: bool = True) -> dict:
    """Writes every file into a fresh directory, verifies each graph against its module, then moves it
    into place: an interrupted run never leaves a half-written directory at `out_dir`."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    work.chmod(0o755)  # mkdtemp's 0700 would follow the directory into place
    try:
        steps: list[tuple[str, Callable[[], object]]] = [
            ("tokenizer.json", lambda: sources.write_tokenizer(work / "tokenizer.json")),
            ("speech_tokenizer.onnx", lambda: sources.write_speech_tokenizer(work / "speech_tokenizer.onnx")),
            ("campplus.onnx", lambda: sources.write_campplus(work / "campplus.onnx")),
        ]
        sections: dict[str, dict] = {}
        steps += [
            ("llm", lambda: sections.__setitem__("llm", export_llm(sources.lm, work))),
            ("flow", lambda: sections.__setitem__("flow", export_flow(sources.flow, work, noise_frames=noise_frames))),
            ("hift", lambda: sections.__setitem__("hift", export_hift(sources.hift, work))),
        ]
        for name, step in steps:
            started = time.monotonic()
            step()
            log.info("wrote %s in %.1f s", name, time.monotonic() - started)
        write_model_json(work, variant=variant, random_weights=random_weights, created_by=created_by,
                         llm=sections["llm"], flow=sections["flow"], hift=sections["hift"])
        check_model_dir(work)
        if verify:
            for name, check in (("llm", lambda: verify_llm(sources.lm, work)),
                                ("flow", lambda: verify_flow(sources.flow, work)),
                                ("hift", lambda: verify_hift(sources.hift, work))):
                started = time.monotonic()
                report = check()
                log.info("verified %s against PyTorch in %.1f s: %s", name, time.monotonic() - started, report)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        work.rename(out_dir)
        return check_model_dir(out_dir, verify_hashes=False)
    finally:
        if work.exists():
            shutil.rmtree(work)
