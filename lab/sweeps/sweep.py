"""run_sweep: a grid evaluated chunk by chunk, cached and resumable, assembled into a table."""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from lab.cache import Cache, check_name, code_version
from lab.provenance import static_provenance
from lab.sweeps.executors import (
    _check_scheduler,
    _session_n_jobs,
    _session_scheduler,
    run_dask,
    run_local,
)
from lab.sweeps.grid import Grid, _check_positive_int
from lab.sweeps.table import SweepResult, SweepStats, assemble

log = logging.getLogger("lab.sweeps")

#: Show a progress bar over chunks for every sweep that computes something (the CLI turns this on
#: for `lab check`, `lab figures` and `lab mutate` on a terminal unless -q); ``progress=True``
#: forces a bar for one call.
_PROGRESS = {"on": False}


def show_progress(on: bool = True) -> None:
    """Session switch for the sweeps' progress bars (stderr)."""
    _PROGRESS["on"] = bool(on)


def _default_backend_dtype(point: Mapping[str, Any]) -> tuple[str, str]:
    backend = point.get("backend", os.environ.get("LAB_BACKEND", "numpy"))
    dtype = point.get("dtype", "float64")
    return str(backend), str(dtype)


#: The packages whose source every sweep's cache salt covers.  An experiment's runs can reach
#: any of them (registries resolve problems, optimizers and oracles by name at run time), so a
#: hand-written list of "the modules it uses" goes stale; hashing all of them is the safe choice.
PROJECT_PACKAGES = ("lab", "problems", "bounds")


def project_version() -> str:
    """The code version of the whole project now (``lab cache prune`` drops entries of older ones)."""
    return code_version(*PROJECT_PACKAGES)


def default_code(compute: Callable) -> tuple[Any, ...]:
    """What the code-version salt always hashes: the project packages and ``compute``'s module.

    Editing any module of :data:`PROJECT_PACKAGES` (even a comment) gives every sweep a new key;
    a ``compute`` defined outside them (a user's script, a test) adds its own module.
    """
    fn = compute.func if isinstance(compute, functools.partial) else compute
    module = inspect.getmodule(fn)
    own = module if module is not None and getattr(module, "__file__", None) else fn
    return (*PROJECT_PACKAGES, own)


def run_sweep(
    compute: Callable[[list[dict[str, Any]]], Mapping[str, Any]],
    grid: Grid,
    *,
    name: str,
    cache: Any = True,
    chunk_size: int = 32,
    n_jobs: int | None = None,
    scheduler: Any = "default",
    progress: bool = True,
    by: Iterable[str] | None = None,
    key_axes: Iterable[str] | None = None,
    code: Sequence[Any] = (),
) -> SweepResult:
    """Evaluate ``compute`` on every point of ``grid``, with caching and resumption.

    Parameters
    ----------
    compute : callable
        ``compute(points) -> {output: array}``; each array has leading axis ``len(points)``.
        Points are dicts of axis values plus the random ``key`` (a uint64 ``int``; build an
        RNG with ``lab.random.RNG(xp.asarray(np.array(keys, dtype=np.uint64)))``).
        1-D outputs (one number per point) become table columns, the others stacked arrays.
        The provenance columns ``backend``/``dtype`` are the point's ``backend``/``dtype`` axis
        values when the grid has them, else the lab defaults (``$LAB_BACKEND`` or "numpy",
        "float64"); they are part of the cache key.
        Must be picklable for ``n_jobs != 1`` or a Dask scheduler.
    grid : Grid
    name : str
        Experiment name (cache directory; part of every key).
    cache : True (default root), False/None (no caching), a directory, or a :class:`Cache`.
    chunk_size : int >= 1
        Maximum points per batched call.
    n_jobs : int, not 0, or None
        Local worker processes (joblib semantics: -1 = all cores); with ``scheduler="local"``
        the number of Dask workers.  None: the session default (:func:`execution`, else
        ``$LAB_N_JOBS``, else 1).
    scheduler : "default", None, "local", "tcp://host:port" or a ``distributed.Client``
        "default" takes the session default (:func:`execution`, else ``$LAB_SCHEDULER``, else
        None), so ``lab check --scheduler tcp://host:8786`` reaches every experiment's sweeps.
        None runs locally (``n_jobs``); "local" starts a Dask LocalCluster of processes
        (one thread each, loopback, no dashboard) for this call; an address connects to a
        running scheduler.  Results are identical in all cases.  Outputs travel back to
        this process, which alone writes the cache (workers need no shared disk).
    progress : bool
        Show a tqdm bar over chunks (stderr).  Without it a bar still appears when the session
        asks for bars (:func:`show_progress`, set by the CLI) and the sweep computes something.
    by : axis names, optional
        Structural axes (see :meth:`Grid.chunks`).
    key_axes : axis names, optional
        Axes the random keys derive from (see :meth:`Grid.points`).
    code : modules or objects
        Extra code the results depend on (e.g. the optimizer module): its source enters
        the cache salt.  The salt always covers every module of :data:`PROJECT_PACKAGES`
        and the module defining ``compute`` (:func:`default_code`), so ``code`` is needed
        only for code outside the project.

    Notes
    -----
    Entries are per chunk, and a chunk's key covers its exact list of points: results never
    change when the grid grows, but chunks whose membership changes are recomputed.  Growing
    a grid along a structural axis (a new problem size) reuses every existing chunk.

    Returns
    -------
    SweepResult
    """
    # Validate everything before any work starts.
    chunk_size, n_jobs, scheduler = _check_arguments(compute, grid, name, chunk_size, n_jobs, scheduler)
    store = _resolve_cache(cache)
    code = (code,) if isinstance(code, (str, bytes)) or not isinstance(code, Sequence) else code
    salt = code_version(*default_code(compute), *code)

    t0 = time.perf_counter()
    book = _ChunkBook(name, grid.chunk_indices(chunk_size, by=by, key_axes=key_axes), store, salt)
    book.run(compute, scheduler, n_jobs, progress)
    result = assemble(name, grid, book.points, book.index, book.results, book.provenance)
    book.stats.wall_seconds = time.perf_counter() - t0
    result.stats = book.stats
    return result


