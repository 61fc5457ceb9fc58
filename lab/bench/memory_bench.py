"""Section 4: memory per batch member of Muon and Muon-MVR2, and its independence of T.

Method: ``tracemalloc`` traces every NumPy data buffer (NumPy reports its allocations to it).
For B runs of a 64×32 problem (Gaussian noise, so that MVR2 evaluates one sample at two points):

* **resident**: bytes held after ``init`` and after the last step (parameters + optimizer state,
  nothing else alive), per member, in units of one parameter copy (m·n·itemsize).  The
  algorithms need params + momentum (Muon, 2 copies) and params + momentum + X_{t−1} (MVR2,
  3 copies): target ≤ 3.
* **peak**: the largest working set of a step — its traced peak minus what was alive when it
  began — per member, in parameter copies (gradient(s), estimator and Newton–Schulz temporaries).
  Measured step by step so that small Python objects awaiting the cyclic garbage collector
  (collected later, not data) are not charged to the step.
* **growth**: the peak over 4T steps divided by the peak over T steps (target ≤ 1.01: no
  per-step allocation that survives the step).

On CuPy the device pool's ``total_bytes`` (its high-water mark) replaces tracemalloc.
"""

from __future__ import annotations

import gc
import tracemalloc
from typing import Callable

import numpy as np

from lab.backend import backend_name, get_backend
from lab.bench.kernels import device_sync
from lab.bench.report import Row, check_target
from lab.bench.sweep_bench import make_problem
from lab.optimizers import gradient_fn, muon, muon_mvr2

RESIDENT_TARGET = "<= 3"
GROWTH_TARGET = "<= 1.01"


def _make_optimizer(name: str):
    if name == "muon":
        return muon(lr=0.01, beta=0.95, oracle="ns:jordan:5")
    if name == "muon_mvr2":
        return muon_mvr2(lr=0.01, beta=0.9, oracle="ns:jordan:5")
    raise ValueError(f"optimizer must be 'muon' or 'muon_mvr2', got {name!r}")


class _Tracker:
    """Current/peak bytes: tracemalloc on the host, the memory pool on CuPy."""

    def __init__(self, backend: str):
        self.device = backend == "cupy"

    def __enter__(self):
        gc.collect()
        if self.device:  # pragma: no cover - needs a GPU
            import cupy  # lazy: optional dependency (the GPU backend)

            self.pool = cupy.get_default_memory_pool()
            self.pool.free_all_blocks()
        else:
            tracemalloc.start()
        return self

    def current(self) -> int:
        if self.device:  # pragma: no cover
            return int(self.pool.used_bytes())
        return tracemalloc.get_traced_memory()[0]

    def peak(self) -> int:
        if self.device:  # pragma: no cover
            return int(self.pool.total_bytes())
        return tracemalloc.get_traced_memory()[1]

    def reset_peak(self) -> None:
        if self.device:  # pragma: no cover
            self.pool.free_all_blocks()
        else:
            tracemalloc.reset_peak()

    def __exit__(self, *exc):
        if not self.device:
            tracemalloc.stop()


def measure_memory(
    optimizer: str,
    steps: int,
    *,
    backend="numpy",
    batch=64,
    shape=(64, 32),
    dtype="float64",
    noise_sigma: float = 0.1,
) -> dict:
    """Bytes per member: resident after init and after ``steps`` steps, and the peak during them."""
    xp = get_backend(backend)
    sync = device_sync(xp)
    problem = make_problem(backend, shape, dtype, noise_sigma)
    opt = _make_optimizer(optimizer)
    rng = problem.make_rng(np.arange(batch), "bench-memory")
    with _Tracker(backend) as track:
        X = problem.x0(rng)
        before_init = track.current()
        state = opt.init(X)
        sync()
        after_init = track.current()
        transient = 0
        for t in range(1, steps + 1):
            # the working set of one step: its peak above what was alive when it began (so that
            # Python objects awaiting the cyclic collector do not count as the step's memory)
            track.reset_peak()
            base = track.current()
            grad = gradient_fn(problem, rng.at(t))
            X, state = opt.step(state, X, grad, None)
            sync()
            transient = max(transient, track.peak() - base)
        del grad
        gc.collect()
        after = track.current()
    param_bytes = batch * int(np.prod(shape)) * np.dtype(dtype).itemsize
    return {
        "param_bytes_per_member": param_bytes / batch,
        "state_arrays": tree_nbytes(state) / batch,
        "params_arrays": tree_nbytes(X) / batch,
        "state_after_init": (after_init - before_init) / batch,
        "resident_after": (after - before_init + param_bytes) / batch,
        "peak_transient": transient / batch,
    }


