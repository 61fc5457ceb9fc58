"""The oracle layer (lab.oracles; THEORY.md §1.3): contract, Lemma (a)(b)(c), batching, errors.

Lemma (δ-inexact LMO): ‖D(G) − lmo(G)‖ ≤ δ implies
  (a) ⟨G, D(G)⟩ ≤ −(1 − δ)‖G‖_*,  (b) ‖D(G)‖ ≤ 1 + δ,  (c) ⟨G, D(H)⟩ ≤ −(1 − δ)‖G‖_* + 2‖G − H‖_*.
Checked for every injected kind and norm (with equality where the theory says it is tight) and for
Newton–Schulz oracles with their *measured* δ.
"""

from __future__ import annotations

import numpy as np
import pytest

from lab.backend import namespace, to_numpy
from lab.norms import NORMS, get_norm, inner
from lab.oracles import KINDS, Oracle, exact_lmo, inexact_oracle, make_oracle, newton_schulz_oracle
from lab.orthogonalization import newton_schulz
from lab.random import RNG

DELTAS = (0.0, 0.1, 0.5, 0.9)
B, M, N = 6, 5, 4


def as_xp(xp, a, dtype="float64"):
    return xp.asarray(np.asarray(a), dtype=getattr(xp, dtype))


def rng_for(xp, batch_shape, *axes):
    seeds = np.arange(int(np.prod(batch_shape))).reshape(batch_shape)
    return RNG.from_seeds(seeds, "test-oracles", *axes, xp=xp)


def call(oracle, G, xp, *axes):
    return oracle(G, rng=rng_for(xp, tuple(G.shape[:-2]), *axes))


def lemma_terms(oracle, G, H, D_G, D_H):
    """NumPy pieces of (a), (b), (c): ((⟨G,D(G)⟩, −‖G‖_*), (‖D(G)‖, None), (⟨G,D(H)⟩, 2‖G−H‖_*)),
    so that (a) reads a_l ≤ (1−δ)a_r, (b) b_l ≤ 1+δ, (c) c_l ≤ (1−δ)a_r + c_r."""
    nm = oracle.norm
    a = (to_numpy(inner(G, D_G)), -to_numpy(nm.dual(G)))
    b = (to_numpy(nm.norm(D_G)), None)
    c = (to_numpy(inner(G, D_H)), 2 * to_numpy(nm.dual(G - H)))
    return a, b, c


# ----------------------------------------------------------------------------- Lemma (a)(b)(c)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", NORMS)
def test_lemma_for_injected_oracles(xp, dtype, kind, name, rng):
    tol = 1e-12 if dtype == "float64" else 2e-5
    G = as_xp(xp, rng.standard_normal((B, M, N)) * 3.0, dtype)
    H = G + as_xp(xp, 0.3 * rng.standard_normal((B, M, N)), dtype)
    for delta in DELTAS:
        o = inexact_oracle(get_norm(name, 1.5), delta, kind)
        assert o.guaranteed and o.norm == get_norm(name, 1.5)
        D_G, D_H = call(o, G, xp, "G"), call(o, H, xp, "H")
        assert namespace(D_G) is namespace(G) and D_G.dtype == G.dtype and D_G.shape == G.shape
        (a_l, a_r), (b_l, _), (c_l, c_r) = lemma_terms(o, G, H, D_G, D_H)
        scale = np.abs(a_r) + 1
        assert np.all(a_l <= (1 - delta) * a_r + tol * scale)
        assert np.all(b_l <= 1 + delta + tol)
        assert np.all(c_l <= (1 - delta) * a_r + c_r + tol * scale)
        d = o.diagnostics(G, D_G)
        assert np.all(to_numpy(d["delta"]) <= delta + tol)  # guaranteed: ‖D − lmo(G)‖ ≤ δ
        assert all(tuple(v.shape) == (B,) for v in d.values())
        # tightness where THEORY §1.3 says so
        if kind == "shrink":
            np.testing.assert_allclose(a_l, (1 - delta) * a_r, rtol=10 * tol)
        if kind in ("expand", "adversarial"):
            np.testing.assert_allclose(b_l, 1 + delta, rtol=10 * tol)
        # every injected kind uses the full budget: ‖D − lmo(G)‖ = δ
        np.testing.assert_allclose(to_numpy(d["delta"]), delta, atol=10 * tol)


