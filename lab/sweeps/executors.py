"""Where a sweep's chunks run: in this process, over local processes (joblib), or on Dask.

Every executor yields ``(chunk index, outputs, seconds)`` as each chunk finishes, so the caller can
store it at once.  :func:`dask_client` is the one place a Dask ``LocalCluster`` (or a client of a
running scheduler) is set up and torn down; :func:`execution` sets session defaults.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
from joblib import Parallel, delayed

from lab.backend import to_numpy
from lab.sweeps.grid import KEY
from lab.sweeps.table import PROVENANCE

__all__ = ["SchedulerError", "start_client", "dask_client", "execution", "run_local", "run_dask"]

_ADDRESS_RE = re.compile(r"^(tcp|tls|ucx|inproc)://\S+$")


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
    if not _is_client(scheduler):
        raise ValueError(
            "scheduler must be None, 'local', a 'tcp://host:port' address or a distributed.Client, "
            f"got {type(scheduler).__name__}"
        )


def _is_client(obj: Any) -> bool:
    """True for a ``distributed.Client`` (False when distributed is not installed)."""
    try:
        from distributed import Client  # lazy: distributed is an optional dependency (the "dist" extra)
    except ImportError:  # pragma: no cover - distributed is a declared optional dependency
        return False
    return isinstance(obj, Client)


def run_local(compute, todo, n_jobs) -> Iterator[tuple[int, dict[str, np.ndarray], float]]:
    """The chunks ``todo`` (pairs ``(index, points)``) in this process (``n_jobs`` 1) or over joblib."""
    if n_jobs == 1:
        for i, points in todo:
            arrays, sec = _compute_chunk(compute, points)
            yield i, arrays, sec
        return

    def job(i, points):
        return (i, *_compute_chunk(compute, points))

    # Unordered: each chunk is handed back (and stored) as soon as it is done.
    yield from Parallel(n_jobs=n_jobs, return_as="generator_unordered")(delayed(job)(i, p) for i, p in todo)


class SchedulerError(ValueError):
    """The Dask scheduler named by ``scheduler=`` / ``--scheduler`` / ``$LAB_SCHEDULER`` is unusable."""


def start_client(scheduler: Any, n_jobs: int | None = None) -> tuple[Any, Any]:
    """``(client, cluster)`` for ``scheduler`` "local" (a new LocalCluster) or an address.

    "local" starts ``n_jobs`` worker processes (all cores when ``n_jobs`` is None or negative), one
    thread each, on loopback, with no dashboard on a fixed port; ``cluster`` is None for an address.
    The client is not made the process default (a library must not change its caller's default),
    so callers pass it explicitly.  A scheduler that cannot be reached raises :class:`SchedulerError`
    (the connect timeout is Dask's ``distributed.comm.timeouts.connect``).  :func:`dask_client` closes
    both for you.
    """
    try:
        from distributed import Client, LocalCluster  # lazy: optional dependency (the "dist" extra)
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


@contextlib.contextmanager
def dask_client(scheduler: Any, n_jobs: int | None = None) -> Iterator[Any]:
    """A Dask client for ``scheduler`` for the duration of the block.

    A ``distributed.Client`` is used as it is (and left open); "local" or an address get a client
    from :func:`start_client`, closed with its LocalCluster (if any) when the block ends.
    """
    if _is_client(scheduler):
        yield scheduler
        return
    client, cluster = start_client(scheduler, n_jobs)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_dask(compute, todo, scheduler, n_jobs) -> Iterator[tuple[int, dict[str, np.ndarray], float]]:
    """The chunks ``todo`` as tasks of a Dask scheduler, yielded as they finish."""
    from distributed import as_completed  # lazy: optional dependency (the "dist" extra)

    with dask_client(scheduler, n_jobs) as client:
        futures = {client.submit(_compute_chunk, compute, p, pure=False): i for i, p in todo}
        try:
            # The client is not the process default: as_completed must be given its loop.
            for fut in as_completed(futures, loop=client.loop):
                arrays, sec = fut.result()
                yield futures[fut], arrays, sec
        finally:
            client.cancel([f for f in futures if not f.done()])


_EXECUTION: dict[str, Any] = {}


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
    with contextlib.ExitStack() as stack:
        try:
            client = None
            if isinstance(scheduler, str):
                client = stack.enter_context(dask_client(scheduler, n_jobs))
                _EXECUTION["scheduler"] = client
            elif scheduler is not None:
                _EXECUTION["scheduler"] = scheduler
            if n_jobs is not None:
                _EXECUTION["n_jobs"] = int(n_jobs)
            yield client
        finally:
            _EXECUTION.clear()
            _EXECUTION.update(saved)
