"""Pictures of a benchmark report: what a reader would rather look at than the tables.

``bench_orthogonalization.png``
    Newton–Schulz throughput (GFLOP/s, best sample) against the matrix size n, beside the plain
    matmul it is built from and the allocation-free reference iteration; one panel per dtype,
    square (n × n) and wide (n × n/2) shapes as separate lines.
``bench_batched.png``
    The speed-up of one batched call over a Python loop of single calls against the batch size B,
    with the lab's target drawn as a line.

Both are drawn with matplotlib's object API (no pyplot state) and written next to ``bench.md``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

__all__ = ["plot_report"]

_SIZE = re.compile(r"(\d+)x(\d+)$")
_BATCH = re.compile(r"B=(\d+)")
_NS_VARIANTS = {
    "matmul": ("matmul (one product)", "0.3", "-"),
    "lab.newton_schulz": ("lab.newton_schulz", "#0072B2", "-"),
    "in-place NS (reference)": ("allocation-free NS (reference)", "#009E73", "--"),
}
_PNG = {"Software": None}


def _plain_x(ax, values) -> None:
    """Label the measured sizes themselves (256, 512, ...) instead of powers of two."""
    ax.xaxis.set_major_locator(FixedLocator(sorted(set(values))))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_locator(NullLocator())


def _target_value(text: str) -> float | None:
    match = re.search(r"[-+0-9.eE]+$", text.strip())
    return float(match.group()) if match else None


def _orthogonalization(rows, out: Path) -> Path | None:
    rows = [r for r in rows if r.section == "orthogonalization" and r.variant in _NS_VARIANTS]
    if not rows:
        return None
    dtypes = sorted({r.dtype for r in rows})
    fig = Figure(figsize=(3.4 * len(dtypes), 3.3), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(dtypes), sharey=True))
    for ax, dtype in zip(axes, dtypes, strict=True):
        lines = defaultdict(list)
        for r in rows:
            match = _SIZE.search(r.case)
            if r.dtype != dtype or not match or not np.isfinite(r.rate_best):
                continue
            m, n = map(int, match.groups())
            lines[(r.variant, "n × n" if m == n else "n × n/2")].append((m, r.rate_best))
        for (variant, shape), points in sorted(lines.items()):
            label, color, style = _NS_VARIANTS[variant]
            x, y = np.array(sorted(points)).T
            ax.plot(
                x, y, color=color, linestyle=style, marker="o" if shape == "n × n" else "s",
                markerfacecolor=color if shape == "n × n" else "none", label=f"{label}, {shape}",
            )
        ax.set_xscale("log", base=2)
        _plain_x(ax, [x for points in lines.values() for x, _ in points])
        ax.set_yscale("log")
        ax.set_xlabel("matrix size n")
        ax.set_title(f"Newton–Schulz (5 Jordan steps), {dtype}", fontsize="medium")
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("GFLOP/s (best sample)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize="x-small", loc="outside lower center", ncol=3)
    path = out / "bench_orthogonalization.png"
    fig.savefig(path, dpi=150, metadata=_PNG)
    return path


def _batched(rows, out: Path) -> Path | None:
    rows = [
        r for r in rows
        if r.section == "batched" and r.reference == "python loop" and np.isfinite(r.ratio_best)
    ]
    if not rows:
        return None
    fig = Figure(figsize=(4.2, 3.0), layout="constrained")
    ax = fig.subplots()
    by_dtype = defaultdict(list)
    for r in rows:
        match = _BATCH.search(r.case)
        if match:
            by_dtype[r.dtype].append((int(match.group(1)), r.ratio_best))
    for (dtype, points), marker in zip(sorted(by_dtype.items()), "os^D", strict=False):
        x, y = np.array(sorted(points)).T
        ax.plot(x, y, marker=marker, label=f"{rows[0].backend} {dtype}")
    targets = {_target_value(r.target) for r in rows if r.target}
    for t in sorted(v for v in targets if v is not None):
        ax.axhline(t, color="#D55E00", linestyle="--", linewidth=0.9, label=f"target ≥ {t:g}×")
    ax.axhline(1.0, color="0.5", linestyle=":", linewidth=0.8, label="no speed-up")
    ax.set_xscale("log", base=2)
    _plain_x(ax, [b for points in by_dtype.values() for b, _ in points])
    ax.set_yscale("log")
    ax.set_xlabel("batch size B (matrices per call)")
    ax.set_ylabel("speed-up over a Python loop")
    ax.set_title(f"batched Newton–Schulz, {rows[0].case.split(' of ')[-1]} matrices", fontsize="medium")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize="x-small")
    path = out / "bench_batched.png"
    fig.savefig(path, dpi=150, metadata=_PNG)
    return path


def plot_report(report, out_dir: str | Path) -> list[Path]:
    """Draw the report's pictures into ``out_dir``; returns the files written (none for empty sections)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [p for p in (_orthogonalization(report.rows, out), _batched(report.rows, out)) if p is not None]
