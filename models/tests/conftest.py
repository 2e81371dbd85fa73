"""Shared pytest setup: put ``models/`` on ``sys.path`` so tests can ``import cosyvoice_onnx`` and ``import reference``."""
import sys
from pathlib import Path

_MODELS = str(Path(__file__).resolve().parent.parent)
if _MODELS not in sys.path:
    sys.path.insert(0, _MODELS)
