"""Where numbers come from: library versions, git revision and dirty flag, host, date.

Three records, one per kind of output, built from the same pieces:

* :func:`static_provenance` — versions, git revision and host of this process (computed once);
  every sweep row and every cache entry carries it;
* :func:`run_provenance` — that plus the backend, dtype and time of one :func:`lab.runner.run`;
* :func:`results_provenance` — that plus the dirty flag, date (UTC) and machine, for the results
  files and the verdicts document.

:func:`git_revision` (full hash of ``HEAD``) and :func:`git_dirty` are the only places that ask
git; :func:`short_git_revision` is the bench's form (``abc123def456+dirty``).
"""

from __future__ import annotations

import datetime as _dt
import functools
import importlib.metadata
import platform
import subprocess
import time
from pathlib import Path

import numpy as np

from lab.backend import backend_name

__all__ = [
    "REPO_ROOT",
    "git_revision",
    "git_dirty",
    "short_git_revision",
    "static_provenance",
    "run_provenance",
    "results_provenance",
]

#: The repository (or installed tree) the ``lab`` package sits in.
REPO_ROOT = Path(__file__).resolve().parents[1]


def _git(*args: str) -> str:
    """stdout of ``git -C REPO_ROOT args`` (raises OSError / SubprocessError when git fails)."""
    return subprocess.run(
        ["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, timeout=10, check=True
    ).stdout


def git_revision() -> str:
    """The full hash of ``HEAD``, or "unknown" outside a git checkout."""
    try:
        return _git("rev-parse", "HEAD").strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def git_dirty() -> str:
    """"true" when tracked files differ from ``HEAD``, "false" when not, "unknown" without git."""
    try:
        status = _git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return "true" if status.strip() else "false"


def short_git_revision() -> str:
    """``HEAD``'s 12-digit hash, with ``+dirty`` when the tracked files differ from it."""
    try:
        rev = _git("rev-parse", "--short=12", "HEAD").strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return rev + ("+dirty" if git_dirty() == "true" else "")


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


@functools.lru_cache(maxsize=1)
def static_provenance() -> dict[str, str]:
    """Versions, git revision and host of this process (plain strings; computed once)."""
    return {
        "git_revision": git_revision(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": _version("scipy"),
        "array_api_compat": _version("array-api-compat"),
        "muon_lab": _version("muon-lab"),
        "host": platform.node(),
    }


def run_provenance(xp=None, dtype=None) -> dict:
    """Versions, backend, dtype, git revision and time of one run (plain strings)."""
    out = dict(static_provenance())
    out["backend"] = backend_name(xp) if xp is not None else "numpy"
    out["dtype"] = str(dtype).split(".")[-1] if dtype is not None else "float64"
    out["time"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    return out


def results_provenance() -> dict[str, str]:
    """Where the numbers come from: git revision and dirty flag, versions, date (UTC), machine."""
    info = dict(static_provenance())
    info["git_dirty"] = git_dirty()
    info["date"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    info["machine"] = f"{platform.node()} {platform.machine()} {platform.processor() or ''}".strip()
    return info
