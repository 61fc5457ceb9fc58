"""The performance paths compute exactly what the plain array-API code computes (issue 8).

Every fast path is claimed bit-identical to its reference, so these tests compare with
``array_equal`` (no tolerance):

* ``lab.orthogonalization._ns_steps_numpy`` (preallocated buffers, in-place coefficient updates,
  blocks of batch members) against the plain loop ``_ns_steps`` — the code that runs on every
  other namespace — on NumPy, and against the same loop run on ``array_api_strict`` arrays;
* the sign folded into the last Newton–Schulz step (``negate=True``, the NS oracle) against the
  negated result;
* a batch (also one spanning several blocks) against its members computed one by one;
* the in-place momentum updates (``_axpy_owned``) against their expressions, and neither
  path may write into the caller's G, gradients, parameters or optimizer state.

No timings here: the speed is measured by ``lab bench`` (build/bench/bench_after.md).
"""

from __future__ import annotations

import numpy as np
import pytest

import lab.orthogonalization as orth
from lab.backend import tune_allocator
from lab.optimizers.momentum import MVR2, EMAMomentum, _axpy_owned
from lab.optimizers.transforms import Step
from lab.oracles import newton_schulz_oracle

xps = pytest.importorskip("array_api_strict", reason="array-api-strict is a test dependency")

SCHEDULES = [
    ("jordan", 5),
    ("cubic", 3),  # c = 0: the B = bA branch
    ("polar_express", 8),  # per-step rows
    (np.array([(2.0, 0.0, 0.0), (1.5, -0.5, 0.0)]), 3),  # a pure scaling row (b = c = 0)
    ("jordan", 1),
]

SHAPES = [(64, 32), (32, 64), (5, 7), (7, 5), (1, 9), (9, 1), (3, 40, 24), (2, 3, 24, 40)]


def _reference(G, table, normalization="frobenius", transpose=True):
    """The plain array-API iteration (what every non-NumPy namespace runs)."""
    xp = orth.namespace(G)
    X = orth._normalise(G, normalization, 1e-7, True)
    flip = transpose and G.shape[-2] > G.shape[-1]
    X = xp.matrix_transpose(X) if flip else X
    X = orth._ns_steps(xp, X, table.tolist())
    return xp.matrix_transpose(X) if flip else X


def _input(shape, dtype, seed=0, normalization="frobenius"):
    G = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    if normalization == "none":  # the iteration needs ‖X₀‖_op ≤ 1 without normalisation
        G /= np.sqrt(np.sum(G * G, axis=(-2, -1), keepdims=True))
    return G


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: str(s[1]) if not isinstance(s, str) else s)
@pytest.mark.parametrize("normalization", ["frobenius", "none", "spectral"])
@pytest.mark.parametrize("transpose", [True, False])
def test_numpy_path_is_bit_identical_to_the_array_api_loop(dtype, shape, schedule, normalization, transpose):
    coefficients, steps = schedule
    table = orth.resolve_coefficients(coefficients, steps)
    G = _input(shape, dtype, normalization=normalization)
    G0 = G.copy()
    fast = orth._newton_schulz(G, table, normalization, 1e-7, transpose)
    ref = _reference(G, table, normalization, transpose)
    assert fast.shape == ref.shape and fast.dtype == ref.dtype
    assert np.array_equal(fast, ref)
    negated = orth._newton_schulz(G, table, normalization, 1e-7, transpose, negate=True)
    assert np.array_equal(negated, -ref)
    assert np.array_equal(G, G0), "the caller's G was modified"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(64, 32), (3, 40, 24), (24, 40)])
