"""Checks on real data through the PyTorch adapter (:mod:`lab.experiments.real`).

* ``S1-real-coupling`` (empirical): S1's NanoGPT observation that lower orthogonalisation precision
  (fewer Newton–Schulz steps k) needs a smaller learning rate and a larger momentum β, per preset, from
  the optimal lr and β (bootstrap intervals over seeds) at the smallest and the largest k;
* ``S1-real-delta-bound``: every δ_op measured on a real oracle input is at most the uniform bound
  ``ns_delta(x_min, k)`` at that input's normalised spectrum [x_min, 1] (a theorem: it must hold);
* ``S1-real-delta-assumption`` (empirical): S1's error model ‖E‖_op ≤ δ < 1 holds along real training,
  per preset at k = 5 (the fraction of recorded steps and layers with δ < 1);
* ``S2-real-mvr`` (empirical): S2's experiments show MVR1 and MVR2 below Muon; per task and method,
  the paired (by seed) difference of the final loss at each method's best lr, with a bootstrap interval.
"""

from __future__ import annotations

import numpy as np

from lab.checks import check
from lab.experiments import get_experiment
from lab.stats import Verdict, argmin_with_uncertainty

SOURCE_S1 = "S1 empirical (NanoGPT), here on real data: MLP on scikit-learn digits"
N_BOOT = 2000


def _direction(first, last) -> str | None:
    """'up' if last's interval lies above first's, 'down' if below, None if they overlap."""
    if last.lo > first.hi:
        return "up"
    if last.hi < first.lo:
        return "down"
    return None


def coupling_optima(exp) -> list[dict]:
    """Per oracle: the optimal lr (at the best β) and β (at the best lr), each with its interval."""
    lr, beta = np.asarray(exp.meta["lr"]), np.asarray(exp.meta["beta"])
    alpha = 1.0 - beta[::-1]  # increasing grid of α = 1 − β
    out = []
    for o, spec in enumerate(exp.meta["oracles"]):
        Y = np.where(np.isfinite(exp.measured["loss"][o]), exp.measured["loss"][o], np.inf)  # (lr, β, seed)
        i, j = np.unravel_index(np.argmin(Y.mean(axis=-1)), Y.shape[:2])
        a_lr = argmin_with_uncertainty(lr, Y[:, j, :].T, rng=0, n_boot=N_BOOT)
        a_al = argmin_with_uncertainty(alpha, Y[i, ::-1, :].T, rng=0, n_boot=N_BOOT)
        out.append({"oracle": spec, "lr": a_lr, "alpha": a_al})
    return out


@check(
    "S1-real-coupling",
    claim="real data: fewer Newton-Schulz steps (lower precision) need a smaller optimal lr and a larger "
    "optimal beta (S1's NanoGPT observation), per preset",
    source="S1",
    experiment="real_s1_coupling",
    quick=False,
    mutations=("wrong_exponent",),
    empirical=True,
)
def s1_real_coupling(*, quick: bool, mutation: str | None = None):
    """Per preset, lr* and α* = 1 − β* at the smallest and largest k: 'holds' when the intervals are
    disjoint in S1's direction (lr* and α* both grow with k), 'violated' when disjoint the other way."""
    exp = get_experiment("real_s1_coupling")(quick=quick)
    opt = coupling_optima(exp)
    k_of, preset_of = exp.meta["k_of"], exp.meta["preset_of"]
    ks = exp.meta["k"]
    predicted = "down" if mutation == "wrong_exponent" else "up"
    verdicts = []
    exact = opt[-1]
    for preset in exp.meta["presets"]:
        idx = {k_of[o]: o for o in range(len(opt)) if preset_of[o] == preset}
        first, last = opt[idx[ks[0]]], opt[idx[ks[-1]]]
        for name, label in (("lr", "lr"), ("alpha", "beta")):
            direction = _direction(first[name], last[name])
            trend = "increasing" if (predicted == "up") == (label == "lr") else "decreasing"
            verdict = (
                "inconclusive" if direction is None else ("holds" if direction == predicted else "violated")
            )

            def show(a, name=name):
                if name == "lr":
                    return f"{a.x_refined:.3g} [{a.lo:.3g}, {a.hi:.3g}]"
                return f"{1 - a.x_refined:.3g} [{1 - a.hi:.3g}, {1 - a.lo:.3g}]"

            row = ", ".join(f"k={k}: {show(opt[idx[k]][name])}" for k in ks)
            verdicts.append(
                Verdict(
                    claim=f"S1-real-coupling[{preset}:{label}]",
                    source=SOURCE_S1,
                    problem=f"digits MLP 64-64-64-10, {exp.meta['steps']} steps, "
                    f"{len(exp.meta['seeds'])} seeds, ns:{preset}:k",
                    bound=(
                        f"optimal {label} {trend} in k{' (planted)' if mutation else ''}"
                    ),
                    measured=f"optimal {label}: {row}; exact polar {show(exact[name])}",
                    verdict=verdict,
                    details={
                        "preset": preset,
                        "k": list(ks),
                        f"{label}_hat": [
                            opt[idx[k]][name].x_refined if name == "lr" else 1 - opt[idx[k]][name].x_refined
                            for k in ks
                        ],
                        "at_boundary": [bool(opt[idx[k]][name].at_boundary) for k in ks],
                        "exact": exact[name].x_refined if name == "lr" else 1 - exact[name].x_refined,
                        "mutation": mutation,
                    },
                )
            )
    return verdicts


