"""Dask end to end: ``lab check`` through a cold ``--scheduler local`` and through a real ``dask
scheduler`` with two ``dask worker`` processes on 127.0.0.1 gives the verdicts of a local run.

The cluster is started and stopped by the test (random free ports, bounded waits, always torn down).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import Workspace, files_under, verdict_rows

pytest.importorskip(
    "distributed", reason="dask.distributed is not installed (optional extra: pip install -e '.[dist]')"
)

DASK = Path(sys.executable).parent / "dask"
#: Two quick checks with several sweeps between them.
CHECK = ("check", "--quick", "--only", "S1-I1", "--json")


def _check(ws: Workspace, *extra: str):
    return ws.lab(*CHECK, "--out", str(ws.cwd / "verdicts.json"), *extra, timeout=300)


@pytest.fixture(scope="module")
def local_rows(tmp_path_factory):
    root = tmp_path_factory.mktemp("local")
    ws = Workspace(root / "work", root / "cache")
    ws.cwd.mkdir()
    ws.cache.mkdir()
    res = _check(ws)
    assert res.returncode == 0, res
    return verdict_rows(json.loads(res.stdout))


def test_cold_scheduler_local_gives_the_local_verdicts(ws, local_rows):
    res = _check(ws, "--scheduler", "local", "--n-jobs", "2")
    assert res.returncode == 0, res
    assert "No clients found" not in res.output
    assert verdict_rows(json.loads(res.stdout)) == local_rows
    assert files_under(ws.cache)  # the client stored what the workers computed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in reversed(procs):
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
    for p in reversed(procs):
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=15)


@pytest.fixture
def real_cluster(ws):
    """``dask scheduler`` and two ``dask worker`` processes on loopback; yields the address."""
    if not DASK.is_file():
        pytest.fail(f"the dask command is not installed at {DASK}; run `make venv`", pytrace=False)
    from distributed import Client

    address = f"tcp://127.0.0.1:{_free_port()}"
    env = ws.env()
    common = {"cwd": ws.cwd, "env": env, "start_new_session": True, "stdout": subprocess.DEVNULL}
    logs = open(ws.cwd.parent / "cluster.log", "w")  # noqa: SIM115 - closed in the finally below
    procs: list[subprocess.Popen] = []
    try:
        port = address.rsplit(":", 1)[1]
        procs.append(
            subprocess.Popen(
                [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", port, "--dashboard-address", ":0"],
                stderr=logs,
                **common,
            )
        )
        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    [
                        str(DASK),
                        "worker",
                        address,
                        "--nworkers",
                        "1",
                        "--nthreads",
                        "1",
                        "--host",
                        "127.0.0.1",
                        "--no-dashboard",
                    ],
                    stderr=logs,
                    **common,
                )
            )
        deadline = time.monotonic() + 90
        client = None
        while client is None:
            try:
                client = Client(address, timeout=5, set_as_default=False)
            except OSError:
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    raise
        try:
            client.wait_for_workers(2, timeout=90)
            yield address, client
        finally:
            client.close()
    finally:
        _stop(procs)
        logs.close()


def test_real_scheduler_with_two_workers_gives_the_local_verdicts(ws, local_rows, real_cluster):
    address, client = real_cluster
    res = _check(ws, "--scheduler", address)
    assert res.returncode == 0, res
    assert verdict_rows(json.loads(res.stdout)) == local_rows
    # The chunks ran as tasks of this scheduler, on its two workers.
    prefixes = client.run_on_scheduler(lambda dask_scheduler: sorted(dask_scheduler.task_prefixes))
    assert "compute_chunk" in prefixes, prefixes  # lab.sweeps._compute_chunk (dask drops the "_")
    assert len(client.scheduler_info()["workers"]) == 2
    assert files_under(ws.cache)
