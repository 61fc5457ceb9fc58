"""What is specific to the s3 sharp checks and experiments (option validation, reported details).

That each check holds in its quick and full versions and catches its planted bugs is tested for
every check at once in tests/test_checks_conformance.py.
"""

from __future__ import annotations

import pytest


def test_bad_options_are_rejected():
    from lab.experiments import get_experiment

    with pytest.raises(ValueError, match="mutation must be one of"):
        get_experiment("s3_sharp")(quick=True, mutation="understate_constant")
    with pytest.raises(ValueError, match="unknown options"):
        get_experiment("s3_sharp")(quick=True, steps=3)