def test_numpy_path_equals_the_loop_on_array_api_strict(dtype, shape):
    table = orth.resolve_coefficients("jordan", 5)
    G = _input(shape, dtype)
    strict = orth.newton_schulz(xps.asarray(G))  # array-api-strict has no out=: the plain loop
    assert type(strict).__module__.startswith("array_api_strict")
    assert np.array_equal(orth.newton_schulz(G), np.asarray(strict))
    assert np.array_equal(
        orth._newton_schulz(G, table, "frobenius", 1e-7, True, negate=True), -np.asarray(strict)
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_blocked_batch_equals_members_one_by_one(dtype, monkeypatch):
    # a small block budget forces several blocks and a ragged last block on a modest batch
    monkeypatch.setattr(orth, "_CHUNK_BYTES", 5 * 2 * (24 * 40 + 24 * 24) * np.dtype(dtype).itemsize)
    G = _input((2, 13, 40, 24), dtype, seed=3)
    G[1, 4] = 0.0  # a zero member and a tiny one take the slow normalisation path
    G[0, 7] *= 1e-300 if dtype == "float64" else 1e-30
    batched = orth.newton_schulz(G)
    ref = _reference(G, orth.resolve_coefficients("jordan", 5))
    assert np.array_equal(batched, ref)
    for i in range(2):
        for j in range(13):
            assert np.array_equal(batched[i, j], orth.newton_schulz(G[i, j])), (i, j)


def test_default_block_size_splits_a_large_batch_of_small_matrices():
    # 600 float64 64×32 members = 46 MiB of buffers > 1 MiB: several blocks at the default budget
    G = _input((600, 64, 32), "float64", seed=4)
    assert 2 * (32 * 64 + 32 * 32) * 8 * G.shape[0] > orth._CHUNK_BYTES
    batched = orth.newton_schulz(G)
    assert np.array_equal(batched, _reference(G, orth.resolve_coefficients("jordan", 5)))
    for i in (0, 20, 21, 599):
        assert np.array_equal(batched[i], orth.newton_schulz(G[i]))


def test_non_finite_member_stays_in_its_member_across_blocks(monkeypatch):
    monkeypatch.setattr(orth, "_CHUNK_BYTES", 3 * 2 * (8 * 16 + 8 * 8) * 8)
    G = _input((10, 16, 8), "float64", seed=5)
    G[4, 2, 3] = np.nan
    oracle = newton_schulz_oracle(5, "jordan", check_finite=False)
    D = oracle(G)
    assert np.all(np.isnan(D[4]))
    keep = [i for i in range(10) if i != 4]
    assert np.array_equal(D[keep], oracle(G[keep]))


@pytest.mark.parametrize("scale", [1.0, 2.5])
def test_ns_oracle_sign_fold_is_exact(scale):
    G = _input((6, 48, 20), "float32", seed=6)
    G0 = G.copy()
    D = newton_schulz_oracle(5, "jordan", scale=scale)(G)
    ns = orth.newton_schulz(G)
    expected = -ns if scale == 1.0 else ns * (-1.0 / scale)
    assert np.array_equal(D, expected)
    assert np.array_equal(G, G0)


def test_ns_oracle_with_zero_steps_and_no_normalisation_copies():
    G = _input((4, 5), "float64", normalization="none")
    G0 = G.copy()
    D = newton_schulz_oracle(0, "jordan", normalization="none")(G)
    assert np.array_equal(D, -G0) and np.array_equal(G, G0) and D is not G


# ----------------------------------------------------------------------------- momentum updates


def _hyper(values):
    def hyper(name, t, like):
        v = values[name]
        return v if isinstance(v, float) else np.asarray(v, dtype=like.dtype)[..., None, None]

    return hyper


@pytest.mark.parametrize("beta", [0.9, np.array([0.5, 0.9, 0.99])])
@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_ema_update_is_bit_identical_and_pure(beta, nesterov, dtype):
    rng = np.random.default_rng(7)
    g = (rng.standard_normal((3, 6, 4)).astype(dtype),)
    Mi = (rng.standard_normal((3, 6, 4)).astype(dtype),)
    g0, M0 = g[0].copy(), Mi[0].copy()
    est = EMAMomentum(beta, nesterov=nesterov)
    step, state = est.update(Step(2, g, None, None, g, g), est.init(g)._replace(momentum=Mi))
    M, inp = step.estimate, step.updates
    b = _hyper({"beta": beta})("beta", 2, g[0])
    M_ref = Mi[0] + (1.0 - b) * (g[0] - Mi[0])
    assert np.array_equal(M[0], M_ref) and M[0].dtype == M_ref.dtype
    inp_ref = g[0] + b * (M_ref - g[0]) if nesterov else M_ref
    assert np.array_equal(inp[0], inp_ref)
    assert np.array_equal(g[0], g0) and np.array_equal(Mi[0], M0), "caller's arrays modified"
    assert state.momentum[0] is M[0]


def test_mvr2_update_is_bit_identical_and_pure():
    rng = np.random.default_rng(8)
    g, Mi, h, X = (tuple([rng.standard_normal((4, 5, 3))]) for _ in range(4))
    copies = [a[0].copy() for a in (g, Mi, h, X)]
    beta = np.array([0.1, 0.5, 0.9, 0.99])
    est = MVR2(beta)
    state = est.init(X)._replace(momentum=Mi, prev_params=X)
    M = est.update(Step(2, X, lambda p: h, None, g, g), state)[0].estimate
    b = beta[:, None, None]
    assert np.array_equal(M[0], g[0] + b * (Mi[0] - h[0]))
    for a, c in zip((g, Mi, h, X), copies, strict=True):
        assert np.array_equal(a[0], c)


def test_axpy_owned_falls_back_when_in_place_would_change_shape_or_dtype():
    d = np.ones((1, 3, 2), dtype=np.float32)
    y = np.ones((1, 3, 2), dtype=np.float32)
    w64 = np.full((1, 1, 1), 0.3)  # float64 factor: the expression promotes to float64
    out = _axpy_owned(w64, d.copy(), y)
    assert out.dtype == np.float64 and np.array_equal(out, y + w64 * d)
    wide = np.full((4, 1, 1), 0.3, dtype=np.float32)  # broadcasts d to a larger batch
    out = _axpy_owned(wide, d.copy(), y)
    assert out.shape == (4, 3, 2) and np.array_equal(out, y + wide * d)
    own = d.copy()
    out = _axpy_owned(0.3, own, y)
    assert out is own and np.array_equal(out, y + 0.3 * d)
    strict = _axpy_owned(0.3, xps.asarray(d.copy()), xps.asarray(y))  # (wraps without copying)
    assert np.array_equal(np.asarray(strict), y + 0.3 * d)


def test_tune_allocator_is_idempotent_and_describes_itself():
    first = tune_allocator()
    assert isinstance(first, str) and first
    assert tune_allocator() == first
