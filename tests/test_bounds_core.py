"""The Theorem machinery: derivations agree with the claimed closed forms, numbers agree with sympy,
invalid constants give an explicit 'not applicable', and wrong claims are caught."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import sympy as sp

import bounds
from bounds import symbols as S
from bounds.core import METRICS, BoundValue, Theorem

ALL = list(bounds.CATALOG)
WITH_CONTROLS = [tid for tid, t in bounds.CATALOG.items() if t.controls]

REQUIRED = [
    "S1.lemma_a",
    "S1.lemma_b",
    "S1.lemma_c",
    "S1.NS.cubic",
    "S1.NS.quintic",
    "S1.I1.step",
    "S1.I1",
    "S1.I2.descent",
    "S1.I2.step",
    "S1.I2.sum",
    "S1.I3.error",
    "S1.I3",
    "S1.I4",
    "S1.I4.opt",
    "S2.D",
    "S2.star",
    "S2.E.Muon",
    "S2.E.MVR1",
    "S2.E.MVR2",
    "S2.N1",
    "S2.N1.MVR1",
    "S2.N2",
    "S2.P1",
    "S2.P1.MVR2",
    "S2.P2",
    "S2.P2.MVR1",
    "S2.P2.MVR2",
    "S3.L1",
    "S3.L1.radius",
    "S3.S",
    "S3.L2",
    "S3.L3",
    "S4.muon.threshold",
    "S4.muon.isotropic",
    "S4.gd.threshold",
    "S4.gd.stability",
    "S4.muon.spectral_model",
    "S4.gd.spectral_model",
    "S4.kron",
]


def test_catalog_covers_the_required_results_with_complete_records():
    assert set(REQUIRED) <= set(bounds.CATALOG)
    for tid, thm in bounds.CATALOG.items():
        assert thm.id == tid and bounds.get(tid) is thm
        assert thm.metric in METRICS
        assert "lab" in thm.source  # every explicit bound is ours, and says so
        assert len(thm.proof_sketch) > 40 and thm.reference and thm.algorithm
        for sym in thm.assumptions:
            assert sym.is_positive or sym.is_nonnegative, f"{tid}: {sym} has no domain"
    with pytest.raises(KeyError, match="unknown theorem"):
        bounds.get("S9.nothing")


@pytest.mark.parametrize("tid", ALL)
def test_every_claim_matches_its_sympy_derivation(tid):
    assert bounds.get(tid).verify() == []


@pytest.mark.parametrize("tid", WITH_CONTROLS)
def test_optimum_is_a_stationary_minimum(tid):
    thm = bounds.get(tid)
    assert thm.check_stationary()
    assert thm.check_second_order() in (True, None)  # None: the min-max step of S4.kron (checked in s4 tests)


def test_i1_optimum_by_hand_in_sympy():
    thm = bounds.get("S1.I1")
    t_star = thm.optimum[S.t]
    first = sp.diff(thm.expr, S.t).subs(S.t, t_star)
    second = sp.diff(thm.expr, S.t, 2).subs(S.t, t_star)
    u = sp.Symbol("u", positive=True)  # delta = u/(1+u) in [0, 1)
    D = sp.Symbol("D", positive=True)  # Delta0 > 0 (t* = 0 when Delta0 = 0)
    assert sp.simplify(first) == 0
    assert sp.simplify(second.subs({S.delta: u / (1 + u), S.Delta0: D})).is_positive


@pytest.mark.parametrize(
    "tid, exponent",
    [
        ("S1.I1", sp.Rational(-1, 2)),
        ("S1.I3", sp.Rational(-1, 4)),
        ("S1.I4.opt", sp.Rational(-1, 3)),
        ("S2.N1", sp.Rational(-1, 4)),
        ("S2.N1.MVR1", sp.Rational(-1, 4)),
        ("S2.N2", sp.Rational(-1, 3)),
        ("S2.P1", sp.Rational(-1, 4)),
        ("S2.P1.MVR2", sp.Rational(-1, 3)),
        ("S2.P2.MVR1", sp.Rational(-1, 4)),
        ("S2.P2.MVR2", sp.Rational(-1, 3)),
        ("S3.L3", sp.Rational(-1, 2)),
    ],
)
def test_rate_exponents(tid, exponent):
    assert bounds.get(tid).rate == exponent


def test_delta_zero_gives_the_exact_oracle_statements():
    L, t, D0, K, a, rho, sig = S.L, S.t, S.Delta0, S.K, S.alpha, S.rho, S.sigma
    i1 = bounds.get("S1.I1")
    assert sp.simplify(i1.expr.subs(S.delta, 0) - (D0 / (t * K) + L * t / 2)) == 0
    assert sp.simplify(i1.optimum[t].subs(S.delta, 0) - sp.sqrt(2 * D0 / (L * K))) == 0
    i3 = bounds.get("S1.I3")
    exact = (
        D0 / (t * K)
        + 2 * rho * sig / (a * K)
        + 2 * L * t * (1 - a) / a
        + 2 * rho * sig * sp.sqrt(a)
        + L * t / 2
    )
    assert sp.simplify(i3.expr.subs(S.delta, 0) - exact) == 0
    assert sp.simplify(bounds.get("S1.I2.sum").expr.subs(S.delta, 0) - 2 * D0) == 0
    d = bounds.get("S2.D.inexact").expr.subs(S.delta, 0) - bounds.get("S2.D").expr
    assert sp.simplify(d) == 0


def test_degradation_factors():
    d = S.delta
    assert sp.simplify(bounds.get("S1.I1").degradation - (1 + d) / (1 - d)) == 0
    assert sp.simplify(bounds.get("S1.I2.sum").degradation - ((1 + d) / (1 - d)) ** 2) == 0
    assert sp.simplify(bounds.get("S1.I3").degradation - (1 + d) ** sp.Rational(1, 4) / (1 - d)) == 0


@pytest.mark.parametrize("tid", ["S1.I3", "S1.I4.opt"])
def test_lower_precision_needs_smaller_step_and_larger_alpha(tid):
    thm = bounds.get(tid)
    trends = thm.derived_trends
    step = "t_opt" if "t_opt" in trends else "t_i_opt"
    assert trends[step] == "decreasing in delta"
    assert trends["alpha_opt"] == "increasing in delta"
    assert trends["beta_opt"] == "decreasing in delta"
    # the same directions numerically, straight from the closed forms
    d = np.linspace(0.0, 0.9, 10)
    vals = (
        dict(L=1.0, Delta0=1.0, K=1e4, rho=1.0, sigma=1.0)
        if tid == "S1.I3"
        else dict(K=1e4, Delta0=1.0, S=1.0, L1_i=1.0)
    )
    opt = thm.optimal_controls(**vals, delta=d)
    assert all(v.all_applicable for v in opt.values())
    alpha = opt["alpha"].value
    step_values = opt["t" if "t" in opt else "t_i"].value
    assert np.all(np.diff(alpha) > 0) and np.all(np.diff(step_values) < 0)


@pytest.mark.parametrize("tid", ALL)
def test_lambdified_values_agree_with_sympy_evalf(tid):
    thm = bounds.get(tid)
    pts = thm.sample_constants(np.random.default_rng(11), 4)
    full = thm.full_expr()
    layer = {s.name for s in thm.layer_symbols}  # one layer per sample: a trailing layer axis of length 1
    values = thm.evaluate(**{k: (v[:, None] if k in layer else v) for k, v in pts.items()})
    assert values.all_applicable, values.reasons
    for j in range(4):
        point = {thm.symbols[k]: sp.Float(v[j], 30) for k, v in pts.items()}
        exact = float(full.xreplace(point).evalf(30))  # direct substitution, 30-digit evaluation
        assert values.value[j] == pytest.approx(exact, rel=1e-10, abs=1e-12)


def test_evaluate_broadcasts_and_batched_equals_one_by_one():
    thm = bounds.get("S1.I3")
    K = np.array([10.0, 100.0, 1000.0])[:, None]
    delta = np.array([0.0, 0.3, 0.6, 0.9])
    batch = thm.evaluate(L=2.0, t=0.01, alpha=0.1, Delta0=3.0, K=K, rho=2.0, sigma=0.5, delta=delta)
    assert batch.value.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            one = thm.evaluate(
                L=2.0, t=0.01, alpha=0.1, Delta0=3.0, K=K[i, 0], rho=2.0, sigma=0.5, delta=delta[j]
            )
            assert one.value == batch.value[i, j]


def test_beta_is_accepted_for_alpha():
    thm = bounds.get("S1.I3")
    a = thm.evaluate(L=2.0, t=0.01, alpha=0.05, Delta0=3.0, K=100, rho=2.0, sigma=0.5, delta=0.2)
    b = thm.evaluate(L=2.0, t=0.01, beta=0.95, Delta0=3.0, K=100, rho=2.0, sigma=0.5, delta=0.2)
    assert float(a) == pytest.approx(float(b), rel=1e-14)
    with pytest.raises(ValueError, match="alpha or beta"):
        thm.evaluate(L=2.0, t=0.01, alpha=0.05, beta=0.95, Delta0=3.0, K=100, rho=2.0, sigma=0.5, delta=0.2)


def test_per_layer_terms_are_summed_over_the_trailing_axis():
    thm = bounds.get("S1.I4")
    layers = dict(
        t_i=np.array([0.01, 0.02, 0.005]),
        rho_i=np.array([1.0, 2.0, 3.0]),
        sigma_i=np.array([0.1, 0.2, 0.3]),
        L0_i=np.array([0.0, 1.0, 0.5]),
        L1_i=np.array([1.0, 2.0, 0.5]),
    )
    common = dict(alpha=0.2, K=100.0, Delta0=1.0, delta=0.1)
    total = float(thm.evaluate(**common, **layers))
    global_part = 2 * 1.0 / (0.9 * 100.0)
    singles = [
        float(thm.evaluate(**common, **{k: v[i] for k, v in layers.items()})) - global_part for i in range(3)
    ]
    assert total == pytest.approx(global_part + sum(singles), rel=1e-13)


def test_invalid_constants_are_not_applicable_with_a_reason():
    i1 = bounds.get("S1.I1")
    res = i1.evaluate(L=[1.0, -1.0, 1.0, 1.0], t=0.1, Delta0=1.0, K=100, delta=[0.2, 0.2, 1.0, np.nan])
    assert res.applicable.tolist() == [True, False, False, False]
    assert np.isfinite(res.value[0]) and np.all(np.isnan(res.value[1:]))
    assert "L > 0" in res.reason[1] and "delta < 1" in res.reason[2] and "delta >= 0" in res.reason[3]
    with pytest.raises(ValueError, match="does not apply"):
        res.require()
    with pytest.raises(ValueError, match="delta < 1"):
        float(i1.evaluate(L=1.0, t=0.1, Delta0=1.0, K=100, delta=1.5))
    assert "not applicable" in repr(i1.evaluate(L=1.0, t=0.1, Delta0=1.0, K=100, delta=1.5))

    i4 = bounds.get("S1.I4")  # step above the cap (1 - delta) alpha / (4 L1 (1 + delta)) in one layer
    res = i4.evaluate(
        alpha=0.5, K=100, Delta0=1.0, delta=0.1, t_i=[0.01, 0.2], rho_i=1.0, sigma_i=0.1, L0_i=0.0, L1_i=1.0
    )
    assert not res.all_applicable and "4*L1_i*t_i*(delta + 1) <= alpha*(1 - delta)" in res.reasons[0]

    n1 = bounds.get("S2.N1")  # c_a at or below sqrt(2) - 1: the closed form is not derived there
    res = n1.evaluate(Delta0=1.0, r=4, eta0=0.1, L=1.0, sigma=1.0, c_a=[1.0, 0.4], T=100)
    assert res.applicable.tolist() == [True, False] and "c_a" in res.reason[1]

    p2 = bounds.get("S2.P2.MVR2")  # c eta0 must lie in (1/3, 1]
    kw = dict(Delta0=1.0, r=4, L=1.0, L_ms=1.0, sigma=1.0, c_a=1.0, T=100, mu=0.5, G=1.0)
    res = p2.evaluate(**kw, eta0=[0.2, 0.5, 1.5])
    assert res.applicable.tolist() == [False, True, False]


def test_optimum_outside_its_validity_is_flagged():
    i3 = bounds.get("S1.I3")  # alpha* > 1 when sigma is tiny: the closed-form optimum does not apply
    opt = i3.optimal_controls(L=1.0, Delta0=1.0, K=10.0, rho=1.0, sigma=[1e-3, 1.0], delta=0.2)
    assert opt["alpha"].applicable.tolist() == [False, True]
    assert "alpha <= 1 at the optimum" in opt["alpha"].reason[0]


def test_bound_at_the_optimum_is_the_closed_form():
    i1 = bounds.get("S1.I1")
    L, D0, K, d = 3.0, 2.0, np.array([10.0, 1e3, 1e5]), 0.4
    got = i1.evaluate_at_optimum(L=L, Delta0=D0, K=K, delta=d).require()
    assert np.allclose(got, (1 + d) / (1 - d) * np.sqrt(2 * L * D0 / K), rtol=1e-13)


def test_bad_names_raise():
    i1 = bounds.get("S1.I1")
    with pytest.raises(ValueError, match="unknown constants"):
        i1.evaluate(L=1.0, t=0.1, Delta0=1.0, K=100, delta=0.1, Lipschitz=2.0)
    with pytest.raises(ValueError, match="missing constants"):
        i1.evaluate(L=1.0, t=0.1, Delta0=1.0, K=100)
    with pytest.raises(ValueError, match="metric must be one of"):
        dataclasses.replace(i1, metric="loss")


def test_wrong_claims_are_caught():
    """Mutation tests on the claims: each typed-in constant that is off is reported."""
    i1 = bounds.get("S1.I1")
    d, L, D0, K = S.delta, S.L, S.Delta0, S.K
    mutants = {
        "t_opt": 2 * i1.claims["t_opt"],  # t* doubled
        "value_at_opt": i1.claims["value_at_opt"] / 2,  # bound at t* understated
        "degradation": 1 / (1 - d),  # degradation without the (1 + delta)
        "rate": sp.Rational(-1, 4),
        "delta0": D0 / (S.t * K) + L * S.t,  # exact-oracle statement with 2x the quadratic term
    }
    for key, wrong in mutants.items():
        mutant = dataclasses.replace(i1, claims={**i1.claims, key: wrong})
        assert any(key.split("_")[0] in p for p in mutant.verify()), key
    flipped = dataclasses.replace(bounds.get("S1.I3"), trends={"alpha_opt": "decreasing in delta"})
    assert flipped.verify() and "trend alpha_opt" in flipped.verify()[0]


def test_an_understated_bound_changes_the_derivation_and_is_caught():
    i1 = bounds.get("S1.I1")
    understated = dataclasses.replace(i1, expr=i1.expr.subs(S.L, S.L / 4))  # quadratic term 4x too small
    assert understated.optimum[S.t] != i1.optimum[S.t]
    assert any("t_opt" in p for p in understated.verify())


def test_presentation():
    i1 = bounds.get("S1.I1")
    assert r"\le" in i1.latex() and r"\delta < 1" in i1.latex()
    assert "[S1.I1]" in str(i1) and "avg_grad_dual <=" in str(i1)
    record = i1.to_dict()
    assert record["rate"] == "-1/2" and record["derived_trends"] == {"t_opt": "decreasing in delta"}
    assert "sum_i" in bounds.get("S1.I4").statement()


def test_boundvalue_helpers():
    bv = BoundValue(
        "x", np.array([1.0, np.nan]), np.array([True, False]), np.array(["", "bad"], dtype=object)
    )
    assert bv.reasons == ["bad"] and not bv.all_applicable
    assert bv.masked().mask.tolist() == [False, True]
    with pytest.raises(TypeError):
        float(bv)


def test_theorem_requires_declared_symbols():
    with pytest.raises(ValueError, match="not declared"):
        Theorem(
            id="x",
            title="x",
            source="lab",
            algorithm="x",
            parametrisation={},
            assumptions=(S.L,),
            conditions=(),
            metric="one_step_change",
            expr=S.L * S.t,
            reference="x",
            proof_sketch="x",
            example={"L": 1.0},
        )
