"""Parameter sweeps: grids, batched chunks, cached and resumable execution, a long results table.

A sweep evaluates a user-supplied *batched* function on every point of a :class:`Grid`::

    compute(points: list[dict]) -> dict[str, np.ndarray]     # leading axis = point

Algorithm of :func:`run_sweep`
------------------------------
1. Expand the grid into points (Cartesian product, last axis fastest).  Each point gets a
   64-bit random ``key`` = :func:`lab.random.derive_key` of its own coordinates on the
   ``key_axes`` (default: all axes), so a point's random numbers never depend on which
   other points exist.  ``key_axes=("seed", "n")`` instead gives common random numbers
   across the remaining axes (paired comparisons of step sizes or optimizers).
2. Split the points into chunks that one batched call can run: points that agree on the
   *structural* axes (problem size, preset, optimizer name, ...) and differ only in
   batchable axes (per-run hyperparameters and seeds) share a chunk of at most
   ``chunk_size`` points.
3. For each chunk, look up the cache entry keyed by (``name``, the chunk's points, the code
   version of the modules the computation depends on).  Verified entries are loaded; the
   others are computed — sequentially, over ``n_jobs`` local processes (joblib), or on a
   Dask cluster — and each is stored atomically *as soon as it finishes*.  An interrupted
   sweep therefore resumes where it stopped: finished chunks are never recomputed or lost.
4. Assemble a :class:`SweepResult`, a long table in grid order (one row per point, benchopt
   style) with the provenance on every row.  The order, and every number, are independent
   of the chunking and of the execution backend (given a ``compute`` whose batched call
   equals the one-by-one calls, as the lab's standards require).
"""

# The package's parts: grid (lab.sweeps.grid), result table (lab.sweeps.table), executors
# (lab.sweeps.executors) and run_sweep with its cache keys (lab.sweeps.sweep).  Every public name
# (and the private ones other modules use) stays importable from lab.sweeps.
from lab.cache import code_version  # noqa: F401
from lab.sweeps.executors import SchedulerError, _compute_chunk, execution, start_client  # noqa: F401
from lab.sweeps.grid import KEY, SEED_AXES, Grid, point_key  # noqa: F401
from lab.sweeps.sweep import (  # noqa: F401
    PROJECT_PACKAGES,
    _resolve_cache,
    default_code,
    project_version,
    run_sweep,
    show_progress,
)
from lab.sweeps.table import PROVENANCE, SweepResult, SweepStats  # noqa: F401
