"""``lab check``: run the verification checks and print the verdicts.

    lab check                       # every check, full configuration
    lab check --quick               # the CI subset, reduced configurations (what pytest runs)
    lab check --only S2 --only S1.I1   # ids or prefixes; old ids (S1-I1) work too
    lab check --json                # the verdicts document (lab.verdicts: provenance, typed rows)
    lab check --export DIR          # long parquet tables: every measured point, every verdict
    lab check --ledger              # every claim of the four sources with its verdict
    lab check --mutation double_step   # run the checks against a planted bug: they must fail

The verdicts are also written to ``build/check/verdicts.json`` (the document of ``--json``, schema
"muon-lab.verdicts/2", read by ``lab appendix``) with two pictures beside it (``verdict_ratios.png``,
``verdict_slopes.png``), unless ``--no-write`` or ``--mutation`` is given; with ``--only``, the
rows of the checks that ran replace theirs in an existing file and the other rows are kept.
Exit status (:data:`EXIT_CODES`): 0 when every check meets its expectation, 1 when a lab bound or
predicted trend is violated (an empirical claim of a paper measured on the lab's analogue is
reported, not failed: ``Check.empirical``; with ``--mutation``: 1 when a planted bug is not
caught), 2 for a usage or environment error found before any work, 3 when an experiment raised
(its rows say "error").
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from pathlib import Path

import lab.verdicts as verdicts_file
from lab.cache import default_cache_dir
from lab.claim_ids import check_id as claim_id
from lab.claims.registry import CHECKS, MUTATIONS, ledger, load_all, run_checks, select
from lab.commands import add_execution_options, run_with_execution
from lab.preflight import writable_dir
from lab.results import recording
from lab.stats import Verdict, _jsonable, chance_flags
from lab.verdicts import DEFAULT_VERDICTS

log = logging.getLogger("lab.check")

#: Exit statuses of ``lab check`` (also in its --help and the README).
EXIT_CODES = {
    0: "every expectation met",
    1: "a verdict broke its expectation (a bound or predicted trend violated; a planted bug not caught)",
    2: "usage or environment error, reported before any work",
    3: "an experiment raised: its rows say 'error'",
}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "check",
        help="run the bound, rate and trend checks; print verdicts",
        description="Run the verification checks (each claim of S1-S4 against its experiment) and print "
        "a table: claim, source, problem, bound, measured, worst ratio or slope ± CI, verdict.",
        epilog="exit status: " + "; ".join(f"{k} {v}" for k, v in EXIT_CODES.items()),
    )
    parser.add_argument("--quick", action="store_true", help="the CI subset with reduced configurations")
    parser.add_argument(
        "--only",
        action="extend",
        nargs="+",
        metavar="ID",
        default=None,
        help="check ids or prefixes (repeatable), e.g. S2 or S1.I1; old ids such as S1-I1 work too",
    )
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument(
        "--json", action="store_true", help="print the verdicts document (provenance, typed rows) as JSON"
    )
    fmt.add_argument(
        "--ledger", action="store_true", help="print every claim of the four sources with its verdict"
    )
    parser.add_argument(
        "--list", action="store_true", help="list the checks (id, old id, source, experiment, claim) and exit"
    )
    parser.add_argument(
        "--mutation",
        choices=sorted(MUTATIONS),
        default=None,
        help="run the checks that declare this planted bug",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="verdicts file (default build/check/verdicts.json)"
    )
    parser.add_argument(
        "--export",
        type=Path,
        default=None,
        metavar="DIR",
        help="write measurements.parquet (every measured point with its theoretical value) and "
        "verdicts.parquet into DIR (needs the 'data' extra: pandas, pyarrow)",
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
    from lab.tightness import attribute  # lazy: sympy (through bounds) adds ~0.8 s to the CLI start-up

    found = [agg[t].ratio for t in attribute(v) if t in agg and agg[t].ratio is not None]
    return max(found) if found else None


def table(verdicts) -> str:
    """A plain-text table of verdicts (one line each); "tightness" is the theorem's largest ratio."""
    from lab.tightness import from_verdicts  # lazy: sympy (through bounds) adds ~0.8 s to the CLI start-up

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


def _chosen_checks(args: argparse.Namespace) -> list | None:
    """The checks ``--quick``/``--only``/``--mutation`` select; None after printing a usage error."""
    try:
        chosen = select(quick=args.quick, only=args.only)
    except ValueError as exc:
        print(f"lab check: {exc}", file=sys.stderr)
        return None
    if args.mutation is not None:
        chosen = [c for c in chosen if args.mutation in c.mutations]
        if not chosen:
            print(f"lab check: no selected check declares mutation {args.mutation!r}", file=sys.stderr)
            return None
    return chosen