@pytest.mark.parametrize(
    "coefficients,steps", [("jordan", 5), ("cubic", 3), ("polar_express", 5), ("quintic", 2)]
)
def test_lemma_with_measured_delta_for_newton_schulz(xp, coefficients, steps, rng):
    """NS oracles are not guaranteed; (a)(b) hold with δ = the measured ‖D − lmo(G)‖_op per member
    and (c) with the measured δ at H (only δ ≥ measured is assumed)."""
    o = newton_schulz_oracle(steps, coefficients)
    assert not o.guaranteed and o.norm == get_norm("spectral")
    G = as_xp(xp, rng.standard_normal((B, M, N)))
    H = G + as_xp(xp, 0.2 * rng.standard_normal((B, M, N)))
    D_G, D_H = o(G), o(H)
    dG, dH = to_numpy(o.diagnostics(G, D_G)["delta"]), to_numpy(o.diagnostics(H, D_H)["delta"])
    (a_l, a_r), (b_l, _), (c_l, c_r) = lemma_terms(o, G, H, D_G, D_H)
    tol = 1e-10
    assert np.all(a_l <= (1 - dG) * a_r + tol)
    assert np.all(b_l <= 1 + dG + tol)
    assert np.all(c_l <= (1 - dH) * a_r + c_r + tol)
    # D = −newton_schulz(G) exactly, diagnostics = the spectral ones
    np.testing.assert_array_equal(to_numpy(D_G), -to_numpy(newton_schulz(G, steps, coefficients)))
    _, sd = newton_schulz(G, steps, coefficients, return_diagnostics=True)
    np.testing.assert_allclose(dG, to_numpy(sd["delta_op"]), rtol=1e-10)
    np.testing.assert_allclose(
        to_numpy(o.diagnostics(G, D_G)["alignment"]), to_numpy(sd["alignment"]), rtol=1e-12
    )


def test_lemma_check_detects_a_violation(rng):
    """Mutation: a D of error 2δ (claimed δ) violates (a) for shrink-like and (b) for expand-like."""
    G = rng.standard_normal((B, M, N))
    delta = 0.2
    o_wrong = inexact_oracle("spectral", 2 * delta, "shrink")
    a_l = inner(G, o_wrong(G))
    assert np.all(a_l > -(1 - delta) * get_norm("spectral").dual(G) + 1e-3)
    o_wrong = inexact_oracle("spectral", 2 * delta, "expand")
    assert np.all(get_norm("spectral").norm(o_wrong(G)) > 1 + delta + 1e-3)


# ----------------------------------------------------------------------------- adversarial


def test_adversarial_closed_forms(rng):
    """Spectral: ⟨G, D⟩ = −(1−δ)‖G‖_* − 2δσ_r; max-type norms: the same with the smallest component;
    sum-type norms: −‖G‖_* + δ·(second component); Frobenius = expand."""
    G = rng.standard_normal((B, M, N))
    delta = 0.3
    S = np.linalg.svd(G, compute_uv=False)
    expected = {
        "spectral": -(1 - delta) * S.sum(-1) - 2 * delta * S[:, -1],
        "linf": -(1 - delta) * np.abs(G).sum((-2, -1)) - 2 * delta * np.abs(G).min((-2, -1)),
        "col_l2": -(1 - delta) * np.linalg.norm(G, axis=-2).sum(-1)
        - 2 * delta * np.linalg.norm(G, axis=-2).min(-1),
        "row_l2": -(1 - delta) * np.linalg.norm(G, axis=-1).sum(-1)
        - 2 * delta * np.linalg.norm(G, axis=-1).min(-1),
        "l1": -np.abs(G).max((-2, -1)) + delta * np.sort(np.abs(G).reshape(B, -1), -1)[:, -2],
        "nuclear": -S[:, 0] + delta * S[:, 1],
        "frobenius": -(1 + delta) * np.linalg.norm(G, axis=(-2, -1)),
    }
    for name, value in expected.items():
        D = inexact_oracle(name, delta, "adversarial")(G)
        np.testing.assert_allclose(inner(G, D), value, rtol=1e-12)


