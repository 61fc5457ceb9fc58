"""Checks a command makes before any work: the cache directory and the execution settings.

A wrong environment must stop a command with a named error (``lab`` exits 2) before anything is
computed, never surface later as a failed experiment or a result that cannot be saved.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from lab.cache import default_cache_dir


class EnvironmentProblem(ValueError):
    """The environment (cache directory, ``$LAB_N_JOBS``, ``$LAB_SCHEDULER``) cannot serve the command."""


def check_cache_dir(root: str | os.PathLike | None = None) -> Path:
    """The cache directory, created if missing, after proving that an entry can be written there.

    Parameters
    ----------
    root : path, optional
        Default :func:`lab.cache.default_cache_dir` (``$LAB_CACHE_DIR`` or ``.lab-cache/``).

    Raises
    ------
    EnvironmentProblem
        The path is not a directory, cannot be created, or does not accept a new file (read-only).
        A probe file is created and removed, since permission bits alone do not tell (root, ACLs,
        read-only mounts).
    """
    path = Path(root).expanduser() if root is not None else default_cache_dir()
    where = "LAB_CACHE_DIR" if root is None and os.environ.get("LAB_CACHE_DIR") else "cache directory"
    return writable_dir(path, where)


def writable_dir(path: str | os.PathLike, where: str) -> Path:
    """``path`` as a directory that accepts new files (created if missing); see :func:`check_cache_dir`.

    ``where`` names the parameter in the error message (e.g. "--out").
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise EnvironmentProblem(f"{where} {str(path)!r} is not a directory")
    if not path.exists():
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EnvironmentProblem(
                f"{where} {str(path)!r} does not exist and cannot be created ({exc.strerror or exc})"
            ) from None
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-probe-"):
            pass
    except OSError as exc:
        raise EnvironmentProblem(
            f"{where} {str(path)!r} is not writable ({exc.strerror or exc}); nothing was run"
        ) from None
    return path


def session_n_jobs(n_jobs: int | None) -> int | None:
    """``n_jobs`` as given, else ``$LAB_N_JOBS`` validated (None when neither is set)."""
    if n_jobs is not None:
        if n_jobs == 0:
            raise EnvironmentProblem("--n-jobs must be a non-zero integer (-1 = all cores), got 0")
        return n_jobs
    env = os.environ.get("LAB_N_JOBS", "").strip()
    if not env:
        return None
    try:
        value = int(env)
    except ValueError:
        value = 0
    if value == 0:
        raise EnvironmentProblem(f"LAB_N_JOBS must be a non-zero integer (-1 = all cores), got {env!r}")
    return value


def session_scheduler(scheduler: Any) -> tuple[Any, str]:
    """``(scheduler, name of where it came from)``: the argument, else ``$LAB_SCHEDULER``."""
    if scheduler is not None:
        return scheduler, "--scheduler"
    env = os.environ.get("LAB_SCHEDULER", "").strip()
    return (env or None), "LAB_SCHEDULER"
