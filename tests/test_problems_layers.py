"""Layer-wise problems: deep linear network and two-layer teacher–student network."""

from __future__ import annotations

import numpy as np
import pytest

import problems
from lab.backend import to_numpy
from problems import probes

LAYERED = {
    "deep_linear": ("deep_linear", dict(d=5, k=3, widths=(4, 4), N=24)),
    "deep_linear_bottleneck": ("deep_linear", dict(d=5, k=4, widths=(2,), N=24, label_noise=0.1)),
    "teacher_student_tanh": ("teacher_student", dict(d=5, h=6, k=2, N=24)),
    "teacher_student_softplus": ("teacher_student", dict(d=5, h=6, k=2, N=24, activation="softplus")),
}


def build(key, **extra):
    name, params = LAYERED[key]
    return problems.make(name, **{**params, **extra})


def host(x):
    return np.asarray(to_numpy(x), dtype=np.float64)


@pytest.mark.parametrize("key", sorted(LAYERED))
def test_gradient_matches_central_differences(xp, key):
    p = build(key, xp=xp)
    X = p.x0(p.make_rng(range(6)))
    err = host(probes.gradient_fd_errors(p, X, p.make_rng(range(6), "fd"), h=1e-5))
    assert err.max() < 1e-7, err


@pytest.mark.parametrize("key", sorted(LAYERED))
def test_batched_equals_one_by_one(xp, key):
    p = build(key, xp=xp)
    X = p.x0(p.make_rng(np.arange(6).reshape(2, 3)))
    F, G = host(p.f(X)), [host(g) for g in p.grad(X)]
    for i in range(2):
        for j in range(3):
            Xij = tuple(x[i, j, ...] for x in X)
            assert float(p.f(Xij)) == F[i, j]
            for gb, g1 in zip(G, p.grad(Xij), strict=True):
                assert np.array_equal(gb[i, j], host(g1))


def test_one_diverging_member_does_not_disturb_the_others():
    p = build("teacher_student_tanh")
    X = p.x0(p.make_rng(range(3)))
    bad = tuple(np.where(np.arange(3)[:, None, None] == 1, x * 1e300, x) for x in X)
    with np.errstate(all="ignore"):
        g_bad = p.grad(bad)
    for gb, g in zip(g_bad, p.grad(X), strict=True):
        assert np.array_equal(gb[[0, 2]], g[[0, 2]])


def _bfgs_values(p, seeds):
    """Final values of scipy BFGS runs over all layers from the problem's own random starts."""
    from scipy.optimize import minimize

    sizes = [m * n for m, n in p.block_shapes]

    def unpack(z):
        parts = np.split(z, np.cumsum(sizes)[:-1])
        return tuple(v.reshape(s) for v, s in zip(parts, p.block_shapes, strict=True))

    def fun(z):
        return float(p.f(unpack(z)))

    def jac(z):
        return np.concatenate([g.ravel() for g in p.grad(unpack(z))])

    values = []
    for seed in seeds:
        z0 = np.concatenate([x[0].ravel() for x in p.x0(p.make_rng([seed], "scipy"))])
        values.append(
            minimize(fun, z0, jac=jac, method="BFGS", options={"maxiter": 5_000, "gtol": 1e-10}).fun
        )
    return np.array(values)


def test_deep_linear_f_star_is_the_reduced_rank_optimum():
    for key in ("deep_linear", "deep_linear_bottleneck"):
        p = build(key)
        fs = p.constants.f_star
        assert float(p.f(p.constants.X_star)) == pytest.approx(fs, abs=1e-12)
        assert max(np.linalg.norm(g) for g in p.grad(p.constants.X_star)) < 1e-10
        # deep linear nets have no spurious local minima: BFGS from random starts reaches f*
        values = _bfgs_values(p, range(3))
        assert values.min() >= fs - 1e-12  # nothing beats the closed-form optimum
        assert values.min() <= fs + 1e-7 * max(1.0, fs)
    assert build("deep_linear_bottleneck").constants.f_star > 0.01  # the rank bottleneck costs something


def test_teacher_student_realisable_optimum_and_unknown_otherwise():
    p = build("teacher_student_tanh")
    assert p.constants.f_star == 0.0 and float(p.f(p.constants.X_star)) == 0.0
    assert all(np.linalg.norm(g) == 0.0 for g in p.grad(p.constants.X_star))
    q = build("teacher_student_tanh", label_noise=0.1)
    assert q.constants.f_star is None and q.constants.X_star is None
    narrow = build("teacher_student_tanh", teacher_width=8)  # wider teacher than student
    assert narrow.constants.f_star is None


def test_layer_constants_state_what_is_known():
    p = build("deep_linear")
    assert p.block_shapes == ((4, 5), (4, 4), (3, 4))
    for b, shape in zip(p.constants.blocks, p.block_shapes, strict=True):
        assert b.shape == shape and b.norm == "spectral" and b.L0 is None and b.L1 is None
        assert b.rho == pytest.approx(np.sqrt(min(shape)))
    assert p.constants.L_frobenius is None and p.constants.mu is None
    assert p.constants.rho == pytest.approx(np.sqrt(sum(min(s) for s in p.block_shapes)))


def test_same_seed_same_data():
    a, b, c = (
        build("teacher_student_tanh"),
        build("teacher_student_tanh"),
        build("teacher_student_tanh", seed=4),
    )
    assert np.array_equal(a.Xd_host, b.Xd_host) and np.array_equal(a.Y_host, b.Y_host)
    assert not np.array_equal(a.Y_host, c.Y_host)


@pytest.mark.parametrize(
    "name, params, word",
    [
        ("deep_linear", dict(widths=(3, 0)), "widths"),
        ("deep_linear", dict(teacher_rank=9), "teacher_rank"),
        ("deep_linear", dict(N=0), "N"),
        ("teacher_student", dict(activation="relu"), "activation"),
        ("teacher_student", dict(label_noise=-1.0), "label_noise"),
    ],
)
def test_bad_parameters(name, params, word):
    with pytest.raises(ValueError, match=word):
        problems.make(name, **params)
