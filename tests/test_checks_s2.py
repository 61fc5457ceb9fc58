"""What is specific to the s2 checks and experiments (option validation, reported details).

That each check holds in its quick and full versions and catches its planted bugs is tested for
every check at once in tests/test_checks_conformance.py.
"""

from __future__ import annotations

import pytest


def test_bad_options_are_rejected():
    from lab.experiments import get_experiment

    with pytest.raises(ValueError, match="mutation must be one of"):
        get_experiment("s2_rates")(quick=True, mutation="typo")
    with pytest.raises(ValueError, match="quick must be True or False"):
        get_experiment("s2_pl")(quick="yes")