@check(
    "S1-real-delta-bound",
    claim="real training: each measured delta_op of Newton-Schulz is at most the uniform bound "
    "ns_delta(x_min, k) at the input's normalised smallest singular value",
    source="S1",
    experiment="real_delta",
    quick=False,
    mutations=("understate_constant",),
)
def s1_real_delta_bound(*, quick: bool, mutation: str | None = None):
    """One verdict per preset over every recorded (task, step, layer) and k."""
    exp = get_experiment("real_delta")(quick=quick)
    d = exp.measured["delta"]
    b = exp.theoretical["bound"] * (0.8 if mutation == "understate_constant" else 1.0)
    verdicts = []
    for i, preset in enumerate(exp.meta["presets"]):
        slack = d[:, i, :] - b[:, i, :]
        worst = float(np.max(slack))
        verdicts.append(
            Verdict(
                claim=f"S1-real-delta-bound[{preset}]",
                source="lab derivation (S1 error model): delta_op <= max_{x in [x_min,1]} |1 - p^(k)(x)|",
                problem=f"oracle inputs of {', '.join(exp.meta['tasks'])} training (Jordan NS5), "
                f"{d.shape[0]} (step, layer) records, k in {list(exp.meta['k'])}",
                bound="ns_delta(x_min, k)" + (" x 0.8 (planted)" if mutation else ""),
                measured=f"max(delta_op - bound) = {worst:.3g}; delta_op range "
                f"[{d[:, i, :].min():.4g}, {d[:, i, :].max():.4g}]",
                verdict="holds" if worst <= 1e-9 else "violated",
                details={"preset": preset, "max_excess": worst, "mutation": mutation},
            )
        )
    return verdicts


