"""Probes that certify (or refute) a problem's stated constants numerically.

All probes are batched over the leading axes of X and return one number per member, so many
random or adversarial probes cost one vectorised call.  They are what the tests
(``tests/test_problems_*.py``) and the lab's checks compare with ``problem.constants``:

* :func:`smoothness_ratios` — ‖∇f(X) − ∇f(Y)‖_* / ‖X − Y‖ (never above L);
* :func:`l0l1_ratios` — ‖∇_i f(X) − ∇_i f(Y)‖_* / ((L0 + L1‖∇_i f(X)‖_*)‖X_i − Y_i‖) (never above 1);
* :func:`pl_ratios` — ‖∇f(X)‖_F² / (2(f(X) − f*)) (never below μ);
* :func:`hessian_top_eigenvalue` — power iteration on Hessian-vector products (attains L_frobenius
  for quadratics);
* :func:`spectral_adversarial` — alternating maximisation of ⟨W, 𝓗D⟩ over ‖W‖_op, ‖D‖_op ≤ 1, which
  approaches sup ‖𝓗D‖_nuc = L_spectral (attained for Kronecker quadratics).

Hessian-vector products are central differences of gradients, exact for quadratics.
"""

from __future__ import annotations

from problems.quadratic import polar


def _xp(problem):
    return problem.xp


def _fro2(xp, blocks):
    total = None
    for b in blocks:
        s = xp.sum(b * b, axis=(-2, -1))
        total = s if total is None else total + s
    return total


def _sub(A, B):
    return tuple(a - b for a, b in zip(A, B, strict=True))


def _axpy(alpha, X, Y):
    """Y + alpha·X blockwise (alpha a float or a batch array broadcasting as (*batch, 1, 1))."""
    return tuple(y + alpha * x for x, y in zip(X, Y, strict=True))


def block_norm(xp, x, norm: str, dual: bool = False):
    """‖x‖ for norm "frobenius" or "spectral" (dual=True: nuclear), batched over leading axes."""
    if norm == "frobenius":
        return xp.linalg.matrix_norm(x, ord="fro")
    if norm == "spectral":
        return xp.linalg.matrix_norm(x, ord="nuc" if dual else 2)
    raise ValueError(f"norm must be 'frobenius' or 'spectral', got {norm!r}")


def smoothness_ratios(problem, X, Y, norm="frobenius"):
    """‖∇f(X) − ∇f(Y)‖_* / ‖X − Y‖ per member: all blocks jointly (Frobenius) or one block (spectral)."""
    xp = _xp(problem)
    dG = _sub(problem.grad(X), problem.grad(Y))
    dX = _sub(X, Y)
    if norm == "frobenius":
        return xp.sqrt(_fro2(xp, dG) / _fro2(xp, dX))
    if problem.num_blocks != 1:
        raise ValueError("spectral-geometry smoothness is stated for single-block problems; use l0l1_ratios")
    return block_norm(xp, dG[0], "spectral", dual=True) / block_norm(xp, dX[0], "spectral")


def l0l1_ratios(problem, X, Y, blocks=None):
    """Per block, ‖∇_i f(X) − ∇_i f(Y)‖_* / ((L0 + L1‖∇_i f(X)‖_*)‖X_i − Y_i‖) in the block's norm.

    ``blocks`` defaults to ``problem.constants.blocks``; the pair (X, Y) must satisfy
    ‖X_i − Y_i‖ ≤ radius for local constants (see :func:`within_radius`).
    """
    xp = _xp(problem)
    blocks = problem.constants.blocks if blocks is None else blocks
    GX, GY = problem.grad(X), problem.grad(Y)
    out = []
    for i, b in enumerate(blocks):
        lhs = block_norm(xp, GX[i] - GY[i], b.norm, dual=True)
        rhs = (b.L0 + b.L1 * block_norm(xp, GX[i], b.norm, dual=True)) * block_norm(xp, X[i] - Y[i], b.norm)
        out.append(lhs / rhs)
    return tuple(out)


