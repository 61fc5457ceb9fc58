"""The grid of a sweep: named, ordered axes, their Cartesian product, per-point random keys, chunks."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from lab.random import derive_key

__all__ = ["KEY", "SEED_AXES", "Grid", "point_key"]

#: Name of the per-point random key added to every point; it cannot be an axis name.
KEY = "key"
#: Axis names treated as batchable (seeds) by the default chunking rule, whatever their values.
SEED_AXES = ("seed", "seeds", "rep", "replicate")


def _axis_value(name: str, v: Any) -> Any:
    """Python-native value for an axis entry (NumPy scalars would change repr, hence keys)."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, list):
        v = tuple(v)
    if isinstance(v, tuple):
        return tuple(_axis_value(name, x) for x in v)
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    raise TypeError(
        f"axis {name!r}: values must be None, bool, int, float, str or tuples of them, got {type(v).__name__}"
    )


def point_key(point: Mapping[str, Any], key_axes: Iterable[str] | None = None) -> int:
    """The 64-bit random key of a grid point: :func:`lab.random.derive_key` of its coordinates.

    Only ``point``'s own values on ``key_axes`` (default: all its axes) enter, sorted by axis
    name, so the key does not depend on the other grid points or on the axis order.
    """
    names = sorted(k for k in point if k != KEY) if key_axes is None else sorted(key_axes)
    missing = [a for a in names if a not in point]
    if missing:
        raise ValueError(f"key_axes names axes the point lacks: {missing}")
    return derive_key(*((a, point[a]) for a in names))


class Grid:
    """A Cartesian grid of experiment points over named, ordered axes.

    Parameters
    ----------
    **axes
        ``name=[values...]``, e.g. ``Grid(n=[8, 16], lr=[1e-2, 1e-1], seed=range(20))``.
        Values must be None, bool, int, float, str or tuples of these (NumPy scalars are
        converted); every axis needs at least one value and no repeated values.

    Notes
    -----
    Points are dictionaries ``{axis: value, ..., "key": int}``; ``key`` is the point's random
    key (:func:`point_key`).  Default chunking rule (:meth:`structural_axes`): an axis is
    *batchable* if it is a seed axis (named one of :data:`SEED_AXES`) or all its values are
    floats; every other axis (ints such as sizes and NS steps, strings such as presets and
    optimizer names, ...) is *structural* and splits chunks.  The rule errs towards
    splitting; pass ``by=`` to state the structural axes explicitly.
    """

    def __init__(self, **axes: Sequence[Any]):
        if not axes:
            raise ValueError("Grid needs at least one axis, e.g. Grid(seed=range(10))")
        self.axes: dict[str, tuple[Any, ...]] = {}
        for name, values in axes.items():
            if name == KEY:
                raise ValueError(f"axis name {KEY!r} is reserved for the per-point random key")
            if isinstance(values, (str, bytes, Mapping)) or not isinstance(
                values, (Sequence, range, np.ndarray)
            ):
                raise TypeError(f"axis {name!r} must be a list of values, got {type(values).__name__}")
            if isinstance(values, np.ndarray):
                values = values.tolist()
            vals = tuple(_axis_value(name, v) for v in values)
            if not vals:
                raise ValueError(f"axis {name!r} is empty; every axis needs at least one value")
            seen = set()
            for v in vals:
                tag = (type(v).__name__, repr(v))
                if tag in seen:
                    raise ValueError(f"axis {name!r} repeats the value {v!r}")
                seen.add(tag)
            self.axes[name] = vals

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.axes)

    def __len__(self) -> int:
        return math.prod(len(v) for v in self.axes.values())

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={list(v)!r}" for k, v in self.axes.items())
        return f"Grid({inner})"

    # ---- the grid as a flat batch (one member per point; lab.runner.run's layout) --------------

    @property
    def shape(self) -> tuple[int, ...]:
        """The number of values of each axis, in axis order."""
        return tuple(len(v) for v in self.axes.values())

    def __getitem__(self, name: str) -> np.ndarray:
        """Axis ``name``'s value at every point, in grid order: ``grid["lr"]`` is the (len(grid),)
        array of learning rates of a batch with one member per point."""
        if name not in self.axes:
            raise KeyError(f"{name!r} is not an axis; the axes are {list(self.axes)}")
        axis = self.names.index(name)
        index = np.unravel_index(np.arange(len(self)), self.shape)[axis]
        return np.asarray(self.axes[name])[index]

    @property
    def seeds(self) -> np.ndarray:
        """The ``seed`` axis at every point as int64 (the ``seeds`` argument of lab.runner.run)."""
        return self["seed"].astype(np.int64)

    @property
    def values(self) -> dict[str, np.ndarray]:
        """Every axis but ``seed`` at every point (name -> array of len(grid))."""
        return {name: self[name] for name in self.axes if name != "seed"}

    def _check_axes(self, names: Iterable[str] | None, param: str) -> tuple[str, ...] | None:
        if names is None:
            return None
        if isinstance(names, str):
            names = (names,)
        names = tuple(names)
        unknown = [n for n in names if n not in self.axes]
        if unknown:
            raise ValueError(f"{param} names unknown axes {unknown}; the axes are {list(self.axes)}")
        return names

    def structural_axes(self) -> tuple[str, ...]:
        """Axes that split chunks under the default rule (see the class notes)."""
        out = []
        for name, vals in self.axes.items():
            if name in SEED_AXES:
                continue
            if all(isinstance(v, float) for v in vals):
                continue
            out.append(name)
        return tuple(out)

    def points(self, key_axes: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """All points in grid order (last axis fastest), each with its random ``key``."""
        key_axes = self._check_axes(key_axes, "key_axes")
        names = self.names
        out = []
        for combo in itertools.product(*self.axes.values()):
            p = dict(zip(names, combo, strict=True))
            p[KEY] = point_key(p, key_axes)
            out.append(p)
        return out

    def chunks(
        self, size: int, by: Iterable[str] | None = None, key_axes: Iterable[str] | None = None
    ) -> list[list[dict[str, Any]]]:
        """Points grouped into batched computations.

        Parameters
        ----------
        size : int >= 1
            Maximum number of points per chunk.
        by : axis names, optional
            Structural axes: points in one chunk agree on all of them (default
            :meth:`structural_axes`).
        key_axes : axis names, optional
            Passed to :meth:`points`.

        Returns
        -------
        list of chunks (lists of points), groups in order of first appearance, points in grid
        order inside each group, each group cut into consecutive pieces of at most ``size``.
        """
        points, index = self.chunk_indices(size, by=by, key_axes=key_axes)
        return [[points[n] for n in idx] for idx in index]

    def chunk_indices(
        self, size: int, by: Iterable[str] | None = None, key_axes: Iterable[str] | None = None
    ) -> tuple[list[dict[str, Any]], list[list[int]]]:
        """``(points, chunks as lists of indices into points)``; same rule as :meth:`chunks`."""
        size = _check_positive_int(size, "chunk_size")
        by = self._check_axes(by, "by")
        by = self.structural_axes() if by is None else by
        points = self.points(key_axes)
        groups: dict[tuple, list[int]] = {}
        for n, p in enumerate(points):
            groups.setdefault(tuple(repr(p[a]) for a in by), []).append(n)
        return points, [idx[i : i + size] for idx in groups.values() for i in range(0, len(idx), size)]


def _check_positive_int(value: Any, param: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{param} must be an integer >= 1, got {value!r}")
    if value < 1:
        raise ValueError(f"{param} must be an integer >= 1, got {value!r}")
    return int(value)
