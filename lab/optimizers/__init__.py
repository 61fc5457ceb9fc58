"""Batched optimizers as pure init/step pairs (see :mod:`lab.optimizers.base` for the interface).

==============  ================================================================  ================
name            method                                                            module
==============  ================================================================  ================
``lmo_step``    X ← X + t·oracle(∇f(X)) (normalised steepest descent, any norm)   :mod:`.lmo`
``muon``        momentum (ema/sum/alpha, Nesterov) + oracle + shape scale + WD    :mod:`.muon`
``scion``       layer-wise norms, per-block steps, Scion momentum                 :mod:`.gluon`
``gluon``       layer-wise norms, (L0, L1) adaptive steps (δ-aware / agnostic)    :mod:`.gluon`
``muon_mvr1``   Muon + MVR1 correction (stored previous gradient)                 :mod:`.mvr`
``muon_mvr2``   Muon + STORM estimator (same sample at two points)                :mod:`.mvr`
``lion_k``      Lion-K, spectral K (nuclear = Muon + WD + Nesterov)               :mod:`.lion_k`
``sgd``         SGD with heavy-ball / EMA momentum (baseline)                     :mod:`.baselines`
``adam``        Adam, coupled L2 weight decay (baseline)                          :mod:`.baselines`
``adamw``       AdamW, decoupled weight decay (baseline)                          :mod:`.baselines`
==============  ================================================================  ================
"""

from __future__ import annotations

from lab.optimizers.base import (
    GradientFn,
    Optimizer,
    Params,
    StepInfo,
    gradient_fn,
    has_sample_interface,
    shape_scale,
    tree_map,
    tree_where,
)
from lab.optimizers.baselines import adam, adamw, sgd
from lab.optimizers.gluon import gluon, scion
from lab.optimizers.lion_k import lion_k
from lab.optimizers.lmo import LMOOptimizer, lmo_step
from lab.optimizers.muon import muon
from lab.optimizers.mvr import muon_mvr1, muon_mvr2

#: Registry: name -> factory (``make_optimizer`` and ``lab run`` use it).
OPTIMIZERS = {
    "lmo_step": lmo_step,
    "muon": muon,
    "scion": scion,
    "gluon": gluon,
    "muon_mvr1": muon_mvr1,
    "muon_mvr2": muon_mvr2,
    "lion_k": lion_k,
    "sgd": sgd,
    "adam": adam,
    "adamw": adamw,
}


def make_optimizer(name: str, **kwargs) -> Optimizer:
    """Build a registered optimizer by name; unknown names and options raise ValueError naming them."""
    import inspect

    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {tuple(OPTIMIZERS)}, got {name!r}")
    factory = OPTIMIZERS[name]
    sig = inspect.signature(factory)
    unknown = sorted(set(kwargs) - set(sig.parameters))
    if unknown:
        raise ValueError(
            f"unknown option(s) {unknown} for optimizer {name!r}; allowed: {list(sig.parameters)}"
        )
    missing = [
        p.name
        for p in sig.parameters.values()
        if p.default is inspect.Parameter.empty and p.name not in kwargs
    ]
    if missing:
        raise ValueError(f"optimizer {name!r} needs option(s) {missing}")
    return factory(**kwargs)


__all__ = [
    "OPTIMIZERS",
    "GradientFn",
    "LMOOptimizer",
    "Optimizer",
    "Params",
    "StepInfo",
    "adam",
    "adamw",
    "gluon",
    "gradient_fn",
    "has_sample_interface",
    "lion_k",
    "lmo_step",
    "make_optimizer",
    "muon",
    "muon_mvr1",
    "muon_mvr2",
    "scion",
    "sgd",
    "shape_scale",
    "tree_map",
    "tree_where",
]
