r"""``lab appendix``: write the LaTeX appendix into ``build/appendix/`` (and the PDF with TeX).

    lab appendix                       # sources + appendix.pdf when latexmk/pdflatex is installed
    lab appendix --no-pdf              # sources only
    lab appendix --verdicts FILE       # another verdicts JSON (default build/check/verdicts.json)
    lab appendix --fragments DIR       # also: one \input-able file per theorem and table + preamble.tex
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lab.checks import load_all
from lab.preflight import writable_dir
from lab.report.paths import DEFAULT_FIGURES, DEFAULT_OUT
from lab.verdicts import DEFAULT_VERDICTS
from lab.verdicts import load_legacy_rows as load_verdicts


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "appendix",
        help="write the LaTeX appendix (theorems, verdicts, figures) into build/appendix/",
        description="Write build/appendix/ (appendix.tex and fragments); the PDF too when TeX is installed.",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (build/appendix/)")
    parser.add_argument(
        "--verdicts", type=Path, default=DEFAULT_VERDICTS, help="verdicts JSON (build/check/verdicts.json)"
    )
    parser.add_argument("--figures", type=Path, default=DEFAULT_FIGURES, help="figure folder (figures/out/)")
    parser.add_argument(
        "--fragments",
        type=Path,
        default=None,
        metavar="DIR",
        help="also write the fragments for a paper into DIR: theorems/<id>.tex, tables/<name>.tex and "
        "preamble.tex (the packages and macros they need)",
    )
    pdf = parser.add_mutually_exclusive_group()
    pdf.add_argument("--pdf", dest="pdf", action="store_true", default=None, help="require the PDF")
    pdf.add_argument("--no-pdf", dest="pdf", action="store_false", help="write the sources only")
    parser.set_defaults(func=run)


def missing_verdicts(path: Path) -> list[str]:
    """What the verdicts file lacks: no file, or the registered checks with no row in it."""
    try:
        rows = load_verdicts(path)
    except ValueError:
        return []  # build_appendix has already reported an unreadable file
    if rows is None:
        return [f"no verdicts file {path}: every verdict reads 'not run yet' (run `lab check` first)"]
    seen = set()
    for row in rows:
        try:
            seen.add(json.loads(row.get("details") or "{}").get("check"))
        except (TypeError, ValueError, AttributeError):
            pass
        seen.add(str(row["claim"]).split("[", 1)[0].strip())
    missing = [cid for cid in load_all() if cid not in seen]
    if not missing:
        return []
    return [
        f"{path} has no verdict for {len(missing)} check(s): {', '.join(missing)}; they read "
        f"'not run' (fill them with `lab check --only {missing[0]} ...`, or run `lab check`)"
    ]


def run(args: argparse.Namespace) -> int:
    from lab.report.build import build_appendix  # lazy: sympy and the figures add ~1 s to the CLI start-up

    # Usage errors, before anything is written: a verdicts file named but absent or unreadable, an
    # output folder that cannot be created.  (The default verdicts file may be absent: the appendix
    # then says "not run yet", and a note says so.)
    try:
        if args.verdicts != DEFAULT_VERDICTS and not args.verdicts.is_file():
            raise ValueError(f"--verdicts: no such file {str(args.verdicts)!r}")
        try:
            load_verdicts(args.verdicts)
        except ValueError as exc:
            raise ValueError(f"--verdicts: {exc}") from None
        writable_dir(args.out, "--out")
    except ValueError as exc:
        print(f"lab appendix: error: {exc}", file=sys.stderr)
        return 2
    try:
        result = build_appendix(args.out, verdicts=args.verdicts, figures_dir=args.figures, pdf=args.pdf)
    except (ValueError, RuntimeError) as exc:
        print(f"lab appendix: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {result.tex} and {len(result.fragments)} fragments "
          f"({len(result.figures)} figures; verdicts {'found' if result.verdicts_found else 'not run yet'})")
    if args.fragments is not None:
        try:
            frag = build_appendix(args.fragments, verdicts=args.verdicts, figures_dir=args.figures, pdf=False)
        except (ValueError, RuntimeError) as exc:
            print(f"lab appendix: {exc}", file=sys.stderr)
            return 1
        print(f"wrote {len(frag.fragments)} fragments for a paper into {args.fragments} "
              f"(\\input {args.fragments / 'preamble.tex'} in its preamble)")
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    for note in missing_verdicts(args.verdicts):
        print(f"note: {note}", file=sys.stderr)
    if result.pdf is not None:
        print(f"built {result.pdf} ({result.pdf.stat().st_size / 1024:.0f} KiB)")
    else:
        print(f"no PDF: {result.pdf_skipped}")
    return 0
