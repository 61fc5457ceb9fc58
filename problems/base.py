"""The shared implementation of the lab's problems: :class:`ProblemBase` and its noisy wrapper.

The interface itself (the :class:`Problem` protocol, :class:`Constants`, :class:`BlockConstants`,
:class:`Sample`) lives in :mod:`problems.protocol` and is re-exported here.  Layering:
``problems.protocol`` ← ``problems.noise`` (noise models) ← ``problems.base`` (problems, and
:class:`NoisyProblem`, which pairs a problem with a noise model), so no module imports back.
"""

from __future__ import annotations

import inspect

import numpy as np

from lab.backend import backend_name, get_backend, resolve_dtype
from lab.random import RNG
from problems.noise import NoiseModel, NoNoise, make_noise
from problems.protocol import (  # noqa: F401  (re-exported: problems.base is their public path)
    BlockConstants,
    Constants,
    Params,
    Problem,
    Sample,
    delta0,
    jsonable,
)

# Constructor arguments that say where the data live, not which instance it is.
PLACEMENT_PARAMETERS = ("backend", "xp", "dtype")


def constructor_parameters(factory) -> dict:
    """The named parameters of a problem class or factory and their defaults (None: no default).

    Read from the signature (for a class, its ``__init__`` without ``self``), in signature order;
    ``*args`` and ``**kwargs`` are left out.
    """
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return {
        k: (None if p.default is inspect.Parameter.empty else p.default)
        for k, p in inspect.signature(factory).parameters.items()
        if p.kind not in variadic
    }


def recorded_params(cls, values: dict, **settled) -> dict:
    """``params`` of an instance of ``cls``: every constructor parameter with the value it settled on.

    Parameters
    ----------
    cls : the class whose ``__init__`` is running; its signature names the parameters (in order),
        less :data:`PLACEMENT_PARAMETERS`.
    values : the constructor's ``locals()`` after validation, so a default resolved from the
        others (``radius = 1/L1``) is recorded resolved.
    **settled : values that differ from the local variable of that name (e.g. a spectrum stored as a
        list), each a constructor parameter.

    The signature is the one place a parameter is written; ``params``, ``describe()["params"]`` and
    :func:`problems.parameters` are read from it.
    """
    names = [k for k in constructor_parameters(cls) if k not in PLACEMENT_PARAMETERS]
    unknown = sorted(set(settled) - set(names))
    if unknown:
        raise TypeError(f"{cls.__name__} has no constructor parameter(s) {unknown}")
    return {k: settled[k] if k in settled else values[k] for k in names}


def _dtype_name(dtype) -> str:
    try:
        return np.dtype(dtype).name
    except TypeError:
        return str(dtype).split(".")[-1]


class ProblemBase:
    """Common implementation of :class:`Problem` for the lab's families.

    Subclasses set ``name``, ``block_shapes``, ``constants`` and ``params`` (the constructor
    parameters, JSON-serialisable: :func:`recorded_params`) and implement ``_f(X)`` and
    ``_grad(X)`` on validated ``Params``.  Problem data live in ``self.xp`` with dtype
    ``self.dtype``; they are built on the host (NumPy, float64) from the construction seed and
    moved once with ``xp.asarray``.  During a run, randomness comes only from
    :class:`lab.random.RNG` (``x0``, ``sample``), so a batched call equals the same calls made
    member by member.

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
        self.xp = xp if xp is not None else get_backend(backend)
        self.dtype = resolve_dtype(self.xp, dtype)

    def _put(self, host_array):
        """Move a host NumPy array into the problem's namespace and dtype (construction time only)."""
        return self.xp.asarray(host_array, dtype=self.dtype)

    @property
    def noise(self) -> NoiseModel:
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
        return RNG.from_seeds(seeds, self.name, *axes, xp=self.xp)

    def with_noise(self, model, **params):
        """This problem with stochastic gradients from ``model`` (a noise model or its registry name)."""
        return attach_noise(self, model, **params)

    def delta0(self, X0):
        """Δ₀ = f(X⁰) − f* (batch shape); ValueError when f* is unknown."""
        return delta0(self, X0)

    def describe(self) -> dict:
        """Name, parameters, shapes, constants and noise, JSON-serialisable."""
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


class NoisyProblem(ProblemBase):
    """A problem whose ``sample``/``stochastic_grad`` come from a noise model (everything else delegates).

    Attributes of the wrapped problem (``X_star``, ``hessian_apply``, ``constrained_optimum``, …)
    are reachable through the wrapper; ``base`` is the noise-free problem.
    """

    def __init__(self, base, model: NoiseModel):
        model.bind(base)
        self.base, self._noise = base, model
        self.name, self.block_shapes, self.params = base.name, base.block_shapes, base.params
        self.xp, self.dtype = base.xp, base.dtype
        self.constants = model.constants(base)

    @property
    def noise(self):
        return self._noise

    def __getattr__(self, attr):
        if attr == "base":  # not yet set: avoid infinite recursion during construction/unpickling
            raise AttributeError(attr)
        return getattr(self.base, attr)

    def _f(self, X):
        return self.base._f(X)

    def _grad(self, X):
        return self.base._grad(X)

    def x0(self, rng):
        return self.base.x0(rng)

    def sample(self, rng) -> Sample:
        return self._noise.sample(self.base, rng)

    def stochastic_grad(self, X, sample: Sample):
        return tuple(self._noise.stochastic_grad(self.base, self.check_params(X), sample))

    def variance(self, X):
        """E‖g(X; ξ) − ∇f(X)‖_F² exactly, per batch member."""
        return self._noise.variance(self.base, self.check_params(X))

    def with_noise(self, model, **params):
        return attach_noise(self.base, model, **params)

    def __repr__(self) -> str:
        return f"{self.base!r}.with_noise({self._noise!r})"


def attach_noise(problem, model, **params) -> NoisyProblem:
    """``problem`` with stochastic gradients from ``model`` (instance, registry name or dict)."""
    base = problem.base if isinstance(problem, NoisyProblem) else problem
    return NoisyProblem(base, make_noise(model, **params))
