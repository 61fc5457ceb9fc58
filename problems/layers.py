"""Layer-wise (multi-block) problems: deep linear networks and a two-layer teacher–student network.

These are the small-scale stand-ins for the NanoGPT experiments of S1: several blocks with their
own norms, nonconvex, not globally L-smooth.  Per-layer (L0, L1) constants are not derivable in
closed form, so ``BlockConstants.L/L0/L1`` are None and are estimated along trajectories with
:func:`problems.estimate.estimate_l0_l1` (I2).  What is known exactly is stated: f* and
a minimiser X* where the model is realisable, ρ per block.

Forward and backward passes are batched matmuls: a batch of parameter tuples with leading axes
(*batch) evaluates in one call.  Both are finite sums (mean over the N data columns), so the
"minibatch" noise model applies (exact variance at any point through ``variance(X)``; σ² has no
global bound here and is None).
"""

from __future__ import annotations

import math

import numpy as np

from problems._util import check_choice, check_float, check_int, host_rng, matrix_with_singular_values
from problems.base import BlockConstants, Constants, ProblemBase, recorded_params


def _layer_blocks(shapes):
    return tuple(BlockConstants(tuple(s), "spectral", rho=math.sqrt(min(s)), sigma2=0.0) for s in shapes)


class _DataFitBase(ProblemBase):
    """½‖F(W; X) − Y‖_F²/N over N fixed data columns; subclasses give the forward/backward passes."""

    def _f(self, X):
        R = self._forward(X)[-1] - self.Y
        return 0.5 * self.xp.sum(R * R, axis=(-2, -1)) / self.N

    def _grad(self, X):
        return self.finite_sum_grad(X, None)

    @property
    def n_samples(self) -> int:
        return self.N

    def finite_sum_grad(self, X, weights):
        """Σ_i weights_i ∇f_i (f_i the i-th column's share, weights = 1 gives ∇f): scale the residual."""
        acts = self._forward(X)
        R = (acts[-1] - self.Y) / self.N
        if weights is not None:
            R = R * weights[..., None, :]
        return self._backward(X, acts, R, outer=True)

    def sample_grad_sqnorms(self, X):
        """Per block ‖h_{l,i}‖² = ‖δ_{l,i}‖²‖a_{l−1,i}‖² (every layer gradient is Σ_i δ_{l,i} a_{l−1,i}ᵀ)."""
        X = self.check_params(X)
        acts = self._forward(X)
        R = (acts[-1] - self.Y) / self.N
        pairs = self._backward(X, acts, R, outer=False)
        xp = self.xp
        return tuple(xp.sum(dl * dl, axis=-2) * xp.sum(a * a, axis=-2) for dl, a in pairs)