def tree_nbytes(tree) -> int:
    """Bytes of the distinct arrays in a (Named)tuple tree (an array shared by two fields counts once)."""
    seen: dict[int, int] = {}

    def visit(node):
        if isinstance(node, tuple):
            for child in node:
                visit(child)
        elif hasattr(node, "nbytes") and hasattr(node, "shape"):
            seen[id(node)] = int(node.nbytes)

    visit(tree)
    return sum(seen.values())


def bench_memory(
    backend: str = "numpy",
    *,
    steps: int = 50,
    batch: int = 64,
    shape=(64, 32),
    dtype: str = "float64",
    optimizers=("muon", "muon_mvr2"),
    progress: Callable[[str], None] | None = None,
) -> list[Row]:
    """Rows of peak / resident bytes per member in parameter copies; see the module docstring."""
    name = backend_name(get_backend(backend))
    rows: list[Row] = []
    for opt in optimizers:
        if progress:
            progress(f"memory {opt} T={steps} and 4T={4 * steps}")
        short = measure_memory(opt, steps, backend=backend, batch=batch, shape=shape, dtype=dtype)
        long = measure_memory(opt, 4 * steps, backend=backend, batch=batch, shape=shape, dtype=dtype)
        rows += _memory_rows(opt, short, long, steps, batch, shape, dtype, name)
    return rows


def _memory_rows(opt, short: dict, long: dict, steps, batch, shape, dtype, name) -> list[Row]:
    """Resident bytes after init and after 4T steps, peaks over T and 4T steps, in parameter copies."""
    m, n = shape
    copy = short["param_bytes_per_member"]
    case = f"{opt}, {batch} runs of {m}x{n}"
    shp = f"{batch}x{m}x{n}"

    def row(variant, value, **kw):
        return Row(
            "memory",
            case,
            variant,
            name,
            dtype,
            shp,
            work=copy,
            unit="bytes/member",
            work_unit="bytes per parameter copy",
            rate_best=value,
            rate_median=value,
            **kw,
        )

    resident = (long["state_arrays"] + long["params_arrays"]) / copy
    traced = long["resident_after"] / copy
    r1 = row(
        "resident after init (T=0)",
        short["state_after_init"] + copy,
        reference="parameter size",
        ratio_best=(short["state_after_init"] + copy) / copy,
        ratio_median=(short["state_after_init"] + copy) / copy,
        note="parameters + optimizer state, traced bytes (tracemalloc)",
    )
    r2 = row(
        f"resident after {4 * steps} steps",
        resident * copy,
        reference="parameter size",
        ratio_best=resident,
        ratio_median=resident,
        target=RESIDENT_TARGET,
        met=check_target(resident, RESIDENT_TARGET),
        note=f"bytes of the parameter and state arrays (expected 2 copies for Muon, 3 for MVR2); "
        f"traced (with Python objects): {traced:.3f} copies",
    )
    r3 = row(
        f"peak during {steps} steps",
        short["peak_transient"],
        reference="parameter size",
        ratio_best=short["peak_transient"] / copy,
        ratio_median=short["peak_transient"] / copy,
        note="largest working set of one step above what was alive before it",
    )
    growth = long["peak_transient"] / short["peak_transient"]
    r4 = row(
        f"peak during {4 * steps} steps",
        long["peak_transient"],
        reference=f"peak during {steps} steps",
        ratio_best=growth,
        ratio_median=growth,
        target=GROWTH_TARGET,
        met=check_target(growth, GROWTH_TARGET),
        note="no per-step growth: peak(4T) / peak(T)",
    )
    return [r1, r2, r3, r4]