def test_adversarial_is_worst_among_full_length_perturbations(rng):
    """Spectral: every D = −UVᵀ + U M Vᵀ with ‖M‖ ≤ δ and ‖D‖ = 1 + δ (M = −δwwᵀ + P N P) has
    ⟨G, D⟩ ≤ ⟨G, D_adv⟩; linf: sampled full-length perturbations never exceed the closed form."""
    G = rng.standard_normal((M, N))
    delta = 0.25
    U, S, Vh = np.linalg.svd(G, full_matrices=False)
    adv = float(inner(G, inexact_oracle("spectral", delta, "adversarial")(G)))
    r = S.size
    for _ in range(500):
        w = rng.standard_normal(r)
        w /= np.linalg.norm(w)
        P = np.eye(r) - np.outer(w, w)
        Nm = rng.standard_normal((r, r))
        Nm *= delta / np.linalg.norm(Nm, 2)
        Mm = -delta * np.outer(w, w) + P @ Nm @ P
        D = -U @ Vh + U @ Mm @ Vh
        assert np.linalg.norm(D, 2) >= 1 + delta - 1e-12 and np.linalg.norm(D + U @ Vh, 2) <= delta + 1e-12
        assert float(inner(G, D)) <= adv + 1e-12
    adv_inf = float(inner(G, inexact_oracle("linf", delta, "adversarial")(G)))
    for _ in range(500):
        E = rng.uniform(-delta, delta, G.shape)
        k = np.unravel_index(rng.integers(G.size), G.shape)
        E[k] = delta * np.sign(G[k])  # lmo_k = −sign(G_k): this entry reaches |D_k| = 1 + δ
        assert float(inner(G, -np.sign(G) - E)) <= adv_inf + 1e-12


# ----------------------------------------------------------------------------- batching


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", ["spectral", "linf", "col_l2", "nuclear"])
def test_batched_equals_one_by_one_with_per_member_delta(xp, kind, name, rng):
    batch = (2, 3)
    G = as_xp(xp, rng.standard_normal(batch + (M, N)))
    deltas = np.array([[0.0, 0.1, 0.2], [0.5, 0.7, 0.95]])
    o = inexact_oracle(name, deltas, kind)
    r = rng_for(xp, batch, "batch")
    D = to_numpy(o(G, rng=r))
    for i in range(2):
        for j in range(3):
            oi = inexact_oracle(name, float(deltas[i, j]), kind)
            ri = RNG(r.keys[i, j], r.counter, r.tag)
            Di = to_numpy(oi(G[i, j, ...], rng=ri))
            np.testing.assert_allclose(Di, D[i, j], rtol=0, atol=1e-12)
    # δ broadcasting over a leading axis: shape (2, 1) against batch (2, 3)
    o2 = inexact_oracle(name, deltas[:, :1], kind)
    D2 = to_numpy(o2(G, rng=r))
    o3 = inexact_oracle(name, np.repeat(deltas[:, :1], 3, axis=1), kind)
    np.testing.assert_array_equal(D2, to_numpy(o3(G, rng=r)))


@pytest.mark.parametrize("spec", ["exact", "exact:linf", "ns:jordan:5", "ns:polar_express:3"])
def test_batched_equals_one_by_one_exact_and_ns(xp, spec, rng):
    o = make_oracle(spec)
    G = as_xp(xp, rng.standard_normal((4, 6, 3)))
    D = to_numpy(o(G))
    for i in range(4):
        np.testing.assert_allclose(to_numpy(o(G[i, ...])), D[i], rtol=0, atol=1e-12)


# ----------------------------------------------------------------------------- degenerate inputs


