"""The lab's benchmark suite (``lab bench`` / ``make bench``): one run, one table.

Sections (each measured in the same process, one after the other):

1. **orthogonalization** — ``lab.newton_schulz`` (5 Jordan steps) and ``lab.polar`` on n×n and
   n×n/2 matrices against a plain matmul of the same operand shapes: GFLOP/s, time per call and
   the ratio NS GFLOP/s ÷ matmul GFLOP/s (target ≥ 0.85 for n ≥ 512).  Flop counts are exact
   for NS (:mod:`lab.bench.flops`).
2. **batched** — B stacked 64×32 matrices: one batched call against the raw stacked-matmul chain
   of the same matmul flops and against a Python loop over the members (target ≥ 10×).
3. **sweep** — 256 Muon configurations on a 64×32 quadratic, batched, against a Python loop of
   the same runs (target ≥ 10×); the cost of a Muon step against its Newton–Schulz matmuls alone
   and the share of time outside matrix products (target < 30 %).
4. **memory** — peak bytes per batch member for Muon and MVR2 against the size of the
   parameters (tracemalloc), at T and 4T steps (no growth with T).

Method: warm-up, then best-of-k and median of auto-ranged samples taken round-robin across the
compared variants (:mod:`lab.bench.timing`); the device is synchronised around every sample on
CuPy.  The report (:class:`~lab.bench.report.Report`) carries the machine (CPU, cores, NumPy and
its BLAS, backend, dtype, date, git revision) and the load average during every measurement.
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from typing import Callable

from lab.backend import tune_allocator
from lab.bench import kernel_bench, memory_bench, sweep_bench
from lab.bench.diagnose import diagnose
from lab.bench.machine import machine_info
from lab.bench.report import SECTIONS, Report, Row, check_target

__all__ = ["BenchConfig", "Report", "Row", "SECTIONS", "check_target", "diagnose", "run_benchmarks"]


@dataclass
class BenchConfig:
    """Settings of one benchmark run (``quick()`` gives the short version)."""

    backend: str = "numpy"
    sections: tuple[str, ...] = SECTIONS
    dtypes: tuple[str, ...] = ("float32", "float64")
    sizes: tuple[int, ...] = (256, 512, 1024, 2048)
    batches: tuple[int, ...] = (64, 1024, 8192)
    small_shape: tuple[int, int] = (64, 32)
    repeats: int = 5
    warmup: int = 1
    polar_repeats: int = 3
    loop_repeats: int = 3
    sweep_configs: int = 256
    sweep_steps: int = 2000
    sweep_loop_runs: int = 16
    sweep_dtype: str = "float64"
    memory_steps: int = 50
    memory_batch: int = 64
    extra: dict = field(default_factory=dict)

    @classmethod
    def quick(cls, **changes) -> BenchConfig:
        base = dict(
            sizes=(256, 512),
            batches=(64, 1024),
            repeats=3,
            polar_repeats=1,
            loop_repeats=1,
            sweep_steps=100,
            sweep_loop_runs=4,
            memory_steps=10,
            memory_batch=16,
        )
        base.update(changes)
        return cls(**base)

    def validate(self) -> None:
        unknown = set(self.sections) - set(SECTIONS)
        if unknown:
            raise ValueError(f"sections must be among {SECTIONS}, got {sorted(unknown)}")
        if self.backend not in ("numpy", "cupy"):
            raise ValueError(f"backend must be 'numpy' or 'cupy', got {self.backend!r}")
        for name in self.dtypes + (self.sweep_dtype,):
            if name not in ("float32", "float64"):
                raise ValueError(f"dtype must be 'float32' or 'float64', got {name!r}")
        for name in (
            "repeats",
            "polar_repeats",
            "loop_repeats",
            "sweep_configs",
            "sweep_steps",
            "sweep_loop_runs",
            "memory_steps",
            "memory_batch",
        ):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if any(n < 2 for n in self.sizes) or any(b < 1 for b in self.batches):
            raise ValueError(f"sizes must be >= 2 and batches >= 1, got {self.sizes}, {self.batches}")


def _section_runner(name: str, config: BenchConfig, progress):
    """The zero-argument function that measures section ``name`` under ``config``."""
    if name == "orthogonalization":
        return lambda: kernel_bench.bench_orthogonalization(
            config.backend,
            config.sizes,
            config.dtypes,
            repeats=config.repeats,
            warmup=config.warmup,
            polar_repeats=config.polar_repeats,
            progress=progress,
        )
    if name == "batched":
        return lambda: kernel_bench.bench_batched(
            config.backend,
            config.batches,
            config.small_shape,
            config.dtypes,
            repeats=config.repeats,
            warmup=config.warmup,
            loop_repeats=config.loop_repeats,
            progress=progress,
        )
    if name == "sweep":
        return lambda: sweep_bench.bench_sweep(
            config.backend,
            configs=config.sweep_configs,
            steps=config.sweep_steps,
            shape=config.small_shape,
            dtype=config.sweep_dtype,
            loop_runs=config.sweep_loop_runs,
            repeats=min(config.repeats, 3),
            progress=progress,
        )
    return lambda: memory_bench.bench_memory(
        config.backend,
        steps=config.memory_steps,
        batch=config.memory_batch,
        shape=config.small_shape,
        dtype=config.sweep_dtype,
        progress=progress,
    )


def _run_section_in_child(name: str, config: BenchConfig, start: float | None) -> list[Row]:
    """Entry point of an isolated section (a fresh interpreter); progress goes to stderr."""
    def progress(message: str) -> None:
        print(f"[{time.time() - start:7.1f} s] {message}", file=sys.stderr, flush=True)

    tune_allocator()  # the same allocator setting as the lab's CLI in every fresh interpreter
    return _section_runner(name, config, progress if start is not None else None)()


def _run_isolated(name: str, config: BenchConfig, start: float | None) -> list[Row]:
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(_run_section_in_child, name, config, start).result()


def run_benchmarks(
    config: BenchConfig | None = None,
    progress: Callable[[str], None] | None = None,
    *,
    on_section: Callable[[Report], None] | None = None,
    raise_errors: bool = True,
    isolate: bool = False,
    start: float | None = None,
) -> Report:
    """Run the configured sections in order and return the :class:`Report`.

    ``on_section(report)`` is called after each section (e.g. to write partial results).  With
    ``raise_errors=False`` a section that fails is recorded in ``report.failures`` (and in the
    findings) and the next section runs; the default re-raises.  ``isolate=True`` measures every
    section in a fresh interpreter (``spawn``), so that no section inherits another's allocator
    state, caches or BLAS threads: the C allocator's dynamic thresholds, for one, depend on the
    process's history and change elementwise costs severalfold (see the sweep's page-fault row).
    ``start`` (a ``time.time()`` value) makes isolated sections print progress to stderr.
    """
    config = config or BenchConfig()
    config.validate()
    tune_allocator()
    report = Report(
        machine=machine_info(config.backend, config.dtypes),
        settings={k: str(v) for k, v in asdict(config).items() if k != "extra"},
    )
    report.settings["isolated sections"] = str(isolate)
    for name in SECTIONS:
        if name not in config.sections:
            continue
        try:
            if isolate:
                report.add(_run_isolated(name, config, start))
            else:
                report.add(_section_runner(name, config, progress)())
        except Exception as exc:
            if raise_errors:
                raise
            report.failures.append(f"{name}: {type(exc).__name__}: {exc}")
        report.machine["loadavg_at_end"] = ", ".join(f"{x:.2f}" for x in _loadavg())
        report.findings = diagnose(report)
        if on_section is not None:
            on_section(report)
    return report


def _loadavg():
    return os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
