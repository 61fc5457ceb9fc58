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

Modules
-------
* :mod:`lab.sweeps.grid` — :class:`Grid` (also the flat batch of :func:`lab.runner.batch_grid`)
  and the per-point random keys;
* :mod:`lab.sweeps.table` — :class:`SweepResult`, the long table;
* :mod:`lab.sweeps.executors` — local, joblib and Dask execution, and the one Dask set-up
  (:func:`start_client`, :func:`dask_client`, :func:`execution`);
* :mod:`lab.sweeps.sweep` — :func:`run_sweep` and its cache keys (:func:`default_code`).

Every public name (and the private ones other modules use) is importable from ``lab.sweeps``.
"""

from lab.cache import code_version  # noqa: F401
from lab.sweeps.executors import (  # noqa: F401
    SchedulerError,
    _compute_chunk,
    dask_client,
    execution,
    start_client,
)
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
