"""The files of one run: ``<stem>.csv`` (the long table) and ``<stem>.npz`` (arrays and metadata).

:func:`save_run` writes what :meth:`lab.run_result.RunResult.save` promises and
:func:`load_run_fields` reads it back as the keyword arguments of a ``RunResult``; the two
methods are thin wrappers around these.  Each file is written to a temporary file and moved into
place, so a killed process leaves either the previous file or the complete new one.

The ``.npz`` layout (``np.load(..., allow_pickle=False)``; K checkpoints, batch shape S):

* ``checkpoints`` — int64 (K,), the iterate indices k of the rows;
* ``metric/<name>`` — float64 (K, *S), one per recorded metric (the keys of ``metrics``;
  the per-step step size is ``metric/lr``, written ``step_lr`` in the CSV);
* ``member/<name>`` — (*S), per-member configuration: ``seed`` and each hyperparameter;
* ``status`` — str (*S): "converged", "running" or "diverged";
* ``diverged_at`` — int64 (*S), the rejected step (−1: never);
* ``batch_shape`` — int64 (len(S),);
* ``meta`` — a 0-d str array holding JSON: ``run_id``, ``message``, ``steps``, ``config``
  (problem, optimizer, runner), ``provenance`` and ``wall_time``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from lab.cache import atomic_write_bytes

__all__ = ["run_paths", "save_run", "load_run_fields"]


def run_paths(path) -> tuple[Path, Path]:
    """``(<stem>.csv, <stem>.npz)`` for ``path`` given with or without one of those suffixes."""
    path = Path(path)
    stem = path.with_suffix("") if path.suffix in (".csv", ".npz") else path
    return stem.with_name(stem.name + ".csv"), stem.with_name(stem.name + ".npz")


def _write_table(rows, csv_path: Path) -> str:
    """Stream ``rows`` (dicts) to a temporary CSV next to ``csv_path``; returns its path."""
    first = next(rows, None)
    # Streamed to a temporary file (the table can be far larger than the arrays), then moved.
    fd, tmp = tempfile.mkstemp(dir=csv_path.parent, prefix=f".{csv_path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="") as fh:
            if first is not None:
                writer = csv.DictWriter(fh, fieldnames=list(first))
                writer.writeheader()
                writer.writerow(first)
                writer.writerows(rows)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def _npz_bytes(result) -> bytes:
    arrays = {f"metric/{k}": v for k, v in result.metrics.items()}
    arrays.update({f"member/{k}": np.asarray(v) for k, v in result.members.items()})
    meta = {
        "run_id": result.run_id,
        "message": result.message,
        "steps": result.steps,
        "config": result.config,
        "provenance": result.provenance,
        "wall_time": result.wall_time,
    }
    buf = io.BytesIO()
    np.savez(
        buf,
        checkpoints=result.checkpoints,
        status=result.status.astype("U"),
        diverged_at=result.diverged_at,
        batch_shape=np.asarray(result.batch_shape, dtype=np.int64),
        meta=np.asarray(json.dumps(meta, default=str)),
        **arrays,
    )
    return buf.getvalue()


def save_run(result, path) -> tuple[Path, Path]:
    """Write ``result`` (a ``RunResult``) as ``<path>.csv`` and ``<path>.npz``; returns both paths."""
    csv_path, npz_path = run_paths(path)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _write_table(result.iter_table(), csv_path)
    try:
        atomic_write_bytes(npz_path, _npz_bytes(result))
        os.replace(tmp, csv_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return csv_path, npz_path


def load_run_fields(path) -> dict[str, Any]:
    """The ``RunResult`` fields stored by :func:`save_run` (no final params or state)."""
    path = Path(path)
    npz = path if path.suffix == ".npz" else path.with_name(path.name.removesuffix(".csv") + ".npz")
    with np.load(npz, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        metrics = {k[len("metric/") :]: z[k] for k in z.files if k.startswith("metric/")}
        members = {k[len("member/") :]: z[k] for k in z.files if k.startswith("member/")}
        return {
            "checkpoints": z["checkpoints"],
            "metrics": metrics,
            "status": z["status"],
            "diverged_at": z["diverged_at"],
            "message": meta["message"],
            "steps": meta["steps"],
            "batch_shape": tuple(int(v) for v in z["batch_shape"]),
            "seeds": members.get("seed"),
            "members": members,
            "config": meta["config"],
            "provenance": meta["provenance"],
            "wall_time": meta["wall_time"],
            "extra": {"run_id": meta["run_id"]} if meta.get("run_id") else {},
        }