@pytest.mark.parametrize(
    "spec",
    [
        "exact",
        "exact:frobenius",
        "ns:jordan:5",
        {"kind": "expand", "delta": 0.2},
        {"kind": "adversarial", "delta": 0.2},
        {"kind": "shrink", "delta": 0.2},
    ],
)
def test_zero_input_gives_zero_and_alignment_one(spec):
    o = make_oracle(spec)
    Z = np.zeros((2, 3, 4))
    D = o(Z)
    assert np.all(D == 0)
    d = o.diagnostics(Z, D)
    np.testing.assert_array_equal(d["alignment"], 1.0)
    np.testing.assert_array_equal(d["delta"], 0.0)


def test_random_kind_at_zero_is_pure_error():
    o = inexact_oracle("spectral", 0.3, "random")
    Z = np.zeros((2, 3, 4))
    D = o(Z, rng=rng_for(np, (2,)))
    np.testing.assert_allclose(get_norm("spectral").norm(D), 0.3, rtol=1e-12)


@pytest.mark.parametrize(
    "spec",
    [
        "exact",
        "exact:nuclear",
        "ns:jordan:5",
        "ns:cubic:3",
        {"kind": "random", "delta": 0.1},
        {"kind": "adversarial", "delta": 0.1},
    ],
)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input_raises(xp, spec, bad):
    o = make_oracle(spec)
    G = np.ones((2, 3, 4))
    G[1, 2, 3] = bad
    with pytest.raises(ValueError, match="G contains NaN or Inf"):
        o(as_xp(xp, G), rng=rng_for(xp, (2,)))


def test_extreme_scales_and_shapes(rng):
    for spec in ["exact", "ns:jordan:5", {"kind": "adversarial", "delta": 0.3}]:
        o = make_oracle(spec)
        for shape in [(1, 6), (6, 1), (7, 3), (3, 7)]:
            G = rng.standard_normal(shape)
            with np.errstate(over="raise", invalid="raise", divide="raise"):
                D_big, D_small, D = o(G * 1e300), o(G * 1e-300), o(G)
            np.testing.assert_allclose(D_big, D, atol=1e-6)  # eps = 1e-7 of NS is scale-dependent
            assert np.all(np.isfinite(D_small))


# ----------------------------------------------------------------------------- construction, errors


def test_make_oracle_specs():
    assert make_oracle("exact").describe() == {
        "oracle": "exact",
        "guaranteed": True,
        "norm": "spectral",
        "scale": 1.0,
    }
    assert make_oracle("exact:frobenius").norm == get_norm("frobenius")
    o = make_oracle("ns:jordan:5")
    assert o.steps == 5 and o.coefficients == "jordan" and not o.guaranteed
    assert make_oracle("ns:cubic").steps == 5 and make_oracle("ns").coefficients == "jordan"
    o = make_oracle({"kind": "expand", "delta": 0.2, "norm": "spectral"})
    assert o.kind == "expand" and o.delta == 0.2 and o.guaranteed
    o = make_oracle({"ns": "cubic", "steps": 3})
    assert o.steps == 3 and o.coefficients == "cubic"
    o = make_oracle({"ns": "jordan", "steps": 4, "normalization": "spectral", "eps": 0.0})
    G = np.random.default_rng(0).standard_normal((5, 3))
    np.testing.assert_array_equal(o(G), -newton_schulz(G, 4, "jordan", normalization="spectral", eps=0.0))
    o = make_oracle("shrink:0.3:linf")
    assert o.kind == "shrink" and o.norm.name == "linf"
    o = make_oracle({"kind": "expand", "delta": 0.1, "base": "ns:cubic:2"})
    assert not o.guaranteed and o.describe()["base"] == "ns:cubic:2"
    o = make_oracle({"kind": "exact", "norm": "col_l2", "scale": 2.0})
    assert o.norm == get_norm("col_l2", 2.0)
    assert make_oracle(o) is o and isinstance(o, Oracle)
    d = make_oracle({"kind": "random", "delta": [0.1, 0.2]}).describe()
    assert d["delta"] == [0.1, 0.2] and d["kind"] == "random"


