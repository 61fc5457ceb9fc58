r"""S3's Lion-K view: iterates enter the spectral ball s/λ and converge to the constrained optimum
(experiments ``s3_entry``, ``s3_constrained``; checks ``S3-L1-envelope``, ``S3-radius``,
``S3-constrained-optimum``).

S3 experiments — Muon + decoupled weight decay is Lion-K on the spectral ball.

Chen, Li, Liu, *Muon Optimizes Under Spectral Norm Constraints* (arXiv 2506.15054): with
K(M) = s‖M‖_* Lion-K is Muon with shape scale s and decoupled weight decay λ, and it solves
min F(X) s.t. ‖X‖_op ≤ s/λ.  The explicit bounds are the lab derivations of ``bounds/s3.py``.

Experiments (all deterministic gradients, batched over η, λ and seeds; one problem instance):

``s3_entry``
    L1: Lion-K (K = nuclear, s = 1, β = 0.9, Nesterov) from ‖X₀‖_op = 4 outside every ball, per
    oracle (exact polar and five-step Newton–Schulz presets).  Measured ‖X_t‖_op and the oracle
    overshoot ‖O_t‖_op at every step; theory: the envelope (S3.L1) with the *certified* overshoot
    ω = max_{x∈[0,1]} p^(5)(x) of the preset (1 for exact, cubic, quintic) and the radius form
    (S3.L1.radius) with the measured running maximum of ‖O_τ‖_op.
``s3_constrained``
    The same runs: F(X_t) − F_c against the constrained optimum F_c(s/λ) computed independently
    (FISTA with singular-value clipping, the problem ``constrained_least_squares``), the stationarity
    S(X_t) = ‖∇F‖_* + λ⟨∇F, X⟩ (s = 1), and λ‖X_T‖_op/s.  Theory (convexity, exact): for X in the
    ball 0 ≤ F(X) − F_c ≤ S(X)/λ (the Frank–Wolfe gap dominates the primal gap).
``s3_frank_wolfe``
    L3: Muon, β = 0, no Nesterov, exact polar, X₀ inside the ball, on the least-squares problem and
    on an isotropic quadratic (where the one-step inequality S3.L3.step is an equality).
``s3_lyapunov``
    L2: Muon, β = 0.9, no Nesterov, exact polar, X₀ inside the ball: the one-step inequality S3.L2
    and the O(η²) tolerance 2Ls²rη² of S3.L2.ball for H_t = F(X_t) + (η/(1−β))Φ(B_t, X_t).

Every experiment accepts ``mutation`` (None, "double_step", "flip_momentum"): the optimizer is
wrapped with :func:`lab.claims.mutations.mutate`; the theoretical values always use the nominal η.

Checks
------
S3 checks — Muon + decoupled weight decay on the spectral ball (``bounds/s3.py``).

Each check runs an :mod:`lab.claims.weight_decay` experiment and compares measurements with bounds
evaluated on certified constants (L = L_frobenius of the problem, r = min(m, n), the oracle's
certified overshoot ω, and constrained optima computed independently of any Muon run).

Floating-point allowance: one-step inequalities compare differences of O(1) losses with O(η²)
remainders; they get an absolute allowance of 64·ε·(|F_t| + |F_{t+1}| + |extra terms|) (ε = 2⁻⁵²),
the rounding error of the left-hand side, stated in each verdict.  Radii get a relative 1e-12."""

from __future__ import annotations

import numpy as np

import bounds
from lab.claims.mutations import mutate, understate
from lab.claims.registry import Experiment, check, experiment, get_experiment
from lab.claims.weight_decay._shared import (
    _PROBLEM,
    _SRC,
    ORACLES,
    PROBLEM,
    SCALE,
    X0_OP,
    _check_common,
    _oracle_spec,
    _problem,
    _rounding,
    _rows,
    _start,
    certified_overshoot,
)
from lab.optimizers import lion_k
from lab.runner import run
from lab.stats import Verdict, ratio_to_bound, slope_ci, vacuous
from lab.sweeps import Grid, run_sweep


