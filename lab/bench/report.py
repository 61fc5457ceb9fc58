"""The benchmark table: rows, targets, and the CSV / Markdown writers.

Every row is one measured variant of one case.  ``rate`` is the figure of merit in
``unit`` (GFLOP/s, steps/s, bytes per member, ...), ``ratio`` compares it with the row's
``reference`` variant of the same case (same shapes, same dtype, measured in the same
interleaved round, so machine load cancels), and ``target`` states what the lab promises
about that ratio.  Each row also carries the run's date, git revision and backend so that
CSV files from several machines can be concatenated.
"""

from __future__ import annotations

import csv
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

SECTIONS = ("orthogonalization", "batched", "sweep", "memory")


@dataclass
class Row:
    """One measurement.

    section : one of SECTIONS.
    case : what was run (e.g. "NS5 jordan 1024x512").
    variant : which implementation (e.g. "lab.newton_schulz", "matmul", "python loop").
    backend, dtype, shape : the arrays' backend, dtype and (batch, m, n) shape as text.
    work : the amount of work one call does (flops, optimizer steps, bytes), in ``work_unit``.
    time_best_s, time_median_s : seconds per call (best and median of the samples).
    rate_best, rate_median : work / time (or the measured quantity) in ``unit``.
    reference : the variant of the same case the ratio compares with ("" for none).
    ratio_best, ratio_median : this row's rate / the reference's rate (ratio of the figures of merit).
    target : the lab's promise, e.g. ">= 0.85"; met : "yes", "no" or "" (no target).
    repeats, number : samples taken and calls per sample; load1 : 1-minute load average while measured.
    note : anything the reader needs (flop model, extrapolation, ...).
    """

    section: str
    case: str
    variant: str
    backend: str = ""
    dtype: str = ""
    shape: str = ""
    work: float = math.nan
    work_unit: str = ""
    time_best_s: float = math.nan
    time_median_s: float = math.nan
    rate_best: float = math.nan
    rate_median: float = math.nan
    unit: str = ""
    reference: str = ""
    ratio_best: float = math.nan
    ratio_median: float = math.nan
    target: str = ""
    met: str = ""
    repeats: int = 0
    number: int = 0
    load1: float = math.nan
    note: str = ""


def check_target(value: float, target: str) -> str:
    """'yes'/'no' for a target such as '>= 0.85', '< 0.30' or '<= 3'; '' when there is none."""
    if not target or value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    op, _, number = target.strip().partition(" ")
    bound = float(number)
    ok = {">=": value >= bound, ">": value > bound, "<=": value <= bound, "<": value < bound}.get(op)
    if ok is None:
        raise ValueError(f"target must look like '>= 0.85' (ops >=, >, <=, <), got {target!r}")
    return "yes" if ok else "no"


@dataclass
class Report:
    """A benchmark run: machine information, settings and rows."""

    machine: dict[str, str]
    settings: dict[str, str] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def add(self, rows) -> None:
        self.rows.extend(rows)

    def section(self, name: str) -> list[Row]:
        return [r for r in self.rows if r.section == name]

    def targets(self) -> list[Row]:
        """The rows that carry a target."""
        return [r for r in self.rows if r.target]

    def write(self, out_dir: str | Path) -> tuple[Path, Path]:
        """Write ``bench.csv``, ``bench.md`` and the plots (:mod:`lab.bench.plots`) into ``out_dir``.

        Returns the paths of the CSV and the Markdown report.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        csv_path, md_path = out / "bench.csv", out / "bench.md"
        write_csv(self, csv_path)
        from lab.bench.plots import plot_report  # lazy: matplotlib costs ~1 s of the CLI's start-up

        pictures = plot_report(self, out)
        links = "".join(f"\n![{p.stem}]({p.name})\n" for p in pictures)
        md_path.write_text(to_markdown(self) + (f"\n## Plots\n{links}" if pictures else ""))
        return csv_path, md_path


RUN_COLUMNS = ("date", "git_revision", "cpu", "cores", "numpy", "blas")


def csv_columns() -> list[str]:
    return [f.name for f in fields(Row)] + list(RUN_COLUMNS)


def write_csv(report: Report, path: str | Path) -> None:
    """One row per measurement; the run's machine columns repeat on every row."""
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=csv_columns())
        writer.writeheader()
        for row in report.rows:
            record = asdict(row)
            record.update({k: report.machine.get(k, "") for k in RUN_COLUMNS})
            writer.writerow({k: _csv_value(v) for k, v in record.items()})


