"""Faults a user meets: a killed ``lab check``, a corrupted cache entry, a read-only or missing cache
directory, an unreachable scheduler, an experiment that raises.

Each result is compared with one cold, uninterrupted run (``reference``): a recovered run must give
identical verdicts, and a run that cannot be served must stop before any work with exit 2.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import Workspace, files_under, verdict_rows, within

#: A quick check whose sweeps write about 16 cache entries over several seconds.
CHECK = ("check", "--quick", "--only", "S1-I1", "--json")


def _check(ws: Workspace, *extra: str, env: dict[str, str] | None = None, timeout: float = 300):
    return ws.lab(*CHECK, "--out", str(ws.cwd / "verdicts.json"), *extra, env=env, timeout=timeout)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One cold, uninterrupted ``lab check``: (verdict rows, its filled cache directory)."""
    root = tmp_path_factory.mktemp("reference")
    ws = Workspace(root / "work", root / "cache")
    ws.cwd.mkdir()
    ws.cache.mkdir()
    res = _check(ws)
    assert res.returncode == 0, res
    assert files_under(ws.cache), "the reference run cached nothing"
    return verdict_rows(json.loads(res.stdout)), ws.cache


def _entries(cache: Path) -> list[Path]:
    return sorted(cache.rglob("*.npz"))


def test_kill_9_in_the_middle_then_resume_gives_identical_verdicts(ws, reference):
    rows, full_cache = reference
    proc = ws.popen(*CHECK, "--out", str(ws.cwd / "verdicts.json"))
    try:
        deadline = time.monotonic() + 120
        while len(_entries(ws.cache)) < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    done = len(_entries(ws.cache))
    assert 3 <= done < len(_entries(full_cache)), f"killed with {done} entries stored"
    assert not (ws.cwd / "verdicts.json").exists()

    res = _check(ws)
    assert res.returncode == 0, res
    assert verdict_rows(json.loads(res.stdout)) == rows
    assert len(_entries(ws.cache)) == len(_entries(full_cache))


def test_corrupted_cache_entry_is_recomputed_with_identical_verdicts(ws, reference):
    rows, full_cache = reference
    shutil.rmtree(ws.cache)
    shutil.copytree(full_cache, ws.cache)
    victim = _entries(ws.cache)[0]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))

    res = _check(ws)
    assert res.returncode == 0, res
    assert "corrupt" in res.stderr.lower(), res
    assert verdict_rows(json.loads(res.stdout)) == rows


@contextlib.contextmanager
def read_only(path: Path):
    """``path`` made read-only for this user (chmod; chattr +i when running as root)."""
    path.chmod(0o555)
    immutable = False
    try:
        if os.access(path, os.W_OK) and os.geteuid() == 0 and shutil.which("chattr"):
            immutable = subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode == 0
        try:
            (path / ".probe").touch()
        except OSError:
            pass
        else:
            (path / ".probe").unlink()
            pytest.skip("cannot make a directory read-only here (root without a working chattr +i)")
        yield path
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(0o755)


@pytest.mark.parametrize("filled", [False, True], ids=["empty", "filled"])
def test_read_only_cache_directory_is_a_named_error_before_any_work(ws, reference, filled):
    _, full_cache = reference
    if filled:
        shutil.rmtree(ws.cache)
        shutil.copytree(full_cache, ws.cache)
    before = files_under(ws.cache)
    with read_only(ws.cache):
        res = _check(ws, timeout=60)
    assert res.returncode == 2, res
    assert "LAB_CACHE_DIR" in res.stderr and "not writable" in res.stderr, res
    assert "Traceback" not in res.output, res
    assert within(res, 5), res
    assert files_under(ws.cache) == before and not (ws.cwd / "verdicts.json").exists()


def test_missing_cache_directory_is_created_and_used(ws, reference):
    rows, _ = reference
    cache = ws.cwd.parent / "not" / "yet" / "there"
    res = _check(ws, env=ws.env(LAB_CACHE_DIR=str(cache)))
    assert res.returncode == 0, res
    assert verdict_rows(json.loads(res.stdout)) == rows
    assert _entries(cache)


def test_missing_cache_directory_that_cannot_be_created_is_a_named_error(ws):
    parent = ws.cwd.parent / "locked"
    parent.mkdir()
    with read_only(parent):
        res = _check(ws, env=ws.env(LAB_CACHE_DIR=str(parent / "cache")), timeout=60)
    assert res.returncode == 2, res
    assert "LAB_CACHE_DIR" in res.stderr and "cannot be created" in res.stderr, res
    assert within(res, 5), res
    assert files_under(ws.cwd) == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("how", ["option", "environment"])
def test_dead_scheduler_is_a_named_error_before_any_work(ws, how):
    address = f"tcp://127.0.0.1:{_free_port()}"  # nothing listens there
    env = ws.env(DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="2s")
    extra: tuple[str, ...] = ()
    if how == "option":
        extra = ("--scheduler", address)
    else:
        env["LAB_SCHEDULER"] = address
    res = _check(ws, *extra, env=env, timeout=60)
    assert res.returncode == 2, res
    assert "cannot connect" in res.stderr and address in res.stderr, res
    assert "Traceback" not in res.output, res
    assert within(res, 20), res
    assert files_under(ws.cache) == [] and files_under(ws.cwd) == []


SITECUSTOMIZE = """
import dataclasses

import lab.checks


def _boom(*, quick, mutation=None):
    raise RuntimeError("planted failure of the experiment")


lab.checks.load_all()
lab.checks.CHECKS["S1-I1"] = dataclasses.replace(lab.checks.CHECKS["S1-I1"], fn=_boom)
"""


def test_an_experiment_that_raises_gives_error_rows_and_exit_3(ws):
    """(The failure is planted through sitecustomize, the one way into a user's ``lab`` process.)"""
    site = ws.cwd.parent / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    res = _check(ws, env=ws.env(PYTHONPATH=str(site)))
    assert res.returncode == 3, res
    rows = {r["claim"]: r for r in json.loads(res.stdout)["rows"]}
    # the rows name the check by its claim id S1.I1 (the old id S1-I1 selected and replaced it)
    assert rows["S1.I1"]["verdict"] == "error", res
    assert "planted failure" in rows["S1.I1"]["measured_text"]
    assert all(r["verdict"] != "error" for c, r in rows.items() if c != "S1.I1")
    saved = json.loads((ws.cwd / "verdicts.json").read_text())["rows"]
    assert [r["verdict"] for r in saved if r["claim"] == "S1.I1"] == ["error"]


FIGURE_SITECUSTOMIZE = """
import figures.registry


def _boom(spec, out_dir, quick=False):
    raise RuntimeError("planted failure of the figure's experiment")


figures.registry.build = _boom
"""


def test_a_figure_whose_experiment_raises_exits_3_without_a_traceback(ws):
    site = ws.cwd.parent / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(FIGURE_SITECUSTOMIZE)
    argv = ("figures", "--quick", "--no-progress", "--out", str(ws.cwd / "figs"), "fig01")
    res = ws.lab(*argv, env=ws.env(PYTHONPATH=str(site)), timeout=120)
    assert res.returncode == 3, res
    assert "planted failure" in res.stderr and "Traceback" not in res.output, res
