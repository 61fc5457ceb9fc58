"""Helpers of the acceptance tests: the installed ``lab`` command, run as a user runs it."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

LAB = Path(sys.executable).parent / "lab"
REPO = Path(__file__).resolve().parents[2]

#: Columns that describe when and where a row was made, not what was computed.
VOLATILE = {"time", "host", "wall_time"}


def lab_env(cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["LAB_CACHE_DIR"] = str(cache)
    env.pop("LAB_SCHEDULER", None)
    env.pop("LAB_N_JOBS", None)
    return env


def lab(args, *, cwd: Path, cache: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """``lab ARGS`` in ``cwd`` with cache ``cache``; stdout and stderr captured as text."""
    return subprocess.run(
        [str(LAB), *map(str, args)],
        cwd=cwd,
        env=lab_env(cache),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def popen(args, *, cwd: Path, cache: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(LAB), *map(str, args)],
        cwd=cwd,
        env=lab_env(cache),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def stable(rows: list[dict]) -> list[dict]:
    """Rows without the columns that record when and where they were made."""
    return [{k: v for k, v in r.items() if k not in VOLATILE} for r in rows]


_CHUNKS = re.compile(r"(\d+) computed, (\d+) loaded from the cache")


def chunk_counts(stdout: str) -> tuple[int, int]:
    """(computed, loaded) from ``lab run``'s summary line; AssertionError when it is missing."""
    m = _CHUNKS.search(stdout)
    assert m, f"no chunk summary in lab run's output:\n{stdout}"
    return int(m.group(1)), int(m.group(2))


def committed_chunks(cache: Path) -> int:
    """Chunk entries of ``lab run`` committed to the cache (their metadata file is the commit)."""
    return len(list((cache / "run").glob("*.json"))) if (cache / "run").is_dir() else 0
