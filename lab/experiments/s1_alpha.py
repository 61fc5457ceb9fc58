"""S1, I3 momentum trend under the adversarial oracle: does the optimal α = 1 − β move with δ?

With the ``expand`` oracle a run at (t, α, δ) is exactly the run at (t(1 + δ), α, 0), so the optimal α
cannot depend on δ there (see ``S1-I3-trend``).  The ``adversarial`` kind (the worst-descent full-length
perturbation, :mod:`lab.oracles`) changes the direction, not only its length, so the measured optimum
of the momentum parameter can move.  The bound's minimiser predicts α*(δ) ∝ (1 + δ)^{1/2} (larger α,
i.e. *smaller* Muon β); S1's "larger momentum parameter" reads the same way only if its parameter is α.
The experiment measures; :mod:`lab.checks.s1_alpha` reports the direction in both parametrisations.
"""

from __future__ import annotations

import numpy as np

from lab.experiments import Experiment, check_options, experiment
from lab.experiments.s1 import _i3_compute, _sweep


def _config(quick: bool) -> dict:
    if quick:
        return dict(steps=150, seeds=12, n_t=6, n_alpha=6)
    return dict(steps=400, seeds=20, n_t=7, n_alpha=6)


@experiment("s1_i3_adversarial")
def s1_i3_adversarial(*, quick: bool = True, cache=True) -> Experiment:
    """Stochastic Muon (α-form EMA, M⁰ = g⁰, no Nesterov) with the adversarial δ-oracle.

    Grid: δ ∈ {0, 0.3, 0.6} × t (log grid 4e-3…0.256) × α (log grid 1/32…1) × seeds, K steps on the
    8×6 isotropic quadratic with Gaussian noise σ = 1 (the noise-dominated case of ``s1_i3``), one
    stacked run.  Measured: (1/K)Σ_k‖∇f(X^k)‖_* per run, shape (δ, t, α, seed).  Theoretical: the
    optimal α of the I3 bound at each δ (``bounds.get("S1.I3").optimal_controls``).
    """
    import bounds
    from lab.experiments.s1 import _certified
    from lab.sweeps import Grid

    check_options(quick)
    cfg = _config(quick)
    deltas = [0.0, 0.3, 0.6]
    t_grid = [float(f"{v:.4g}") for v in np.geomspace(4e-3, 0.256, cfg["n_t"])]
    a_grid = [float(f"{v:.4g}") for v in np.geomspace(1 / 32, 1.0, cfg["n_alpha"])]
    axes = dict(delta=deltas, t=t_grid, alpha=a_grid, seed=list(range(cfg["seeds"])))
    grid = Grid(
        sigma=[1.0],
        kind=["adversarial"],
        **axes,
        m=[8],
        n=[6],
        dist=[1.0],
        steps=[cfg["steps"]],
        mutation=["none"],
    )
    res = _sweep(_i3_compute, grid, "s1_i3_adversarial", "none", cache)
    shape = tuple(len(v) for v in axes.values())
    avg = res.array("avg").reshape(shape)
    cert = _certified(8, 6, 1.0, noise={"name": "gaussian", "sigma": 1.0})
    d0 = float(res.array("delta0").mean())
    opt = bounds.get("S1.I3").optimal_controls(
        L=cert["L"],
        Delta0=d0,
        K=cfg["steps"],
        rho=cert["rho"],
        sigma=np.sqrt(cert["sigma2"]),
        delta=np.asarray(deltas),
    )
    return Experiment(
        "s1_i3_adversarial",
        {"avg": avg},
        {"alpha_opt": np.asarray(opt["alpha"].value, dtype=float) * np.ones(len(deltas))},
        {"axes": axes, "steps": cfg["steps"], "problem": cert["describe"], "quick": quick},
    )
