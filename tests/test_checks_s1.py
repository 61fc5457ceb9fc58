"""What is specific to the s1 checks and experiments (option validation, reported details).

That each check holds in its quick and full versions and catches its planted bugs is tested for
every check at once in tests/test_checks_conformance.py.
"""

from __future__ import annotations

import pytest

import lab.checks as checks
from lab.claims.inexact_lmo.i1 import s1_i1


def test_bound_checks_report_where():
    (avg, _) = checks.get_check("S1-I1").run(quick=True)
    assert set(avg.details["where"]) == {"kind", "delta", "t", "seed", "K"}
    assert 0 < avg.worst_ratio <= 1


def test_bad_mutation_rejected():
    with pytest.raises(ValueError, match="mutation must be one of"):
        s1_i1(quick=True, mutation="flip_momentum")
