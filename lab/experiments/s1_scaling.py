r"""S1, I3: how the measured optimal step and momentum scale with the horizon K.

The I3 bound's minimiser (``bounds.get("S1.I3").optimum``) scales like t* ∝ K^(−3/4) and α* ∝ K^(−1/2)
(α = 1 − β).  This experiment measures the grid argmins of the seed-mean of (1/K)Σ_{k<K}‖∇f(X^k)‖_*
over a (t, α) grid at several horizons K, from one stacked run per grid point: with a constant
(t, α) the run of horizon K is the first K steps of the longest run, so the running average recorded
at checkpoint K *is* the horizon-K measurement.

Problem and method as ``s1_i3`` (noise-dominated case): ``isotropic_quadratic`` 8×6, d = 1, Gaussian
noise with E‖ξ‖_F² = σ² = 1, Muon in Scion's α-form (M⁰ = g⁰, no Nesterov, no shape scale), exact
oracle.  K ∈ {250, 500, 1000} (quick) or {250, …, 8000}.
"""

from __future__ import annotations

import numpy as np

from lab.experiments import Experiment, check_options, engine_code, experiment

__all__ = ["s1_i3_scaling", "predicted_exponents"]


def _config(quick: bool) -> dict:
    if quick:
        return dict(
            ks=(250, 500, 1000), seeds=6, t=np.geomspace(1e-3, 0.1, 9), alpha=np.geomspace(1 / 16, 1, 5)
        )
    return dict(
        ks=(250, 500, 1000, 2000, 4000, 8000),
        seeds=12,
        t=np.geomspace(2.5e-4, 0.1, 14),
        alpha=np.geomspace(1 / 64, 1, 7),
    )


def _compute(points):
    """One stacked run over (t, α, seed) points; the running average at every horizon K."""
    import problems
    from lab.optimizers import muon
    from lab.random import RNG
    from lab.runner import run

    p0 = points[0]
    ks = [int(k) for k in p0["ks"].split(",")]
    col = lambda n: np.asarray([p[n] for p in points], dtype=float)  # noqa: E731
    problem = problems.make(
        "isotropic_quadratic",
        noise={"name": "gaussian", "sigma": 1.0},
        m=8,
        n=6,
        L=1.0,
        init_distance=1.0,
        seed=0,
    )
    opt = muon(
        col("t"),
        momentum="alpha",
        alpha=col("alpha"),
        nesterov=False,
        momentum_init="gradient",
        shape_scale="none",
    )
    res = run(
        problem,
        opt,
        max(ks),
        seeds=RNG(np.asarray([p["key"] for p in points], dtype=np.uint64)),
        record=("loss", "running"),
        checkpoints=[0, *ks],
        stochastic=True,
    )
    return {"avg": np.ascontiguousarray(res.metrics["grad_dual_avg"][1:].T), "delta0": res.metrics["gap"][0]}


def predicted_exponents(**constants) -> dict[str, float]:
    """d log(control*)/d log K of the I3 bound's optimum, from sympy's closed form (not typed in)."""
    import bounds

    thm = bounds.get("S1.I3")
    K1, K2 = 1e3, 1e5
    opt = thm.optimal_controls(K=np.array([K1, K2]), **constants)
    out = {}
    for name, v in opt.items():
        v = np.asarray(v.value, dtype=float)
        out[name] = float(np.log(v[1] / v[0]) / np.log(K2 / K1))
    return out


def _i1_exponent(L, Delta0) -> float:
    """d log t*/d log K of S1.I1's optimal step (deterministic, no momentum), from sympy's closed form."""
    import bounds

    K1, K2 = 1e3, 1e5
    v = bounds.get("S1.I1").optimal_controls(L=L, Delta0=Delta0, K=np.array([K1, K2]), delta=0.0)["t"].value
    v = np.asarray(v, dtype=float)
    return float(np.log(v[1] / v[0]) / np.log(K2 / K1))


@experiment("s1_i3_scaling")
def s1_i3_scaling(*, quick: bool = True, cache=True) -> Experiment:
    """Grid argmins of t and α against K (module docstring).

    Returns measured["avg"] (K, t, α, seed); theoretical {"t_opt", "alpha_opt"} (K,) from the I3
    bound's optimum at the certified constants and the run's Δ₀, "exponents" {"t": ..,
    "alpha": ..} (−3/4, −1/2, derived by sympy) and "alternatives" (−1/2 from S1.I1's t*, 0 for α).
    """
    import bounds
    from lab.experiments.s1 import _certified
    from lab.sweeps import Grid, run_sweep

    check_options(quick)
    cfg = _config(quick)
    t_grid = [float(f"{v:.4g}") for v in cfg["t"]]
    a_grid = [float(f"{v:.4g}") for v in cfg["alpha"]]
    axes = dict(t=t_grid, alpha=a_grid, seed=list(range(cfg["seeds"])))
    grid = Grid(ks=[",".join(map(str, cfg["ks"]))], **axes)
    res = run_sweep(
        _compute,
        grid,
        name="s1_i3_scaling",
        cache=cache,
        chunk_size=100_000,
        progress=False,
        key_axes=("seed",),
        code=engine_code(),
    )
    shape = tuple(len(v) for v in axes.values())
    avg = np.moveaxis(res.array("avg").reshape(shape + (len(cfg["ks"]),)), -1, 0)
    cert = _certified(8, 6, 1.0, noise={"name": "gaussian", "sigma": 1.0})
    const = dict(
        L=cert["L"], Delta0=float(res.array("delta0").mean()), rho=cert["rho"], sigma=np.sqrt(cert["sigma2"])
    )
    opt = bounds.get("S1.I3").optimal_controls(K=np.asarray(cfg["ks"], dtype=float), delta=0.0, **const)
    return Experiment(
        "s1_i3_scaling",
        {"avg": avg},
        {
            "t_opt": np.asarray(opt["t"].value, dtype=float),
            "alpha_opt": np.asarray(opt["alpha"].value, dtype=float),
            "exponents": predicted_exponents(delta=0.0, **const),
            # without momentum averaging: S1.I1's t* ∝ K^(-1/2) (sympy) and alpha = 1
            "alternatives": {"t": _i1_exponent(const["L"], const["Delta0"]), "alpha": 0.0},
        },
        {"axes": {"K": list(cfg["ks"]), **axes}, "problem": cert["describe"], "quick": quick},
    )
