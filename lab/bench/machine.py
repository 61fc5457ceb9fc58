"""What the numbers were measured on: CPU, cores, libraries, BLAS, backend, date, revision."""

from __future__ import annotations

import datetime as _dt
import os
import platform
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info

from lab.backend import allocator_tuning
from lab.bench.timing import load1
from lab.provenance import short_git_revision as git_revision

_REPO = Path(__file__).resolve().parents[2]


def cpu_model() -> str:
    """The CPU's marketing name (``/proc/cpuinfo`` on Linux, ``platform`` elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def usable_cores() -> int:
    """Cores this process may run on (the affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS / Windows
        return os.cpu_count() or 1


def blas_info() -> str:
    """The BLAS NumPy runs with, as loaded now: library, version, runtime kernel and thread count.

    Read with threadpoolctl from the loaded libraries, because the build configuration NumPy
    reports names the kernel it was compiled for (OpenBLAS' DYNAMIC_ARCH builds pick another one
    at run time, e.g. built "Haswell", running "SkylakeX").  Thread-count variables that are set
    are appended.
    """
    pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    if pools:
        text = "; ".join(
            f"{p.get('internal_api', '?')} {p.get('version') or ''} "
            f"(runtime kernel {p.get('architecture') or 'unknown'}, {p.get('num_threads', '?')} threads, "
            f"{p.get('threading_layer') or 'unknown'} threading)".replace("  ", " ")
            for p in pools
        )
    else:
        text = "none loaded"
    threads = [
        f"{k}={os.environ[k]}"
        for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
        if k in os.environ
    ]
    return text + (f"; {', '.join(threads)}" if threads else "")


def blas_build() -> str:
    """NumPy's build-time BLAS configuration (what it was compiled against, not what runs)."""
    try:
        config = np.show_config(mode="dicts")
        blas = config.get("Build Dependencies", {}).get("blas", {})
        parts = [blas.get("name", "?"), blas.get("version", "")]
        if blas.get("openblas configuration"):
            parts.append(f"({blas['openblas configuration']})")
        return " ".join(p for p in parts if p)
    except Exception:  # pragma: no cover - very old NumPy
        return "unknown"


def blas_threads() -> int:
    """Threads the loaded BLAS libraries use (the largest, when several are loaded); 0 if none."""
    return max((int(p.get("num_threads") or 0) for p in threadpool_info() if p.get("user_api") == "blas"),
               default=0)


def allocator_info() -> str:
    """The C library and its malloc tuning (environment or lab.backend.tune_allocator).

    Recorded because it changes the cost of elementwise temporaries.
    """
    libc = " ".join(platform.libc_ver()) or "unknown libc"
    tuning = [f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("MALLOC_")]
    lab_tuning = allocator_tuning()
    if lab_tuning is not None and not lab_tuning.startswith("not tuned"):
        tuning.append(lab_tuning)
    return libc + (f"; {', '.join(tuning)}" if tuning else "; default malloc settings")


def device_info(backend: str) -> str:
    """The accelerator (CuPy backend) or 'host'."""
    if backend != "cupy":
        return "host"
    try:  # pragma: no cover - needs a GPU
        import cupy  # lazy: optional dependency (the GPU backend)

        dev = cupy.cuda.Device()
        props = cupy.cuda.runtime.getDeviceProperties(dev.id)
        name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        return f"{name} (CuPy {cupy.__version__}, CUDA runtime {cupy.cuda.runtime.runtimeGetVersion()})"
    except Exception as exc:  # pragma: no cover
        return f"cupy: {exc}"


def machine_info(backend: str = "numpy", dtypes: tuple[str, ...] = ("float32", "float64")) -> dict[str, str]:
    """Key/value description of the run, written at the head of every report."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (load1(), 0.0, 0.0)
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "git_revision": git_revision(),
        "cpu": cpu_model(),
        "cores": f"{usable_cores()} usable of {os.cpu_count()}",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas_info(),
        "blas_threads": str(blas_threads()),
        "blas_build": blas_build(),
        "allocator": allocator_info(),
        "backend": backend,
        "device": device_info(backend),
        "dtypes": ", ".join(dtypes),
        "platform": platform.platform(),
        "loadavg_at_start": ", ".join(f"{x:.2f}" for x in load),
    }
