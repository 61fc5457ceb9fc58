r"""S3 experiments — Muon + decoupled weight decay is Lion-K on the spectral ball.

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
    (FISTA with singular-value clipping, ``problems.constrained_least_squares``), the stationarity
    S(X_t) = ‖∇F‖_* + λ⟨∇F, X⟩ (s = 1), and λ‖X_T‖_op/s.  Theory (convexity, exact): for X in the
    ball 0 ≤ F(X) − F_c ≤ S(X)/λ (the Frank–Wolfe gap dominates the primal gap).
``s3_frank_wolfe``
    L3: Muon, β = 0, no Nesterov, exact polar, X₀ inside the ball, on the least-squares problem and
    on an isotropic quadratic (where the one-step inequality S3.L3.step is an equality).
``s3_lyapunov``
    L2: Muon, β = 0.9, no Nesterov, exact polar, X₀ inside the ball: the one-step inequality S3.L2
    and the O(η²) tolerance 2Ls²rη² of S3.L2.ball for H_t = F(X_t) + (η/(1−β))Φ(B_t, X_t).

Every experiment accepts ``mutation`` (None, "double_step", "flip_momentum"): the optimizer is
wrapped with :func:`lab.checks.mutations.mutate`; the theoretical values always use the nominal η.
"""

from __future__ import annotations

import numpy as np

from lab.experiments import Experiment, check_options, experiment

__all__ = [
    "PROBLEM",
    "ORACLES",
    "certified_overshoot",
    "s3_entry",
    "s3_constrained",
    "s3_frank_wolfe",
    "s3_lyapunov",
]

#: The convex least-squares instance: ‖X*‖_op = excess·radius = 2 > s/λ for every λ ≥ 1 below.
PROBLEM = dict(m=8, n=6, L=1.0, mu=0.1, radius=1.0, excess=2.0, residual=0.1, init_fraction=0.5, seed=0)
#: Oracles of the L1 runs: the exact polar factor and five-step Newton–Schulz presets.
ORACLES = ("exact", "cubic", "quintic", "jordan", "polar_express")
NS_STEPS = 5
SCALE = 1.0  # s: K = s‖·‖_*, radius s/λ
X0_OP = 4.0  # start of the L1 runs, outside every ball s/λ <= 1
_MUTATIONS = (None, "double_step", "flip_momentum")


def _check_common(quick, mutation):
    check_options(quick, mutation, _MUTATIONS)


def _problem(name="constrained_least_squares"):
    import problems

    if name == "constrained_least_squares":
        return problems.make(name, **PROBLEM)
    # isotropic: F = (L/2)‖X − C‖_F², ‖C‖_op >= ‖C‖_F/√6 ≈ 1.22 > s/λ for λ >= 1
    return problems.make("isotropic_quadratic", m=PROBLEM["m"], n=PROBLEM["n"], L=1.0, c_scale=3.0, seed=0)


def _oracle_spec(name: str) -> str:
    return "exact" if name == "exact" else f"ns:{name}:{NS_STEPS}"


def certified_overshoot(name: str) -> float:
    """ω = max_{x∈[0,1]} p^(k)(x): a bound on ‖O‖_op for every input (exact interval propagation)."""
    if name == "exact":
        return 1.0
    from lab.orthogonalization import ns_image

    return float(ns_image(0.0, NS_STEPS, name)[1])


def _start(problem, keys, op_norm):
    """Gaussian starts (one per point key, lab RNG) rescaled to ‖X₀‖_op = op_norm (array (B,))."""
    from lab.random import RNG

    rng = RNG(problem.xp.asarray(np.asarray(keys, dtype=np.uint64)))
    Z = np.asarray(rng.fold("s3_x0").normal(problem.block_shapes[0]), dtype=float)
    op = np.linalg.norm(Z, ord=2, axis=(-2, -1))
    return Z * (np.asarray(op_norm, dtype=float) / op)[:, None, None]


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
    from lab.checks.mutations import mutate
    from lab.optimizers import lion_k
    from lab.runner import run

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
    from lab.sweeps import Grid, run_sweep

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


@experiment("s3_entry")
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
    import bounds

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


@experiment("s3_constrained")
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


