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
``normuon``     Muon + per-neuron second-moment normalisation (NorMuon)           :mod:`.normuon`
==============  ================================================================  ================

Every method is a :func:`chain` of small transforms (:mod:`.transforms`); a new one is registered
with :func:`register` (or the entry-point group ``muon_lab.optimizers``, see :mod:`.registry`) and
is then run by ``lab run --optimizer NAME`` and by the conformance suites through its examples.
"""

from __future__ import annotations

from lab.optimizers.base import (
    Example,
    GradientFn,
    Hyper,
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
from lab.optimizers.chain import Chain, ChainState, chain
from lab.optimizers.gluon import gluon, scion
from lab.optimizers.lion_k import lion_k
from lab.optimizers.lmo import LMOOptimizer, lmo_step
from lab.optimizers.muon import muon
from lab.optimizers.mvr import muon_mvr1, muon_mvr2
from lab.optimizers.normuon import normuon
from lab.optimizers.registry import ENTRY_POINT_GROUP, OPTIMIZERS, examples, make_optimizer, register

__all__ = [
    "ENTRY_POINT_GROUP",
    "OPTIMIZERS",
    "Chain",
    "ChainState",
    "Example",
    "GradientFn",
    "Hyper",
    "LMOOptimizer",
    "Optimizer",
    "Params",
    "StepInfo",
    "adam",
    "adamw",
    "chain",
    "examples",
    "gluon",
    "gradient_fn",
    "has_sample_interface",
    "lion_k",
    "lmo_step",
    "make_optimizer",
    "muon",
    "muon_mvr1",
    "muon_mvr2",
    "normuon",
    "register",
    "scion",
    "sgd",
    "shape_scale",
    "tree_map",
    "tree_where",
]
