"""Results as data: experiments' (measured, theoretical) pairs as long tables and files.

An :class:`lab.experiments.Experiment` holds nested dicts of arrays.  This module flattens them
into one long table (benchopt's results table for this lab): one row per measured number, with
the experiment, the claims that use it, the quantity's name, its index along every array axis
(named after the experiment's grid axes where their lengths match), the measured value, the
theoretical value of the same name and shape when there is one, and the provenance of the run
(git revision and dirty flag, library versions, date, machine).

:func:`recording` collects every experiment computed inside a ``with`` block (figures and
``lab check --export`` use it), :func:`save_npz` writes experiments without optional
dependencies, :func:`long_table` / :func:`write_parquet` need pandas (and pyarrow), the
``data`` extra.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from lab.provenance import results_provenance as provenance
from lab.serialize import jsonable

__all__ = ["recording", "record", "flatten", "save_npz", "long_table", "write_parquet", "provenance"]

_RECORDERS: list[list[Any]] = []


@contextlib.contextmanager
def recording() -> Iterator[list[Any]]:
    """Collect every experiment result built inside the block, in order (nested blocks each see it)."""
    seen: list[Any] = []
    _RECORDERS.append(seen)
    try:
        yield seen
    finally:
        _RECORDERS.remove(seen)


def record(result: Any) -> None:
    """Hand ``result`` to every active :func:`recording` block (called by ``Experiment``)."""
    for seen in _RECORDERS:
        seen.append(result)


def _numeric(value: Any) -> np.ndarray | None:
    try:
        a = np.asarray(value)
    except (TypeError, ValueError):
        return None
    if a.dtype.kind in "biuf" and a.size:
        return a.astype(float)
    return None


def flatten(tree: Any, prefix: str = "") -> dict[str, np.ndarray]:
    """The numeric leaves of a nested dict as ``{"a/b/c": float array}`` (others are left out)."""
    out: dict[str, np.ndarray] = {}
    if isinstance(tree, Mapping):
        for key, value in tree.items():
            out.update(flatten(value, f"{prefix}{key}/"))
        return out
    a = _numeric(tree)
    if a is not None:
        out[prefix.rstrip("/")] = a
    return out


def save_npz(experiments: Iterable[Any], path: str | Path) -> Path:
    """Write experiments as one compressed ``.npz``: ``<experiment>/measured/<name>`` and
    ``<experiment>/theoretical/<name>`` float arrays, and ``<experiment>/meta`` as JSON text.

    Byte-identical for identical inputs (zip members carry a fixed date)."""
    arrays: dict[str, np.ndarray] = {}
    for exp in experiments:
        for side in ("measured", "theoretical"):
            for name, a in flatten(getattr(exp, side)).items():
                arrays[f"{exp.name}/{side}/{name}"] = a
        meta = jsonable(exp.meta, keep_nonfinite=True)
        arrays[f"{exp.name}/meta"] = np.asarray(json.dumps(meta, sort_keys=True))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        np.savez_compressed(fh, **arrays)
    return path


def _axis_names(meta: Mapping[str, Any], shape: tuple[int, ...]) -> list[str]:
    """Names for an array's axes: the experiment's grid axes in order while their lengths match."""
    axes = meta.get("axes") if isinstance(meta, Mapping) else None
    names = []
    if isinstance(axes, Mapping):
        grid = list(axes.items())
        for i, n in enumerate(shape):
            if i < len(grid) and np.size(grid[i][1]) == n:
                names.append(str(grid[i][0]))
            else:
                break
    return names + [f"i{i}" for i in range(len(names), len(shape))]


def long_table(experiments: Iterable[Any], *, claims: Mapping[str, Iterable[str]] | None = None,
               meta: Mapping[str, str] | None = None):
    """One row per measured number (see the module docstring); a ``pandas.DataFrame``.

    Grid-axis columns hold the axis values where the experiment names its axes (``meta["axes"]``)
    and their lengths match the array's leading dimensions; other dimensions are integer
    positions ``i<k>``.
    """
    import pandas as pd  # lazy: optional dependency (the "data" extra)

    meta = dict(provenance() if meta is None else meta)
    frames = []
    for exp in experiments:
        measured, theoretical = flatten(exp.measured), flatten(exp.theoretical)
        axes = exp.meta.get("axes", {}) if isinstance(exp.meta, Mapping) else {}
        for name, values in measured.items():
            theory = theoretical.get(name)
            theory = theory if theory is not None and theory.shape == values.shape else None
            shape = values.shape if values.ndim else (1,)
            cols: dict[str, Any] = {}
            for k, (axis, idx) in enumerate(zip(_axis_names(exp.meta, shape),
                                                np.indices(shape).reshape(len(shape), -1), strict=True)):
                if isinstance(axes, Mapping) and axis in axes:
                    cols[axis] = np.asarray(list(axes[axis]), dtype=object)[idx]
                else:
                    cols[axis if axis.startswith("i") else f"i{k}"] = idx
            frame = pd.DataFrame(cols)
            frame.insert(0, "quantity", name)
            frame.insert(0, "claim", ", ".join(sorted((claims or {}).get(exp.name, ()))))
            frame.insert(0, "experiment", exp.name)
            frame["measured"] = values.reshape(-1)
            frame["theoretical"] = theory.reshape(-1) if theory is not None else np.nan
            frames.append(frame)
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["experiment", "claim", "quantity", "measured", "theoretical"]
    )
    for key, value in meta.items():
        table[key] = value
    for column in table.columns:  # mixed axis values (numbers and names) are stored as text
        if table[column].dtype == object:
            table[column] = table[column].map(lambda v: v if v is None or isinstance(v, str) else str(v))
    return table


def write_parquet(experiments: Iterable[Any], path: str | Path, **kw) -> Path:
    """:func:`long_table` written as parquet (needs pyarrow)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    long_table(experiments, **kw).to_parquet(path, index=False)
    return path