# ------------------------------------------------------------------------------------ L1 / optimum
def _lion_config(quick):
    return dict(
        lr=[0.02, 0.04] if quick else [0.01, 0.02, 0.04],
        wd=[1.0, 2.0] if quick else [1.0, 1.5, 2.0],
        seed=[0, 1] if quick else [0, 1, 2],
        steps=400 if quick else 1200,
        beta=0.9,
    )


def _lion_compute(points):
    """One batched Lion-K run per chunk (one oracle): ‖X_t‖_op, overshoot, F, S at every step."""
    p = _problem()
    lr = np.array([q["lr"] for q in points])
    wd = np.array([q["wd"] for q in points])
    opt = lion_k(
        lr=lr, beta=points[0]["beta"], weight_decay=wd, scale=SCALE, oracle=_oracle_spec(points[0]["oracle"])
    )
    opt = mutate(opt, points[0]["mutation"])
    X0 = _start(p, [1000003 + q["seed"] for q in points], np.full(len(points), X0_OP))
    res = run(
        p,
        opt,
        points[0]["steps"],
        seeds=np.arange(len(points)),
        stochastic=False,
        x0=(p.xp.asarray(X0),),
        record=("loss", "params", "oracle", "lion"),
        checkpoints="all",
    )
    m = res.metrics
    return {
        "x_op": m["x_op_b0"].T,  # (B, T+1)
        "overshoot": m["oracle_overshoot_b0"].T[:, :-1],  # ‖O_t‖_op of the step from X_t, (B, T)
        "f": m["f"].T,
        "stationarity": m["stationarity"].T,
    }


def _lion_runs(quick, cache, mutation):
    cfg = _lion_config(quick)
    grid = Grid(
        oracle=list(ORACLES),
        mutation=[mutation],
        steps=[cfg["steps"]],
        beta=[cfg["beta"]],
        seed=cfg["seed"],
        lr=cfg["lr"],
        wd=cfg["wd"],
    )
    # x0 depends on the seed only (common random numbers across oracles, steps and wd)
    sweep = run_sweep(
        _lion_compute,
        grid,
        name="s3_lion_runs",
        cache=cache,
        chunk_size=64,
        progress=False,
        by=("oracle", "mutation", "steps", "beta"),
    )
    return cfg, sweep


