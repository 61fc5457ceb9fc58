"""S1 layer-wise checks (lab/checks/s1_layerwise.py): quick versions hold, declared mutations fail.

The bound checks (S1-I2, S1-L0L1-estimate) compare measured descent / secant curvatures with bounds
from the certified constants of the separable quartic problem; each declared planted bug must turn
at least one verdict to "violated".  S1-NS-lr-shift reports a measured direction: on this analogue
the cubic preset's optimum moves the *other* way (NS with Frobenius normalisation shrinks the step,
THEORY §1.3), so the test only requires a decisive verdict that the wrong-direction mutation flips.
"""

from __future__ import annotations

import pytest

from lab.checks import get_check

BOUND_CHECKS = ("S1-I2", "S1-I2-agnostic", "S1-L0L1-estimate", "S1-I4", "S1-I4-trend")


def _verdicts(cid, quick=True, mutation=None):
    return [v.verdict for v in get_check(cid).run(quick=quick, mutation=mutation)]


@pytest.mark.parametrize("cid", BOUND_CHECKS)
def test_quick_check_holds(cid):
    assert _verdicts(cid) and all(v == "holds" for v in _verdicts(cid)), cid


@pytest.mark.parametrize("cid", BOUND_CHECKS)
def test_declared_mutations_fail(cid):
    for mutation in get_check(cid).mutations:
        assert "violated" in _verdicts(cid, mutation=mutation), (cid, mutation)


def test_ns_lr_shift_is_decisive_and_mutation_flips_it():
    c = get_check("S1-NS-lr-shift")
    plain = {v.claim: v.verdict for v in c.run(quick=True)}
    mutated = {v.claim: v.verdict for v in c.run(quick=True, mutation="wrong_exponent")}
    decisive = [k for k, v in plain.items() if v != "inconclusive"]
    assert decisive, plain
    flip = {"holds": "violated", "violated": "holds"}
    assert all(mutated[k] == flip[plain[k]] for k in decisive), (plain, mutated)


def test_bad_mutation_is_rejected():
    from lab.experiments import get_experiment

    with pytest.raises(ValueError, match="mutation must be"):
        get_experiment("s1_i2")(quick=True, mutation="flip_sign")
    with pytest.raises(ValueError, match="quick must be"):
        get_experiment("s1_i4")(quick="yes")


@pytest.mark.slow
@pytest.mark.parametrize("cid", BOUND_CHECKS)
def test_full_check_holds(cid):
    assert all(v == "holds" for v in _verdicts(cid, quick=False)), cid


@pytest.mark.slow
@pytest.mark.parametrize("cid", BOUND_CHECKS)
def test_full_declared_mutations_fail(cid):
    for mutation in get_check(cid).mutations:
        assert "violated" in _verdicts(cid, quick=False, mutation=mutation), (cid, mutation)
