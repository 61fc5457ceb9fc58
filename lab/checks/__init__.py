"""Checks: each claim's experiment judged against its bound (the registry is :mod:`lab.claims.registry`).

Kept so that ``lab.checks.check``, ``get_check``, ``CHECKS`` and the section modules of the
earlier layout keep working; a check id may be given in its old spelling (``S1-I1``).
"""

from lab.claims.registry import (  # noqa: F401 - re-exported
    CHECKS,
    MUTATIONS,
    SOURCES,
    Check,
    check,
    get_check,
    ledger,
    load_all,
    run_checks,
    select,
)

__all__ = [
    "Check", "CHECKS", "MUTATIONS", "SOURCES", "check", "load_all", "get_check", "run_checks", "ledger",
    "select",
]