@pytest.mark.parametrize(
    "spec",
    [
        "bogus",
        "exact:bogus",
        "ns:bogus:5",
        "ns:jordan:-1",
        "expand",
        "expand:1.5",
        {"kind": "bogus"},
        {"kind": "expand"},
        {"kind": "exact", "extra": 1},
        {"ns": "jordan", "bogus": 1},
        3.0,
    ],
)
def test_make_oracle_rejects_bad_specs(spec):
    with pytest.raises(ValueError):
        make_oracle(spec)


def test_bad_arguments_name_the_parameter(rng):
    for bad in (-0.1, 1.0, 1.5, np.nan, [0.1, 1.2], []):
        with pytest.raises(ValueError, match="delta"):
            inexact_oracle("spectral", bad, "expand")
    with pytest.raises(ValueError, match="kind"):
        inexact_oracle("spectral", 0.1, "sideways")
    with pytest.raises(ValueError, match="adversarial"):
        inexact_oracle(newton_schulz_oracle(), 0.1, "adversarial")
    with pytest.raises(ValueError, match="steps"):
        newton_schulz_oracle(-1)
    with pytest.raises(ValueError, match="coefficients"):
        newton_schulz_oracle(5, [1.0, 2.0])
    with pytest.raises(ValueError, match="normalization"):
        newton_schulz_oracle(5, normalization="bogus")
    G = rng.standard_normal((3, 4, 5))
    o = inexact_oracle("spectral", 0.1, "random")
    with pytest.raises(ValueError, match="rng"):
        o(G)
    with pytest.raises(ValueError, match="rng"):
        o(G, rng=rng_for(np, (2,)))
    with pytest.raises(ValueError, match="delta"):
        inexact_oracle("spectral", np.full(4, 0.1), "expand")(G)
    for spec in ["exact", "ns:jordan:5", {"kind": "expand", "delta": 0.1}]:
        with pytest.raises(ValueError, match="G must be a matrix"):
            make_oracle(spec)(np.ones(5))
    with pytest.raises(ValueError, match="D must have the shape"):
        exact_lmo().diagnostics(G, G[..., :3])


@pytest.mark.parametrize("spec", ["ns:jordan:5", "exact:linf", "exact:frobenius", "exact:col_l2"])
def test_unchecked_oracles_keep_a_diverged_member_to_itself(xp, spec, rng):
    """check_finite=False (engines that mask diverged runs): NaN/Inf in one member gives NaN there
    only; the other members are bitwise what they are without the bad member."""
    o = make_oracle({**_spec_dict(spec), "check_finite": False})
    G = rng.standard_normal((3, 5, 4))
    G[1, 2, 2] = np.nan
    G[2, 0, 0] = np.inf
    D = to_numpy(o(as_xp(xp, G)))
    assert np.any(np.isnan(D[1]))  # the NaN member is visibly NaN, not silently finite
    np.testing.assert_array_equal(D[0], to_numpy(o(as_xp(xp, G[0]))))
    with pytest.raises(ValueError, match="G contains NaN or Inf"):  # the default still raises
        make_oracle(spec)(as_xp(xp, G))


def _spec_dict(spec):
    head, *rest = spec.split(":")
    if head == "ns":
        return {"ns": rest[0], "steps": int(rest[1])}
    return {"kind": "exact", "norm": rest[0]}


@pytest.mark.parametrize("name", NORMS)
def test_adversarial_on_degenerate_inputs_keeps_full_length(xp, name, rng):
    """1×1, single-nonzero-entry and rank-one inputs: still ‖D‖ = 1 + δ and ‖D − lmo(G)‖ = δ."""
    delta = 0.4
    o = inexact_oracle(name, delta, "adversarial")
    one = np.zeros((4, 3))
    one[2, 1] = -2.0
    for G in (
        np.array([[[-3.0]]]),
        one[None],
        np.outer(rng.standard_normal(4), rng.standard_normal(3))[None],
    ):
        Gx = as_xp(xp, G)
        d = o.diagnostics(Gx, o(Gx))
        np.testing.assert_allclose(to_numpy(d["overshoot"]), 1 + delta, rtol=1e-12)
        np.testing.assert_allclose(to_numpy(d["delta"]), delta, rtol=1e-12)