def _check_arguments(compute, grid, name, chunk_size, n_jobs, scheduler) -> tuple[int, int, Any]:
    """:func:`run_sweep`'s arguments checked: ``(chunk_size, n_jobs, scheduler)`` with the session
    defaults filled in."""
    if not callable(compute):
        raise TypeError(f"compute must be callable, got {type(compute).__name__}")
    if not isinstance(grid, Grid):
        raise TypeError(f"grid must be a lab.sweeps.Grid, got {type(grid).__name__}")
    check_name(name)
    if n_jobs is None:
        n_jobs = _session_n_jobs()
    if isinstance(scheduler, str) and scheduler == "default":
        scheduler = _session_scheduler()
    chunk_size = _check_positive_int(chunk_size, "chunk_size")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0:
        raise ValueError(f"n_jobs must be a non-zero integer (-1 = all cores), got {n_jobs!r}")
    _check_scheduler(scheduler)
    return chunk_size, n_jobs, scheduler


def _resolve_cache(cache: Any) -> Cache | None:
    if cache is None or cache is False:
        return None
    if cache is True:
        return Cache()
    if isinstance(cache, Cache):
        return cache
    if isinstance(cache, (str, os.PathLike)):
        return Cache(cache)
    raise TypeError(f"cache must be True, False/None, a directory path or a lab.cache.Cache, got {cache!r}")


