"""``lab tight``: search for the worst case of a theorem's inequality (its tightness).

    lab tight S1.I1                 # search, print the best ratio and where
    lab tight --all                 # every theorem with a search family
    lab tight S1.I1 --quick         # a small budget (seconds)
    lab tight S1.I1 --mutation double_step   # against a planted bug: the ratio must exceed 1
    lab tight --list                # every inequality theorem: searchable or not, reason when loose
    lab tight S1.I1 --json

Results go through the lab's result cache (``$LAB_CACHE_DIR``), where ``lab check --ledger`` finds
them.  Exit status: 0 when every searched ratio is <= 1 (+ rounding), or, with ``--mutation``, when
every searched ratio exceeds 1 (the planted bug is found); 1 otherwise; 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys

from lab.stats import _jsonable

#: Relative rounding allowance when a ratio is judged against 1 (equality instances land on 1 ± 1e-8).
ROUNDING_RTOL = 1e-6


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "tight",
        help="search for the worst case of a theorem's inequality (measured/bound ratio)",
        description="Search a parametrised family of instances (step sizes, error sizes and kinds, "
        "problem instances, starting points) for the largest measured/bound ratio of a theorem.",
    )
    parser.add_argument("theorems", nargs="*", metavar="THEOREM", help="theorem ids, e.g. S1.I1")
    parser.add_argument("--all", action="store_true", help="every theorem with a search family")
    parser.add_argument("--list", action="store_true", help="list the inequality theorems and exit")
    parser.add_argument("--quick", action="store_true", help="a small search budget (seconds)")
    parser.add_argument("--budget", type=int, default=None, help="random candidates per category")
    parser.add_argument("--seed", type=int, default=0, help="search seed (default 0)")
    parser.add_argument("--mutation", default=None, help="a planted bug, e.g. double_step")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--no-cache", action="store_true", help="recompute, do not read or write the cache")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lab import tightness  # lazy: sympy (bounds) adds ~0.8 s to the CLI start-up

    fams = tightness._families()
    if args.list:
        for tid in tightness.inequality_theorems():
            fam = fams.get(tid)
            what = f"search: {fam.instance}" if fam else f"checks only; {tightness.reason_for(tid)}"
            print(f"{tid:24s} {what}")
        return 0
    names = sorted(fams) if args.all else list(args.theorems)
    if not names:
        print("lab tight: give THEOREM ids or --all", file=sys.stderr)
        return 2
    unknown = [t for t in names if t not in fams]
    if unknown:
        print(
            f"lab tight: no search family for {unknown}; searchable: {', '.join(sorted(fams))}",
            file=sys.stderr,
        )
        return 2
    budget = args.budget if args.budget is not None else tightness.BUDGET["quick" if args.quick else "full"]
    results = []
    for tid in names:
        fam = fams[tid]
        if args.mutation is not None and args.mutation not in fam.mutations:
            print(
                f"lab tight: {tid} cannot run mutation {args.mutation!r}; it supports {fam.mutations}",
                file=sys.stderr,
            )
            return 2
        try:
            if args.no_cache:
                got = tightness.search(tid, budget=budget, seed=args.seed, mutation=args.mutation)
            else:
                got = tightness.cached(tid, budget=budget, seed=args.seed, mutation=args.mutation)
        except ValueError as exc:
            print(f"lab tight: {exc}", file=sys.stderr)
            return 2
        results.append(got)
    exceeded = [float(r["ratio"]) > 1.0 + ROUNDING_RTOL for r in results]
    failed = not all(exceeded) if args.mutation is not None else any(exceeded)
    if args.json:
        print(json.dumps(_jsonable(results), indent=1))
    else:
        for r in results:
            ratio = float(r["ratio"])
            flag = "  (>1: the bound is violated)" if ratio > 1.0 + ROUNDING_RTOL else ""
            goal = (
                ""
                if ratio >= tightness.GOAL
                else f"  below {tightness.GOAL}: {tightness.reason_for(r['theorem'])}"
            )
            where = ", ".join(f"{k}={_short(v)}" for k, v in r["where"].items())
            print(
                f"{r['theorem']:14s} best ratio {ratio:.6g}{flag}{goal}\n"
                f"    where: {where}\n    form: {r['form']}"
            )
    return 1 if failed else 0


def _short(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
