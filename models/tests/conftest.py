"""Shared pytest setup: put ``models/`` on ``sys.path`` so tests can ``import cosyvoice_onnx`` and ``import reference``."""
import sys
from pathlib import Path

_MODELS = str(Path(__file__).resolve().parent.parent)
if _MODELS not in sys.path:
    sys.path.insert(0, _MODELS)


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long test (full-size graphs); skipped unless run with -m slow")


def pytest_collection_modifyitems(config, items):
    """``@pytest.mark.slow`` tests run only when the ``-m`` expression names them."""
    if "slow" in (config.getoption("markexpr") or ""):
        return
    import pytest
    skip = pytest.mark.skip(reason="slow: run with -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
