"""Subcommands of ``lab``: one module each, with ``register(subparsers)``.

Shared here: the execution options (``--n-jobs``, ``--scheduler``) of the commands that run sweeps.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable


def add_execution_options(parser: argparse.ArgumentParser) -> None:
    """``--n-jobs`` and ``--scheduler``: where the sweeps of this command run (lab.sweeps.execution)."""
    parser.add_argument(
        "-j",
        "--n-jobs",
        type=int,
        default=None,
        help="local worker processes for the sweeps (-1: all cores; default 1)",
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run the sweeps on a Dask cluster: 'tcp://host:8786', or 'local' to start a LocalCluster",
    )


def run_with_execution(args: argparse.Namespace, body: Callable[[argparse.Namespace], int]) -> int:
    """Validate --n-jobs/--scheduler (exit 2 with the message), then run ``body`` inside that context."""
    from lab.sweeps import execution

    context = execution(n_jobs=args.n_jobs, scheduler=args.scheduler)
    try:
        context.__enter__()  # validates both options before any work
    except ValueError as exc:
        print(f"lab {args.command}: {exc}", file=sys.stderr)
        return 2
    try:
        return body(args)
    finally:
        context.__exit__(None, None, None)