# ------------------------------------------------------------------------------ L2 / L3 trajectories
def _trajectory_compute(points):
    """Muon + weight decay (EMA, no Nesterov, exact polar, s = 1) step by step, batched over points.

    Records per step t (from X_t with buffer B_t to X_{t+1}, B_{t+1}): F_t, S_t, ‖X_t‖_op,
    Φ_prev = Φ(B_t, X_t), Φ_next = Φ(B_{t+1}, X_t), Q = ‖s polar(B_{t+1}) + λX_t‖_F²,
    D_fw = ‖−(s/λ)polar(∇F(X_t)) − X_t‖_F, H_t = F_t + η/(1−β)·Φ_prev.
    """
    from bounds.s3 import frank_wolfe_vertex, lyapunov_phi, muon_wd_direction_sq, stationarity_measure
    from lab.checks.mutations import mutate
    from lab.optimizers import muon

    p = _problem(points[0]["problem"])
    xp = p.xp
    lr = np.array([q["lr"] for q in points])
    wd = np.array([q["wd"] for q in points])
    beta = float(points[0]["beta"])
    steps = int(points[0]["steps"])
    opt = mutate(
        muon(lr=lr, beta=beta, nesterov=False, shape_scale="none", weight_decay=wd), points[0]["mutation"]
    )
    X = xp.asarray(_start(p, [q["seed"] + 7919 for q in points], 0.5 * SCALE / wd))
    params = (X,)
    state = opt.init(params)
    B = xp.zeros_like(X)
    lam = wd[:, None, None]
    keys = ("f", "S", "x_op", "phi_prev", "phi_next", "Q", "D_fw", "H")
    out = {k: np.empty((len(points), steps + 1)) for k in keys}
    w = lr / (1.0 - beta)
    for t in range(steps + 1):
        X = params[0]
        G = p.grad(params)[0]
        F = np.asarray(p.f(params))
        out["f"][:, t] = F
        out["S"][:, t] = np.asarray(stationarity_measure(G, X, xp.asarray(wd), SCALE))
        out["x_op"][:, t] = np.asarray(xp.linalg.matrix_norm(X, ord=2))
        phi_prev = np.asarray(lyapunov_phi(B, X, xp.asarray(wd), SCALE))
        out["phi_prev"][:, t] = phi_prev
        out["H"][:, t] = F + w * phi_prev
        out["D_fw"][:, t] = np.asarray(
            xp.linalg.matrix_norm(frank_wolfe_vertex(G, xp.asarray(lam), SCALE) - X)
        )
        if t == steps:
            out["phi_next"][:, t] = out["Q"][:, t] = np.nan
            break
        params, state, info = opt.update(state, params, p.grad)
        B_next = info.estimate[0]
        out["phi_next"][:, t] = np.asarray(lyapunov_phi(B_next, X, xp.asarray(wd), SCALE))
        out["Q"][:, t] = np.asarray(muon_wd_direction_sq(B_next, X, xp.asarray(lam), SCALE))
        B = B_next
    return out


def _f_inf(problem_name, lam):
    """min F over the ball ‖X‖_op <= s/λ: FISTA (least squares) or the exact projection (isotropic)."""
    p = _problem(problem_name)
    if problem_name == "constrained_least_squares":
        return p.constrained_optimum(SCALE / lam)[1]
    from problems.quadratic import project_spectral_ball

    C = p.X_star_host
    D = C - project_spectral_ball(C, SCALE / lam)
    return 0.5 * 1.0 * float(np.sum(D * D))


def _trajectories(name, grid_axes, quick, cache, mutation):
    from lab.sweeps import Grid, run_sweep

    grid = Grid(mutation=[mutation], **grid_axes)
    return run_sweep(
        _trajectory_compute,
        grid,
        name=name,
        cache=cache,
        chunk_size=64,
        progress=False,
        by=("problem", "mutation", "steps", "beta"),
    )


def _constants(problem_name):
    p = _problem(problem_name)
    return float(p.constants.L_frobenius), int(min(p.block_shapes[0]))


@experiment("s3_frank_wolfe")
def s3_frank_wolfe(*, quick: bool = True, cache=True, mutation: str | None = None, **options) -> Experiment:
    """L3 (β = 0, exact polar, X₀ in the ball, s = 1): one-step Frank–Wolfe inequality and the rate.

    measured: ``step_excess`` F(X_{t+1}) − F(X_t) + ηS(X_t) (rows, T); ``min_S`` min_{t<T} S(X_t) for
    every horizon T = 1..steps.
    theoretical: ``step_bound`` (L/2)η²λ²‖S_t − X_t‖_F² (S3.L3.step with S_t moved to the left);
    ``rate_bound`` (F(X₀) − F_inf)/(ηT) + 2Ls²rη (S3.L3); certified L = L_frobenius, r = min(m, n),
    F_inf = min over the ball (independent: FISTA / exact projection).
    """
    if options:
        raise ValueError(f"unknown options {sorted(options)}; s3_frank_wolfe takes quick, cache, mutation")
    _check_common(quick, mutation)
    import bounds

    axes = dict(
        problem=["constrained_least_squares", "isotropic_quadratic"],
        steps=[150 if quick else 400],
        beta=[0.0],
        seed=[0] if quick else [0, 1],
        lr=[0.02, 0.1] if quick else [0.01, 0.03, 0.1],
        wd=[1.0, 2.0] if quick else [1.0, 1.5, 2.0],
    )
    sw = _trajectories("s3_frank_wolfe", axes, quick, cache, mutation)
    f, S, D = sw.array("f"), sw.array("S"), sw.array("D_fw")
    lr, wd = sw.column("lr").astype(float), sw.column("wd").astype(float)
    probs = sw.column("problem")
    consts = {n: _constants(n) for n in set(probs.tolist())}
    L = np.array([consts[n][0] for n in probs])
    r = np.array([consts[n][1] for n in probs])
    F_inf = np.array([_f_inf(n, lam) for n, lam in zip(probs, wd, strict=True)])
    steps = f.shape[1] - 1
    Tk = np.arange(1, steps + 1)[None, :]
    step_bound = (
        bounds.get("S3.L3.step")
        .evaluate(eta=lr[:, None], S_t=0.0, L=L[:, None], lam=wd[:, None], D_fw=D[:, :-1])
        .value
    )
    rate = (
        bounds.get("S3.L3")
        .evaluate(
            F_gap0=(f[:, 0] - F_inf)[:, None],
            eta=lr[:, None],
            T=Tk,
            L=L[:, None],
            s=SCALE,
            r=r[:, None],
            lam=wd[:, None],
            X0_op=0.5 * SCALE / wd[:, None],
        )
        .value
    )
    return Experiment(
        "s3_frank_wolfe",
        measured={
            "step_excess": f[:, 1:] - f[:, :-1] + lr[:, None] * S[:, :-1],
            "min_S": np.minimum.accumulate(S[:, :-1], axis=1),
            "S": S,
            "f": f,
            "x_op": sw.array("x_op"),
        },
        theoretical={"step_bound": step_bound, "rate_bound": rate, "F_inf": F_inf, "L": L, "r": r},
        meta={
            "rows": sw.rows,
            "problems": probs,
            "lr": lr,
            "wd": wd,
            "mutation": mutation,
            "theorems": ("S3.L3.step", "S3.L3"),
        },
    )


