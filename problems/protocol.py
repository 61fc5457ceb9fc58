"""The problem interface every optimizer and experiment relies on: the protocol and its records.

:mod:`problems.base` adds the shared implementation (:class:`~problems.base.ProblemBase`); this
module imports nothing of the package, so the noise models and the problems can both use it.

Conventions
-----------
* Parameters are **blocks** (layers): ``Params = tuple[array, ...]``, block i of shape
  ``(*batch, m_i, n_i)``.  A single-matrix problem has one block.  Every method is
  batched over the leading axes; problem data (A, B, C, ...) broadcast against them,
  so B independent runs on the same instance cost one vectorised call.
* ``f(X)`` returns an array of the batch shape; ``grad(X)`` returns ``Params``.
* Randomness is counter-based (:class:`lab.random.RNG`): ``sample(rng)`` draws a
  :class:`Sample` for every batch member at ``rng.counter``; ``stochastic_grad(X, s)``
  evaluates the SAME sample at any point (MVR2 evaluates one sample at X_t and X_{t-1}).
* Constants are certified by tests (``tests/test_problems_*.py``).  A constant that
  is not known is ``None``; numbers may be floats or arrays over an instance batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

from lab.serialize import jsonable  # noqa: F401  (the one JSON normaliser; problems.base re-exports it)

Params = tuple  # tuple of (*batch, m_i, n_i) arrays, one per block


@dataclass(frozen=True)
class BlockConstants:
    """Constants of one block (layer).

    shape : (m, n) of the block.
    norm : the block's primal norm for the layer-wise (Gluon) geometry, e.g. "spectral".
    L : smoothness of the block's gradient in (norm, dual norm): ||∇_i f(X) - ∇_i f(Y)||_* <= L ||X_i - Y_i||.
    L0, L1 : layer-wise (L0, L1) smoothness:
             ||∇_i f(X) - ∇_i f(Y)||_* <= (L0 + L1 ||∇_i f(X)||_*) ||X_i - Y_i||
             (for ||X_i - Y_i|| within ``radius`` when the inequality is local; None = everywhere).
    rho : norm-equivalence factor ||G||_* <= rho ||G||_F for the dual norm (nuclear: sqrt(min(m, n))).
    sigma2 : noise variance of this block, E||g_i - ∇_i f||_F^2.
    """

    shape: tuple[int, int]
    norm: str = "spectral"
    L: Any = None
    L0: Any = None
    L1: Any = None
    radius: Any = None
    rho: Any = None
    sigma2: Any = None


@dataclass(frozen=True)
class Constants:
    """Certified constants of a problem (None where unknown).

    L_frobenius : ||∇f(X) - ∇f(Y)||_F <= L ||X - Y||_F (all blocks together).
    L_spectral : ||∇f(X) - ∇f(Y)||_nuc <= L ||X - Y||_op (single-block problems; spectral geometry of S1).
    L_op : smoothness in the spectral-norm model F(W+Δ) <= F(W) + <G,Δ> + (L_op/2)||Δ||_op^2 (S4).
    mu : PL constant, ||∇f(X)||_F^2 >= 2 mu (f(X) - f*).
    sigma2 : total noise variance E||g - ∇f||_F^2 (0.0 when the problem hands out exact gradients,
             None when no bound is known, e.g. minibatch noise on a network).
    L_ms : mean-squared smoothness E||∇f(X;ξ) - ∇f(Y;ξ)||_F^2 <= L_ms^2 ||X - Y||_F^2.
    rho : norm equivalence sum_i ||G_i||_(i)* <= rho ||G||_F for the blocks' dual norms (nuclear:
          sqrt(sum_i min(m_i, n_i)); single block: sqrt(min(m, n))).
    G : uniform gradient bound ||∇f(X)||_F <= G on the region the experiment stays in (None if unknown).
    f_star, X_star : optimal value and a minimiser (Params) when known.
    blocks : per-block constants.
    """

    blocks: tuple[BlockConstants, ...]
    L_frobenius: Any = None
    L_spectral: Any = None
    L_op: Any = None
    mu: Any = None
    sigma2: Any = None
    L_ms: Any = None
    G: Any = None
    f_star: Any = None
    X_star: Params | None = None
    extra: dict = field(default_factory=dict)
    rho: Any = None

    def with_(self, **changes) -> Constants:
        return replace(self, **changes)

    def delta0(self, f_X0):
        """Δ₀ = f(X⁰) − f* from the value f(X⁰) (raises when f* is unknown)."""
        if self.f_star is None:
            raise ValueError("f_star is unknown for this problem, so delta0 = f(X0) - f* is undefined")
        return f_X0 - self.f_star


@dataclass(frozen=True)
class Sample:
    """One stochastic draw per batch member; ``data`` is problem/noise specific (arrays)."""

    data: Any
    counter: int


@runtime_checkable
class Problem(Protocol):
    name: str
    block_shapes: tuple[tuple[int, int], ...]
    constants: Constants

    def f(self, X: Params) -> Any: ...

    def grad(self, X: Params) -> Params: ...

    def sample(self, rng) -> Sample: ...

    def stochastic_grad(self, X: Params, sample: Sample) -> Params: ...

    def x0(self, rng) -> Params: ...

    def describe(self) -> dict: ...


def delta0(problem, X0):
    """Δ₀ = f(X⁰) − f* (an array of the batch shape); ValueError when f* is unknown."""
    return problem.constants.delta0(problem.f(X0))
