"""``chain(*transforms)``: an optimizer from small blockwise transforms (optax's ``chain``).

One step threads a :class:`lab.optimizers.transforms.Step` through the transforms in order, then
applies the final updates blockwise,

    X_i ← X_i · shrink + s_i · updates_i        (shrink = 1 − η_t λ_t of decoupled weight decay, or 1)

and gathers :class:`lab.optimizers.StepInfo` from the step's fields.  The state is a
:class:`ChainState`: the step count and one state per transform.  Hyperparameters and conventions
are the transforms' own, in chain order (an alias may state its conventions in its own words).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from lab.optimizers.base import Optimizer, StepInfo, check_params
from lab.optimizers.transforms import Step, Transform
from lab.schedules import batch_factor

__all__ = ["Chain", "ChainState", "chain"]


class ChainState(NamedTuple):
    count: int  # steps taken
    transforms: tuple  # one NamedTuple state per transform


class Chain(Optimizer):
    """The optimizer of a sequence of transforms (module docstring); built by :func:`chain`."""

    def __init__(self, name: str, transforms, conventions: dict | None = None, order=()):
        self.name = name
        self._order = tuple(order)
        self.transforms: tuple[Transform, ...] = tuple(transforms)
        self.needs_same_sample = any(tr.needs_same_sample for tr in self.transforms)
        self._stated_conventions = None if conventions is None else dict(conventions)
        seen: dict[str, Any] = {}
        for tr in self.transforms:
            for key in tr.hyperparameters():
                if key in seen:
                    raise ValueError(f"{name}: two transforms define the hyperparameter {key!r}")
                seen[key] = tr

    def hyperparameters(self):
        out = {}
        for tr in self.transforms:
            out.update(tr.hyperparameters())
        first = {k: out[k] for k in self._order if k in out}
        return {**first, **out}

    def conventions(self):
        if self._stated_conventions is not None:
            return dict(self._stated_conventions)
        out = {}
        for tr in self.transforms:
            out.update(tr.conventions())
        return out

    def check_blocks(self, block_shapes) -> None:
        for tr in self.transforms:
            tr.check_blocks(block_shapes)

    def block_oracles(self, num_blocks: int):
        for tr in self.transforms:
            oracles = tr.block_oracles(num_blocks)
            if oracles is not None:
                return oracles
        return None

    def dual_norms(self, num_blocks: int):
        oracles = self.block_oracles(num_blocks)
        return None if oracles is None else tuple(o.norm for o in oracles)

    def init(self, params):
        params = check_params(params)
        self.check_blocks(tuple(tuple(x.shape[-2:]) for x in params))
        return ChainState(0, tuple(tr.init(params) for tr in self.transforms))

    def update(self, state, params, gradient, rng=None):
        g = tuple(gradient(params))
        step = Step(state.count + 1, params, gradient, rng, g, g)
        states = []
        for tr, s in zip(self.transforms, state.transforms, strict=True):
            step, s = tr.update(step, s)
            states.append(s)
        sizes = step.sizes()
        new_params = []
        for X, s, U in zip(params, sizes, step.updates, strict=True):
            Xd = X * step.shrink if step.shrink is not None else X
            new_params.append(Xd + batch_factor(s) * U)
        info = StepInfo(
            step.lr, sizes, g, step.estimate, step.oracle_input, step.direction, step.weight_decay, step.beta
        )
        return tuple(new_params), ChainState(step.t, tuple(states)), info

    def describe(self) -> dict:
        d = super().describe()
        oracles = [o for tr in self.transforms for o in (tr.oracles or ())]
        if oracles:
            d["oracles"] = [o.describe() for o in oracles]
        return d


def chain(*transforms: Transform, name: str = "chain", conventions: dict | None = None, order=()) -> Chain:
    """An optimizer applying ``transforms`` in order (module docstring).

    Parameters
    ----------
    *transforms : :class:`lab.optimizers.transforms.Transform` instances.
    name : the optimizer's name in ``describe()`` and results.
    conventions : the conventions to record instead of the transforms' own (an alias's vocabulary).
    order : hyperparameter names listed first by ``describe()`` (default: chain order), for an alias
        whose record predates its chain (a coupled decay acts first but is listed last).
    """
    return Chain(name, transforms, conventions, order)
