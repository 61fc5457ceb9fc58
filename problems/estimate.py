"""Trajectory estimates of layer-wise (L0, L1) smoothness (I2; Gluon's procedure).

Along a run, every layer i and step k gives a secant curvature and the gradient norm

    L̂_i[k] = ‖∇_i f(X^{k+1}) − ∇_i f(X^k)‖_* / ‖X_i^{k+1} − X_i^k‖,     a_i[k] = ‖∇_i f(X^{k+1})‖_*,

and layer-wise (L0, L1)-smoothness asks L̂_i[k] ≤ L_i⁰ + L_i¹ a_i[k] (with the roles of X^k and X^{k+1}
as in the inequality ‖∇f(X) − ∇f(Y)‖_* ≤ (L0 + L1‖∇f(X)‖_*)‖X − Y‖, X = X^{k+1}).  The fit is a line
in the (a, L̂) plane with non-negative coefficients that must not underestimate the data:

* ``penalty="envelope"`` (default): the upper envelope, a linear programme
  min Σ_k (L0 + L1 a_k) s.t. L0 + L1 a_k ≥ L̂_k, L0, L1 ≥ 0 — every observed pair is covered and
  the line is as low as possible on average (the tightest valid constants the trajectory supports);
* ``penalty=κ`` (a float > 1): asymmetric least squares (an expectile fit), residuals where the
  line lies below the data weighted κ, those above weighted 1, iterated to a fixed point of the
  weights — a soft version that tolerates a few outliers.

The estimates are only as good as the trajectory: they certify nothing outside the visited region.
"""

from __future__ import annotations

import numpy as np

from lab.backend import to_numpy
from problems._util import check_choice, check_float


def _as_layers(name, values):
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must have shape (steps,) or (steps, layers), got {arr.shape}")
    return arr


def _envelope(a, y):
    from scipy.optimize import linprog  # lazy: scipy.optimize costs ~1 s at import

    res = linprog(
        c=[a.size, float(np.sum(a))],
        A_ub=-np.stack([np.ones_like(a), a], axis=1),
        b_ub=-y,
        bounds=[(0, None), (0, None)],
        method="highs",
    )
    if not res.success:  # pragma: no cover - the LP is always feasible (L0 = max y, L1 = 0)
        raise RuntimeError(f"upper-envelope LP failed: {res.message}")
    L0, L1 = res.x
    # the LP solver's tolerance may leave the line a hair below a data point: lift it onto the data
    L0 += max(0.0, float(np.max(y - (L0 + L1 * a))))
    return float(L0), float(L1)


def _expectile(a, y, kappa, max_iter=100):
    from scipy.optimize import nnls  # lazy: scipy.optimize costs ~1 s at import

    design = np.stack([np.ones_like(a), a], axis=1)
    w = np.ones_like(y)
    coef = np.zeros(2)
    for _ in range(max_iter):
        sw = np.sqrt(w)
        coef, _ = nnls(design * sw[:, None], y * sw)
        w_new = np.where(y > design @ coef, kappa, 1.0)
        if np.array_equal(w_new, w):
            break
        w = w_new
    return float(coef[0]), float(coef[1])


def estimate_l0_l1(grad_changes, steps, grad_norms, penalty="envelope"):
    """Per-layer (L0, L1) from trajectory data (module docstring).

    Parameters
    ----------
    grad_changes : (K,) or (K, p) array of ‖∇_i f(X^{k+1}) − ∇_i f(X^k)‖_* (dual norm of layer i).
    steps : same shape, ‖X_i^{k+1} − X_i^k‖ (primal norm); pairs with a zero step are skipped.
    grad_norms : same shape, ‖∇_i f(X^{k+1})‖_*.
    penalty : "envelope" (hard upper envelope, LP) or a float κ > 1 (asymmetric least squares).

    Returns
    -------
    tuple of (L0, L1) pairs, one per layer (floats ≥ 0).
    """
    dg = _as_layers("grad_changes", grad_changes)
    dx = _as_layers("steps", steps)
    gn = _as_layers("grad_norms", grad_norms)
    if not (dg.shape == dx.shape == gn.shape):
        raise ValueError(
            f"grad_changes, steps and grad_norms must have the same shape, got "
            f"{dg.shape}, {dx.shape}, {gn.shape}"
        )
    if isinstance(penalty, str):
        check_choice("penalty", penalty, ("envelope",))
    else:
        penalty = check_float("penalty", penalty, low=1.0)
    if np.any(dg < 0) or np.any(dx < 0) or np.any(gn < 0):
        raise ValueError("grad_changes, steps and grad_norms are norms and must be >= 0")
    out = []
    for i in range(dg.shape[1]):
        ok = (dx[:, i] > 0) & np.isfinite(dg[:, i]) & np.isfinite(dx[:, i]) & np.isfinite(gn[:, i])
        if not np.any(ok):
            raise ValueError(f"layer {i}: no step with a positive, finite length to estimate from")
        y, a = dg[ok, i] / dx[ok, i], gn[ok, i]
        out.append(_envelope(a, y) if penalty == "envelope" else _expectile(a, y, penalty))
    return tuple(out)


def trajectory_norms(problem, iterates, norm="spectral"):
    """(grad_changes, steps, grad_norms) arrays of shape (pairs, layers) from a list of iterates.

    ``iterates`` is a sequence of Params (any common batch shape; every batch member contributes its
    own pairs).  ``norm``: "spectral" (steps in ‖·‖_op, gradients in ‖·‖_nuc) or "frobenius".
    Norms are computed with ``xp.linalg`` and copied to the host once per pair (analysis, not a run).
    """
    check_choice("norm", norm, ("spectral", "frobenius"))
    xp = problem.xp
    primal, dual = ("2", "nuc") if norm == "spectral" else ("fro", "fro")

    def mnorm(x, kind):
        return xp.linalg.matrix_norm(x, ord=2 if kind == "2" else kind)

    rows = {"dg": [], "dx": [], "gn": []}
    grads = [problem.grad(X) for X in iterates]
    for k in range(len(iterates) - 1):
        per = {"dg": [], "dx": [], "gn": []}
        for i in range(problem.num_blocks):
            per["dg"].append(to_numpy(mnorm(grads[k + 1][i] - grads[k][i], dual)).ravel())
            per["dx"].append(to_numpy(mnorm(iterates[k + 1][i] - iterates[k][i], primal)).ravel())
            per["gn"].append(to_numpy(mnorm(grads[k + 1][i], dual)).ravel())
        for key in rows:
            rows[key].append(np.stack(per[key], axis=-1))
    return tuple(np.concatenate(rows[key], axis=0) for key in ("dg", "dx", "gn"))
