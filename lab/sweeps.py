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

from __future__ import annotations

import contextlib
import csv
import functools
import inspect
import itertools
import logging
import math
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from lab.backend import to_numpy
from lab.cache import Cache, check_name, code_version
from lab.provenance import static_provenance
from lab.random import derive_key

log = logging.getLogger(__name__)

#: Name of the per-point random key added to every point; it cannot be an axis name.
KEY = "key"
#: Axis names treated as batchable (seeds) by the default chunking rule, whatever their values.
SEED_AXES = ("seed", "seeds", "rep", "replicate")
#: Provenance columns carried on every row.
PROVENANCE = (
    "code_version",
    "backend",
    "dtype",
    "git_revision",
    "python",
    "numpy",
    "scipy",
    "muon_lab",
    "host",
)
_ADDRESS_RE = re.compile(r"^(tcp|tls|ucx|inproc)://\S+$")


# --------------------------------------------------------------------------- grid


def _axis_value(name: str, v: Any) -> Any:
    """Python-native value for an axis entry (NumPy scalars would change repr, hence keys)."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, list):
        v = tuple(v)
    if isinstance(v, tuple):
        return tuple(_axis_value(name, x) for x in v)
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    raise TypeError(
        f"axis {name!r}: values must be None, bool, int, float, str or tuples of them, got {type(v).__name__}"
    )


def point_key(point: Mapping[str, Any], key_axes: Iterable[str] | None = None) -> int:
    """The 64-bit random key of a grid point: :func:`lab.random.derive_key` of its coordinates.

    Only ``point``'s own values on ``key_axes`` (default: all its axes) enter, sorted by axis
    name, so the key does not depend on the other grid points or on the axis order.
    """
    names = sorted(k for k in point if k != KEY) if key_axes is None else sorted(key_axes)
    missing = [a for a in names if a not in point]
    if missing:
        raise ValueError(f"key_axes names axes the point lacks: {missing}")
    return derive_key(*((a, point[a]) for a in names))


class Grid:
    """A Cartesian grid of experiment points over named, ordered axes.

    Parameters
    ----------
    **axes
        ``name=[values...]``, e.g. ``Grid(n=[8, 16], lr=[1e-2, 1e-1], seed=range(20))``.
        Values must be None, bool, int, float, str or tuples of these (NumPy scalars are
        converted); every axis needs at least one value and no repeated values.

    Notes
    -----
    Points are dictionaries ``{axis: value, ..., "key": int}``; ``key`` is the point's random
    key (:func:`point_key`).  Default chunking rule (:meth:`structural_axes`): an axis is
    *batchable* if it is a seed axis (named one of :data:`SEED_AXES`) or all its values are
    floats; every other axis (ints such as sizes and NS steps, strings such as presets and
    optimizer names, ...) is *structural* and splits chunks.  The rule errs towards
    splitting; pass ``by=`` to state the structural axes explicitly.
    """

    def __init__(self, **axes: Sequence[Any]):
        if not axes:
            raise ValueError("Grid needs at least one axis, e.g. Grid(seed=range(10))")
        self.axes: dict[str, tuple[Any, ...]] = {}
        for name, values in axes.items():
            if name == KEY:
                raise ValueError(f"axis name {KEY!r} is reserved for the per-point random key")
            if isinstance(values, (str, bytes, Mapping)) or not isinstance(
                values, (Sequence, range, np.ndarray)
            ):
                raise TypeError(f"axis {name!r} must be a list of values, got {type(values).__name__}")
            if isinstance(values, np.ndarray):
                values = values.tolist()
            vals = tuple(_axis_value(name, v) for v in values)
            if not vals:
                raise ValueError(f"axis {name!r} is empty; every axis needs at least one value")
            seen = set()
            for v in vals:
                tag = (type(v).__name__, repr(v))
                if tag in seen:
                    raise ValueError(f"axis {name!r} repeats the value {v!r}")
                seen.add(tag)
            self.axes[name] = vals

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.axes)

    def __len__(self) -> int:
        return math.prod(len(v) for v in self.axes.values())

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={list(v)!r}" for k, v in self.axes.items())
        return f"Grid({inner})"

    def _check_axes(self, names: Iterable[str] | None, param: str) -> tuple[str, ...] | None:
        if names is None:
            return None
        if isinstance(names, str):
            names = (names,)
        names = tuple(names)
        unknown = [n for n in names if n not in self.axes]
        if unknown:
            raise ValueError(f"{param} names unknown axes {unknown}; the axes are {list(self.axes)}")
        return names

    def structural_axes(self) -> tuple[str, ...]:
        """Axes that split chunks under the default rule (see the class notes)."""
        out = []
        for name, vals in self.axes.items():
            if name in SEED_AXES:
                continue
            if all(isinstance(v, float) for v in vals):
                continue
            out.append(name)
        return tuple(out)

    def points(self, key_axes: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """All points in grid order (last axis fastest), each with its random ``key``."""
        key_axes = self._check_axes(key_axes, "key_axes")
        names = self.names
        out = []
        for combo in itertools.product(*self.axes.values()):
            p = dict(zip(names, combo, strict=True))
            p[KEY] = point_key(p, key_axes)
            out.append(p)
        return out

    def chunks(
        self, size: int, by: Iterable[str] | None = None, key_axes: Iterable[str] | None = None
    ) -> list[list[dict[str, Any]]]:
        """Points grouped into batched computations.

        Parameters
        ----------
        size : int >= 1
            Maximum number of points per chunk.
        by : axis names, optional
            Structural axes: points in one chunk agree on all of them (default
            :meth:`structural_axes`).
        key_axes : axis names, optional
            Passed to :meth:`points`.

        Returns
        -------
        list of chunks (lists of points), groups in order of first appearance, points in grid
        order inside each group, each group cut into consecutive pieces of at most ``size``.
        """
        points, index = self.chunk_indices(size, by=by, key_axes=key_axes)
        return [[points[n] for n in idx] for idx in index]

    def chunk_indices(
        self, size: int, by: Iterable[str] | None = None, key_axes: Iterable[str] | None = None
    ) -> tuple[list[dict[str, Any]], list[list[int]]]:
        """``(points, chunks as lists of indices into points)``; same rule as :meth:`chunks`."""
        size = _check_positive_int(size, "chunk_size")
        by = self._check_axes(by, "by")
        by = self.structural_axes() if by is None else by
        points = self.points(key_axes)
        groups: dict[tuple, list[int]] = {}
        for n, p in enumerate(points):
            groups.setdefault(tuple(repr(p[a]) for a in by), []).append(n)
        return points, [idx[i : i + size] for idx in groups.values() for i in range(0, len(idx), size)]


def _check_positive_int(value: Any, param: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{param} must be an integer >= 1, got {value!r}")
    if value < 1:
        raise ValueError(f"{param} must be an integer >= 1, got {value!r}")
    return int(value)


# --------------------------------------------------------------------------- results


@dataclass
class SweepStats:
    """Counters of one :func:`run_sweep` call."""

    points: int = 0
    chunks: int = 0
    chunks_computed: int = 0
    chunks_loaded: int = 0
    chunks_corrupt: int = 0
    compute_seconds: float = 0.0
    wall_seconds: float = 0.0


@dataclass
class SweepResult:
    """The long results table of a sweep.

    Attributes
    ----------
    name : experiment name.
    axes : the grid's axis names (in order).
    rows : one dict per point, in grid order: axis values, ``key``, scalar outputs and the
        provenance columns :data:`PROVENANCE`.
    arrays : per-output list of per-row arrays for outputs with more than one number per
        point (e.g. metric curves over checkpoints); :meth:`array` stacks them.
    stats : :class:`SweepStats`.
    """

    name: str
    axes: tuple[str, ...]
    rows: list[dict[str, Any]]
    arrays: dict[str, list[np.ndarray | None]] = field(default_factory=dict)
    stats: SweepStats = field(default_factory=SweepStats)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def scalars(self) -> tuple[str, ...]:
        """Names of the scalar outputs (columns that are neither axes, key nor provenance)."""
        fixed = set(self.axes) | {KEY} | set(PROVENANCE)
        names: dict[str, None] = {}
        for r in self.rows:
            names.update((k, None) for k in r if k not in fixed)
        return tuple(names)

    @property
    def outputs(self) -> tuple[str, ...]:
        return self.scalars + tuple(self.arrays)

    def _column_names(self) -> tuple[str, ...]:
        return tuple(self.axes) + (KEY,) + self.scalars + PROVENANCE

    def column(self, name: str) -> np.ndarray:
        """The values of one column (axis, key, scalar output or provenance) in row order."""
        if name not in self._column_names():
            raise ValueError(f"unknown column {name!r}; the columns are {list(self._column_names())}")
        return np.asarray([r.get(name) for r in self.rows])

    def array(self, name: str) -> np.ndarray:
        """Output ``name`` stacked over the rows: shape ``(len(self), *per-point shape)``."""
        if name in self.arrays:
            items = self.arrays[name]
            if any(a is None for a in items):
                raise ValueError(f"output {name!r} is missing for some rows; select rows that have it first")
            shapes = {a.shape for a in items}
            if len(shapes) > 1:
                raise ValueError(
                    f"output {name!r} has different shapes across rows {sorted(shapes)}; "
                    "select rows with one shape first (e.g. .select(n=...))"
                )
            return np.stack(items) if items else np.empty((0,))
        if name in self.scalars:
            return np.asarray([r.get(name, np.nan) for r in self.rows], dtype=float)
        raise ValueError(f"unknown output {name!r}; the outputs are {list(self.outputs)}")

    def select(self, **where: Any) -> SweepResult:
        """Rows whose columns equal the given values (a list or set means 'any of these')."""
        names = self._column_names()
        for k in where:
            if k not in names:
                raise ValueError(f"select: unknown column {k!r}; the columns are {list(names)}")

        def match(row: Mapping[str, Any]) -> bool:
            for k, v in where.items():
                if isinstance(v, (list, set, frozenset)):
                    if row.get(k) not in v:
                        return False
                elif row.get(k) != v:
                    return False
            return True

        keep = [i for i, r in enumerate(self.rows) if match(r)]
        return SweepResult(
            name=self.name,
            axes=self.axes,
            rows=[self.rows[i] for i in keep],
            arrays={k: [v[i] for i in keep] for k, v in self.arrays.items()},
            stats=self.stats,
        )

    def pivot(self, output: str, index: str, columns: str) -> tuple[list, list, np.ndarray]:
        """Output arranged as a matrix: ``(index values, column values, M)`` with
        ``M[i, j] = output at index == index_values[i], columns == column_values[j]``.

        Every cell must hold exactly one row; select the other axes first.  Useful for
        ``Y_seeds`` matrices (``index="seed"``) in :mod:`lab.stats`.
        """
        values = self.array(output)
        ix = list(dict.fromkeys(self.column(index).tolist()))
        cx = list(dict.fromkeys(self.column(columns).tolist()))
        out = np.full((len(ix), len(cx)) + values.shape[1:], np.nan)
        filled = np.zeros((len(ix), len(cx)), dtype=int)
        for r, row in enumerate(self.rows):
            i, j = ix.index(row[index]), cx.index(row[columns])
            out[i, j] = values[r]
            filled[i, j] += 1
        if not np.all(filled == 1):
            raise ValueError(
                f"pivot: each ({index}, {columns}) cell needs exactly one row, found counts "
                f"{sorted(set(filled.ravel().tolist()))}; select the other axes first"
            )
        return ix, cx, out

    def to_records(self) -> list[dict[str, Any]]:
        """The rows as a list of dicts (copies; array outputs are in :meth:`array`)."""
        return [dict(r) for r in self.rows]

    def to_csv(self, path: str | os.PathLike) -> Path:
        """Write the long table (axes, key, scalar outputs, provenance) to ``path``."""
        path = Path(path)
        cols = self._column_names()
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore")
            writer.writeheader()
            for r in self.rows:
                writer.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in cols})
        return path

    def to_pandas(self):
        """The long table as a ``pandas.DataFrame``: one row per point, the columns of
        :meth:`to_csv`, and one column per array output holding that point's array.

        Needs pandas (the ``data`` extra)."""
        import pandas as pd  # optional dependency (the "data" extra)

        frame = pd.DataFrame([{k: r.get(k) for k in self._column_names()} for r in self.rows],
                             columns=list(self._column_names()))
        for name, items in self.arrays.items():
            frame[name] = [None if a is None else np.asarray(a) for a in items]
        return frame

    def to_xarray(self):
        """An ``xarray.Dataset`` on the grid: dimensions are the axes (when every combination
        occurs once) plus ``<output>_dim<k>`` for the axes of array outputs.

        Scalar outputs and array outputs of one shape become variables; provenance columns are
        attributes when they are constant.  Needs pandas and xarray (the ``data`` extra)."""
        import xarray as xr  # optional dependency (the "data" extra)

        data = {name: ("point", self.array(name)) for name in self.scalars}
        for name, items in self.arrays.items():
            if items and all(a is not None for a in items) and len({a.shape for a in items}) == 1:
                a = self.array(name)
                data[name] = (("point", *(f"{name}_dim{k}" for k in range(1, a.ndim))), a)
        coords = {axis: ("point", self.column(axis)) for axis in self.axes}
        ds = xr.Dataset(data, coords={**coords, KEY: ("point", self.column(KEY).astype(np.uint64))})
        ds.attrs.update({p: str(v[0]) for p in PROVENANCE if len(set(v := self.column(p).tolist())) == 1})
        combos = {tuple(r.get(a) for a in self.axes) for r in self.rows}
        if self.axes and len(combos) == len(self.rows):
            ds = ds.set_index(point=list(self.axes)).unstack("point")
        return ds

    def to_parquet(self, path: str | os.PathLike) -> Path:
        """Write :meth:`to_pandas` as parquet (array outputs as nested lists).  Needs pyarrow."""
        frame = self.to_pandas()
        for name in self.arrays:
            frame[name] = [None if a is None else a.tolist() for a in frame[name]]
        path = Path(path)
        frame.to_parquet(path, index=False)
        return path


# --------------------------------------------------------------------------- provenance


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


# --------------------------------------------------------------------------- execution


def _compute_chunk(compute: Callable, points: list[dict[str, Any]]) -> tuple[dict[str, np.ndarray], float]:
    """Run one chunk and check its outputs (runs in the worker process)."""
    start = time.perf_counter()
    out = compute([dict(p) for p in points])
    seconds = time.perf_counter() - start
    if not isinstance(out, Mapping) or not out:
        raise TypeError(f"compute must return a non-empty dict of arrays, got {type(out).__name__}")
    arrays = {}
    for k, v in out.items():
        if not isinstance(k, str) or not k or k in (KEY,) or k in PROVENANCE:
            raise ValueError(f"compute returned an invalid output name {k!r} (reserved or empty)")
        a = np.asarray(to_numpy(v))
        if a.dtype == object:
            raise TypeError(f"compute output {k!r} has dtype object; return numeric arrays")
        if a.ndim < 1 or a.shape[0] != len(points):
            raise ValueError(
                f"compute output {k!r} must have leading axis = number of points ({len(points)}), "
                f"got shape {a.shape}"
            )
        arrays[k] = a
    return arrays, seconds


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


def _check_scheduler(scheduler: Any) -> None:
    if scheduler is None or scheduler == "local":
        return
    if isinstance(scheduler, str):
        if _ADDRESS_RE.match(scheduler):
            return
        raise ValueError(
            "scheduler must be None (local execution), 'local' (start a Dask LocalCluster) or a "
            f"Dask scheduler address such as 'tcp://host:8786', got {scheduler!r}"
        )
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - distributed is a declared optional dependency
        Client = ()
    if not isinstance(scheduler, Client):
        raise ValueError(
            "scheduler must be None, 'local', a 'tcp://host:port' address or a distributed.Client, "
            f"got {type(scheduler).__name__}"
        )


def _run_local(compute, todo, n_jobs) -> Iterator[tuple[int, dict[str, np.ndarray], float]]:
    if n_jobs == 1:
        for i, points in todo:
            arrays, sec = _compute_chunk(compute, points)
            yield i, arrays, sec
        return
    from joblib import Parallel, delayed

    def job(i, points):
        return (i, *_compute_chunk(compute, points))

    # Unordered: each chunk is handed back (and stored) as soon as it is done.
    yield from Parallel(n_jobs=n_jobs, return_as="generator_unordered")(delayed(job)(i, p) for i, p in todo)


def start_client(scheduler: Any, n_jobs: int | None = None) -> tuple[Any, Any]:
    """``(client, cluster)`` for ``scheduler`` "local" (a new LocalCluster) or an address.

    "local" starts ``n_jobs`` worker processes (all cores when ``n_jobs`` is None or negative), one
    thread each, on loopback, with no dashboard on a fixed port; ``cluster`` is None for an address.
    The client is not made the process default (a library must not change its caller's default),
    so callers pass it explicitly.  A scheduler that cannot be reached raises :class:`SchedulerError`
    (the connect timeout is Dask's ``distributed.comm.timeouts.connect``).
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - distributed is a declared optional dependency
        raise SchedulerError("a Dask scheduler needs dask.distributed: pip install -e '.[dist]'") from exc
    if scheduler == "local":
        cluster = LocalCluster(
            n_workers=n_jobs if n_jobs and n_jobs > 0 else None,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},  # no fixed port, loopback only
        )
        try:
            return Client(cluster, set_as_default=False), cluster
        except BaseException:
            cluster.close()
            raise
    try:
        return Client(scheduler, set_as_default=False), None
    except (OSError, TimeoutError) as exc:
        reason = f"{type(exc).__name__}: {exc}"
        raise SchedulerError(f"scheduler {scheduler!r}: cannot connect ({reason})") from None


class SchedulerError(ValueError):
    """The Dask scheduler named by ``scheduler=`` / ``--scheduler`` / ``$LAB_SCHEDULER`` is unusable."""


def _run_dask(compute, todo, scheduler, n_jobs) -> Iterator[tuple[int, dict[str, np.ndarray], float]]:
    from distributed import Client, as_completed

    cluster = None
    client = scheduler if isinstance(scheduler, Client) else None
    try:
        if client is None:
            client, cluster = start_client(scheduler, n_jobs)
        futures = {client.submit(_compute_chunk, compute, p, pure=False): i for i, p in todo}
        try:
            # The client is not the process default: as_completed must be given its loop.
            for fut in as_completed(futures, loop=client.loop):
                arrays, sec = fut.result()
                yield futures[fut], arrays, sec
        finally:
            client.cancel([f for f in futures if not f.done()])
    finally:
        if client is not None and client is not scheduler:
            client.close()
        if cluster is not None:
            cluster.close()


_EXECUTION: dict[str, Any] = {}

#: Show a progress bar over chunks for every sweep that computes something (the CLI turns this on
#: for `lab check`, `lab figures` and `lab mutate` on a terminal unless -q); ``progress=True``
#: forces a bar for one call.
_PROGRESS = {"on": False}


def show_progress(on: bool = True) -> None:
    """Session switch for the sweeps' progress bars (stderr)."""
    _PROGRESS["on"] = bool(on)


def _session_n_jobs() -> int:
    if "n_jobs" in _EXECUTION:
        return _EXECUTION["n_jobs"]
    env = os.environ.get("LAB_N_JOBS", "").strip()
    if not env:
        return 1
    try:
        value = int(env)
    except ValueError:
        raise ValueError(f"LAB_N_JOBS must be a non-zero integer (-1 = all cores), got {env!r}") from None
    if value == 0:
        raise ValueError("LAB_N_JOBS must be a non-zero integer (-1 = all cores), got 0")
    return value


def _session_scheduler() -> Any:
    if "scheduler" in _EXECUTION:
        return _EXECUTION["scheduler"]
    env = os.environ.get("LAB_SCHEDULER", "").strip()
    return env or None


@contextlib.contextmanager
def execution(*, n_jobs: int | None = None, scheduler: Any = None) -> Iterator[Any]:
    """Session defaults for every :func:`run_sweep` inside the block (the CLI's ``--n-jobs``/``--scheduler``).

    ``scheduler="local"`` starts ONE Dask LocalCluster (processes on loopback, no dashboard) for
    the whole block instead of one per sweep; an address connects one client.  Yields the client
    (or None).  Validation happens before anything starts.
    """
    bad = isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0
    if n_jobs is not None and bad:
        raise ValueError(f"n_jobs must be a non-zero integer (-1 = all cores), got {n_jobs!r}")
    _check_scheduler(scheduler)
    saved = dict(_EXECUTION)
    cluster = client = None
    try:
        if scheduler is not None and isinstance(scheduler, str):
            client, cluster = start_client(scheduler, n_jobs)
            _EXECUTION["scheduler"] = client
        elif scheduler is not None:
            _EXECUTION["scheduler"] = scheduler
        if n_jobs is not None:
            _EXECUTION["n_jobs"] = int(n_jobs)
        yield client
    finally:
        _EXECUTION.clear()
        _EXECUTION.update(saved)
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()


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
    store = _resolve_cache(cache)
    if isinstance(code, (str, bytes)) or not isinstance(code, Sequence):
        code = (code,)
    salt = code_version(*default_code(compute), *code)

    t0 = time.perf_counter()
    points, chunk_index = grid.chunk_indices(chunk_size, by=by, key_axes=key_axes)
    chunks = [[points[n] for n in idx] for idx in chunk_index]
    configs = []
    for c in chunks:
        backend, dtype = _default_backend_dtype(c[0])
        configs.append({"points": c, "backend": backend, "dtype": dtype})
    keys = [Cache.key(name, cfg, salt) for cfg in configs]
    stats = SweepStats(points=len(points), chunks=len(chunks))
    here = dict(static_provenance(), code_version=salt, project_version=project_version())

    results: dict[int, dict[str, np.ndarray]] = {}
    provenance: dict[int, dict[str, Any]] = {}
    todo = []
    # One lock per missing entry (lab.cache.Cache.lock): this process computes the entries whose
    # lock it gets; an entry locked by another process is waited for afterwards and loaded.
    locks: dict[int, Any] = {}
    waiting: list[int] = []
    corrupt_before = store.corrupt if store else 0

    def take(i: int, entry) -> None:
        results[i] = entry.arrays
        provenance[i] = dict(entry.meta.get("extra", {}).get("provenance", {}))
        stats.chunks_loaded += 1

    def release(i: int) -> None:
        lock = locks.pop(i, None)
        if lock is not None:
            lock.__exit__(None, None, None)

    def commit(i: int, arrays, sec: float) -> None:
        backend, dtype = configs[i]["backend"], configs[i]["dtype"]
        prov = dict(here, backend=backend, dtype=dtype)
        if store is not None:
            store.store(
                name,
                keys[i],
                arrays,
                config=configs[i],
                salt=salt,
                extra={"provenance": prov, "compute_seconds": sec},
            )
        release(i)
        results[i] = arrays
        provenance[i] = prov
        stats.chunks_computed += 1
        stats.compute_seconds += sec

    bar = None
    try:
        for i, key in enumerate(keys):
            entry = store.load(name, key) if store else None
            if entry is None and store is not None:
                lock = store.lock(name, key, blocking=False)
                if not lock.__enter__():
                    lock.__exit__(None, None, None)
                    waiting.append(i)
                    continue
                locks[i] = lock
                entry = store.load(name, key)  # committed by another process before we locked?
                if entry is not None:
                    release(i)
            if entry is None:
                todo.append((i, chunks[i]))
                continue
            take(i, entry)
        stats.chunks_corrupt = (store.corrupt - corrupt_before) if store else 0

        log.info(
            "%s: %d chunks, %d from the cache, %d to compute, %d computed by another process",
            name, len(chunks), stats.chunks_loaded, len(todo), len(waiting),
        )
        if progress or (_PROGRESS["on"] and (todo or waiting)):
            bar = tqdm(total=len(chunks), initial=stats.chunks_loaded, desc=name, unit="chunk", leave=False)
        if todo:
            runner = (
                _run_local(compute, todo, n_jobs)
                if scheduler is None
                else _run_dask(compute, todo, scheduler, n_jobs)
            )
            for i, arrays, sec in runner:
                commit(i, arrays, sec)
                if bar is not None:
                    bar.update(1)
        for i in waiting:
            with store.lock(name, keys[i]) as held:
                entry = store.load(name, keys[i])
                if entry is not None:
                    take(i, entry)
                else:  # its holder died or failed before committing: compute it here
                    if held:
                        locks[i] = contextlib.nullcontext()
                    for j, arrays, sec in _run_local(compute, [(i, chunks[i])], 1):
                        commit(j, arrays, sec)
            if bar is not None:
                bar.update(1)
    finally:
        for i in list(locks):
            release(i)
        if bar is not None:
            bar.close()

    result = _assemble(name, grid, points, chunk_index, results, provenance)
    stats.wall_seconds = time.perf_counter() - t0
    result.stats = stats
    return result


def _assemble(name, grid, points, chunk_index, results, provenance) -> SweepResult:
    """Rows in grid order from per-chunk outputs (one-number outputs become columns)."""
    located: list[tuple[int, int]] = [(-1, -1)] * len(points)
    for i, idx in enumerate(chunk_index):
        for j, n in enumerate(idx):
            located[n] = (i, j)
    rows: list[dict[str, Any]] = []
    arrays: dict[str, list[np.ndarray | None]] = {}
    for n, (i, j) in enumerate(located):
        p = points[n]
        row = {a: p[a] for a in grid.names}
        row[KEY] = p[KEY]
        for out_name, arr in results[i].items():
            if arr.ndim == 1:
                row[out_name] = arr[j].item()
            else:
                arrays.setdefault(out_name, [None] * len(points))[n] = arr[j]
        for col in PROVENANCE:
            row[col] = provenance[i].get(col, "unknown")
        rows.append(row)
    return SweepResult(name=name, axes=grid.names, rows=rows, arrays=arrays)
