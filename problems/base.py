"""The problem interface every optimizer and experiment relies on.

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

from lab.serialize import jsonable  # the project's one JSON normaliser (problems.noise imports it here)

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


# ---------------------------------------------------------------------------------------------
# Shared machinery of the lab's problems (added; the protocol above is unchanged).
# ---------------------------------------------------------------------------------------------


def delta0(problem, X0):
    """Δ₀ = f(X⁰) − f* (an array of the batch shape); ValueError when f* is unknown."""
    return problem.constants.delta0(problem.f(X0))


def _dtype_name(dtype) -> str:
    import numpy as np

    try:
        return np.dtype(dtype).name
    except TypeError:
        return str(dtype).split(".")[-1]


class ProblemBase:
    """Common implementation of :class:`Problem` for the lab's families.

    Subclasses set ``name``, ``block_shapes``, ``constants`` and ``params`` (the constructor
    parameters, JSON-serialisable) and implement ``_f(X)`` and ``_grad(X)`` on validated
    ``Params``.  Problem data live in ``self.xp`` with dtype ``self.dtype``; they are built on
    the host (NumPy, float64) from the construction seed and moved once with ``xp.asarray``.
    During a run, randomness comes only from :class:`lab.random.RNG` (``x0``, ``sample``), so a
    batched call equals the same calls made member by member.

    Without a noise model the problem hands out exact gradients: ``sample`` returns an empty
    :class:`Sample` and ``stochastic_grad`` is ``grad`` (``constants.sigma2 == 0``).  Attach a
    noise model with :meth:`with_noise`.
    """

    name: str = "problem"
    block_shapes: tuple = ()
    constants: Constants
    params: dict

    # -- construction helpers ------------------------------------------------------------------
    def _init_backend(self, backend=None, xp=None, dtype=None) -> None:
        from lab.backend import get_backend, resolve_dtype

        self.xp = xp if xp is not None else get_backend(backend)
        self.dtype = resolve_dtype(self.xp, dtype)

    def _put(self, host_array):
        """Move a host NumPy array into the problem's namespace and dtype (construction time only)."""
        return self.xp.asarray(host_array, dtype=self.dtype)

    @property
    def noise(self):
        from problems.noise import NoNoise

        return NoNoise()

    @property
    def num_blocks(self) -> int:
        return len(self.block_shapes)

    # -- the Problem protocol --------------------------------------------------------------------
    def check_params(self, X) -> tuple:
        """Validate ``X`` (a tuple with one ``(*batch, m_i, n_i)`` array per block); return it as a tuple."""
        if not isinstance(X, (tuple, list)):
            raise TypeError(
                f"X must be a tuple of {self.num_blocks} block array(s) (Params), got {type(X).__name__}"
            )
        if len(X) != self.num_blocks:
            raise ValueError(f"X must have {self.num_blocks} block(s) {self.block_shapes}, got {len(X)}")
        for i, (x, shape) in enumerate(zip(X, self.block_shapes, strict=True)):
            if not hasattr(x, "shape") or tuple(x.shape[-2:]) != tuple(shape):
                raise ValueError(
                    f"X[{i}] must have shape (..., {shape[0]}, {shape[1]}), got {getattr(x, 'shape', None)}"
                )
        return tuple(X)

    def f(self, X: Params):
        """Objective value, an array of the batch shape."""
        return self._f(self.check_params(X))

    def grad(self, X: Params) -> Params:
        """Exact gradient, one array per block."""
        return tuple(self._grad(self.check_params(X)))

    def sample(self, rng) -> Sample:
        return Sample(None, int(rng.counter))

    def stochastic_grad(self, X: Params, sample: Sample) -> Params:
        return self.grad(X)

    def x0(self, rng) -> Params:
        """A standard-normal start scaled by 1/sqrt(n_i) per block (families override)."""
        out = []
        for i, (m, n) in enumerate(self.block_shapes):
            z = rng.fold("x0", i).normal((m, n))
            out.append(self.xp.astype(z, self.dtype) / float(n) ** 0.5)
        return tuple(out)

    def make_rng(self, seeds, *axes):
        """A :class:`lab.random.RNG` over ``seeds`` in this problem's namespace."""
        from lab.random import RNG

        return RNG.from_seeds(seeds, self.name, *axes, xp=self.xp)

    def with_noise(self, model, **params):
        """This problem with stochastic gradients from ``model`` (a noise model or its registry name)."""
        from problems.noise import attach_noise

        return attach_noise(self, model, **params)

    def delta0(self, X0):
        """Δ₀ = f(X⁰) − f* (batch shape); ValueError when f* is unknown."""
        return delta0(self, X0)

    def describe(self) -> dict:
        """Name, parameters, shapes, constants and noise, JSON-serialisable."""
        from lab.backend import backend_name

        c = self.constants
        constants = {
            k: getattr(c, k)
            for k in ("L_frobenius", "L_spectral", "L_op", "mu", "sigma2", "L_ms", "G", "f_star", "rho")
        }
        constants["X_star_known"] = c.X_star is not None
        constants["blocks"] = [
            {k: getattr(b, k) for k in ("shape", "norm", "L", "L0", "L1", "radius", "rho", "sigma2")}
            for b in c.blocks
        ]
        constants["extra"] = c.extra
        return jsonable(
            {
                "name": self.name,
                "params": self.params,
                "block_shapes": self.block_shapes,
                "backend": backend_name(self.xp),
                "dtype": _dtype_name(self.dtype),
                "constants": constants,
                "noise": self.noise.describe(),
            }
        )

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"
