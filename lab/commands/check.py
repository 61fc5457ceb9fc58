"""``lab check``: run the verification checks and print the verdicts.

    lab check                       # every check, full configuration
    lab check --quick               # the CI subset, reduced configurations (what pytest runs)
    lab check --only S2 --only S1-I1
    lab check --json                # machine-readable rows (lab.stats.Verdict.as_row)
    lab check --ledger              # every claim of the four sources with its verdict
    lab check --mutation double_step   # run the checks against a planted bug: they must fail

The verdicts are also written to ``build/check/verdicts.json`` (schema "muon-lab.verdicts/1",
read by ``lab appendix``), unless ``--no-write`` or ``--mutation`` is given.  Exit status: 0 when
every check meets its expectation, 1 when a lab bound or predicted trend is violated (an empirical
claim of a paper measured on the lab's analogue is reported, not failed: ``Check.empirical``; with
``--mutation``: 1 when a planted bug is not caught), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from lab.commands import add_execution_options, run_with_execution


def register(subparsers) -> None:
    from lab.checks import MUTATIONS

    parser = subparsers.add_parser(
        "check",
        help="run the bound, rate and trend checks; print verdicts",
        description="Run the verification checks (each claim of S1-S4 against its experiment) and print "
        "a table: claim, source, problem, bound, measured, worst ratio or slope ± CI, verdict.",
    )
    parser.add_argument("--quick", action="store_true", help="the CI subset with reduced configurations")
    parser.add_argument(
        "--only", action="append", metavar="ID", default=None, help="check id or prefix (repeatable), e.g. S2"
    )
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print the verdict rows as JSON")
    fmt.add_argument(
        "--ledger", action="store_true", help="print every claim of the four sources with its verdict"
    )
    parser.add_argument("--list", action="store_true", help="list the checks and exit")
    parser.add_argument(
        "--mutation",
        choices=sorted(MUTATIONS),
        default=None,
        help="run the checks that declare this planted bug",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="verdicts file (default build/check/verdicts.json)"
    )
    add_execution_options(parser)
    parser.add_argument("--no-write", action="store_true", help="do not write the verdicts file")
    parser.set_defaults(func=run)


def _fmt(x, digits: int = 3) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{digits}g}"
    text = str(x)
    return text if len(text) <= 40 else text[:37] + "..."


def _short_source(text: str) -> str:
    """ "S1" ... "S4" ("S1 (lab)" for a lab derivation) instead of the full provenance sentence."""
    found = re.search(r"\bS[1-4]\b", text)
    if not found:
        return _fmt(text)
    return f"{found.group(0)} (lab)" if text.startswith("lab ") else found.group(0)


def _theorem_tightness(v, agg) -> float | None:
    """The largest ratio found for the theorems this verdict measures (lab.tightness), or None."""
    from lab.tightness import attribute

    found = [agg[t].ratio for t in attribute(v) if t in agg and agg[t].ratio is not None]
    return max(found) if found else None


def table(verdicts) -> str:
    """A plain-text table of verdicts (one line each); "tightness" is the theorem's largest ratio."""
    from lab.tightness import from_verdicts

    verdicts = list(verdicts)
    agg = from_verdicts(verdicts)
    header = ("claim", "source", "problem", "bound", "measured", "ratio / slope ± CI", "verdict", "tightness")
    rows = []
    for v in verdicts:
        if v.slope is not None:
            stat = f"{v.slope:.3g}" + (f" [{v.ci[0]:.3g}, {v.ci[1]:.3g}]" if v.ci else "")
        elif v.worst_ratio is not None:
            stat = f"{v.worst_ratio:.3g}"
        else:
            stat = "-"
        rows.append(
            (
                v.claim,
                _short_source(v.source),
                _fmt(v.problem),
                _fmt(v.bound),
                _fmt(v.measured),
                stat,
                v.verdict,
                _fmt(_theorem_tightness(v, agg)),
            )
        )
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def _run(args: argparse.Namespace) -> int:
    from lab import tightness
    from lab.appendix import DEFAULT_VERDICTS, write_verdicts
    from lab.checks import CHECKS, ledger, load_all, run_checks, select
    from lab.stats import Verdict, _jsonable

    load_all()
    try:
        chosen = select(quick=args.quick, only=args.only)
    except ValueError as exc:
        print(f"lab check: {exc}", file=sys.stderr)
        return 2
    if args.mutation is not None:
        chosen = [c for c in chosen if args.mutation in c.mutations]
        if not chosen:
            print(f"lab check: no selected check declares mutation {args.mutation!r}", file=sys.stderr)
            return 2
    if args.list:
        for c in chosen:
            flag = "quick" if c.quick else "full "
            print(f"{c.id:28s} {c.source}  {flag}  {c.experiment or '-':30s} {c.claim}")
        return 0

    def progress(c):
        print(f"[lab check] {c.id} ...", file=sys.stderr, flush=True)

    if args.mutation is None:
        verdicts = run_checks(quick=args.quick, only=[c.id for c in chosen], progress=progress)
        # A lab bound or predicted trend that is violated is a failure; an empirical claim of a paper
        # measured on the lab's analogue (Check.empirical) is reported, whichever way it comes out.
        failed = any(c.problems([v for v in verdicts if v.details.get("check") == c.id]) for c in chosen)
    else:
        verdicts, failed = [], False
        for c in chosen:
            progress(c)
            got = c.run(quick=args.quick, mutation=args.mutation)
            caught = c.caught(c.run(quick=args.quick), got)
            failed |= not caught
            verdicts += [
                Verdict(
                    **{
                        **{f: getattr(v, f) for f in v.__dataclass_fields__},
                        "claim": f"{v.claim} [{args.mutation}]",
                        "details": {**v.details, "mutation": args.mutation, "caught": caught},
                    }
                )
                for v in got
            ]

    tight = tightness.records(verdicts)
    if args.json:
        agg = tightness.from_verdicts(verdicts)
        print(
            json.dumps(
                [
                    {
                        **v.as_row(),
                        "theorems": tightness.attribute(v),
                        "tightness": _jsonable(_theorem_tightness(v, agg)),
                    }
                    for v in verdicts
                ],
                indent=1,
            )
        )
    elif args.ledger:
        rows = ledger(verdicts)
        width = max(len(r["claim"]) for r in rows)
        for r in rows:
            exps = ",".join(r["experiments"]) or "-"
            counts = f"({r['verdicts']})" if r["verdicts"] else ""
            t = tight.get(r["claim"])
            ratio = f"{_fmt(t['ratio'])} {t['method']}" if t and t["ratio"] is not None else "-"
            head = f"{r['claim']:<{width}}  {r['verdict']:12s} {counts:28s} {ratio:16s}"
            print(f"{head} {exps:34s}  {r['statement']}")
            if t and t["reason"]:
                print(f"{'':<{width}}  tightness < {tightness.GOAL}: {t['reason']}")
    else:
        print(table(verdicts))
        counts = {k: sum(v.verdict == k for v in verdicts) for k in ("holds", "violated", "inconclusive")}
        print(
            f"\n{len(verdicts)} verdicts from {len(chosen)} of {len(CHECKS)} checks: "
            + ", ".join(f"{n} {k}" for k, n in counts.items())
        )
        print(tightness.summary(tight))
    if not args.no_write and args.mutation is None:
        path = write_verdicts(verdicts, args.out or DEFAULT_VERDICTS, tightness=tight)
        print(f"verdicts written to {path}", file=sys.stderr)
    return 1 if failed else 0


def run(args: argparse.Namespace) -> int:
    return run_with_execution(args, _run)
