"""``lab bench``: the benchmark suite, measured in one run, written to bench.csv and bench.md.

lab bench                         # everything (several minutes on 2 cores)
lab bench --quick                 # short run (about a minute)
lab bench --backend cupy          # the same on the GPU (device synchronised around timings)
lab bench --sections batched sweep --out /tmp/b
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

from lab.bench import BenchConfig, run_benchmarks
from lab.bench.report import SECTIONS

DESCRIPTION = """\
Benchmark the lab's numerical core and write a table (bench.csv, bench.md) with machine
information (CPU, cores, NumPy and BLAS, backend, dtype, date, git revision).

Sections:
  orthogonalization  lab.newton_schulz (5 Jordan steps) and lab.polar on n x n and n x n/2
                     matrices vs a plain matmul of the same shapes: GFLOP/s, time per call,
                     ratio NS/matmul (target >= 0.85 for n >= 512)
  batched            B in {64, 1024, 8192} stacked 64x32 matrices: batched NS vs the raw
                     stacked-matmul chain of the same flops and vs a Python loop (target >= 10x)
  sweep              256 Muon configurations x 2000 steps on a 64x32 quadratic: steps/s batched
                     vs a Python loop of the same runs (target >= 10x), cost of a Muon step vs
                     its NS matmuls alone, share of time outside matmuls (target < 30%)
  memory             peak bytes per batch member of Muon and MVR2 vs the parameter size, at T
                     and 4T steps (tracemalloc)

Timings: warm-up, then best-of-k and median of auto-ranged samples (time.perf_counter), taken
round-robin over the variants being compared; targets are judged on best-of-k ratios.
Findings say, for each missed target, whether the lab's code or the machine is the limit.
The report is rewritten after every section.

Exit status: 0 done; 1 a target missed (with --strict); 2 bad options; 3 a section failed
(the other sections are still measured and written).
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="run the benchmark suite (writes build/bench/bench.{csv,md})",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--backend",
        choices=("numpy", "cupy"),
        default="numpy",
        help="array backend (cupy: CuPy's own matmul is the reference; default numpy)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="short run: n in {256, 512}, B in {64, 1024}, 100 sweep steps, 3 repeats",
    )
    parser.add_argument(
        "-o", "--out", type=Path, default=Path("build/bench"), help="output folder (default build/bench/)"
    )
    parser.add_argument(
        "--sections",
        nargs="+",
        choices=SECTIONS,
        default=list(SECTIONS),
        metavar="SECTION",
        help=f"sections to run (default all: {' '.join(SECTIONS)})",
    )
    parser.add_argument(
        "--dtypes",
        nargs="+",
        choices=("float32", "float64"),
        default=None,
        help="dtypes of the kernel sections (default float32 float64)",
    )
    parser.add_argument(
        "--sizes", nargs="+", type=int, default=None, help="matrix sizes n (default 256 512 1024 2048)"
    )
    parser.add_argument(
        "--batches", nargs="+", type=int, default=None, help="batch sizes B (default 64 1024 8192)"
    )
    parser.add_argument(
        "--repeats", type=int, default=None, help="samples per timing, best-of-k (default 5; quick 3)"
    )
    parser.add_argument(
        "--sweep-configs", type=int, default=None, help="Muon configurations in the sweep (256)"
    )
    parser.add_argument("--sweep-steps", type=int, default=None, help="steps per sweep run (2000; quick 100)")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit with status 1 when a target is missed (3: a section failed)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument(
        "--json", action="store_true", help="print the machine, the targets and every row as JSON"
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run every section in this process (default: each in a fresh interpreter, so that no "
        "section inherits another's allocator state)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    changes = {"backend": args.backend, "sections": tuple(args.sections)}
    for name in ("dtypes", "sizes", "batches"):
        if getattr(args, name):
            changes[name] = tuple(getattr(args, name))
    for name, attr in (
        ("repeats", "repeats"),
        ("sweep_configs", "sweep_configs"),
        ("sweep_steps", "sweep_steps"),
    ):
        if getattr(args, name) is not None:
            changes[attr] = getattr(args, name)
    config = BenchConfig.quick(**changes) if args.quick else BenchConfig(**changes)
    start = time.perf_counter()
    wall_start = time.time()

    def progress(message: str) -> None:
        if not args.quiet:
            print(f"[{time.perf_counter() - start:7.1f} s] {message}", file=sys.stderr, flush=True)

    try:
        config.validate()
    except ValueError as exc:
        print(f"lab bench: {exc}", file=sys.stderr)
        return 2
    # write after every section, so that a long run interrupted late keeps what it measured
    report = run_benchmarks(
        config,
        progress=progress,
        on_section=lambda r: r.write(args.out),
        raise_errors=False,
        isolate=not args.in_process,
        start=None if args.quiet else wall_start,
    )
    csv_path, md_path = report.write(args.out)
    targeted = report.targets()
    missed = [r for r in targeted if r.met == "no"]
    if args.json:
        print(json.dumps({
            "machine": report.machine, "settings": report.settings,
            "files": [str(csv_path), str(md_path), *map(str, sorted(Path(args.out).glob("bench_*.png")))],
            "targets": {"met": len(targeted) - len(missed), "total": len(targeted)},
            "rows": [asdict(r) for r in report.rows],
            "findings": report.findings,
            "failures": report.failures,
        }, indent=1, default=str))
        return 3 if report.failures else 1 if (args.strict and missed) else 0
    print(f"wrote {csv_path} and {md_path} ({len(report.rows)} rows, {time.perf_counter() - start:.0f} s)")
    print(f"targets met: {len(targeted) - len(missed)} of {len(targeted)}")
    for r in missed:
        print(
            f"  missed: {r.section} / {r.case} / {r.variant} {r.dtype} vs {r.reference}: "
            f"{r.ratio_best:.3g} (target {r.target})"
        )
    for finding in report.findings:
        print(f"  - {finding}")
    for failure in report.failures:
        print(f"lab bench: section failed: {failure}", file=sys.stderr)
    if report.failures:
        return 3
    return 1 if (args.strict and missed) else 0
