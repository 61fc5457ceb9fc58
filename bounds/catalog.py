"""The catalog: every theorem of S1–S4 by id.

``CATALOG`` maps ids ("S1.I1", "S2.N2", ...) to :class:`bounds.core.Theorem` objects; building it is
cheap (sympy expressions only) — the derivations (optimum, rate, trends) run lazily on first use and
are cached.
"""

from __future__ import annotations

from bounds import s1, s2, s3, s4, x
from bounds.core import Theorem

BUILDERS = (*s1.BUILDERS, *s2.BUILDERS, *s3.BUILDERS, *s4.BUILDERS, *x.BUILDERS)


def build() -> dict[str, Theorem]:
    catalog: dict[str, Theorem] = {}
    for builder in BUILDERS:
        theorem = builder()
        if theorem.id in catalog:
            raise ValueError(f"duplicate theorem id {theorem.id!r}")
        catalog[theorem.id] = theorem
    return catalog


CATALOG: dict[str, Theorem] = build()


def get(theorem_id: str) -> Theorem:
    """The theorem with this id (KeyError listing the known ids otherwise)."""
    try:
        return CATALOG[theorem_id]
    except KeyError:
        raise KeyError(f"unknown theorem {theorem_id!r}; known: {', '.join(CATALOG)}") from None