def _outputs_usable(args: argparse.Namespace) -> bool:
    """Whether the verdicts file and the --export folder can be written (else a usage error is printed)."""
    if not args.no_write and args.mutation is None and not args.list:
        try:
            writable_dir((args.out or DEFAULT_VERDICTS).parent, "--out")
        except ValueError as exc:
            print(f"lab check: error: {exc}", file=sys.stderr)
            return False
    if args.export is not None and not args.list:
        try:
            import pandas  # noqa: F401  # lazy: optional, the 'data' extra (and 1 s of start-up)
            import pyarrow  # noqa: F401  # lazy: optional, the 'data' extra
        except ImportError as exc:
            print(f"lab check: --export needs pandas and pyarrow (pip install -e '.[data]'): {exc}",
                  file=sys.stderr)
            return False
        try:
            writable_dir(args.export, "--export")
        except ValueError as exc:
            print(f"lab check: error: {exc}", file=sys.stderr)
            return False
    return True


def _print_list(chosen) -> None:
    for c in chosen:
        flag = "quick" if c.quick else "full "
        old = ",".join(c.aliases) or "-"
        print(f"{c.id:26s} {old:26s} {c.source}  {flag}  {c.experiment or '-':26s} {c.claim}")


def _progress(c) -> None:
    log.warning("[lab check] %s ...", c.id)


def _announce_ledger(args: argparse.Namespace, chosen) -> None:
    print(
        f"lab check --ledger: running {len(chosen)} checks ({'quick' if args.quick else 'full'} "
        f"configuration) to fill the ledger; finished sweeps are loaded from the cache in "
        f"{default_cache_dir()} (cold, the full configuration takes several minutes; --quick runs "
        "the CI subset)",
        file=sys.stderr,
        flush=True,
    )


def _run_chosen(args: argparse.Namespace, chosen) -> tuple[list, bool, list]:
    """Run the chosen checks: (verdicts, whether an expectation broke, the experiments recorded)."""
    with recording() as experiments:
        verdicts = run_checks(quick=args.quick, checks=chosen, progress=_progress)
    # A lab bound or predicted trend that is violated is a failure; an empirical claim of a paper
    # measured on the lab's analogue (Check.empirical) is reported, whichever way it comes out.
    failed = any(c.problems([v for v in verdicts if v.details.get("check") == c.id]) for c in chosen)
    return verdicts, failed, experiments


def _run_mutation(args: argparse.Namespace, chosen) -> tuple[list, bool]:
    """Run the chosen checks against the planted bug: (verdicts, whether a check missed it)."""
    verdicts, failed = [], False
    for c in chosen:
        _progress(c)
        try:
            got = c.run(quick=args.quick, mutation=args.mutation)
            caught = c.caught(c.run(quick=args.quick), got)
        except Exception as exc:  # noqa: BLE001 - reported as an error row, exit 3
            got, caught = [_error_verdict(c, exc)], False
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
    return verdicts, failed


def _print_json(verdicts, tight) -> None:
    from lab import tightness  # lazy: sympy (through bounds) adds ~0.8 s to the CLI start-up

    agg = tightness.from_verdicts(verdicts)
    doc = verdicts_file.document(verdicts, tightness=tight)
    for row, v in zip(doc["rows"], verdicts, strict=True):
        row["theorems"] = tightness.attribute(v)
        row["tightness"] = _jsonable(_theorem_tightness(v, agg))
    print(verdicts_file.dumps(doc), end="")


def _print_ledger(verdicts, tight) -> None:
    from lab import tightness  # lazy: sympy (through bounds) adds ~0.8 s to the CLI start-up

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


def _print_table(verdicts, chosen, tight) -> None:
    from lab import tightness  # lazy: sympy (through bounds) adds ~0.8 s to the CLI start-up

    print(table(verdicts))
    counts = {k: sum(v.verdict == k for v in verdicts) for k in ("holds", "violated", "inconclusive")}
    counts["error"] = sum(v.verdict == "error" for v in verdicts)
    print(
        f"\n{len(verdicts)} verdicts from {len(chosen)} of {len(CHECKS)} checks: "
        + ", ".join(f"{n} {k}" for k, n in counts.items())
    )
    n_stat, expected = chance_flags(verdicts)
    print(
        f"at level 95% (99.9% for one-sided limits), {expected:.2f} of the {n_stat} statistical verdicts "
        "would be flagged by chance in expectation (0 of the others: exact comparisons)"
    )
    print(tightness.summary(tight))


