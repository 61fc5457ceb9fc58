"""One id per claim: the theorem's id (``S1.I1``) names the claim, its check and its experiment.

A check about exactly one theorem family takes that theorem's id (``S1.I1``, ``S2.D.inexact``);
a check about a trend, a rate or a building block takes a dotted name in its family
(``S1.I1.trend``, ``S2.slopes``, ``S1.NS.presets``); an experiment takes the id of the primary claim
it serves (``s1_i1`` → ``S1.I1``; one experiment can feed several checks).  A verdict row's claim is
its check's id, optionally followed by a bracketed label (``S1.I3.trend[alpha]``).

The earlier spellings — check ids such as ``S1-I1``, experiment names such as ``s1_i1`` and the
verdict-row names derived from them — are kept here as aliases: the registries resolve them (``lab
check --only S1-I1``, ``get_check("S1-I1")``, ``get_experiment("s1_i1")``) and readers of older
verdicts documents translate them with :func:`canonical_claim`.  A module that registers under an
old spelling is renamed at registration, so the tables below are the one place the renaming lives.

This module imports nothing: the verdicts reader (:mod:`lab.verdicts`) uses it without loading the
claims.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "CHECK_IDS",
    "EXPERIMENT_IDS",
    "ROW_IDS",
    "add_alias",
    "aliases_of",
    "canonical_claim",
    "check_id",
    "experiment_id",
]

#: Old check id -> claim id.
CHECK_IDS: dict[str, str] = {
    # S1: the inexact LMO (lemma, I1-I4), Newton-Schulz, layer-wise smoothness
    "S1-lemma": "S1.lemma",
    "S1-I1": "S1.I1",
    "S1-I1-trend": "S1.I1.trend",
    "S1-I2": "S1.I2",
    "S1-I2-agnostic": "S1.I2.agnostic",
    "S1-I3": "S1.I3",
    "S1-I3-trend": "S1.I3.trend",
    "S1-I3-alpha-adversarial": "S1.I3.alpha_adversarial",
    "S1-I3-scaling": "S1.I3.scaling",
    "S1-I4": "S1.I4",
    "S1-I4-trend": "S1.I4.trend",
    "S1-trend-oracles": "S1.trend.oracles",
    "S1-L0L1-estimate": "S1.L0L1.estimate",
    "S1-NS-recursion": "S1.NS.recursion",
    "S1-NS-presets": "S1.NS.presets",
    "S1-NS-lr-shift": "S1.NS.lr_shift",
    "S1-LMO-closed-form": "S1.LMO.closed_form",
    "S1-oracle-errors": "S1.oracle.errors",
    "S1-problem-constants": "S1.problem.constants",
    "S1-real-coupling": "S1.real.coupling",
    "S1-real-delta-bound": "S1.real.delta_bound",
    "S1-real-delta-assumption": "S1.real.delta_assumption",
    # S2: variance-reduced Muon
    "S2-D": "S2.D",
    "S2-D-inexact": "S2.D.inexact",
    "S2-E": "S2.E",
    "S2-E-MVR1-state": "S2.E.MVR1.state",
    "S2-N1": "S2.N1",
    "S2-N2": "S2.N2",
    "S2-P1": "S2.P1",
    "S2-P2": "S2.P2",
    "S2-slopes": "S2.slopes",
    "S2-gamma-floor": "S2.gamma_floor",
    "S2-same-sample": "S2.same_sample",
    "S2-horizon-free": "S2.horizon_free",
    "S2-rank-scaling": "S2.rank_scaling",
    "S2-optimizer-reference": "S2.optimizer.reference",
    "S2-runner-conformance": "S2.runner.conformance",
    "S2-stats-reference": "S2.stats.reference",
    "S2-real-mvr": "S2.real.mvr",
    # S3: Muon + decoupled weight decay on the spectral ball
    "S3-L1-envelope": "S3.L1",
    "S3-radius": "S3.L1.radius",
    "S3-constrained-optimum": "S3.S.constrained_optimum",
    "S3-L2-lyapunov": "S3.L2",
    "S3-L2-sharp": "S3.L2.sharp",
    "S3-L3": "S3.L3",
    # S4: spectral flattening
    "S4-threshold": "S4.threshold",
    "S4-gd-diverges": "S4.gd.stability",
    "S4-eta2-floor": "S4.muon.level",
    "S4-spectral-model": "S4.spectral_model",
    "S4-kron-rate": "S4.kron",
    # the lab's own theorems
    "X-MVR2-inexact": "X.MVR2.inexact",
    "X-WD-floor": "X.WD.floor",
}

#: Old verdict-row claim names that are not check ids -> claim id (rows of X.MVR2.inexact and
#: X.WD.floor that name a part of the claim).
ROW_IDS: dict[str, str] = {
    "X-MVR2-inexact-rate": "X.MVR2.inexact.rate",
    "X-MVR2-inexact-estimator": "X.MVR2.inexact.estimator",
    "X-MVR2-inexact-bound": "X.MVR2.inexact.bound",
    "X-MVR1-inexact-bound": "X.MVR1.inexact.bound",
    "X-MVR2-inexact-degradation": "X.MVR2.inexact.degradation",
    "X-MVR2-inexact-shift": "X.MVR2.inexact.shift",
    "X-WD-floor-lower": "X.WD.floor.lower",
    "X-WD-floor-slope": "X.WD.floor.slope",
    "X-WD-gap": "X.WD.gap",
    "X-WD-decay": "X.WD.decay",
}

#: Old experiment name -> id of the primary claim the experiment serves.
EXPERIMENT_IDS: dict[str, str] = {
    "s1_lemma": "S1.lemma",
    "s1_i1": "S1.I1",
    "s1_i1_ns": "S1.I1.trend",
    "s1_i2": "S1.I2",
    "s1_i3": "S1.I3",
    "s1_i3_adversarial": "S1.I3.alpha_adversarial",
    "s1_i3_scaling": "S1.I3.scaling",
    "s1_i4": "S1.I4",
    "s1_l0l1_estimate": "S1.L0L1.estimate",
    "s1_ns_recursion": "S1.NS.recursion",
    "s1_ns_lr_shift": "S1.NS.lr_shift",
    "conformance_ns": "S1.NS.presets",
    "conformance_lmo": "S1.LMO.closed_form",
    "conformance_oracles": "S1.oracle.errors",
    "conformance_problems": "S1.problem.constants",
    "conformance_optimizers": "S2.optimizer.reference",
    "conformance_runner": "S2.runner.conformance",
    "conformance_stats": "S2.stats.reference",
    "real_s1_coupling": "S1.real.coupling",
    "real_delta": "S1.real.delta_bound",
    "real_s2": "S2.real.mvr",
    "s2_descent": "S2.D",
    "s2_descent_inexact": "S2.D.inexact",
    "s2_tight": "S2.E",
    "s2_mvr1_state": "S2.E.MVR1.state",
    "s2_rates": "S2.N1",
    "s2_pl": "S2.P1",
    "s2_gamma_floor": "S2.gamma_floor",
    "s2_horizon_free": "S2.horizon_free",
    "s2_rank_scaling": "S2.rank_scaling",
    "s3_entry": "S3.L1",
    "s3_constrained": "S3.S.constrained_optimum",
    "s3_lyapunov": "S3.L2",
    "s3_sharp": "S3.L2.sharp",
    "s3_frank_wolfe": "S3.L3",
    "s4_thresholds": "S4.threshold",
    "s4_divergence": "S4.gd.stability",
    "s4_floor": "S4.muon.level",
    "s4_spectral_model": "S4.spectral_model",
    "s4_kron_rate": "S4.kron",
    "x_mvr_rates": "X.MVR2.inexact",
    "x_mvr_grid": "X.MVR2.inexact.bound",
    "x_wd_floor": "X.WD.floor",
}


def check_id(name: str) -> str:
    """The claim id of a check or verdict-row name (an old spelling is translated; any other name is kept)."""
    return CHECK_IDS.get(name) or ROW_IDS.get(name) or name


def experiment_id(name: str) -> str:
    """The id of an experiment (an old name is translated; any other name is kept)."""
    return EXPERIMENT_IDS.get(name, name)


def canonical_claim(text: str) -> str:
    """A verdict row's claim with its name in the current spelling: ``"S1-I3-trend[alpha]"`` →
    ``"S1.I3.trend[alpha]"``; the bracketed labels (and a mutation suffix) are kept as they are."""
    bracket = text.find("[")
    head = (text if bracket < 0 else text[:bracket]).rstrip()
    new = check_id(head)
    return text if new == head else new + text[len(head) :]


def aliases_of(new: str, table: Mapping[str, str]) -> tuple[str, ...]:
    """The old spellings that ``table`` maps to ``new``, in table order."""
    return tuple(old for old, cid in table.items() if cid == new)


def add_alias(old: str, new: str, table: dict[str, str]) -> None:
    """Record ``old`` as an alias of ``new`` in ``table`` (ValueError when it names another claim)."""
    if old == new:
        return
    if table.get(old, new) != new:
        raise ValueError(f"alias {old!r} already names {table[old]!r}, not {new!r}")
    table[old] = new
