"""Reference parity: the lab's Muon reproduces torch.optim.Muon's documented update rule step for step.

The reference below is a small, independent plain-NumPy transcription of the rule documented in
torch.optim.Muon (torch/optim/_muon.py: the docstring's algorithm and ``_single_tensor_muon``), for
one 2-D parameter at a time, in float64 (torch casts the Newton–Schulz input to bfloat16; the
parity is stated for float64).  Per step, with μ the momentum and γ the lr:

    B ← B.lerp(g, 1 − μ)                        (EMA; torch's docstring writes B ← μB + g)
    U ← g.lerp(B, μ) if nesterov else B          ((1 − μ)g + μB)
    O ← NS(U):  X = U (transposed if rows > cols); X ← X/(‖X‖_F + ε);
                5× { A = XXᵀ; X ← aX + (bA + cA²)X } with (a, b, c) = (3.4445, −4.7750, 2.0315);
                transposed back
    θ ← θ(1 − γλ)                                (decoupled weight decay, unscaled γ)
    θ ← θ − γ·r(A, B)·O,  r = √max(1, A/B) ("original") or 0.2·√max(A, B) ("match_rms_adamw")

ε: the documentation says "term added to the denominator" (ε = 1e-7, as in K. Jordan's muon.py); the
implementation divides by ``norm().clamp(min=eps)``.  The two agree exactly at ε = 0, which is also
checked.  torch is not a dependency: nothing here imports it.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_optimizers_problems import Quadratic

from lab.optimizers import gradient_fn, muon
from lab.oracles import newton_schulz_oracle

COEFFS = (3.4445, -4.7750, 2.0315)


def reference_ns(G, steps=5, eps=1e-7, coefficients=COEFFS, normalisation="add"):
    a, b, c = coefficients
    X = G.copy()
    tall = G.shape[0] > G.shape[1]
    if tall:
        X = X.T
    norm = np.sqrt(np.sum(X * X))
    X = X / (norm + eps if normalisation == "add" else max(norm, eps))
    for _ in range(steps):
        A = X @ X.T
        B = b * A + c * (A @ A)
        X = a * X + B @ X
    return X.T if tall else X


def reference_adjusted_lr(lr, shape, adjust):
    A, B = shape
    if adjust == "original":
        return lr * np.sqrt(max(1.0, A / B))
    return lr * 0.2 * np.sqrt(max(A, B))


def reference_muon(
    grad_of, theta0, steps, *, lr, momentum, weight_decay, nesterov, adjust, eps, normalisation
):
    """torch's documented Muon on one parameter; ``grad_of(t, theta)`` returns the step-t gradient."""
    theta = theta0.copy()
    buf = np.zeros_like(theta)
    for t in range(1, steps + 1):
        g = grad_of(t, theta)
        buf = buf + (1.0 - momentum) * (g - buf)  # buf.lerp_(g, 1 - momentum)
        update = g + momentum * (buf - g) if nesterov else buf  # g.lerp(buf, momentum)
        update = reference_ns(update, eps=eps, normalisation=normalisation)
        adjusted = reference_adjusted_lr(lr, theta.shape, adjust)
        theta = theta * (1.0 - lr * weight_decay)
        theta = theta - adjusted * update
    return theta


SHAPES = ((8, 4), (3, 7))  # a tall block (transposed inside NS) and a wide one


def _lab_and_reference(
    *, lrs, momentum, weight_decay, nesterov, adjust, eps, normalisation, lab_kw=None, steps=15
):
    problem = Quadratic(SHAPES, sigma=0.5, seed=11)
    seeds = np.arange(len(lrs))
    rng = problem.make_rng(seeds)
    x0 = problem.x0(rng)
    kw = dict(
        momentum="ema",
        nesterov=nesterov,
        shape_scale=adjust,
        weight_decay=weight_decay,
        oracle=newton_schulz_oracle(5, COEFFS, eps=eps),
    )
    kw.update(lab_kw or {})
    opt = muon(np.asarray(lrs), momentum, **kw)
    state, params = opt.init(x0), x0
    for t in range(1, steps + 1):
        gfun = gradient_fn(problem, rng.fold("sample").at(t))
        params, state = opt.step(state, params, gfun)
    out = []
    for j, lr in enumerate(lrs):
        blocks = []
        for i in range(len(SHAPES)):

            def grad_of(t, theta, i=i, j=j):
                # the stochastic gradient the lab saw (sample ξ_t of member j) for block i at theta; the
                # test quadratic is separable over blocks, so the other blocks' values do not matter
                X = tuple(np.asarray(x)[j : j + 1].copy() for x in x0)
                X = tuple(theta[None] if b == i else X[b] for b in range(len(SHAPES)))
                sample = problem.sample(rng.fold("sample").at(t))
                member = type(sample)(
                    None if sample.data is None else tuple(z[j : j + 1] for z in sample.data), sample.counter
                )
                return np.asarray(problem.stochastic_grad(X, member)[i])[0]

            ref = reference_muon(
                grad_of,
                np.asarray(x0[i])[j],
                steps,
                lr=lr,
                momentum=momentum,
                weight_decay=weight_decay,
                nesterov=nesterov,
                adjust=adjust,
                eps=eps,
                normalisation=normalisation,
            )
            blocks.append((np.asarray(params[i])[j], ref))
        out.append(blocks)
    return out


@pytest.mark.parametrize("nesterov", [True, False])
@pytest.mark.parametrize("adjust", ["original", "match_rms_adamw"])
def test_lab_muon_matches_torch_documented_rule(nesterov, adjust):
    pairs = _lab_and_reference(
        lrs=[0.02, 0.05],
        momentum=0.95,
        weight_decay=0.1,
        nesterov=nesterov,
        adjust=adjust,
        eps=1e-7,
        normalisation="add",
    )
    for blocks in pairs:
        for lab_x, ref_x in blocks:
            np.testing.assert_allclose(lab_x, ref_x, rtol=0, atol=1e-12)


def test_lab_muon_matches_torch_implementation_at_eps_zero():
    """torch's code divides by clamp(‖X‖_F, min=eps); at eps = 0 this is the documented rule exactly."""
    pairs = _lab_and_reference(
        lrs=[0.03],
        momentum=0.9,
        weight_decay=0.05,
        nesterov=True,
        adjust="original",
        eps=0.0,
        normalisation="clamp",
    )
    for blocks in pairs:
        for lab_x, ref_x in blocks:
            np.testing.assert_allclose(lab_x, ref_x, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "wrong",
    [
        {"shape_scale": "none"},  # forgets √max(1, A/B) on the tall block
        {"nesterov": False},  # plain momentum instead of torch's default Nesterov
        {"momentum_init": "gradient"},  # a different first step
    ],
)
def test_parity_check_fails_for_a_different_convention(wrong):
    pairs = _lab_and_reference(
        lrs=[0.05],
        momentum=0.95,
        weight_decay=0.1,
        nesterov=True,
        adjust="original",
        eps=1e-7,
        normalisation="add",
        lab_kw=wrong,
    )
    worst = max(np.max(np.abs(lab_x - ref_x)) for blocks in pairs for lab_x, ref_x in blocks)
    assert worst > 1e-6