@check(
    "S1-real-delta-assumption",
    claim="real training: S1's error model delta_op < 1 holds at every recorded step and layer (k = 5), "
    "per preset",
    source="S1",
    experiment="real_delta",
    quick=False,
    mutations=("wrong_exponent",),
    empirical=True,
)
def s1_real_delta_assumption(*, quick: bool, mutation: str | None = None):
    """'holds' when every recorded δ_op < 1 at k = 5, 'violated' otherwise (reversed when planted)."""
    exp = get_experiment("real_delta")(quick=quick)
    d = exp.measured["delta"]
    ks = list(exp.meta["k"])
    j = ks.index(5)
    x_min = exp.measured["x_min"]
    verdicts = []
    for i, preset in enumerate(exp.meta["presets"]):
        below = d[:, i, :] < 1
        frac = float(np.mean(below[:, j]))
        amplification = float(np.median(1 / np.maximum(1 - d[:, i, j], 1e-300)))  # S1's 1/(1 - δ)
        ok = frac == 1.0
        if mutation == "wrong_exponent":
            ok = not ok
        verdicts.append(
            Verdict(
                claim=f"S1-real-delta-assumption[{preset}]",
                source="S1 assumption: ||E||_op <= delta < 1",
                problem=f"oracle inputs of {', '.join(exp.meta['tasks'])} training (Jordan NS5), "
                f"{d.shape[0]} records",
                bound="delta_op < 1 everywhere" + (" (planted: somewhere >= 1)" if mutation else ""),
                measured=f"fraction delta<1 at k=5: {frac:.3f}; median delta {np.median(d[:, i, j]):.4g}, "
                f"max {d[:, i, j].max():.6g}; median 1/(1-delta) {amplification:.3g}; "
                f"x_min median {np.median(x_min):.2g}",
                verdict="holds" if ok else "violated",
                details={
                    "preset": preset,
                    "fraction_below_1": {str(k): float(np.mean(below[:, jj])) for jj, k in enumerate(ks)},
                    "median_delta": {str(k): float(np.median(d[:, i, jj])) for jj, k in enumerate(ks)},
                    "mutation": mutation,
                },
            )
        )
    return verdicts


def _boot_mean_ci(x, n_boot=N_BOOT, level=0.95, seed=0):
    """Percentile bootstrap interval of the mean of x over seeds."""
    x = np.asarray(x, dtype=float)
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, (n_boot, x.size))].mean(axis=1)
    a = (1 - level) / 2
    return float(np.quantile(means, a)), float(np.quantile(means, 1 - a))


@check(
    "S2-real-mvr",
    claim="real data: MVR1 and MVR2 reach a lower loss than Muon at the same number of steps "
    "(S2's experiments), each at its best lr",
    source="S2",
    experiment="real_s2",
    quick=False,
    mutations=("wrong_exponent",),
    empirical=True,
)
def s2_real_mvr(*, quick: bool, mutation: str | None = None):
    """Per task and MVR method: bootstrap interval of the mean paired gap loss(Muon) − loss(MVR)."""
    exp = get_experiment("real_s2")(quick=quick)
    methods = list(exp.meta["methods"])
    predicted = -1 if mutation == "wrong_exponent" else 1
    verdicts = []
    for task in exp.meta["tasks"]:
        final = exp.measured[f"{task}:curves"][..., -1]  # (method, seed) at each method's best lr
        final = np.where(np.isfinite(final), final, np.inf)
        lrs = exp.measured[f"{task}:best_lr"]
        for m in ("mvr1", "mvr2"):
            gap = final[methods.index("muon")] - final[methods.index(m)]
            lo, hi = _boot_mean_ci(gap) if np.all(np.isfinite(gap)) else (-np.inf, np.inf)
            sign = 1 if lo > 0 else -1 if hi < 0 else 0
            verdict = "inconclusive" if sign == 0 else ("holds" if sign == predicted else "violated")
            verdicts.append(
                Verdict(
                    claim=f"S2-real-mvr[{task}:{m}]",
                    source="S2 empirical (Figures: MVR below Muon), here on real data",
                    problem=f"{task}, exact polar, beta={exp.meta['beta']}, {len(exp.meta['seeds'])} seeds, "
                    f"best lr muon {lrs[0]:g} / {m} {lrs[methods.index(m)]:g}",
                    bound=("loss(Muon) - loss(MVR) > 0" if predicted == 1 else "< 0 (planted)"),
                    measured=f"final loss muon {np.mean(final[0]):.4g}, "
                    f"{m} {np.mean(final[methods.index(m)]):.4g}; "
                    f"gap {np.mean(gap):.3g} [{lo:.3g}, {hi:.3g}]",
                    verdict=verdict,
                    details={
                        "task": task,
                        "method": m,
                        "gap": float(np.mean(gap)),
                        "ci": [lo, hi],
                        "mutation": mutation,
                    },
                )
            )
    return verdicts
