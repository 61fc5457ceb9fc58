"""What is specific to the s1 layerwise checks and experiments (option validation, reported details).

That each check holds in its quick and full versions and catches its planted bugs is tested for
every check at once in tests/test_checks_conformance.py.
"""

from __future__ import annotations

import pytest


def test_bad_mutation_is_rejected():
    from lab.experiments import get_experiment

    with pytest.raises(ValueError, match="mutation must be"):
        get_experiment("s1_i2")(quick=True, mutation="flip_sign")
    with pytest.raises(ValueError, match="quick must be"):
        get_experiment("s1_i4")(quick="yes")
