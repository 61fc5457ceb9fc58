"""The ``lab`` command line.

Each subcommand lives in its own module under :mod:`lab.commands` and exposes
``register(subparsers)``, which adds a parser whose ``func`` default takes the parsed
arguments and returns an exit code.  New subcommands need no change here.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from importlib.metadata import PackageNotFoundError, version

import lab.commands
from lab.backend import tune_allocator
from lab.sweeps import show_progress

EXIT_STATUS = """\
exit status:
  0  every expectation met
  1  a verdict broke its expectation (a bound or predicted trend violated; a planted bug not caught)
  2  usage or environment error (bad option, unusable cache directory or scheduler), before any work
  3  an experiment raised; its rows say 'error'
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lab",
        description="Theory-verification laboratory for Muon-type (LMO-based) optimizers.",
        epilog=EXIT_STATUS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    level = parser.add_mutually_exclusive_group()
    level.add_argument(
        "-v", "--verbose", action="count", default=0,
        help="more messages on stderr (-v: what each sweep loads and computes; -vv: debug)",
    )
    level.add_argument("-q", "--quiet", action="store_true", help="only errors on stderr, no progress bars")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(lab.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"lab.commands.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def _configure_output(args: argparse.Namespace) -> None:
    """Logging level and progress bars from -q / -v (messages go to stderr; results to stdout)."""
    levels = (logging.WARNING, logging.INFO, logging.DEBUG)
    level = logging.ERROR if args.quiet else levels[min(args.verbose, 2)]
    logging.basicConfig(level=level, format="lab: %(message)s", stream=sys.stderr, force=True)
    show_progress(not args.quiet and sys.stderr.isatty())


def _version() -> str:
    try:
        return version("muon-lab")
    except PackageNotFoundError:  # running from a source tree without installation
        return "0+unknown"


def main(argv: list[str] | None = None) -> int:
    tune_allocator()  # reuse freed multi-MiB array buffers (see its docstring); results unchanged
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_output(args)
    if not getattr(args, "func", None):
        parser.print_usage(sys.stderr)
        print("lab: error: a COMMAND is required (lab --help lists them)", file=sys.stderr)
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
