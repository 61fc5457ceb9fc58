"""``lab bounds``: print the symbolic bounds catalog.

Every theorem with its source, metric, bound, validity conditions, rate exponent (derived by sympy),
optimal hyperparameters, degradation in δ and predicted trends.  ``--latex`` prints LaTeX,
``--json`` machine-readable records, ``--verify`` re-derives every closed form and exits 1 on a
mismatch.
"""

from __future__ import annotations

import json
import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "bounds",
        help="print the symbolic bounds catalog (S1-S4 theorems)",
        description="Print every theorem of the bounds catalog with its source, metric, rate and "
        "predicted trends.",
    )
    parser.add_argument(
        "ids",
        nargs="*",
        metavar="ID",
        help="theorem ids (exact) or id prefixes, e.g. S1.I1 or S2 (default: all)",
    )
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--latex", action="store_true", help="print each statement in LaTeX")
    fmt.add_argument("--json", action="store_true", help="print a JSON list of theorem records")
    parser.add_argument(
        "--no-derive", action="store_true", help="skip the sympy derivations (rate, optimum, trends): faster"
    )
    parser.add_argument(
        "--verify",
        action="store_true",
        help="compare every claimed closed form with its derivation; exit 1 on a mismatch",
    )
    parser.set_defaults(func=run)


def _select(catalog: dict, ids: list[str]) -> list:
    if not ids:
        return list(catalog.values())
    chosen = []
    for key in ids:  # an exact id selects that theorem; otherwise the id is a prefix ("S2", "S1.I2")
        hits = (
            [catalog[key]]
            if key in catalog
            else [t for tid, t in catalog.items() if tid.startswith(key + ".")]
        )
        if not hits:
            raise KeyError(key)
        chosen.extend(t for t in hits if t not in chosen)
    return chosen


def _text(theorem, derive: bool) -> str:
    from bounds.core import METRICS  # lazy: sympy (bounds) adds ~0.8 s to the CLI start-up

    lines = [
        f"[{theorem.id}] {theorem.title}",
        f"  source:     {theorem.source}",
        f"  algorithm:  {theorem.algorithm}",
        f"  metric:     {theorem.metric} — {METRICS[theorem.metric]}",
        f"  bound:      {theorem.statement()}",
    ]
    if theorem.conditions:
        lines.append("  conditions: " + ", ".join(str(c) for c in theorem.conditions))
    for key, value in theorem.parametrisation.items():
        lines.append(f"  {key + ':':<11} {value}")
    if derive:
        if theorem.rate is not None:
            lines.append(f"  rate:       {theorem.horizon}^({theorem.rate})")
        for control, value in theorem.optimum.items():
            shown = theorem.claims.get(f"{control.name}_opt", value)  # the claim's tidy form (verified equal)
            lines.append(f"  optimum:    {control.name}* = {shown}")
        if theorem.controls:
            lines.append(f"  at optimum: {theorem.claims.get('value_at_opt', theorem.value_at_optimum)}")
        if theorem.degradation is not None:
            lines.append(
                f"  degradation vs delta = 0: {theorem.claims.get('degradation', theorem.degradation)}"
            )
        for key, value in theorem.derived_trends.items():
            predicted = theorem.trends.get(key)
            tag = (
                ""
                if predicted is None
                else (" (as predicted)" if predicted == value else f" (PREDICTED {predicted})")
            )
            lines.append(f"  trend:      {key} {value}{tag}")
    elif theorem.trends:
        lines.append("  predicted trends: " + ", ".join(f"{k} {v}" for k, v in theorem.trends.items()))
    if theorem.notes:
        lines.append(f"  note:       {theorem.notes}")
    return "\n".join(lines)


def run(args) -> int:
    from bounds import CATALOG  # lazy: sympy (bounds) adds ~0.8 s to the CLI start-up

    try:
        theorems = _select(CATALOG, args.ids)
    except KeyError as exc:
        print(f"lab bounds: unknown theorem id {exc.args[0]!r}; known: {', '.join(CATALOG)}", file=sys.stderr)
        return 2
    derive = not args.no_derive
    status = 0
    if args.verify:
        for theorem in theorems:
            problems = theorem.verify()
            for p in problems:
                print(f"MISMATCH {p}", file=sys.stderr)
            status |= bool(problems)
    if args.json:
        print(json.dumps([t.to_dict(derived=derive) for t in theorems], indent=2, ensure_ascii=False))
    elif args.latex:
        for t in theorems:
            print(f"% [{t.id}] {t.title} — {t.source}")
            print(t.latex())
            print()
    else:
        print("\n\n".join(_text(t, derive) for t in theorems))
    if args.verify and not status:
        print(f"verified: {len(theorems)} theorems, every claim matches its derivation", file=sys.stderr)
    return int(status)