@experiment("s3_lyapunov")
def s3_lyapunov(*, quick: bool = True, cache=True, mutation: str | None = None, **options) -> Experiment:
    """L2 (β = 0.9, EMA, no Nesterov, exact polar, X₀ inside the ball, s = 1).

    measured: ``H`` the Lyapunov function H_t = F(X_t) + (η/(1−β))(s‖B_t‖_* + λ⟨B_t, X_t⟩) (rows, T+1);
    ``dH`` H_{t+1} − H_t; ``one_step_excess`` dH + ηΦ(B_t, X_t) + (η²λ/(1−β))Φ(B_{t+1}, X_t).
    theoretical: ``one_step_bound`` (L/2)η²‖polar(B_{t+1}) + λX_t‖_F² (S3.L2, remainder form) and
    ``ball_bound`` 2Ls²rη² (S3.L2.ball, valid while ‖X_t‖_op <= s/λ); ``inside`` marks those steps.
    """
    if options:
        raise ValueError(f"unknown options {sorted(options)}; s3_lyapunov takes quick, cache, mutation")
    _check_common(quick, mutation)
    import bounds

    beta = 0.9
    axes = dict(
        problem=["constrained_least_squares", "isotropic_quadratic"],
        steps=[150 if quick else 400],
        beta=[beta],
        seed=[0] if quick else [0, 1],
        lr=[0.02, 0.1] if quick else [0.01, 0.03, 0.1],
        wd=[1.0, 2.0] if quick else [1.0, 1.5, 2.0],
    )
    sw = _trajectories("s3_lyapunov", axes, quick, cache, mutation)
    H, pp, pn, Q = sw.array("H"), sw.array("phi_prev"), sw.array("phi_next"), sw.array("Q")
    lr, wd = sw.column("lr").astype(float), sw.column("wd").astype(float)
    probs = sw.column("problem")
    consts = {n: _constants(n) for n in set(probs.tolist())}
    L = np.array([consts[n][0] for n in probs])
    r = np.array([consts[n][1] for n in probs])
    dH = H[:, 1:] - H[:, :-1]
    e, lam = lr[:, None], wd[:, None]
    excess = dH + e * pp[:, :-1] + e**2 * lam / (1 - beta) * pn[:, :-1]
    one_step = (
        bounds.get("S3.L2")
        .evaluate(eta=e, lam=lam, beta=beta, Phi_prev=0.0, Phi_next=0.0, L=L[:, None], Q_step=Q[:, :-1])
        .value
    )
    x_op = sw.array("x_op")
    ball = (
        bounds.get("S3.L2.ball")
        .evaluate(eta=e, lam=lam, beta=beta, L=L[:, None], s=SCALE, r=r[:, None], X_op=0.0 * e)
        .value
    )
    return Experiment(
        "s3_lyapunov",
        measured={
            "H": H,
            "dH": dH,
            "one_step_excess": excess,
            "x_op": x_op,
            "inside": x_op[:, :-1] <= (SCALE / lam) * (1 + 1e-12),
        },
        theoretical={
            "one_step_bound": one_step,
            "ball_bound": np.broadcast_to(ball, dH.shape),
            "L": L,
            "r": r,
        },
        meta={
            "rows": sw.rows,
            "problems": probs,
            "lr": lr,
            "wd": wd,
            "beta": beta,
            "mutation": mutation,
            "theorems": ("S3.L2", "S3.L2.ball"),
        },
    )