class _ChunkBook:
    """The chunks of one sweep and their bookkeeping: cache keys, locks held, outputs so far.

    One lock per missing entry (:meth:`lab.cache.Cache.lock`): this process computes the entries
    whose lock it gets; an entry locked by another process is waited for afterwards and loaded.
    Each computed chunk is stored as soon as it finishes, so an interrupted sweep resumes there.
    """

    def __init__(self, name: str, chunking: tuple[list[dict[str, Any]], list[list[int]]], store, salt: str):
        self.name, self.store, self.salt = name, store, salt
        self.points, self.index = chunking
        self.chunks = [[self.points[n] for n in idx] for idx in self.index]
        self.configs = []
        for c in self.chunks:
            backend, dtype = _default_backend_dtype(c[0])
            self.configs.append({"points": c, "backend": backend, "dtype": dtype})
        self.keys = [Cache.key(name, cfg, salt) for cfg in self.configs]
        self.stats = SweepStats(points=len(self.points), chunks=len(self.chunks))
        self.here = dict(static_provenance(), code_version=salt, project_version=project_version())
        self.results: dict[int, dict[str, np.ndarray]] = {}
        self.provenance: dict[int, dict[str, Any]] = {}
        self.todo: list[tuple[int, list[dict[str, Any]]]] = []
        self.locks: dict[int, Any] = {}
        self.waiting: list[int] = []
        self.corrupt_before = store.corrupt if store else 0

    def run(self, compute, scheduler, n_jobs, progress: bool) -> None:
        """Every chunk's outputs: loaded, computed here, or waited for; no lock is left held."""
        bar = None
        try:
            self.look_up()
            log.info(
                "%s: %d chunks, %d from the cache, %d to compute, %d computed by another process",
                self.name, len(self.chunks), self.stats.chunks_loaded, len(self.todo), len(self.waiting),
            )
            if progress or (_PROGRESS["on"] and (self.todo or self.waiting)):
                bar = tqdm(total=len(self.chunks), initial=self.stats.chunks_loaded, desc=self.name,
                           unit="chunk", leave=False)
            self.compute_missing(compute, scheduler, n_jobs, bar)
            self.collect_waiting(compute, bar)
        finally:
            self.release_all()
            if bar is not None:
                bar.close()

    def take(self, i: int, entry) -> None:
        """Chunk i's outputs from a cache entry."""
        self.results[i] = entry.arrays
        self.provenance[i] = dict(entry.meta.get("extra", {}).get("provenance", {}))
        self.stats.chunks_loaded += 1

    def release(self, i: int) -> None:
        lock = self.locks.pop(i, None)
        if lock is not None:
            lock.__exit__(None, None, None)

    def release_all(self) -> None:
        for i in list(self.locks):
            self.release(i)

    def commit(self, i: int, arrays, sec: float) -> None:
        """Chunk i's computed outputs: stored in the cache, then its lock released."""
        backend, dtype = self.configs[i]["backend"], self.configs[i]["dtype"]
        prov = dict(self.here, backend=backend, dtype=dtype)
        if self.store is not None:
            self.store.store(
                self.name,
                self.keys[i],
                arrays,
                config=self.configs[i],
                salt=self.salt,
                extra={"provenance": prov, "compute_seconds": sec},
            )
        self.release(i)
        self.results[i] = arrays
        self.provenance[i] = prov
        self.stats.chunks_computed += 1
        self.stats.compute_seconds += sec

    def look_up(self) -> None:
        """Load the cached chunks; lock the missing ones (``todo``) or note them ``waiting``."""
        store, name = self.store, self.name
        for i, key in enumerate(self.keys):
            entry = store.load(name, key) if store else None
            if entry is None and store is not None:
                lock = store.lock(name, key, blocking=False)
                if not lock.__enter__():
                    lock.__exit__(None, None, None)
                    self.waiting.append(i)
                    continue
                self.locks[i] = lock
                entry = store.load(name, key)  # committed by another process before we locked?
                if entry is not None:
                    self.release(i)
            if entry is None:
                self.todo.append((i, self.chunks[i]))
                continue
            self.take(i, entry)
        self.stats.chunks_corrupt = (store.corrupt - self.corrupt_before) if store else 0

    def compute_missing(self, compute, scheduler, n_jobs, bar) -> None:
        """Compute the ``todo`` chunks locally or on Dask, committing each as it finishes."""
        if not self.todo:
            return
        runner = (
            run_local(compute, self.todo, n_jobs)
            if scheduler is None
            else run_dask(compute, self.todo, scheduler, n_jobs)
        )
        for i, arrays, sec in runner:
            self.commit(i, arrays, sec)
            if bar is not None:
                bar.update(1)

    def collect_waiting(self, compute, bar) -> None:
        """Load the chunks another process held; compute here those it left unfinished."""
        for i in self.waiting:
            with self.store.lock(self.name, self.keys[i]) as held:
                entry = self.store.load(self.name, self.keys[i])
                if entry is not None:
                    self.take(i, entry)
                else:  # its holder died or failed before committing: compute it here
                    if held:
                        self.locks[i] = contextlib.nullcontext()
                    for j, arrays, sec in run_local(compute, [(i, self.chunks[i])], 1):
                        self.commit(j, arrays, sec)
            if bar is not None:
                bar.update(1)
