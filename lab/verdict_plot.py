"""The verdicts of ``lab check`` at a glance: worst ratios and slopes, as pictures.

``verdict_ratios.png``
    A forest plot: one row per ratio verdict (a bound checked as measured/bound ≤ 1), the worst
    ratio on a log axis with the line at 1, coloured by verdict.  A row far left of 1 is a loose
    bound (it could not catch a factor-2 bug); a row right of 1 is a violation.
``verdict_slopes.png``
    One row per slope verdict: the fitted exponent with its confidence interval against the
    predicted exponent (a diamond).

Both read the rows of ``verdicts.json`` (dicts with ``claim``, ``verdict``, ``worst_ratio``,
``slope``, ``ci_lo``, ``ci_hi``, ``bound``), so they can be redrawn from the file alone.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

__all__ = ["plot_verdicts"]

COLORS = {"holds": "#0072B2", "violated": "#D55E00", "inconclusive": "#999999", "error": "#000000"}
_PNG = {"Software": None}


def _number(v: Any) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


_LABEL_KEYS = ("method", "quantity", "oracle", "preset", "kind", "delta", "sigma")


def _label(row: Mapping[str, Any]) -> str:
    """The claim, plus what tells apart rows of one claim (method, quantity, oracle, δ, ...)."""
    details = row.get("details")
    if isinstance(details, str):
        try:
            details = json.loads(details)
        except ValueError:
            details = {}
    extra = [f"{k}={details[k]}" for k in _LABEL_KEYS if isinstance(details, Mapping)
             and isinstance(details.get(k), (str, int, float)) and k != "kind"]
    return f"{row['claim']} ({', '.join(extra)})" if extra else str(row["claim"])


def _figure(n_rows: int, title: str):
    height = max(2.0, 0.16 * n_rows + 1.0)
    fig = Figure(figsize=(6.5, height), layout="constrained")
    ax = fig.subplots()
    ax.set_title(title, fontsize="medium")
    return fig, ax


def _legend(ax, verdicts: Iterable[str]) -> None:
    present = [v for v in COLORS if v in set(verdicts)]
    handles = [ax.plot([], [], "o", color=COLORS[v], label=v)[0] for v in present]
    ax.figure.legend(handles=handles, fontsize="x-small", loc="outside lower center", ncol=len(handles))


def _ratios(rows: list[Mapping[str, Any]], out: Path) -> Path | None:
    rows = [r for r in rows if _number(r.get("worst_ratio")) is not None and r.get("slope") is None]
    if not rows:
        return None
    fig, ax = _figure(len(rows), "worst measured/bound ratio per verdict (≤ 1 holds)")
    y = np.arange(len(rows))[::-1]
    x = np.array([_number(r["worst_ratio"]) for r in rows])
    floor = 1e-6
    for yi, xi, r in zip(y, x, rows, strict=True):
        # a ratio at or below zero (the measured side is negative) holds trivially: arrow at the left edge
        marker = "o" if xi > floor else "<"
        ax.plot([max(xi, floor)], [yi], marker, markersize=3.5, color=COLORS.get(r.get("verdict"), "k"))
    ax.axvline(1.0, color="k", linewidth=0.8)
    ax.axvspan(0.5, 1.0, color="#0072B2", alpha=0.08, linewidth=0)
    ax.set_xscale("log")
    ax.set_yticks(y, [_label(r) for r in rows], fontsize=5)
    ax.set_ylim(-1, len(rows))
    ax.set_xlabel("worst ratio (log scale; shaded: tight, 0.5 to 1; ◀: at or below 10⁻⁶)")
    _legend(ax, [r.get("verdict") for r in rows])
    path = out / "verdict_ratios.png"
    fig.savefig(path, dpi=150, metadata=_PNG)
    return path


def _slopes(rows: list[Mapping[str, Any]], out: Path) -> Path | None:
    rows = [
        r for r in rows
        if _number(r.get("slope")) is not None and _number(r.get("ci_lo")) is not None
        and _number(r.get("ci_hi")) is not None
    ]
    if not rows:
        return None
    fig, ax = _figure(len(rows), "fitted exponents with their intervals (◆: predicted)")
    y = np.arange(len(rows))[::-1]
    for yi, r in zip(y, rows, strict=True):
        s, lo, hi = _number(r["slope"]), _number(r["ci_lo"]), _number(r["ci_hi"])
        color = COLORS.get(r.get("verdict"), "k")
        ax.errorbar([s], [yi], xerr=[[s - lo], [hi - s]], fmt="o", markersize=3, color=color, capsize=1.5)
        expected = _number(r.get("bound"))
        if expected is not None:
            ax.plot([expected], [yi], "D", markersize=3.5, markerfacecolor="none", markeredgecolor="k")
    ax.set_yticks(y, [_label(r) for r in rows], fontsize=5)
    ax.set_ylim(-1, len(rows))
    ax.set_xlabel("exponent")
    ax.axvline(0.0, color="0.7", linewidth=0.6)
    _legend(ax, [r.get("verdict") for r in rows])
    path = out / "verdict_slopes.png"
    fig.savefig(path, dpi=150, metadata=_PNG)
    return path


def plot_verdicts(rows: Iterable[Mapping[str, Any]], out_dir: str | Path) -> list[Path]:
    """Draw the verdict pictures into ``out_dir``; returns the files written."""
    rows = list(rows)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [p for p in (_ratios(rows, out), _slopes(rows, out)) if p is not None]