def _csv_value(v):
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.6g}"
    return v


def _fmt(v: float, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, int):
        return str(v)
    if v == 0:
        return "0"
    if abs(v) >= 1e5:
        return f"{v:,.0f}"
    if abs(v) < 1e-3:
        return f"{v:.{digits}g}"
    return f"{v:.{digits}g}" if abs(v) < 1 else f"{v:,.{max(0, digits - len(str(int(abs(v)))))}f}"


def _seconds(v: float) -> str:
    if v is None or math.isnan(v):
        return ""
    if v < 1e-3:
        return f"{v * 1e6:.1f} µs"
    if v < 1:
        return f"{v * 1e3:.2f} ms"
    return f"{v:.2f} s"


_MD_COLUMNS = (
    ("case", "case", str),
    ("variant", "variant", str),
    ("dtype", "dtype", str),
    ("shape", "shape", str),
    ("time (best)", "time_best_s", _seconds),
    ("time (median)", "time_median_s", _seconds),
    ("rate (best)", "rate_best", _fmt),
    ("rate (median)", "rate_median", _fmt),
    ("unit", "unit", str),
    ("vs", "reference", str),
    ("ratio (best)", "ratio_best", _fmt),
    ("ratio (median)", "ratio_median", _fmt),
    ("target", "target", str),
    ("met", "met", str),
    ("load", "load1", lambda v: _fmt(v, 2)),
    ("note", "note", str),
)

_SECTION_TITLES = {
    "orthogonalization": "Newton–Schulz and exact polar against plain matmul",
    "batched": "Batched small matrices",
    "sweep": "Sweep: batched Muon runs",
    "memory": "Memory per batch member",
}


def _md_table(rows: list[Row]) -> str:
    cols = [c for c in _MD_COLUMNS if any(str(getattr(r, c[1])) not in ("", "nan") for r in rows)]
    lines = ["| " + " | ".join(c[0] for c in cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = [c[2](getattr(r, c[1])).replace("|", "\\|") for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def to_markdown(report: Report) -> str:
    """The report as Markdown: machine, settings, targets summary, one table per section."""
    out = ["# muon-lab benchmark", "", "## Machine", "", "| key | value |", "|---|---|"]
    out += [f"| {k} | {str(v).replace('|', '/')} |" for k, v in report.machine.items()]
    if report.settings:
        out += ["", "## Settings", "", "| key | value |", "|---|---|"]
        out += [f"| {k} | {v} |" for k, v in report.settings.items()]
    targeted = report.targets()
    if targeted:
        n_met = sum(r.met == "yes" for r in targeted)
        out += [
            "",
            f"## Targets: {n_met} of {len(targeted)} met",
            "",
            "| section | case | variant | dtype | vs | ratio (best) | ratio (median) | target | met |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        out += [
            f"| {r.section} | {r.case} | {r.variant} | {r.dtype} | {r.reference} | {_fmt(r.ratio_best)} | "
            f"{_fmt(r.ratio_median)} | {r.target} | {r.met} |"
            for r in targeted
        ]
    for name in SECTIONS:
        rows = report.section(name)
        if rows:
            out += ["", f"## {_SECTION_TITLES[name]}", "", _md_table(rows)]
    if report.findings:
        out += ["", "## Findings", ""] + [f"- {f}" for f in report.findings]
    if report.failures:
        out += ["", "## Sections that failed", ""] + [f"- {f}" for f in report.failures]
    out += [
        "",
        "Ratios compare rates measured round-robin in the same round (see lab/bench/timing.py); targets are",
        "judged on the best-of-k ratio, the median is shown to judge stability under load.",
        "",
    ]
    return "\n".join(out)
