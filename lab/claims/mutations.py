"""Deliberately wrong optimizer variants for the mutation checks (:data:`lab.checks.MUTATIONS`).

Each wrapper is an :class:`lab.optimizers.Optimizer` that behaves like the wrapped one except for
one planted bug; a bound check run against it must report "violated".  They wrap any optimizer,
so a check mutates exactly the configuration it verifies.
"""

from __future__ import annotations

from lab.optimizers.base import Optimizer, tree_map

__all__ = ["DoubledStep", "FlippedMomentum", "mutate", "understate"]


class _Wrapped(Optimizer):
    def __init__(self, inner: Optimizer):
        self.inner = inner
        self.name = f"{inner.name}+{type(self).__name__}"
        self.needs_same_sample = inner.needs_same_sample

    # validation, batch checks and describe() see the inner optimizer's hyperparameters
    def hyperparameters(self):
        return self.inner.hyperparameters()

    def conventions(self):
        return {**self.inner.conventions(), "mutation": type(self).__name__}

    def __getattr__(self, item):
        # Only reached for attributes not set here (oracle, norms, ...): delegate.
        return getattr(self.__dict__["inner"], item)

    def init(self, params):
        return self.inner.init(params)

    def validate(self, steps=None, block_shapes=None):
        return self.inner.validate(steps, block_shapes)

    def dual_norms(self, num_blocks):
        return self.inner.dual_norms(num_blocks)

    def block_oracles(self, num_blocks):
        return self.inner.block_oracles(num_blocks)

    def check_batch(self, batch_shape):
        return self.inner.check_batch(batch_shape)


class DoubledStep(_Wrapped):
    """X_{t+1} = X_t + 2·(X_{t+1}^{inner} − X_t): the step size doubled inside the optimizer."""

    def update(self, state, params, gradient, rng=None):
        new, state, info = self.inner.update(state, params, gradient, rng)
        doubled = tuple(2 * n - p for n, p in zip(new, params, strict=True))
        return doubled, state, info


def _negate_momentum(state):
    """Negate every field named ``momentum`` in a (Named)tuple state tree."""
    if isinstance(state, tuple) and hasattr(state, "_fields"):
        values = []
        for name, value in zip(state._fields, state, strict=True):
            if name == "momentum":
                values.append(tree_map(lambda a: -a, value))
            else:
                values.append(_negate_momentum(value))
        return type(state)(*values)
    if isinstance(state, tuple):
        return tuple(_negate_momentum(v) for v in state)
    return state


class FlippedMomentum(_Wrapped):
    """M_t = −β M_{t−1} + (1 − β) g_t: the previous momentum enters with the wrong sign."""

    def update(self, state, params, gradient, rng=None):
        return self.inner.update(_negate_momentum(state), params, gradient, rng)


def mutate(optimizer: Optimizer, mutation: str | None) -> Optimizer:
    """``optimizer`` with the named planted bug ("double_step", "flip_momentum"), or unchanged for None."""
    if mutation is None:
        return optimizer
    if mutation == "double_step":
        return DoubledStep(optimizer)
    if mutation == "flip_momentum":
        return FlippedMomentum(optimizer)
    raise ValueError(
        f"mutation must be 'double_step', 'flip_momentum' or None for an optimizer, got {mutation!r}"
    )


def understate(value, mutation: str | None, factor: float = 0.8):
    """A certified constant as the bound sees it: ×0.8 under "understate_constant", else unchanged."""
    return value * factor if mutation == "understate_constant" else value