class DeepLinear(_DataFitBase):
    """deep_linear: f(W) = ½‖W_p ⋯ W_1 X − Y‖_F²/N with blocks W_1 (h_1×d), …, W_p (k×h_{p−1}).

    Data X (d×N) standard normal, Y = T X + label_noise·E with a teacher T (k×d) of rank
    ``teacher_rank`` (default min(k, d)) and unit top singular value decreasing geometrically to 1/4.

    f* in closed form (reduced-rank regression): the product M = W_p⋯W_1 ranges over the matrices
    of rank ≤ h = min(widths); with Ŷ = Y X⁺X (projection onto the row space of X),
    ‖MX − Y‖² = ‖MX − Ŷ‖² + ‖Y − Ŷ‖² and MX ranges over the rank-≤h matrices with rows in row(X), so
    by Eckart–Young f* = (‖Y − Ŷ‖² + Σ_{i>h} σ_i(Ŷ)²)/(2N).  X* is the balanced factorisation of
    M* = [Ŷ]_h X⁺ = U S Vᵀ: W_1 = S^{1/p}Vᵀ, W_l = S^{1/p}, W_p = U S^{1/p} (zero-padded to the widths).

    Parameters: d, k, widths (hidden widths, p = len(widths) + 1 layers), N, teacher_rank, label_noise,
    init_scale (x0: W_l = init_scale·Z/√fan_in), seed.
    """

    name = "deep_linear"

    def __init__(
        self,
        d=6,
        k=4,
        widths=(5, 5),
        N=64,
        teacher_rank=None,
        label_noise=0.0,
        init_scale=1.0,
        seed=0,
        backend=None,
        xp=None,
        dtype=None,
    ):
        d, k, N = check_int("d", d), check_int("k", k), check_int("N", N)
        if isinstance(widths, (int, np.integer)):
            widths = (widths,)
        widths = tuple(check_int(f"widths[{i}]", w) for i, w in enumerate(widths))
        teacher_rank = min(k, d) if teacher_rank is None else check_int("teacher_rank", teacher_rank)
        if teacher_rank > min(k, d):
            raise ValueError(f"teacher_rank must be <= min(k, d) = {min(k, d)}, got {teacher_rank}")
        label_noise = check_float("label_noise", label_noise, low=0.0, inclusive=True)
        init_scale = check_float("init_scale", init_scale, low=0.0, inclusive=True)
        self._init_backend(backend, xp, dtype)
        gen = host_rng(seed, self.name)
        dims = (d, *widths, k)
        self.block_shapes = tuple((dims[i + 1], dims[i]) for i in range(len(dims) - 1))
        Xd = gen.standard_normal((d, N))
        T = matrix_with_singular_values(
            gen,
            k,
            d,
            np.concatenate(
                [
                    4.0 ** (-np.arange(teacher_rank) / max(teacher_rank - 1, 1)),
                    np.zeros(min(k, d) - teacher_rank),
                ]
            ),
        )
        Y = T @ Xd + label_noise * gen.standard_normal((k, N))
        self.N, self.init_scale = N, init_scale
        self.Xd_host, self.Y_host, self.T_host = Xd, Y, T
        self.Xd, self.Y = self._put(Xd), self._put(Y)
        h = min(widths) if widths else min(k, d)
        f_star, X_star = self._solve(Xd, Y, h)
        if label_noise == 0.0 and h >= teacher_rank and N >= d:
            f_star = 0.0  # Y = T X with rank(T) <= h: realisable, so f* = 0 exactly (not a rounded residual)
        self.params = recorded_params(DeepLinear, locals(), widths=list(widths))
        r_total = sum(min(s) for s in self.block_shapes)
        self.constants = Constants(
            blocks=_layer_blocks(self.block_shapes),
            sigma2=0.0,
            f_star=f_star,
            X_star=tuple(self._put(w) for w in X_star),
            rho=math.sqrt(r_total),
            extra={"layers": len(self.block_shapes)},
        )

    def _solve(self, Xd, Y, h):
        N = Xd.shape[1]
        Yhat = Y @ np.linalg.pinv(Xd) @ Xd
        U, s, Vt = np.linalg.svd(Yhat, full_matrices=False)
        f_star = 0.5 * (float(np.sum((Y - Yhat) ** 2)) + float(np.sum(s[h:] ** 2))) / N
        M = (U[:, :h] * s[:h]) @ Vt[:h] @ np.linalg.pinv(Xd)
        Um, sm, Vmt = np.linalg.svd(M, full_matrices=False)
        rank = min(h, sm.size)
        root = sm[:rank] ** (1.0 / len(self.block_shapes))
        Ws = []
        for i, (rows, cols) in enumerate(self.block_shapes):
            W = np.zeros((rows, cols))
            if i == 0 and i == len(self.block_shapes) - 1:
                W = M
            elif i == 0:
                W[:rank] = root[:, None] * Vmt[:rank]
            elif i == len(self.block_shapes) - 1:
                W[:, :rank] = Um[:, :rank] * root
            else:
                W[:rank, :rank] = np.diag(root)
            Ws.append(W)
        return f_star, Ws

    def _forward(self, X):
        acts = [self.Xd]
        for W in X:
            acts.append(W @ acts[-1])
        return acts

    def _backward(self, X, acts, R, outer):
        out, delta = [], R
        for W, a in zip(reversed(X), reversed(acts[:-1]), strict=True):
            out.append(delta @ self.xp.matrix_transpose(a) if outer else (delta, a))
            delta = self.xp.matrix_transpose(W) @ delta
        return tuple(reversed(out))

    def x0(self, rng):
        xp = self.xp
        return tuple(
            self.init_scale * xp.astype(rng.fold("x0", i).normal(s), self.dtype) / math.sqrt(s[1])
            for i, s in enumerate(self.block_shapes)
        )


