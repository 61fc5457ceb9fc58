"""``lab mutate``: plant code-level bugs (:mod:`lab.mutants`) and see which checks catch them.

    lab mutate                          # every mutant against the quick checks (lab check --quick)
    lab mutate --only lion-schatten-p --only block-lr-first
    lab mutate --n-jobs 4 --json        # the kill matrix as JSON
    lab mutate --suite pytest           # the kill rate of the test suite (pytest -x -q on the copy)
    lab mutate --list                   # the registry

Each mutant runs in a subprocess on its own patched copy of the packages with its own cache
directory.  The unmutated copy runs first (the baseline): a check that already fails there
cannot kill anything and is reported.  Exit status: 0 when every mutant is killed, 1 when some
survive, 2 for bad arguments or a baseline that does not run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from lab.checks import CHECKS, load_all
from lab.mutants import MUTANTS, get_mutant, run_mutant, run_mutants, score


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "mutate",
        help="run code-level mutants against the quick checks (or the tests); print the kill matrix",
        description="Plant each registered code-level bug in an isolated copy of the packages and run "
        "`lab check --quick` (or the test suite) on it; print which checks catch which bug.",
    )
    parser.add_argument(
        "--only", action="append", metavar="NAME", default=None, help="mutant name (repeatable)"
    )
    parser.add_argument(
        "--checks",
        action="append",
        metavar="ID",
        default=None,
        help="restrict to these check ids/prefixes (with --suite pytest: test files or node ids)",
    )
    parser.add_argument("--suite", choices=("check", "pytest"), default="check", help="what must catch them")
    parser.add_argument("--n-jobs", type=int, default=1, help="mutants run at once (subprocesses)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per mutant run")
    parser.add_argument(
        "--first", action="store_true", help="stop each mutant at the first check it breaks (faster)"
    )
    parser.add_argument("--json", action="store_true", help="print the kill matrix as JSON")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.set_defaults(func=run)


def _table(report: dict) -> str:
    lines = []
    width = max([len(r["mutant"]) for r in report["matrix"]] + [6])
    for r in report["matrix"]:
        if r["how"] == "verdict":
            what = ", ".join(r["checks_failed"])
            if r["checks_error"]:
                what += " | error: " + ", ".join(r["checks_error"])
        elif r["how"] == "error":
            what = "error only: " + ", ".join(r["checks_error"])
        elif r["how"] == "crash":
            what = f"crash: {r['crashed']}"
        else:
            what = "-"
        status = "KILLED " if r["killed"] else "SURVIVED"
        lines.append(f"{r['mutant']:<{width}}  {status:8s}  {r['seconds']:7.1f}s  {what}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    try:
        chosen = [get_mutant(n) for n in args.only] if args.only else list(MUTANTS.values())
    except ValueError as exc:
        print(f"lab mutate: {exc}", file=sys.stderr)
        return 2
    if args.n_jobs < 1:
        print(f"lab mutate: --n-jobs must be >= 1, got {args.n_jobs}", file=sys.stderr)
        return 2
    if args.list:
        for m in chosen:
            print(f"{m.name:28s} {m.category:10s} {m.path:32s} {m.description}")
        return 0
    only = tuple(args.checks or ())
    t0 = time.perf_counter()
    print(f"[lab mutate] baseline ({args.suite}) ...", file=sys.stderr, flush=True)
    baseline = run_mutant(None, suite=args.suite, only=only, timeout=args.timeout)
    if baseline.crashed:
        print(f"lab mutate: the unmutated copy does not run: {baseline.crashed}", file=sys.stderr)
        return 2

    def progress(r):
        broke = [c for c in r.failed + r.errors if c not in set(baseline.failed) | set(baseline.errors)]
        what = f"broke {', '.join(broke)}" if broke else f"crash: {r.crashed}" if r.crashed else "survived"
        print(f"[lab mutate] {r.name}: {what} ({r.seconds:.1f} s)", file=sys.stderr, flush=True)

    results = run_mutants(
        chosen,
        suite=args.suite,
        only=only,
        n_jobs=args.n_jobs,
        timeout=args.timeout,
        progress=progress,
        first=args.first,
    )
    report = score(baseline, results)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    report["n_jobs"] = args.n_jobs
    # Prediction-side planted bugs (understated constants, wrong exponents) edit the bound, not the
    # code: they are listed apart and never counted in the score.
    load_all()
    report["prediction_mutations"] = {cid: list(c.mutations) for cid, c in CHECKS.items() if c.mutations}
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print(_table(report))
        if report["baseline_failing"]:
            print(f"\nfailing on the unmutated code (left out): {', '.join(report['baseline_failing'])}")
        n_pred = sum(len(v) for v in report["prediction_mutations"].values())
        print(
            f"\n{report['killed']}/{report['mutants']} code mutants killed by {args.suite} "
            f"({100 * report['score']:.0f}%): {report['killed_by_verdict']} by a failed expectation, "
            f"{report['killed_by_error']} only by an error, {report['killed_by_crash']} by a crash; "
            f"{report['seconds']:.0f} s with --n-jobs {args.n_jobs}"
        )
        if report["survivors"]:
            print("survivors: " + ", ".join(report["survivors"]))
        print(
            f"({n_pred} prediction-side planted bugs declared by the checks (lab check --mutation) are "
            "not counted here)"
        )
    return 0 if not report["survivors"] else 1