def within_radius(problem, X, Y, blocks=None):
    """Per block, a boolean array: ‖X_i − Y_i‖ ≤ radius_i in the block's norm (True where radius is None)."""
    xp = _xp(problem)
    blocks = problem.constants.blocks if blocks is None else blocks
    out = []
    for i, b in enumerate(blocks):
        d = block_norm(xp, X[i] - Y[i], b.norm)
        out.append(d <= b.radius if b.radius is not None else xp.ones(d.shape, dtype=xp.bool))
    return tuple(out)


def pl_ratios(problem, X, f_star=None):
    """‖∇f(X)‖_F² / (2(f(X) − f*)) per member (≥ μ under the PL inequality)."""
    xp = _xp(problem)
    f_star = problem.constants.f_star if f_star is None else f_star
    return _fro2(xp, problem.grad(X)) / (2.0 * (problem.f(X) - f_star))


def hvp(problem, X, V, eps: float = 1e-4):
    """𝓗(X)[V] ≈ (∇f(X + εV) − ∇f(X − εV))/(2ε) (exact for quadratics)."""
    X, V = problem.check_params(X), problem.check_params(V)
    gp = problem.grad(_axpy(eps, V, X))
    gm = problem.grad(_axpy(-eps, V, X))
    return tuple((a - b) / (2.0 * eps) for a, b in zip(gp, gm, strict=True))


def hessian_top_eigenvalue(problem, X, rng, iters: int = 200, eps: float = 1e-4):
    """Largest Hessian eigenvalue at X per member: power iteration from a random start (Rayleigh quotient)."""
    xp = _xp(problem)
    V = tuple(
        xp.astype(rng.fold("power", i).normal(s), problem.dtype) for i, s in enumerate(problem.block_shapes)
    )
    lam = None
    for _ in range(iters):
        nrm = xp.sqrt(_fro2(xp, V))[..., None, None]
        V = tuple(v / nrm for v in V)
        HV = hvp(problem, X, V, eps)
        lam = sum(xp.sum(v * h, axis=(-2, -1)) for v, h in zip(V, HV, strict=True))
        V = HV
    return lam


def spectral_adversarial(problem, X, rng, iters: int = 100, eps: float = 1e-4):
    """max over ‖D‖_op ≤ 1 of ‖𝓗(X)[D]‖_nuc per member (local search; a lower bound on the sup).

    Alternating maximisation of the bilinear form ⟨W, 𝓗D⟩ (𝓗 symmetric) over two spectral-norm
    balls: D ← polar(𝓗W), W ← polar(𝓗D); each step does not decrease ⟨W, 𝓗D⟩.
    """
    xp = _xp(problem)
    if problem.num_blocks != 1:
        raise ValueError("spectral_adversarial is for single-block problems")
    D = polar(xp.astype(rng.fold("adversarial").normal(problem.block_shapes[0]), problem.dtype))
    for _ in range(iters):
        W = polar(hvp(problem, X, (D,), eps)[0])
        D = polar(hvp(problem, X, (W,), eps)[0])
    return block_norm(xp, hvp(problem, X, (D,), eps)[0], "spectral", dual=True)


def random_direction(problem, rng, tag="direction"):
    """A random Params direction with unit total Frobenius norm per member."""
    xp = _xp(problem)
    V = tuple(
        xp.astype(rng.fold(tag, i).normal(s), problem.dtype) for i, s in enumerate(problem.block_shapes)
    )
    nrm = xp.sqrt(_fro2(xp, V))[..., None, None]
    return tuple(v / nrm for v in V)


def gradient_fd_errors(problem, X, rng, h: float = 1e-5):
    """|(f(X + hV) − f(X − hV))/(2h) − ⟨∇f(X), V⟩| / max(1, |⟨∇f(X), V⟩|) for a random unit V, per member."""
    xp = _xp(problem)
    X = problem.check_params(X)
    V = random_direction(problem, rng, "fd")
    fd = (problem.f(_axpy(h, V, X)) - problem.f(_axpy(-h, V, X))) / (2.0 * h)
    an = sum(xp.sum(g * v, axis=(-2, -1)) for g, v in zip(problem.grad(X), V, strict=True))
    return xp.abs(fd - an) / xp.maximum(xp.abs(an), xp.ones_like(an))
