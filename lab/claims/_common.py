"""Helpers every claim module shares: grid columns, per-point random streams, the named sweep."""

from __future__ import annotations

import numpy as np

from lab.random import RNG
from lab.sweeps import run_sweep


def columns(points, name) -> np.ndarray:
    """The value of ``name`` at every grid point of a chunk, as a float64 array over the batch."""
    return np.asarray([p[name] for p in points], dtype=np.float64)


def point_rng(points) -> RNG:
    """One independent random stream per grid point, from the keys :func:`lab.sweeps.run_sweep` assigns."""
    return RNG(np.asarray([p["key"] for p in points], dtype=np.uint64))


def interval_direction(lo_first, hi_first, lo_last, hi_last) -> str | None:
    """"up" when the last interval lies entirely above the first, "down" when entirely below, else None.

    Disjoint intervals are the lab's rule for a measured trend (e.g. two bootstrap intervals of an
    optimal step); overlapping intervals, or a NaN end, decide nothing.
    """
    if lo_last > hi_first:
        return "up"
    if hi_last < lo_first:
        return "down"
    return None


def named_sweep(compute, grid, name, mutation, cache, key_axes=("seed",), chunk_size=100_000):
    """:func:`lab.sweeps.run_sweep` under ``name``, with a separate cache entry per planted bug.

    ``mutation`` is the optimizer wrapper of the runs ("none" for the unmutated one); stacked chunks
    as large as the grid, no progress bar, keyed by ``key_axes``.
    """
    full = name if mutation == "none" else f"{name}__{mutation}"
    return run_sweep(
        compute,
        grid,
        name=full,
        cache=cache,
        chunk_size=chunk_size,
        progress=False,
        key_axes=key_axes,
    )