@experiment("S3.L1")
def s3_entry(*, quick: bool = True, cache=True, mutation: str | None = None, **options) -> Experiment:
    """L1: entering the ball ‖X‖_op <= ωs/λ at rate (1 − ηλ)^t, per oracle (S3.L1, S3.L1.radius).

    measured: ``x_op`` (rows, T+1), ``overshoot_max`` running max of ‖O_τ‖_op for τ < t (rows, T+1),
    ``settle`` λ‖X_t‖_op/s maximised over the last 10 % of steps, per row.
    theoretical: ``envelope`` (S3.L1 with the certified ω of the preset, rows × T+1), ``radius_bound``
    (S3.L1.radius with the measured running ω), ``omega_certified`` per row, ``radius`` s/λ per row.
    """
    if options:
        raise ValueError(f"unknown options {sorted(options)}; s3_entry takes quick, cache, mutation")
    _check_common(quick, mutation)
    cfg, sw = _lion_runs(quick, cache, mutation)
    x_op = sw.array("x_op")
    over = sw.array("overshoot")
    lr, wd = sw.column("lr").astype(float), sw.column("wd").astype(float)
    oracles = sw.column("oracle")
    T = x_op.shape[1] - 1
    k = np.arange(T + 1)[None, :]
    omega_c = np.array([certified_overshoot(o) for o in oracles])
    run_max = np.concatenate([np.full((len(sw), 1), 0.0), np.maximum.accumulate(over, axis=1)], axis=1)
    run_max[:, 0] = run_max[:, 1]  # t = 0: no step yet; the bound at t = 0 is ‖X₀‖ either way
    common = dict(k=k, eta=lr[:, None], lam=wd[:, None], s=SCALE, X0_op=x_op[:, :1])
    envelope = bounds.get("S3.L1").evaluate(omega=omega_c[:, None], **common)
    radius_bound = bounds.get("S3.L1.radius").evaluate(omega=run_max, **common)
    tail = max(1, T // 10)
    settle = wd * np.max(x_op[:, -tail:], axis=1) / SCALE
    return Experiment(
        "s3_entry",
        measured={
            "x_op": x_op,
            "overshoot_max": run_max,
            "overshoot_final_max": np.max(over, axis=1),
            "settle": settle,
        },
        theoretical={
            "envelope": envelope.value,
            "radius_bound": radius_bound.value,
            "omega_certified": omega_c,
            "radius": SCALE / wd,
        },
        meta={
            "config": cfg,
            "rows": sw.rows,
            "oracles": oracles,
            "lr": lr,
            "wd": wd,
            "seed": sw.column("seed"),
            "problem": {"name": "constrained_least_squares", **PROBLEM},
            "x0_op": X0_OP,
            "scale": SCALE,
            "mutation": mutation,
            "theorems": ("S3.L1", "S3.L1.radius"),
        },
    )


@experiment("S3.S.constrained_optimum")
def s3_constrained(
    *, quick: bool = True, cache=True, mutation: str | None = None, radius_factor: float = 1.0, **options
) -> Experiment:
    """Convergence to the independently computed constrained optimum (same runs as ``s3_entry``).

    measured: ``gap`` F(X_t) − F_c (rows, T+1), ``stationarity`` S(X_t), ``inside`` ‖X_t‖_op <= s/λ
    (+1e-12 rounding), ``tail_gap`` / ``tail_S`` means over the last 10 % of steps, ``settle``.
    theoretical: ``F_c`` per row (FISTA at radius ``radius_factor``·s/λ: 1 is the claim; the
    "understate_constant" check passes 0.8), ``fw_bound`` S(X_t)/λ (upper bound on the gap),
    ``F0_gap`` F(X₀) − F_c.
    """
    if options:
        raise ValueError(
            f"unknown options {sorted(options)}; s3_constrained takes quick, cache, mutation, radius_factor"
        )
    _check_common(quick, mutation)
    if not (isinstance(radius_factor, (int, float)) and 0 < radius_factor <= 1):
        raise ValueError(f"radius_factor must be a number in (0, 1], got {radius_factor!r}")
    cfg, sw = _lion_runs(quick, cache, mutation)
    p = _problem()
    x_op, f, S = sw.array("x_op"), sw.array("f"), sw.array("stationarity")
    lr, wd = sw.column("lr").astype(float), sw.column("wd").astype(float)
    radius = SCALE / wd
    F_c = np.array([p.constrained_optimum(float(radius_factor * r))[1] for r in radius])
    gap = f - F_c[:, None]
    T = f.shape[1] - 1
    tail = max(1, T // 10)
    return Experiment(
        "s3_constrained",
        measured={
            "gap": gap,
            "stationarity": S,
            "inside": x_op <= radius[:, None] * (1 + 1e-12),
            "tail_gap": np.mean(gap[:, -tail:], axis=1),
            "tail_S": np.mean(S[:, -tail - 1 : -1], axis=1),
            "settle": wd * np.max(x_op[:, -tail:], axis=1) / SCALE,
        },
        theoretical={
            "F_c": F_c,
            "fw_bound": S / wd[:, None],
            "F0_gap": gap[:, 0],
            "lam": wd,
            "radius": radius,
        },
        meta={
            "config": cfg,
            "rows": sw.rows,
            "oracles": sw.column("oracle"),
            "lr": lr,
            "wd": wd,
            "seed": sw.column("seed"),
            "problem": {"name": "constrained_least_squares", **PROBLEM},
            "radius_factor": radius_factor,
            "mutation": mutation,
        },
    )


@check(
    "S3.L1",
    claim="(||X_t||_op - omega s/lam)_+ <= (1 - eta lam)^t (||X_0||_op - omega s/lam)_+ "
    "for every oracle with ||O||_op <= omega (omega certified per NS preset; 1 for exact polar)",
    source="S3",
    theorems=("S3.L1",),
    experiment="S3.L1",
    mutations=("understate_constant",),
)
def s3_l1_envelope(*, quick: bool, mutation: str | None = None):
    """Envelope with the certified overshoot ω = max_{[0,1]} p^(5) (understate_constant: 0.8ω)."""
    exp = get_experiment("S3.L1")(quick=quick)
    m, th = exp
    lam = exp.meta["wd"][:, None]
    omega = understate(th["omega_certified"], mutation)[:, None]
    radius = omega * exp.meta["scale"] / lam
    excess = np.maximum(m["x_op"] - radius * (1 + 1e-12), 0.0)
    k = np.arange(m["x_op"].shape[1])[None, :]
    env = (
        bounds.get("S3.L1")
        .evaluate(
            k=k,
            eta=exp.meta["lr"][:, None],
            lam=lam,
            s=exp.meta["scale"],
            omega=omega,
            X0_op=m["x_op"][:, :1],
        )
        .value
    )
    # the envelope is 0 only if X_0 starts inside, which the experiment never does (||X_0|| = 4 > 1.21)
    ratio = ratio_to_bound(excess, np.maximum(env, np.finfo(float).tiny), points=_rows(exp, 0))
    return Verdict.from_ratio(
        "S3-L1-envelope",
        _SRC,
        _PROBLEM,
        "(1 - eta lam)^t (||X_0||_op - omega s/lam)_+",
        f"worst excess/envelope over {len(excess)} runs x {excess.shape[1]} steps",
        ratio,
        oracles=sorted(set(exp.meta["oracles"].tolist())),
        mutation=mutation,
        omega={o: float(w) for o, w in zip(exp.meta["oracles"], th["omega_certified"], strict=True)},
    )


@check(
    "S3.L1.radius",
    claim="the invariant radius is (max_t ||O_t||_op) s/lam: ||X_t||_op <= omega_t s/lam + "
    "(1 - eta lam)^t (||X_0|| - omega_t s/lam)_+ with the measured running overshoot omega_t",
    source="S3",
    theorems=("S3.L1.radius",),
    experiment="S3.L1",
    mutations=("understate_constant",),
)
def s3_radius(*, quick: bool, mutation: str | None = None):
    exp = get_experiment("S3.L1")(quick=quick)
    m, th = exp
    lam, eta = exp.meta["wd"][:, None], exp.meta["lr"][:, None]
    omega = understate(m["overshoot_max"], mutation)
    rad = omega * exp.meta["scale"] / lam
    k = np.arange(m["x_op"].shape[1])[None, :]
    bound = rad + (1 - eta * lam) ** k * np.maximum(m["x_op"][:, :1] - rad, 0.0)
    ratio = ratio_to_bound(m["x_op"], bound * (1 + 1e-12), points=_rows(exp, 0))
    settle = {
        o: [
            float(m["settle"][exp.meta["oracles"] == o].min()),
            float(m["settle"][exp.meta["oracles"] == o].max()),
        ]
        for o in sorted(set(exp.meta["oracles"].tolist()))
    }
    over = {o: float(m["overshoot_final_max"][exp.meta["oracles"] == o].max()) for o in settle}
    return Verdict.from_ratio(
        "S3-radius",
        _SRC,
        _PROBLEM,
        "omega_t s/lam + (1 - eta lam)^t (...)_+",
        "worst ||X_t||_op / bound",
        ratio,
        settle_lam_xop_over_s=settle,
        max_overshoot=over,
        mutation=mutation,
    )


@check(
    "S3.S.constrained_optimum",
    claim="Muon + weight decay (exact polar) converges to the constrained optimum "
    "min F s.t. ||X||_op <= s/lam computed independently: 0 <= F(X_t) - F_c <= S(X_t)/lam inside the ball, "
    "and S(X_t) -> 0 as eta -> 0",
    source="S3",
    theorems=("S3.S",),
    experiment="S3.S.constrained_optimum",
    mutations=("understate_constant", "wrong_exponent"),
)
def s3_constrained_optimum(*, quick: bool, mutation: str | None = None):
    """Three verdicts on the exact-polar runs after entry into the ball.

    1. feasibility: F_c − F(X_t) <= rounding (X_t is feasible, F_c the minimum over the ball);
       under "understate_constant" F_c is computed at 0.8·s/λ, which a correct run beats.
    2. Frank–Wolfe sandwich F(X_t) − F_c <= S(X_t)/λ (convexity).
    3. the tail mean of S(X_t) decays with η: log-log slope over η (bootstrap over seeds) at
       least 1/2 (measured ≈ 1: O(η) oscillation about the optimum); "wrong_exponent" asks for 2.
    """
    factor = understate(1.0, mutation)
    exp = get_experiment("S3.S.constrained_optimum")(quick=quick, radius_factor=factor)
    m, th = exp
    ex = exp.meta["oracles"] == "exact"
    gap, ins = m["gap"][ex], m["inside"][ex]
    F_c = th["F_c"][ex][:, None]
    tol = _rounding(F_c, gap + F_c) + 1e-10 * np.abs(F_c)  # + FISTA's certified accuracy (gap < 1e-12)
    below = np.where(ins, -gap, -np.inf)
    v1 = Verdict.from_ratio(
        "S3-constrained-optimum[feasibility]",
        _SRC,
        _PROBLEM,
        "F_c - F(X_t) <= rounding + 1e-10 F_c",
        "worst (F_c - F(X_t))/tolerance after entry",
        ratio_to_bound(below, tol),
        radius_factor=factor,
        judged_iterates=int(ins.sum()),
        F_c=sorted(set(np.round(th["F_c"][ex], 12).tolist())),
    )
    fw = th["fw_bound"][ex]
    ratio_fw = np.where(ins[:, :-1], gap[:, :-1] / np.where(fw[:, :-1] > 0, fw[:, :-1], np.nan), -np.inf)
    ratio_fw = np.where(np.isnan(ratio_fw), np.inf, ratio_fw)  # S <= 0 inside the ball would be a bug
    v2 = Verdict.from_ratio(
        "S3-constrained-optimum[sandwich]",
        _SRC,
        _PROBLEM,
        "F(X_t) - F_c <= S(X_t)/lam",
        "worst (F - F_c)/(S/lam) after entry",
        ratio_to_bound(ratio_fw, 1.0),
        judged_iterates=int(ins[:, :-1].sum()),
    )
    if not ins.any():
        v1 = vacuous(v1, "no iterate entered the ball ||X||_op <= s/lam")
    if not ins[:, :-1].any():
        v2 = vacuous(v2, "no iterate entered the ball ||X||_op <= s/lam")
    lr = exp.meta["lr"][ex]
    seeds, wds = exp.meta["seed"][ex], exp.meta["wd"][ex]
    etas = np.unique(lr)
    curves = np.array(
        [
            [m["tail_S"][ex][(seeds == s) & (wds == w) & (lr == e)][0] for e in etas]
            for s in np.unique(seeds)
            for w in np.unique(wds)
        ]
    )
    ci = slope_ci(etas, curves, (etas[0], etas[-1]), rng=0)
    expected = 2.0 if mutation == "wrong_exponent" else 0.5
    v3 = Verdict.from_slope(
        "S3-constrained-optimum[S->0]",
        _SRC,
        _PROBLEM,
        expected,
        ci,
        kind="at_least",
        etas=etas.tolist(),
        tail_S=curves.mean(axis=0).tolist(),
        tail_gap=[float(np.mean(m["tail_gap"][ex][lr == e])) for e in etas],
        settle_exact=[float(m["settle"][ex].min()), float(m["settle"][ex].max())],
    )
    return [v1, v2, v3]
