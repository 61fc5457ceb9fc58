r"""Trajectory (L0, L1) estimates of Gluon runs against the certified per-block lines
(experiment ``s1_l0l1_estimate``; check ``S1-L0L1-estimate``)."""

from __future__ import annotations

import numpy as np

from lab.claims._common import columns, named_sweep, point_rng
from lab.claims.layerwise._shared import (
    _PROBLEM,
    BLOCKS,
    LayerwiseQuartic,
    _check,
    block_constants,
    layerwise_problem,
)
from lab.claims.mutations import understate
from lab.claims.registry import Experiment, check, experiment, get_experiment
from lab.norms import get_norm
from lab.optimizers import gluon
from lab.oracles import inexact_oracle
from lab.stats import Verdict, ratio_to_bound
from lab.sweeps import Grid
from problems.estimate import estimate_l0_l1


def _estimate_compute(points):
    """Gluon iterates (δ-aware, expand oracle) and per-block secant curvatures along them."""
    p0 = points[0]
    problem = layerwise_problem()
    norms, L0, L1, _, _ = block_constants(problem)
    delta = columns(points, "delta")
    opt = gluon(L0, L1, oracles=[inexact_oracle(n, delta, "expand") for n in norms], delta=delta)
    X = problem.x0(point_rng(points))
    state = opt.init(X)
    G = problem.grad(X)
    rows = []
    for _ in range(p0["steps"]):
        Xn, state = opt.step(state, X, problem.grad)
        Gn = problem.grad(Xn)
        per = []
        for i, name in enumerate(norms):
            nrm = get_norm(name)
            per.append(
                (
                    np.asarray(nrm.dual(Gn[i] - G[i])),
                    np.asarray(nrm.norm(Xn[i] - X[i])),
                    np.asarray(nrm.dual(Gn[i])),
                )
            )
        rows.append(per)
        X, G = Xn, Gn
    arr = np.asarray(rows)  # (K, p, 3, B)
    return {
        "dg": arr[:, :, 0].transpose(2, 0, 1),
        "dx": arr[:, :, 1].transpose(2, 0, 1),
        "gn": arr[:, :, 2].transpose(2, 0, 1),
    }  # (B, K, p)


@experiment("S1.L0L1.estimate")
def s1_l0l1_estimate(*, quick: bool = True, cache=True, mutation: str | None = None) -> Experiment:
    """Trajectory (L0, L1) per layer against the certified constants (Gluon's procedure).

    measured: ``L_hat`` (pairs, p) secant curvatures and ``a`` (pairs, p) = ‖∇_i f(X^{k+1})‖_* over
    every run and step with a positive step; ``envelope`` and ``expectile`` (p, 2) fitted (L0, L1).
    theoretical: ``certified`` (p, 2) the problem's (L0_i, L1_i) (×0.8 under "understate_constant").
    """
    _check(quick, mutation, (None, "understate_constant"))
    cfg = dict(delta=[0.0, 0.5], seed=list(range(3 if quick else 8)), steps=40 if quick else 120)
    grid = Grid(steps=[cfg["steps"]], delta=cfg["delta"], seed=cfg["seed"])
    sw = named_sweep(_estimate_compute, grid, "s1_l0l1_estimate", "none", cache)
    dg, dx, gn = (sw.array(k) for k in ("dg", "dx", "gn"))
    p = dg.shape[-1]
    # pairs where f is still above rounding: a step of relative size < 1e-7 gives a noisy secant
    ok = (dx > 1e-7 * np.max(dx, axis=1, keepdims=True)) & (gn > 1e-9)
    L_hat, a, env, exp_ = [], [], [], []
    for i in range(p):
        m = ok[..., i]
        y, g = dg[..., i][m] / dx[..., i][m], gn[..., i][m]
        L_hat.append(y)
        a.append(g)
        env.append(estimate_l0_l1(dg[..., i][m], dx[..., i][m], g, penalty="envelope")[0])
        exp_.append(estimate_l0_l1(dg[..., i][m], dx[..., i][m], g, penalty=10.0)[0])
    _, L0, L1, _, _ = block_constants(layerwise_problem())
    cert = understate(np.stack([L0, L1], axis=1), mutation)
    return Experiment(
        "s1_l0l1_estimate",
        measured={"L_hat": L_hat, "a": a, "envelope": np.asarray(env), "expectile": np.asarray(exp_)},
        theoretical={"certified": cert},
        meta={
            "config": cfg,
            "norms": [b["geometry"] for b in BLOCKS],
            "problem": LayerwiseQuartic.name,
            "mutation": mutation,
        },
    )


@check(
    "S1.L0L1.estimate",
    claim="trajectory secant curvatures stay under the certified per-layer line "
    "L0_i + L1_i a; Gluon's envelope fit of (L0, L1) does not exceed it on average",
    source="S1",
    theorems=(),
    experiment="S1.L0L1.estimate",
    mutations=("understate_constant",),
)
def s1_l0l1_estimate_check(*, quick: bool, mutation=None):
    e = get_experiment("S1.L0L1.estimate")(quick=quick, mutation=mutation)
    m, th = e
    out = []
    for i, cert in enumerate(th["certified"]):
        a, y = m["a"][i], m["L_hat"][i]
        line = cert[0] + cert[1] * a
        cover = ratio_to_bound(y, line)
        env = m["envelope"][i]
        fit_ratio = (env[0] + env[1] * a) / line
        out.append(
            Verdict.from_ratio(
                f"S1-L0L1-estimate[block {i}]",
                "Gluon (arXiv 2505.13416) trajectory estimate; constants of problems.Quartic",
                _PROBLEM,
                f"certified (L0, L1) = ({cert[0]:.4g}, {cert[1]:.4g})",
                f"max L_hat/(L0+L1 a) = {cover.worst:.4g}; envelope fit ({env[0]:.4g}, {env[1]:.4g})",
                cover,
                envelope=env.tolist(),
                expectile=m["expectile"][i].tolist(),
                fit_over_certified_mean=float(np.mean(fit_ratio)),
                fit_over_certified_max=float(np.max(fit_ratio)),
                pairs=int(a.size),
                mutation=mutation,
            )
        )
        # the LP minimises Σ(L0 + L1 a_k) over lines covering the data; the certified line is one of them
        if float(np.mean(fit_ratio)) > 1.0 + 1e-9 and mutation is None:
            out[-1] = Verdict(**{**out[-1].__dict__, "verdict": "violated"})
    return out
