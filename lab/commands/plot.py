"""``lab plot RUN.csv``: a quick look at a ``lab run`` result.

    lab plot build/runs/muon.csv                     # every metric against the step
    lab plot build/runs/muon.csv -m loss -m grad_dual  # some metrics
    lab plot build/runs/muon.csv -o /tmp/look.png

One panel per metric, the step on a log axis; one line per hyperparameter setting (every member
column but the seed), the median over seeds with the 10–90 % band of the seeds.  Diverged members
are counted in the legend.  The picture is written beside the CSV (``RUN.png``) unless ``-o``.

The CSV layout is the one ``lab run`` writes: ``run_id, member, <member hyperparameters>, status,
diverged_at, step, <metrics>, problem, ...``.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "plot",
        help="a quick look at a lab run CSV (metrics against the step)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("csv", type=Path, help="the CSV that lab run wrote (RUN.csv)")
    parser.add_argument("-m", "--metric", action="append", default=None, help="metric to plot (repeatable)")
    parser.add_argument("-o", "--out", type=Path, default=None, help="output PNG (default: beside the CSV)")
    parser.set_defaults(func=run)


class _Layout(ValueError):
    pass


def _split_columns(header: list[str]) -> tuple[list[str], list[str]]:
    """(member hyperparameter columns, metric columns) from the column order lab run writes."""
    needed = ("member", "status", "step", "problem")
    missing = [c for c in needed if c not in header]
    if missing:
        raise _Layout(f"not a lab run CSV: no column(s) {', '.join(missing)}")
    members = header[header.index("member") + 1 : header.index("status")]
    metrics = header[header.index("step") + 1 : header.index("problem")]
    return [c for c in members if c != "seed"], metrics


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def _read(path: Path):
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        header = list(reader.fieldnames or [])
        rows = list(reader)
    return header, rows


def run(args: argparse.Namespace) -> int:
    path: Path = args.csv
    if not path.is_file():
        print(f"lab plot: csv {str(path)!r} does not exist", file=sys.stderr)
        return 2
    try:
        header, rows = _read(path)
        settings, metrics = _split_columns(header)
    except (_Layout, UnicodeDecodeError, csv.Error) as exc:
        print(f"lab plot: csv {str(path)!r}: {exc}", file=sys.stderr)
        return 2
    chosen = args.metric or metrics
    unknown = [m for m in chosen if m not in metrics]
    if unknown:
        print(f"lab plot: --metric {', '.join(unknown)} not in the CSV; it has {', '.join(metrics)}",
              file=sys.stderr)
        return 2
    if not rows:
        print(f"lab plot: csv {str(path)!r} has no rows", file=sys.stderr)
        return 2
    out = args.out or path.with_suffix(".png")
    if out.suffix.lower() != ".png":
        print(f"lab plot: --out must end in .png, got {str(out)!r}", file=sys.stderr)
        return 2

    # curves[setting][metric][member] = [(step, value)], diverged[setting] = set of members
    curves: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    diverged: dict = defaultdict(set)
    for r in rows:
        setting = tuple((c, r[c]) for c in settings)
        if r.get("status") == "diverged":
            diverged[setting].add(r["member"])
        for m in chosen:
            curves[setting][m][r["member"]].append((_float(r["step"]), _float(r[m])))

    from matplotlib.figure import Figure  # lazy: matplotlib costs ~1 s of the CLI's start-up

    ncols = min(3, len(chosen))
    nrows = math.ceil(len(chosen) / ncols)
    fig = Figure(figsize=(3.4 * ncols, 2.6 * nrows), layout="constrained")
    grid = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    for ax in grid[len(chosen):]:
        ax.set_visible(False)
    axes = grid[: len(chosen)]
    # the legend names only the hyperparameters that differ between settings
    varying = [c for c in settings if len({r[c] for r in rows}) > 1]
    colors = [f"C{i % 10}" for i in range(len(curves))]
    for ax, metric in zip(axes, chosen, strict=True):
        positive = True
        for color, (setting, per_metric) in zip(colors, sorted(curves.items()), strict=True):
            members = per_metric[metric]
            steps = sorted({s for pts in members.values() for s, _ in pts})
            Y = np.full((len(members), len(steps)), np.nan)
            index = {s: k for k, s in enumerate(steps)}
            for i, pts in enumerate(members.values()):
                for s, v in pts:
                    Y[i, index[s]] = v
            x = np.asarray(steps, dtype=float) + 1.0  # step 0 on a log axis
            with np.errstate(all="ignore"), _quiet_nan():
                lo, med, hi = np.nanquantile(Y, [0.1, 0.5, 0.9], axis=0)
            positive &= bool(np.all(Y[np.isfinite(Y)] > 0))
            label = ", ".join(f"{k}={v}" for k, v in setting if k in varying) or "all members"
            if diverged[setting]:
                label += f" ({len(diverged[setting])} diverged)"
            ax.plot(x, med, color=color, label=label)
            if len(members) > 1:
                ax.fill_between(x, lo, hi, color=color, alpha=0.18, linewidth=0)
        ax.set_xscale("log")
        if positive:
            ax.set_yscale("log")
        ax.set_xlabel("step + 1")
        ax.set_title(metric, fontsize="medium")
    axes[0].legend(fontsize="x-small")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=150, metadata={"Software": None})
    n_members = len({r["member"] for r in rows})
    print(f"wrote {out} ({len(chosen)} metric(s), {len(curves)} setting(s), {n_members} members)")
    return 0


class _quiet_nan:
    """Silence the all-NaN-slice warning of nanquantile (a step no member reached)."""

    def __enter__(self):
        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._catch.__exit__(*exc)