def _write_verdicts(args: argparse.Namespace, chosen, verdicts, tight) -> None:
    """The verdicts file (merged with an earlier one under --only) and its two pictures."""
    from lab.verdict_plot import plot_verdicts  # lazy: matplotlib costs 1 s of the CLI's start-up

    path = args.out or DEFAULT_VERDICTS
    rows, kept = [v.as_row() for v in verdicts], 0
    if args.only:
        rows, kept = merge_rows(path, rows, {c.id for c in chosen})
    path = verdicts_file.write_verdicts(rows, path, tightness=tight)
    pictures = plot_verdicts(verdicts_file.load_verdicts(path), path.parent)
    note = f" (kept {kept} rows of other checks from the earlier file)" if kept else ""
    shown = f"; pictures {', '.join(p.name for p in pictures)}" if pictures else ""
    print(f"verdicts written to {path}{note}{shown}", file=sys.stderr)


def _export(args: argparse.Namespace, chosen, verdicts, experiments) -> None:
    claims: dict[str, set[str]] = {}
    for c in chosen:
        if c.experiment:
            claims.setdefault(c.experiment, set()).update(c.theorems or (c.id,))
    written = verdicts_file.export(args.export, verdicts, experiments, claims=claims)
    print(f"exported {', '.join(str(p) for p in written)}", file=sys.stderr)


def _run(args: argparse.Namespace) -> int:
    from lab import tightness  # lazy: sympy (through bounds) adds ~0.8 s to the CLI start-up

    load_all()
    chosen = _chosen_checks(args)
    if chosen is None or not _outputs_usable(args):
        return 2
    if args.list:
        _print_list(chosen)
        return 0
    if args.ledger:
        _announce_ledger(args, chosen)
    if args.mutation is None:
        verdicts, failed, experiments = _run_chosen(args, chosen)
    else:
        verdicts, failed = _run_mutation(args, chosen)
    tight = tightness.records(verdicts)
    if args.json:
        _print_json(verdicts, tight)
    elif args.ledger:
        _print_ledger(verdicts, tight)
    else:
        _print_table(verdicts, chosen, tight)
    if not args.no_write and args.mutation is None:
        _write_verdicts(args, chosen, verdicts, tight)
    if args.export is not None and args.mutation is None:
        _export(args, chosen, verdicts, experiments)
    errors = [v.claim for v in verdicts if v.verdict == "error"]
    if errors:
        print(f"lab check: {len(errors)} experiment(s) raised: {', '.join(errors)}", file=sys.stderr)
        return 3
    return 1 if failed else 0


def _error_verdict(c, exc: Exception):
    return Verdict(
        claim=c.id,
        source=c.source,
        problem="-",
        bound="-",
        measured=f"error: {type(exc).__name__}: {exc}",
        verdict="error",
        details={"check": c.id, "experiment": c.experiment},
    )


def _row_check(row) -> str:
    """The check id a verdicts-file row belongs to (``details.check``, else its claim's), current spelling."""
    details = row.get("details") or {}
    try:
        check_id = (json.loads(details) if isinstance(details, str) else details).get("check")
    except (TypeError, ValueError, AttributeError):
        check_id = None
    return claim_id(check_id or str(row["claim"]).split("[", 1)[0].strip())


def merge_rows(path, rows: list[dict], ran: set[str]) -> tuple[list[dict], int]:
    """``rows`` of the checks in ``ran`` merged into the verdicts file at ``path``.

    The file's rows of other (still registered) checks are kept in place; those of the checks
    that ran are replaced by ``rows``.  Returns (merged rows, number kept).  An unreadable file
    is replaced (its error is printed).
    """
    try:
        old = verdicts_file.load_verdicts(path) or []
    except ValueError as exc:
        print(f"lab check: replacing an unreadable verdicts file: {exc}", file=sys.stderr)
        old = []
    merged, placed, kept = [], False, 0
    for row in old:
        cid = _row_check(row)
        if cid in ran:
            if not placed:
                merged += rows
                placed = True
        elif cid in CHECKS:
            merged.append(row)
            kept += 1
    if not placed:
        merged += rows
    return merged, kept


def run(args: argparse.Namespace) -> int:
    return run_with_execution(args, _run)
