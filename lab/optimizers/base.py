"""The optimizer interface: pure ``init``/``step`` pairs over explicit NamedTuple state (optax style).

Interface
---------
::

    opt = muon(lr=0.02, beta=0.95, oracle=newton_schulz_oracle(5))
    state = opt.init(params)                                      # params: Params
    params, state = opt.step(state, params, gradient, rng)        # one step, pure
    params, state, info = opt.update(state, params, gradient, rng)  # the same step + StepInfo

* ``params`` is a :data:`Params` tuple, one ``(*batch, m_i, n_i)`` array per block (layer).  Every
  batch member is an independent run; no operation mixes members.
* ``gradient`` is a callable ``Params -> Params`` that evaluates **this step's sample** at any point:
  ``gradient(X)`` = ∇f(X; ξ_t).  One-gradient methods call it once, at the current iterate;
  Muon-MVR2 calls it at X_t and at X_{t−1} with the same ξ_t, which is why the step
  receives a function rather than an array.  :func:`gradient_fn` builds it from a problem:
  ``problem.grad`` (deterministic) or ``lambda X: problem.stochastic_grad(X, problem.sample(rng))``
  with the sample drawn once per step.
* ``rng`` is the step's :class:`lab.random.RNG` of the batch shape, for randomised oracles (the
  optimizer folds it per block); ``None`` when no oracle needs randomness.
* ``state`` is a NamedTuple whose first field ``count`` (a Python int) is the number of steps taken;
  the step number passed to schedules is t = count + 1 (1-based, see :mod:`lab.schedules`).  All other
  fields are arrays (or tuples/NamedTuples of arrays) with the batch axes in front, so a runner can
  freeze members with :func:`tree_where`.
* ``step`` and ``update`` never modify their arguments.

Hyperparameters
---------------
Every hyperparameter is a typed :class:`Hyper` field of the transform that uses it (a
:class:`lab.schedules.Schedule` with its allowed interval); a number or an array over the batch is a
constant schedule.  :meth:`Optimizer.hyperparameters` names them (``lr``, ``beta``, ``block_lr[1]``…).
Values are broadcast against the blocks as ``(*batch, 1, 1)``: an array of shape ``(B,)`` gives one
value per run of a ``(B,)`` batch.  Ranges are checked at construction for constant
schedules and by :meth:`Optimizer.validate` over a horizon for the others; errors are ValueErrors
that name the option and the allowed range.  The oracle is injected per block (one for all blocks or
a tuple, one per block).  :meth:`Optimizer.describe` records every convention the code had to fix.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from lab.backend import check_matrix, namespace, to_numpy
from lab.oracles import Oracle, make_oracle
from lab.schedules import Schedule, as_schedule, batch_factor, check_schedule

__all__ = [
    "Params",
    "GradientFn",
    "StepInfo",
    "Optimizer",
    "gradient_fn",
    "has_sample_interface",
    "tree_map",
    "tree_where",
    "check_choice",
    "check_flag",
    "SHAPE_SCALES",
    "shape_scale",
    "resolve_oracles",
    "Hyper",
    "Example",
    "hyper",
    "block_hypers",
    "check_params",
]

Params = tuple  # tuple of (*batch, m_i, n_i) arrays, one per block
GradientFn = Callable[[Params], Params]

#: Learning-rate shape scales for an A×B block (A = rows = fan-out).
SHAPE_SCALES = ("original", "match_rms_adamw", "none")


class StepInfo(NamedTuple):
    """What one step computed (for the runner's metrics; nothing here is extra work).

    lr : the unscaled step size η_t (float or batch-shaped array); weight decay uses it.
    step_sizes : per block, the step size that multiplies the direction (η_t × shape scale × block
        multiplier, or the adaptive t_i of Gluon); floats or batch-shaped arrays.
    gradient : g_t, the gradient the step evaluated at the current iterate (this step's sample).
    estimate : the gradient estimator on the gradient's scale (EMA/MVR momentum M_t; (1 − β)M_t for
        the heavy-ball sum), or None.
    oracle_input : what was fed to the oracle (M_t, or the Nesterov combination), or None.
    direction : D_t = oracle(input) (LMO methods) or the update direction, or None.
    weight_decay : λ_t (0.0 without decay).
    beta : β_t (momentum weight on the old estimate), or None when the method has none.
    """

    lr: Any
    step_sizes: tuple
    gradient: Params
    estimate: Params | None = None
    oracle_input: Params | None = None
    direction: Params | None = None
    weight_decay: Any = 0.0
    beta: Any = None


# --------------------------------------------------------------------------------------- helpers


def gradient_fn(problem, rng=None, *, stochastic: bool = True) -> GradientFn:
    """The step's gradient oracle: ``problem.grad``, or this step's sample evaluated at any point.

    The sample is drawn once (``problem.sample(rng)``, ``rng`` at the step's counter) and reused for
    every evaluation, so MVR2's two gradients share ξ_t.
    """
    if not stochastic:
        return problem.grad
    if rng is None:
        raise ValueError("rng is required for stochastic gradients (the step's lab.random.RNG)")
    sample = problem.sample(rng)

    def gradient(X: Params) -> Params:
        return problem.stochastic_grad(X, sample)

    return gradient


def has_sample_interface(problem) -> bool:
    """True when the problem can draw a sample and evaluate it at any point."""
    return callable(getattr(problem, "sample", None)) and callable(getattr(problem, "stochastic_grad", None))


def tree_map(fn, tree):
    """Apply ``fn`` to every array leaf of a (Named)tuple tree; ints, floats and None pass through."""
    if tree is None or isinstance(tree, (bool, int, float, str)):
        return tree
    if isinstance(tree, tuple):
        mapped = [tree_map(fn, x) for x in tree]
        return type(tree)(*mapped) if hasattr(tree, "_fields") else tuple(mapped)
    return fn(tree)


def tree_where(mask, new, old):
    """Leafwise ``where(mask, new, old)``; ``mask`` has the batch shape and broadcasts as (*batch, 1, 1).

    Python ints (the step count) are taken from ``new``.  Used to freeze diverged members: their
    entries keep ``old`` bit for bit, the others take ``new`` bit for bit.
    """
    if new is None or isinstance(new, (bool, int, float, str)):
        return new
    if isinstance(new, tuple):
        merged = [tree_where(mask, a, b) for a, b in zip(new, old, strict=True)]
        return type(new)(*merged) if hasattr(new, "_fields") else tuple(merged)
    xp = namespace(new)
    m = mask
    for _ in range(new.ndim - mask.ndim):
        m = m[..., None]
    return xp.where(m, new, old)


def check_choice(name: str, value, choices) -> Any:
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def check_flag(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def shape_scale(kind: str, shape: Sequence[int]) -> float:
    """Learning-rate multiplier of an A×B block: √max(1, A/B), 0.2·√max(A, B), or 1."""
    A, B = int(shape[-2]), int(shape[-1])
    if kind == "original":
        return max(1.0, A / B) ** 0.5
    if kind == "match_rms_adamw":
        return 0.2 * max(A, B) ** 0.5
    if kind == "none":
        return 1.0
    raise ValueError(f"shape_scale must be one of {SHAPE_SCALES}, got {kind!r}")


def resolve_oracles(oracle, name: str = "oracle"):
    """A tuple of oracles from an Oracle, a spec (string/dict for lab.oracles.make_oracle), or a sequence.

    A single oracle (tuple of length one) is used for every block.
    """
    if oracle is None:
        raise ValueError(
            f"{name} is required (an Oracle, a spec such as 'exact' or 'ns:jordan:5', or one per block)"
        )
    items = list(oracle) if isinstance(oracle, (list, tuple)) else [oracle]
    if not items:
        raise ValueError(f"{name} must name at least one oracle, got an empty sequence")
    out = []
    for i, o in enumerate(items):
        if isinstance(o, Oracle):
            out.append(o)
            continue
        try:
            out.append(make_oracle(o))
        except ValueError as exc:
            raise ValueError(f"{name}[{i}]: {exc}") from None
    return tuple(out)


class Example(NamedTuple):
    """One configuration the conformance suites run, with one hyperparameter swept over the batch.

    label : a short name for test ids.
    build : ``build(v)`` → an optimizer; ``v`` is one value or an array of values, one per run.
    values : three swept values (the batch of the batched-equals-one-by-one test).
    converges : a value of ``v`` that brings ½‖X_i − C_i‖² over blocks (6, 4) and (3, 5) (the suites'
        quadratic; deterministic gradients) below 1e-2 of its start within 400 steps.
    """

    label: str
    build: Callable[[Any], Any]
    values: tuple
    converges: Any


class Hyper(NamedTuple):
    """A typed hyperparameter: its schedule and the allowed interval.

    Transforms hold one per option (``self.beta: Hyper``) and read it with :meth:`at` or
    :meth:`factor`; :meth:`Optimizer.hyperparameters` names them for validation and description.
    """

    schedule: Schedule
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def at(self, t: int, like):
        """The value at step t in the namespace and dtype of the array ``like``."""
        return self.schedule.value(t, namespace(like), like.dtype)

    def factor(self, t: int, like):
        """The value at step t shaped to multiply (*batch, m, n) blocks."""
        return batch_factor(self.at(t, like))

    @property
    def is_zero(self) -> bool:
        """True for the constant Python float 0 (the step then skips the term)."""
        s = self.schedule
        return s.is_constant and isinstance(s.value(1), float) and s.value(1) == 0.0

    def check(self, name: str, steps: int | None = None) -> None:
        """Raise ValueError naming ``name`` when the schedule leaves the interval (steps 1…``steps``)."""
        check_schedule(
            name,
            self.schedule,
            low=self.low,
            high=self.high,
            low_open=self.low_open,
            high_open=self.high_open,
            steps=steps,
        )


def hyper(name: str, value, *, low=None, high=None, low_open=False, high_open=False) -> Hyper:
    """A :class:`Hyper` from a schedule, number or batch array; a constant is range-checked now."""
    h = Hyper(as_schedule(value, name), low, high, low_open, high_open)
    if h.schedule.is_constant:
        h.check(name)
    return h


def block_hypers(name: str, value, **ranges) -> tuple[Hyper, ...]:
    """One :class:`Hyper` per block from a sequence, or a single shared one from anything else."""
    if isinstance(value, (list, tuple)):
        if len(value) == 0:
            raise ValueError(f"{name} must not be an empty sequence")
        return tuple(hyper(f"{name}[{i}]", v, **ranges) for i, v in enumerate(value))
    return (hyper(name, value, **ranges),)


def block_hyper_names(name: str, hypers: tuple[Hyper, ...]) -> dict[str, Hyper]:
    """``{name: h}`` for a shared value, ``{name[i]: h_i}`` for one per block."""
    if len(hypers) == 1:
        return {name: hypers[0]}
    return {f"{name}[{i}]": h for i, h in enumerate(hypers)}


def check_block_count(name: str, count: int, num_blocks: int) -> None:
    """Per-block settings are one shared value or exactly one per block."""
    if count not in (1, num_blocks):
        raise ValueError(f"{name}: got {count} values for {num_blocks} blocks; give one per block or one")


# --------------------------------------------------------------------------------------- base


class Optimizer:
    """The interface the runner drives: ``init``/``update``/``step`` plus validation and description.

    Implementations (:class:`lab.optimizers.chain.Chain`, the mutation wrappers) provide
    :meth:`init`, :meth:`update`, :meth:`hyperparameters` and :meth:`conventions`.

    Class attributes
    ----------------
    name : registry name.
    needs_same_sample : True for methods that evaluate one sample at two points (MVR2).
    """

    name = "optimizer"
    needs_same_sample = False

    # -- hyperparameters ------------------------------------------------------------------------
    def hyperparameters(self) -> dict[str, Hyper]:
        """Every hyperparameter by its option name, in a stable order."""
        return {}

    def conventions(self) -> dict[str, Any]:
        """The conventions this configuration fixed (recorded by :meth:`describe`)."""
        return {}

    def validate(self, steps: int | None = None, block_shapes=None) -> None:
        """Check every schedule over the horizon (steps 1…``steps``) and the block structure.

        Raises ValueError naming the option; called by the runner before any work.
        """
        for name, h in self.hyperparameters().items():
            h.check(name, steps)
        if block_shapes is not None:
            self.check_blocks(tuple(tuple(s) for s in block_shapes))

    def check_blocks(self, block_shapes) -> None:
        """Check per-block settings (one norm/oracle per block, …) against the block shapes."""

    def dual_norms(self, num_blocks: int):
        """Per-block norms of the method's geometry (for metrics), or None (use the problem's)."""
        return None

    def block_oracles(self, num_blocks: int):
        """Per-block oracles (for oracle diagnostics), or None for methods without an oracle."""
        return None

    def _constant_values(self):
        """(name, value) of the constant hyperparameters and of the oracles' nominal δ."""
        hypers = self.hyperparameters().items()
        items = [(k, h.schedule.value(1)) for k, h in hypers if h.schedule.is_constant]
        for i, o in enumerate(self.block_oracles(1) or ()):
            if getattr(o, "delta", None) is not None:  # the nominal δ of exact / injected-error oracles
                items.append((f"oracle[{i}].delta", o.delta))
        return items

    def check_batch(self, batch_shape) -> None:
        """Raise ValueError if a hyperparameter array (or an oracle's δ) does not broadcast over the batch.

        Values broadcast as (*batch, 1, 1): an array's shape must broadcast to ``batch_shape`` without
        enlarging it (e.g. shape (B,) or (1,) for a batch (B,)).
        """
        batch = tuple(batch_shape)
        for name, v in self._constant_values():
            if isinstance(v, float):
                continue
            shape = tuple(np.shape(to_numpy(v)))
            try:
                ok = np.broadcast_shapes(shape, batch) == batch
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(
                    f"{name} has shape {shape}, which does not broadcast over the batch shape {batch} "
                    f"(give one value per run, shape {batch}, or a scalar)"
                )

    def member_values(self, batch_shape) -> dict:
        """Per-member values of the constant hyperparameters and oracle δ, host arrays of the batch shape."""
        out = {}
        for k, v in self._constant_values():
            out[k] = np.broadcast_to(np.asarray(to_numpy(v), dtype=np.float64), tuple(batch_shape))
        return out

    # -- the step ---------------------------------------------------------------------------------
    def init(self, params: Params):  # pragma: no cover - abstract
        raise NotImplementedError

    def update(self, state, params: Params, gradient: GradientFn, rng=None):  # pragma: no cover
        raise NotImplementedError

    def step(self, state, params: Params, gradient: GradientFn, rng=None):
        """One step: ``(params, state)`` (see :meth:`update` for the same step with its StepInfo)."""
        new_params, new_state, _ = self.update(state, params, gradient, rng)
        return new_params, new_state

    # -- description ------------------------------------------------------------------------------
    def describe(self) -> dict:
        """Name, hyperparameters (schedules) and the conventions fixed by this configuration."""
        return {
            "optimizer": self.name,
            "hyperparameters": {k: h.schedule.describe() for k, h in self.hyperparameters().items()},
            "conventions": dict(self.conventions()),
        }

    def __repr__(self) -> str:
        hp = ", ".join(f"{k}={h.schedule!r}" for k, h in self.hyperparameters().items())
        return f"{self.name}({hp})"


def check_params(params, name: str = "params") -> Params:
    """Validate a Params tuple: non-empty, every block a real floating (*batch, m, n) array, equal batch."""
    if not isinstance(params, (tuple, list)) or len(params) == 0:
        raise TypeError(
            f"{name} must be a non-empty tuple of (*batch, m, n) arrays (Params), got {type(params).__name__}"
        )
    batch = None
    for i, x in enumerate(params):
        check_matrix(x, f"{name}[{i}]")
        if batch is None:
            batch = tuple(x.shape[:-2])
        elif tuple(x.shape[:-2]) != batch:
            raise ValueError(f"{name}[{i}] has batch shape {tuple(x.shape[:-2])}, block 0 has {batch}")
    return tuple(params)
