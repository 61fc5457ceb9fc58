"""Conformance checks: each building block against an independent reference computation.

The bound checks of S1–S4 compare whole runs with bounds that often have slack, so a small bug
in an oracle, a Newton–Schulz preset or an optimizer's recursion can pass them.  These checks
compare each block with a computation that shares none of its code (the experiments in
:mod:`lab.experiments.conformance` say which).  A row "holds" when the deviation from the
reference is below its tolerance (or, for a certified constant, when the value the instance
attains equals it); any other outcome — a NaN included — is "violated".  ``lab mutate`` shows
which code-level bugs each one catches.
"""

from __future__ import annotations

import math

from lab.checks import check
from lab.experiments import get_experiment
from lab.stats import Verdict


def _rows(claim: str, source: str, exp, problem: str) -> list[Verdict]:
    measured, theoretical = exp
    out = []
    for key, value in measured.items():
        target = theoretical[key]
        value = float(value)
        if isinstance(target, tuple):  # an equality within a relative band
            lo, hi = target
            ok = math.isfinite(value) and lo <= value <= hi
            bound, ratio = f"in [{lo:.10g}, {hi:.10g}]", value
        else:
            ok = math.isfinite(value) and value <= target
            bound, ratio = f"<= {target:.3g}", value / target if target > 0 else value
        out.append(
            Verdict(
                claim=f"{claim}[{key}]",
                source=source,
                problem=problem,
                bound=bound,
                measured=value,
                verdict="holds" if ok else "violated",
                worst_ratio=ratio if math.isfinite(ratio) else None,
                details={"reference": exp.name},
            )
        )
    return out


@check(
    "S1-NS-presets",
    claim="every Newton–Schulz preset applies its published polynomials to the ‖G‖_F-normalised "
    "singular values, with the LMO's sign (−NS)",
    source="S1",
    experiment="conformance_ns",
    mutations=("double_step",),
)
def ns_presets(*, quick: bool, mutation: str | None = None):
    exp = get_experiment("conformance_ns")(quick=quick, mutation=mutation)
    return _rows("S1-NS-presets", "S1", exp, "random matrices with known SVD")


@check(
    "S1-LMO-closed-form",
    claim="the exact LMO of every norm (and of s·‖·‖) equals its closed form",
    source="S1",
    experiment="conformance_lmo",
    mutations=("double_step",),
)
def lmo_closed_form(*, quick: bool, mutation: str | None = None):
    exp = get_experiment("conformance_lmo")(quick=quick, mutation=mutation)
    return _rows("S1-LMO-closed-form", "S1", exp, "Gaussian matrices")


@check(
    "S1-oracle-errors",
    claim="an injected-error oracle's error D − lmo(G) has norm δ in the ball's norm, and D has the "
    "documented form (expand, shrink, adversarial)",
    source="S1",
    experiment="conformance_oracles",
    mutations=("double_step",),
)
def oracle_errors(*, quick: bool, mutation: str | None = None):
    exp = get_experiment("conformance_oracles")(quick=quick, mutation=mutation)
    return _rows("S1-oracle-errors", "S1", exp, "Gaussian matrices")


@check(
    "S2-optimizer-reference",
    claim="Muon, Muon-MVR1/MVR2 (MARS clip on and off), Lion-K (every K) and Gluon's δ-aware step "
    "follow their recursions (NumPy transcriptions), with per-block multipliers and shape scales",
    source="S2",
    experiment="conformance_optimizers",
    mutations=("double_step",),
)
def optimizer_reference(*, quick: bool, mutation: str | None = None):
    exp = get_experiment("conformance_optimizers")(quick=quick, mutation=mutation)
    return _rows("S2-optimizer-reference", "S2", exp, "two blocks (6x3, 3x5), deterministic field")


@check(
    "S2-runner-conformance",
    claim="the runner's running minima and η-weighted averages match the per-step values; seeds give "
    "distinct draws; the step samples are independent",
    source="S2",
    experiment="conformance_runner",
    mutations=("wrong_sample",),
)
def runner_conformance(*, quick: bool, mutation: str | None = None):
    exp = get_experiment("conformance_runner")(quick=quick, mutation=mutation)
    return _rows("S2-runner-conformance", "S2", exp, "kronecker_quadratic + gaussian noise")


@check(
    "S2-stats-reference",
    claim="log-log slopes equal the least-squares fit (numpy.polyfit); the 95% slope interval covers "
    "the true slope of simulated data; the refined argmin is a parabola's vertex",
    source="S2",
    experiment="conformance_stats",
    mutations=("wrong_exponent",),
)
def stats_reference(*, quick: bool, mutation: str | None = None):
    exp = get_experiment("conformance_stats")(quick=quick, mutation=mutation)
    return _rows("S2-stats-reference", "S2", exp, "power laws, parabolas")


@check(
    "S1-problem-constants",
    claim="certified constants are attained (spectral L of a Kronecker quadratic at its maximiser, PL μ "
    "along the softest direction); gradients match central differences",
    source="S1",
    experiment="conformance_problems",
    mutations=("understate_constant",),
)
def problem_constants(*, quick: bool, mutation: str | None = None):
    exp = get_experiment("conformance_problems")(quick=quick, mutation=mutation)
    return _rows("S1-problem-constants", "S1", exp, "kronecker_quadratic, quartic")
