"""The acceptance suite drives the installed ``lab`` command in subprocesses, as a user would.

Every command runs with a temporary working directory and a temporary, initially empty
``LAB_CACHE_DIR``; nothing is written into the repository (``lab check`` is always given ``--out``
or ``--no-write``).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

#: The console script installed next to this interpreter (``.venv/bin/lab``).
LAB = Path(sys.executable).parent / "lab"


@dataclass
class Completed:
    """One finished ``lab`` invocation."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    cpu_seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def __str__(self) -> str:
        return (
            f"lab {' '.join(self.argv)} -> exit {self.returncode} in {self.seconds:.1f} s "
            f"({self.cpu_seconds:.1f} s CPU)\n"
            f"--- stdout\n{self.stdout[-3000:]}\n--- stderr\n{self.stderr[-3000:]}"
        )


@dataclass
class Workspace:
    """A user's directory (``cwd``) and cache (``cache``), and a way to run ``lab`` there."""

    cwd: Path
    cache: Path

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("LAB_N_JOBS", "LAB_SCHEDULER")}
        env.update(LAB_CACHE_DIR=str(self.cache), PYTHONHASHSEED="0")
        env.update(extra)
        return env

    def lab(self, *argv: str, timeout: float = 300, env: dict[str, str] | None = None) -> Completed:
        start, cpu = time.monotonic(), _children_cpu()
        proc = subprocess.run(
            [str(LAB), *argv],
            cwd=self.cwd,
            env=self.env() if env is None else env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        seconds, cpu = time.monotonic() - start, _children_cpu() - cpu
        return Completed(list(argv), proc.returncode, proc.stdout, proc.stderr, seconds, cpu)

    def popen(self, *argv: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        return subprocess.Popen(
            [str(LAB), *argv],
            cwd=self.cwd,
            env=self.env() if env is None else env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def within(res: Completed, limit: float) -> bool:
    """Whether ``res`` finished within ``limit`` seconds.

    CPU time (of the command and everything it waited for) must stay under ``limit``; wall time too,
    unless the machine is overloaded (load average above the core count), when a shared machine
    can stretch a command's wall time several-fold without it doing any more work.
    """
    overloaded = os.getloadavg()[0] > (os.cpu_count() or 1)
    return res.cpu_seconds < limit and (res.seconds < limit or (overloaded and res.seconds < 6 * limit))


@pytest.fixture
def ws(tmp_path) -> Workspace:
    """A fresh user directory and an empty cache directory."""
    if not LAB.is_file():
        pytest.fail(f"the lab command is not installed at {LAB}; run `make venv`", pytrace=False)
    cwd, cache = tmp_path / "work", tmp_path / "cache"
    cwd.mkdir()
    cache.mkdir()
    return Workspace(cwd, cache)


def files_under(path: Path) -> list[Path]:
    """Every file below ``path`` (an empty list when nothing was written)."""
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []


def verdict_rows(doc) -> list[dict]:
    """Verdict rows (of a ``--json`` document or a list of rows) without what legitimately differs
    between runs (timings, cache counters)."""
    import json

    rows = doc["rows"] if isinstance(doc, dict) else doc
    out = []
    for row in rows:
        details = row.get("details") or {}
        details = json.loads(details) if isinstance(details, str) else details
        out.append({**row, "details": {k: v for k, v in details.items() if k != "seconds"}})
    return out
