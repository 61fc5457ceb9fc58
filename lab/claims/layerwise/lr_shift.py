r"""S1's NanoGPT observation on the lab's teacher-student network: the optimal learning rate
moves with the number of Newton–Schulz steps (experiment ``s1_ns_lr_shift``; check ``S1-NS-lr-shift``)."""

from __future__ import annotations

import numpy as np

import problems
from lab.claims._common import columns, named_sweep, point_rng
from lab.claims.layerwise._shared import NS_PRESETS, _check, _direction, _mutate, _run_mutation
from lab.claims.registry import Experiment, check, experiment, get_experiment
from lab.optimizers import muon
from lab.runner import run
from lab.stats import Verdict, argmin_with_uncertainty
from lab.sweeps import Grid

TEACHER_STUDENT = dict(d=8, h=16, k=4, N=128, activation="tanh", seed=0)


def _ns_compute(points):
    """One stacked Muon run on teacher_student for one (preset, k): lr and seed per member."""
    p0 = points[0]
    problem = problems.make(
        "teacher_student", noise={"name": "minibatch", "batch_size": p0["batch"]}, **TEACHER_STUDENT
    )
    oracle = "exact" if p0["preset"] == "exact" else f"ns:{p0['preset']}:{p0['k']}"
    opt = _mutate(muon(columns(points, "lr"), beta=0.95, oracle=oracle), p0["mutation"])
    K = p0["steps"]
    tail = list(range(K - K // 10, K + 1))
    res = run(
        problem,
        opt,
        K,
        seeds=point_rng(points),
        checkpoints=[0] + tail,
        record=("loss",),
        diverge_threshold=1e6,
    )
    f = res.metrics["f"]
    # the full-batch loss averaged over the last 10 % of the steps (minibatch noise makes one iterate noisy)
    return {"final": np.mean(f[1:], axis=0)}


def _ns_config(quick):
    return dict(
        preset=["cubic", "jordan"] if quick else list(NS_PRESETS),
        k=[1, 5] if quick else [1, 2, 3, 5],
        lr=[float(v) for v in np.geomspace(3e-3, 0.3, 7 if quick else 11).round(6)],
        seed=list(range(6 if quick else 10)),
        steps=150 if quick else 400,
        batch=16,
    )


@experiment("S1.NS.lr_shift")
def s1_ns_lr_shift(*, quick: bool = True, cache=True, mutation: str | None = None) -> Experiment:
    """Final loss vs learning rate per NS preset and step count on teacher_student (S1's NanoGPT analogue).

    measured: ``final`` (preset, k, seed, lr) the full-batch loss averaged over the last 10 % of the steps
    (NaN = diverged), ``lr_opt`` {(preset, k): Argmin} and ``exact`` (seed, lr) for the exact polar factor.
    theoretical: ``direction`` = +1 (S1: lower precision, i.e. fewer steps, gives a smaller optimal lr,
    so lr*(k) grows with k).
    """
    _check(quick, mutation, (None, "double_step"))
    cfg = _ns_config(quick)
    run_mut = _run_mutation(mutation)
    common = dict(
        mutation=[run_mut], steps=[cfg["steps"]], batch=[cfg["batch"]], seed=cfg["seed"], lr=cfg["lr"]
    )
    sw = named_sweep(
        _ns_compute,
        Grid(preset=cfg["preset"], k=cfg["k"], **common),
        "s1_ns_lr_shift",
        run_mut,
        cache,
        chunk_size=100_000,
    )
    exact_grid = Grid(preset=["exact"], k=[0], **common)
    ex = named_sweep(_ns_compute, exact_grid, "s1_ns_lr_shift_exact", run_mut, cache)
    shape = (len(cfg["preset"]), len(cfg["k"]), len(cfg["seed"]), len(cfg["lr"]))
    final = sw.array("final").reshape(shape)
    lr_opt = {}
    for i, p in enumerate(cfg["preset"]):
        for j, k in enumerate(cfg["k"]):
            lr_opt[(p, k)] = argmin_with_uncertainty(cfg["lr"], final[i, j], log_x=True, rng=0)
    exact = ex.array("final").reshape(shape[2:])
    lr_opt[("exact", 0)] = argmin_with_uncertainty(cfg["lr"], exact, log_x=True, rng=0)
    return Experiment(
        "s1_ns_lr_shift",
        measured={"final": final, "exact": exact, "lr_opt": lr_opt},
        theoretical={"direction": 1},
        meta={
            "config": cfg,
            "axes": ("preset", "k", "seed", "lr"),
            "problem": {"name": "teacher_student", **TEACHER_STUDENT},
            "optimizer": "muon(beta=0.95, nesterov, ema, shape_scale=original)",
            "mutation": mutation,
        },
    )


@check(
    "S1.NS.lr_shift",
    claim="S1 (NanoGPT): lower orthogonalisation precision (fewer NS steps) gives a "
    "smaller optimal learning rate — analogue on a two-layer teacher–student network",
    source="S1",
    theorems=(),
    experiment="S1.NS.lr_shift",
    mutations=(),
    empirical=True,
)
def s1_ns_lr_shift_check(*, quick: bool, mutation=None):
    e = get_experiment("S1.NS.lr_shift")(quick=quick)
    m, _ = e
    ks, out = e.meta["config"]["k"], []
    expected = +1  # lr*(k_max) > lr*(k_min)
    for p in e.meta["config"]["preset"]:
        lo, hi = m["lr_opt"][(p, ks[0])], m["lr_opt"][(p, ks[-1])]
        v = _direction(lo.lo, lo.hi, hi.lo, hi.hi, expected)
        if lo.at_boundary or hi.at_boundary:
            v = "inconclusive"
        out.append(
            Verdict(
                claim=f"S1-NS-lr-shift[{p}]",
                source="S1 claim (NanoGPT experiment); lab analogue",
                problem="teacher_student d=8 h=16 k=4 N=128, minibatch 16; Muon beta=0.95 Nesterov",
                bound=f"lr*(k={ks[-1]}) > lr*(k={ks[0]})",
                measured=f"lr*(k={ks[0]}) = {lo.x_refined:.4g} [{lo.lo:.4g}, {lo.hi:.4g}], "
                f"lr*(k={ks[-1]}) = {hi.x_refined:.4g} [{hi.lo:.4g}, {hi.hi:.4g}]",
                verdict=v,
                details={"mutation": mutation, "seeds": len(e.meta["config"]["seed"])},
            )
        )
    return out
