"""Shared fixtures: the array backends the core is tested on, and the gpu marker."""

from __future__ import annotations

import os

import numpy as np
import pytest

from lab.backend import get_backend

CPU_BACKENDS = ["numpy", "array_api_strict"]


def _cupy_available() -> bool:
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


HAS_GPU = _cupy_available()


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="needs CuPy and a CUDA device (none on this machine)")
    for item in items:
        if "gpu" in item.keywords and not HAS_GPU:
            item.add_marker(skip)


@pytest.fixture(params=CPU_BACKENDS)
def xp(request):
    """The array namespace under test: NumPy and the strict array-API reference."""
    return get_backend(request.param)


@pytest.fixture
def rng():
    """A NumPy generator for building test inputs (host side)."""
    return np.random.default_rng(20261122)


@pytest.fixture(scope="session", autouse=True)
def _temporary_cache(tmp_path_factory):
    """Every test (and every ``lab`` subprocess it starts) uses a fresh cache, never the repository's.

    A stale entry in the repository's ``.lab-cache`` would otherwise let a test pass on results
    computed by older code.  One directory per session keeps the suite's repeated experiments fast.
    """
    previous = os.environ.get("LAB_CACHE_DIR")
    os.environ["LAB_CACHE_DIR"] = str(tmp_path_factory.mktemp("lab-cache"))
    yield
    if previous is None:
        os.environ.pop("LAB_CACHE_DIR", None)
    else:
        os.environ["LAB_CACHE_DIR"] = previous
