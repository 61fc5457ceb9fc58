"""``lab figures``: build the paper's figures into ``figures/out/``.

    lab figures                      # every figure but the real-data ones
    lab figures --real               # the real-data figures (torch extra; make real)
    lab figures fig01 fig03          # some (names or figNN aliases)
    lab figures --list               # what there is
    lab figures --quick --out /tmp/f # reduced versions elsewhere
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from tqdm import tqdm

from lab.commands import add_execution_options, run_with_execution
from lab.preflight import writable_dir


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "figures",
        help="build figures into figures/out/",
        description="Build the figures (PDF + PNG) from cached experiment results, computing missing ones.",
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="names or figNN aliases (default: all)")
    parser.add_argument("--list", action="store_true", help="list the figures and exit")
    parser.add_argument("-o", "--out", type=Path, default=None, help="output folder (default figures/out/)")
    parser.add_argument("--quick", action="store_true", help="reduced versions (seconds; for tests)")
    parser.add_argument(
        "--real", action="store_true", help="the real-data figures (torch extra, minutes; make real)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--json", action="store_true", help="print what was written as JSON (figures, files, bytes, seconds)"
    )
    add_execution_options(parser)
    parser.set_defaults(func=run)


def _run(args: argparse.Namespace) -> int:
    from figures.registry import OUT_DIR, build, discover, resolve  # lazy: figures import the experiments

    registry = discover()
    if args.list and args.json:
        listing = [{"name": s.name, "caption": s.caption, "module": s.module} for s in registry.values()]
        print(json.dumps(listing, indent=1))
        return 0
    if args.list:
        width = max((len(name) for name in registry), default=0)
        for spec in registry.values():
            print(f"{spec.name:<{width}}  {spec.caption}")
        return 0
    if not args.names:
        # real-data figures (module attribute REAL) train networks for minutes: only with --real
        registry = {n: s for n, s in registry.items() if _is_real(s) == args.real}
    try:
        specs = resolve(args.names, registry)
    except ValueError as exc:
        print(f"lab figures: {exc}", file=sys.stderr)
        return 2
    out_dir = args.out or OUT_DIR
    try:
        writable_dir(out_dir, "--out")
    except ValueError as exc:
        print(f"lab figures: error: {exc}", file=sys.stderr)
        return 2

    results, failed = [], []
    bar = tqdm(specs, unit="figure", disable=args.no_progress or args.json, file=sys.stderr, leave=False)
    for spec in bar:
        bar.set_description(spec.name)
        try:
            results.append(build(spec, out_dir, quick=args.quick))
        except Exception as exc:  # noqa: BLE001 - reported; the other figures are still built (exit 3)
            failed.append(spec.name)
            print(f"lab figures: {spec.name}: error: {type(exc).__name__}: {exc}", file=sys.stderr)
    bar.close()

    if args.json:
        print(json.dumps({
            "out_dir": str(out_dir),
            "figures": [
                {"name": r.name, "seconds": round(r.seconds, 3),
                 "files": [{"path": str(p), "bytes": p.stat().st_size} for p in r.paths]}
                for r in results
            ],
            "failed": failed,
        }, indent=1))
        return 3 if failed else 0
    print(f"wrote {sum(len(r.paths) for r in results)} files for {len(results)} figure(s) into {out_dir}")
    for result in results:
        for path in result.paths:
            print(f"  {_display(path)}  {path.stat().st_size / 1024:8.1f} KiB")
        print(f"  {result.name}: {result.seconds:.1f} s")
    print(f"total {sum(r.seconds for r in results):.1f} s")
    if failed:
        print(f"lab figures: {len(failed)} figure(s) raised: {', '.join(failed)}", file=sys.stderr)
        return 3
    return 0


def _is_real(spec) -> bool:
    return bool(getattr(importlib.import_module(spec.module), "REAL", False))


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def run(args: argparse.Namespace) -> int:
    return run_with_execution(args, _run)
