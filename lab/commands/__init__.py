"""Subcommands of ``lab``: one module each, with ``register(subparsers)``.

Shared here: the execution options (``--n-jobs``, ``--scheduler``) of the commands that run sweeps.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from lab.preflight import check_cache_dir, session_n_jobs, session_scheduler
from lab.sweeps import execution


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
    """Check the environment, then run ``body`` inside the execution context.

    Before any work: the cache directory must be writable, ``--n-jobs``/``$LAB_N_JOBS`` and
    ``--scheduler``/``$LAB_SCHEDULER`` valid, and the scheduler reachable; otherwise the error is
    printed with the parameter's name and the exit status is 2.
    """
    try:
        check_cache_dir()
        n_jobs = session_n_jobs(args.n_jobs)
        scheduler, origin = session_scheduler(args.scheduler)
    except ValueError as exc:
        print(f"lab {args.command}: error: {exc}", file=sys.stderr)
        return 2
    context = execution(n_jobs=n_jobs, scheduler=scheduler)
    try:
        context.__enter__()  # validates both options and connects before any work
    except ValueError as exc:
        print(f"lab {args.command}: error: {origin}: {exc}", file=sys.stderr)
        return 2
    try:
        return body(args)
    finally:
        context.__exit__(None, None, None)
