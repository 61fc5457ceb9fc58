"""Shared fixtures: the array backends the core is tested on, and the gpu marker.

The gpu tests are skipped only on a machine with neither CuPy nor a CUDA device.  When a device is
present (``nvidia-smi -L`` lists one) or CuPy is installed, a CuPy that fails to import or to run
is a broken installation: every gpu test then errors with the reason instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np
import pytest

from lab.backend import get_backend

CPU_BACKENDS = ["numpy", "array_api_strict"]


def _cuda_device_listed() -> bool:
    """Whether the NVIDIA driver lists a device (independently of CuPy)."""
    if shutil.which("nvidia-smi") is None:
        return False
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and "GPU" in out.stdout


def gpu_state() -> tuple[bool, str | None]:
    """``(usable, problem)``: usable when CuPy runs on a device; ``problem`` says why not.

    ``problem`` is None when the gpu tests may be skipped (no CuPy and no device), else the
    reason the installation is broken.
    """
    device = _cuda_device_listed()
    try:
        import cupy  # optional: the gpu extra, installed by `make venv` on a machine with a device
    except ImportError as exc:
        if not device:
            return False, None
        return False, f"a CUDA device is present but CuPy does not import ({exc}); run `make venv`"
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            raise RuntimeError("CuPy sees no CUDA device")
        if float(cupy.arange(4.0).sum()) != 6.0:
            raise RuntimeError("CuPy computed a wrong sum")
    except Exception as exc:  # noqa: BLE001 - any failure of the CUDA stack is reported as such
        return False, f"CuPy is installed but cannot run on a CUDA device ({type(exc).__name__}: {exc})"
    return True, None


HAS_GPU, GPU_PROBLEM = gpu_state()


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="needs CuPy and a CUDA device (neither is on this machine)")
    for item in items:
        if "gpu" in item.keywords and not HAS_GPU and GPU_PROBLEM is None:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _broken_gpu_is_an_error(request):
    """A gpu test on a machine whose CuPy is broken errors (at setup) with the reason."""
    if GPU_PROBLEM is not None and request.node.get_closest_marker("gpu") is not None:
        pytest.fail(f"gpu test cannot run: {GPU_PROBLEM}", pytrace=False)


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
