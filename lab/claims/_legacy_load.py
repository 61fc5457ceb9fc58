"""Import every claim module of :mod:`lab.claims` (registering its experiments and checks).

Used by the loaders of :mod:`lab.checks` and :mod:`lab.experiments` until the registries move into
the claims package.  Private modules (``_name``) hold shared helpers and register nothing.
"""

from __future__ import annotations

import importlib
import pkgutil

import lab.claims


def import_claim_modules() -> None:
    """Import every public module under :mod:`lab.claims`, depth first, in name order."""
    for info in pkgutil.walk_packages(lab.claims.__path__, prefix="lab.claims."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            importlib.import_module(info.name)
