"""The result table of a sweep: one row per grid point, in grid order, with provenance (benchopt style)."""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lab.sweeps.grid import KEY

__all__ = ["PROVENANCE", "SweepStats", "SweepResult", "assemble"]

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
        import pandas as pd  # lazy: optional dependency (the "data" extra)

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
        import xarray as xr  # lazy: optional dependency (the "data" extra)

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


def assemble(name, grid, points, chunk_index, results, provenance) -> SweepResult:
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
