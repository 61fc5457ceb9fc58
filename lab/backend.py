"""Array backend: one array-API namespace for the whole core.

The numerical core is written against the Python array API standard through
``array-api-compat``.  The namespace is taken from the arrays a function receives
(``namespace(x)``), so NumPy arrays stay on the host and CuPy arrays stay on the
device.  There are no implicit host/device copies: the only functions that move
data are :func:`asarray` (into a chosen backend) and :func:`to_numpy` (to the host),
and both are explicit.

Backends by name: ``"numpy"`` (default), ``"cupy"``, ``"array_api_strict"`` (the
conformance backend the tests use).  ``LAB_BACKEND`` sets the default name.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import array_api_compat
import numpy as np

BACKENDS = ("numpy", "cupy", "array_api_strict")
DTYPES = ("float64", "float32")


def get_backend(name: str | None = None):
    """Return the array namespace for a backend name (default: ``$LAB_BACKEND`` or numpy)."""
    name = name or os.environ.get("LAB_BACKEND", "numpy")
    if name == "numpy":
        import array_api_compat.numpy as xp
    elif name == "cupy":
        try:
            import array_api_compat.cupy as xp
        except ImportError as exc:  # pragma: no cover - depends on the machine
            raise ImportError("backend='cupy' needs CuPy: pip install -e '.[gpu]'") from exc
    elif name == "array_api_strict":
        import array_api_strict as xp
    else:
        raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}")
    return xp


def namespace(*arrays: Any, backend: str | None = None):
    """Array namespace of ``arrays`` (all must agree); the named backend when there are none."""
    arrays = tuple(a for a in arrays if a is not None and not isinstance(a, (int, float, complex)))
    if not arrays:
        return get_backend(backend)
    return array_api_compat.array_namespace(*arrays)


def backend_name(xp) -> str:
    """Short name of a namespace: 'numpy', 'cupy' or 'array_api_strict'."""
    if array_api_compat.is_numpy_namespace(xp):
        return "numpy"
    if array_api_compat.is_cupy_namespace(xp):
        return "cupy"
    return "array_api_strict" if "strict" in getattr(xp, "__name__", "") else getattr(xp, "__name__", "?")


def resolve_dtype(xp, dtype: Any = None):
    """Map None/'float64'/'float32'/a dtype object to a dtype of ``xp`` (float64 by default)."""
    if dtype is None or dtype == "float64":
        return xp.float64
    if dtype == "float32":
        return xp.float32
    for name in DTYPES:
        if dtype == getattr(xp, name):
            return dtype
    if isinstance(dtype, np.dtype) or isinstance(dtype, type):
        name = np.dtype(dtype).name
        if name in DTYPES:
            return getattr(xp, name)
    raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")


def asarray(x: Any, *, backend: str | None = None, xp=None, dtype: Any = None):
    """Explicitly place ``x`` in a backend (a host->device copy when the backend is CuPy)."""
    xp = xp or get_backend(backend)
    if array_api_compat.is_cupy_array(x) and backend_name(xp) != "cupy":
        raise TypeError("refusing a silent device->host copy: call lab.backend.to_numpy(x) first")
    return xp.asarray(x, dtype=resolve_dtype(xp, dtype) if dtype is not None else None)


def to_numpy(x: Any) -> np.ndarray:
    """Explicit copy to a host NumPy array (a device->host transfer for CuPy)."""
    if array_api_compat.is_cupy_array(x):
        return x.get()
    if isinstance(x, np.ndarray):
        return x
    return np.asarray(x)


def float_info(dtype):
    """``np.finfo`` of an array-API float dtype."""
    return np.finfo(np.dtype(str(dtype).split(".")[-1]) if not isinstance(dtype, np.dtype) else dtype)


def matrix_transpose(x):
    """Transpose of the last two axes, batched."""
    xp = namespace(x)
    return xp.matrix_transpose(x) if hasattr(xp, "matrix_transpose") else xp.swapaxes(x, -1, -2)


def batch_shape(x) -> tuple[int, ...]:
    """Leading (batch) axes of a ``(..., m, n)`` array."""
    return tuple(x.shape[:-2])


def check_matrix(x, name: str = "G") -> None:
    """Raise a ValueError unless ``x`` is a floating array of shape ``(..., m, n)`` with m, n >= 1."""
    if not hasattr(x, "shape") or len(x.shape) < 2:
        raise ValueError(
            f"{name} must be a matrix of shape (..., m, n), got shape {getattr(x, 'shape', None)}"
        )
    if x.shape[-1] < 1 or x.shape[-2] < 1:
        raise ValueError(f"{name} must have m, n >= 1, got shape {tuple(x.shape)}")
    xp = namespace(x)
    if not xp.isdtype(x.dtype, "real floating"):
        raise ValueError(f"{name} must be a real floating array (float32 or float64), got dtype {x.dtype}")


def check_finite(x, name: str = "G") -> None:
    """Raise a ValueError naming ``name`` if ``x`` holds NaN or Inf (one reduction, no copy)."""
    xp = namespace(x)
    if not bool(xp.all(xp.isfinite(x))):
        raise ValueError(f"{name} contains NaN or Inf; the oracle needs finite input")


# ----------------------------------------------------------------------------- C allocator

#: glibc mallopt parameters (malloc.h) and the values :func:`tune_allocator` sets.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 64 << 20
_ALLOCATOR_STATE: dict = {}


def tune_allocator() -> str:
    """Keep freed array buffers up to 32 MiB in the process (glibc), once per process.

    Why: a batched step allocates and frees multi-MiB temporaries (e.g. 256 runs × 64×32 float64 =
    4 MiB per array).  glibc serves blocks above M_MMAP_THRESHOLD with a fresh ``mmap`` and unmaps
    them on ``free`` (and trims the heap top above M_TRIM_THRESHOLD), so every such temporary
    faults in each 4 KiB page again on first touch: thousands of minor page faults per step (the
    benchmark's sweep section counts them), which roughly doubled the cost of elementwise passes.
    With M_MMAP_THRESHOLD = 32 MiB and M_TRIM_THRESHOLD = 64 MiB the blocks are reused from the
    heap instead.  Results are unchanged (only where the memory comes from); the cost is up to
    ~64 MiB of freed memory kept by the process.

    No-op (returns why) on a C library other than glibc, when ``LAB_MALLOC_TUNING=0``, or when the
    user set ``MALLOC_MMAP_THRESHOLD_``/``MALLOC_TRIM_THRESHOLD_`` (their choice wins).  Returns a
    one-line description of the allocator setting, also given by :func:`allocator_tuning`.
    """
    if "text" in _ALLOCATOR_STATE:
        return _ALLOCATOR_STATE["text"]
    text = _apply_allocator_tuning()
    _ALLOCATOR_STATE["text"] = text
    return text


def allocator_tuning() -> str | None:
    """What :func:`tune_allocator` did in this process (None if it was not called)."""
    return _ALLOCATOR_STATE.get("text")


def _apply_allocator_tuning() -> str:
    if os.environ.get("LAB_MALLOC_TUNING", "1") == "0":
        return "not tuned (LAB_MALLOC_TUNING=0)"
    if any(k in os.environ for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")):
        return "not tuned (MALLOC_* environment settings kept)"
    if not sys.platform.startswith("linux"):
        return f"not tuned ({sys.platform})"
    import ctypes
    import platform

    if platform.libc_ver()[0] != "glibc":
        return "not tuned (not glibc)"
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # pragma: no cover - glibc always has mallopt
        return "not tuned (mallopt unavailable)"
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    ok = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    if not ok:  # pragma: no cover - mallopt rejects only out-of-range values
        return "not tuned (mallopt failed)"
    return f"mallopt M_MMAP_THRESHOLD={MMAP_THRESHOLD >> 20} MiB, M_TRIM_THRESHOLD={TRIM_THRESHOLD >> 20} MiB"
