"""Wall-clock timing with warm-up, auto-ranged repetition and interleaving.

Method
------
Every callable is first run ``warmup`` times (JIT-free NumPy still pays first-touch page
faults, BLAS thread start-up and, on CuPy, kernel compilation and the memory pool's first
allocations).  One *sample* is ``number`` back-to-back calls timed with
:func:`time.perf_counter`, where ``number`` is chosen so that a sample lasts at least
``min_sample_s`` (calls shorter than the timer's useful resolution are amortised).  The
callables being compared are sampled **round-robin** (A, B, C, A, B, C, ...) so that a change
of machine load during the measurement hits all of them alike and their *ratio* stays
stable; the report gives the best (least disturbed) and the median sample per call.

On a device backend the device is synchronised before the clock starts and after the last
call of the sample: GPU work is asynchronous, and timing only the launch would be wrong.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Timing:
    """Seconds per call, one entry per sample (each sample averages ``number`` calls)."""

    per_call: tuple[float, ...]
    number: int
    load_before: float
    load_after: float

    @property
    def best(self) -> float:
        return min(self.per_call)

    @property
    def median(self) -> float:
        return statistics.median(self.per_call)

    @property
    def repeats(self) -> int:
        return len(self.per_call)

    @property
    def load(self) -> float:
        """Mean 1-minute load average over the measurement (machine contention indicator)."""
        return 0.5 * (self.load_before + self.load_after)


def load1() -> float:
    """The 1-minute load average (0.0 where the platform has none)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):  # pragma: no cover - non-POSIX
        return 0.0


def _noop() -> None:
    return None


def _sample(fn: Callable[[], object], number: int, sync: Callable[[], None]) -> float:
    sync()
    start = time.perf_counter()
    for _ in range(number):
        fn()
    sync()
    return (time.perf_counter() - start) / number


def measure_interleaved(
    fns: dict[str, Callable[[], object]],
    *,
    repeats: int = 5,
    warmup: int = 1,
    min_sample_s: float = 0.02,
    max_number: int = 1000,
    budget_s: float | None = None,
    min_repeats: int = 3,
    sync: Callable[[], None] | None = None,
) -> dict[str, Timing]:
    """Time several zero-argument callables round-robin; return a :class:`Timing` for each.

    Parameters
    ----------
    fns : name -> callable; each call must do the full work being measured.
    repeats : number of samples per callable (best-of-``repeats`` and median are reported), >= 1.
    warmup : untimed calls per callable before sampling, >= 0.
    min_sample_s : a sample repeats the call until it lasts about this long (>= 0).
    max_number : cap on the calls per sample.
    budget_s : if given, fewer samples (but at least ``min(min_repeats, repeats)``) when ``repeats``
        rounds would take longer than this (long calls: a 2048×2048 float64 NS takes seconds).
    sync : device synchronisation (e.g. CuPy's stream synchronise); a no-op on the host.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    if warmup < 0:
        raise ValueError(f"warmup must be >= 0, got {warmup}")
    if min_sample_s < 0:
        raise ValueError(f"min_sample_s must be >= 0, got {min_sample_s}")
    sync = sync or _noop
    numbers: dict[str, int] = {}
    probe_s: dict[str, float] = {}
    for name, fn in fns.items():
        for _ in range(warmup):
            fn()
        probe = probe_s[name] = _sample(fn, 1, sync)
        numbers[name] = 1 if probe <= 0 else int(min(max_number, max(1, math.ceil(min_sample_s / probe))))
    if budget_s is not None:
        round_s = sum(probe_s[name] * numbers[name] for name in fns)
        if round_s > 0:
            repeats = max(min(min_repeats, repeats), min(repeats, int(budget_s / round_s)))
    samples: dict[str, list[float]] = {name: [] for name in fns}
    loads: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            loads[name].append(load1())
            samples[name].append(_sample(fn, numbers[name], sync))
    after = load1()
    return {name: Timing(tuple(samples[name]), numbers[name], loads[name][0], after) for name in fns}


def measure(fn: Callable[[], object], **kwargs) -> Timing:
    """Time one callable (see :func:`measure_interleaved` for the method and parameters)."""
    return measure_interleaved({"fn": fn}, **kwargs)["fn"]