def _activation(xp, name, Z):
    """(φ(Z), φ'(Z)) for the smooth activations."""
    if name == "tanh":
        A = xp.tanh(Z)
        return A, 1.0 - A * A
    # softplus, written stably: max(z, 0) + log1p(exp(−|z|)); derivative the logistic sigmoid
    A = xp.maximum(Z, xp.zeros_like(Z)) + xp.log1p(xp.exp(-xp.abs(Z)))
    return A, 0.5 * (1.0 + xp.tanh(0.5 * Z))


class TeacherStudent(_DataFitBase):
    """teacher_student: f(W1, W2) = ½‖W2 φ(W1 X) − Y‖_F²/N, a two-layer network fitting a teacher.

    Blocks W1 (h×d) and W2 (k×h); φ = tanh or softplus (smooth); data X (d×N) standard normal; the
    teacher has width ``teacher_width`` (default h//2, at least 1) with W1ᵗ ~ N(0, 1/d) and
    W2ᵗ ~ N(0, 1/teacher_width), Y = W2ᵗ φ(W1ᵗX) + label_noise·E.  Nonconvex.  When
    label_noise = 0 and h ≥ teacher_width the model is realisable: f* = 0 and X* is the teacher
    padded with zero rows of W1 and zero columns of W2.  Otherwise f*, X* are None.

    Parameters: d, h, k, teacher_width, N, activation, label_noise, init_scale (x0: Z·init_scale/√fan_in),
    seed.
    """

    name = "teacher_student"
    ACTIVATIONS = ("tanh", "softplus")

    def __init__(
        self,
        d=8,
        h=16,
        k=4,
        teacher_width=None,
        N=128,
        activation="tanh",
        label_noise=0.0,
        init_scale=1.0,
        seed=0,
        backend=None,
        xp=None,
        dtype=None,
    ):
        d, h, k, N = check_int("d", d), check_int("h", h), check_int("k", k), check_int("N", N)
        tw = max(1, h // 2) if teacher_width is None else check_int("teacher_width", teacher_width)
        check_choice("activation", activation, self.ACTIVATIONS)
        label_noise = check_float("label_noise", label_noise, low=0.0, inclusive=True)
        init_scale = check_float("init_scale", init_scale, low=0.0, inclusive=True)
        self._init_backend(backend, xp, dtype)
        gen = host_rng(seed, self.name)
        Xd = gen.standard_normal((d, N))
        W1t = gen.standard_normal((tw, d)) / math.sqrt(d)
        W2t = gen.standard_normal((k, tw)) / math.sqrt(tw)
        Zt = W1t @ Xd
        At = np.tanh(Zt) if activation == "tanh" else np.logaddexp(Zt, 0.0)
        Y = W2t @ At + label_noise * gen.standard_normal((k, N))
        self.N, self.activation, self.init_scale = N, activation, init_scale
        self.Xd_host, self.Y_host = Xd, Y
        self.Xd, self.Y = self._put(Xd), self._put(Y)
        self.block_shapes = ((h, d), (k, h))
        f_star = X_star = None
        if label_noise == 0.0 and h >= tw:
            W1s, W2s = np.zeros((h, d)), np.zeros((k, h))
            W1s[:tw], W2s[:, :tw] = W1t, W2t
            f_star, X_star = 0.0, (self._put(W1s), self._put(W2s))
        self.params = recorded_params(TeacherStudent, locals(), teacher_width=tw)
        self.constants = Constants(
            blocks=_layer_blocks(self.block_shapes),
            sigma2=0.0,
            f_star=f_star,
            X_star=X_star,
            rho=math.sqrt(min(h, d) + min(k, h)),
            extra={"realisable": X_star is not None},
        )

    def _forward(self, X):
        W1, W2 = X
        Z = W1 @ self.Xd
        A, dA = _activation(self.xp, self.activation, Z)
        return [self.Xd, (A, dA), W2 @ A]

    def _backward(self, X, acts, R, outer):
        xp = self.xp
        _, W2 = X
        A, dA = acts[1]
        delta1 = (xp.matrix_transpose(W2) @ R) * dA
        if outer:
            return (delta1 @ xp.matrix_transpose(self.Xd), R @ xp.matrix_transpose(A))
        return ((delta1, self.Xd), (R, A))

    def x0(self, rng):
        xp = self.xp
        return tuple(
            self.init_scale * xp.astype(rng.fold("x0", i).normal(s), self.dtype) / math.sqrt(s[1])
            for i, s in enumerate(self.block_shapes)
        )
