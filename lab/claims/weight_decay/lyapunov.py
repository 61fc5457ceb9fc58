r"""S3's trajectory lemmas: the Frank–Wolfe gap (L3) and the continuous-time Lyapunov function (L2)
(experiments ``s3_frank_wolfe``, ``s3_lyapunov``; checks ``S3-L3``, ``S3-L2-lyapunov``)."""

from __future__ import annotations

import numpy as np

import bounds
from bounds.s3 import frank_wolfe_vertex, lyapunov_phi, muon_wd_direction_sq, stationarity_measure
from lab.claims.mutations import mutate, understate
from lab.claims.registry import Experiment, check, experiment, get_experiment
from lab.claims.weight_decay._shared import _SRC, SCALE, _check_common, _problem, _rounding, _rows, _start
from lab.optimizers import muon
from lab.stats import Verdict, ratio_to_bound
from lab.sweeps import Grid, run_sweep
from problems.quadratic import project_spectral_ball


# ------------------------------------------------------------------------------ L2 / L3 trajectories
def _trajectory_compute(points):
    """Muon + weight decay (EMA, no Nesterov, exact polar, s = 1) step by step, batched over points.

    Records per step t (from X_t with buffer B_t to X_{t+1}, B_{t+1}): F_t, S_t, ‖X_t‖_op,
    Φ_prev = Φ(B_t, X_t), Φ_next = Φ(B_{t+1}, X_t), Q = ‖s polar(B_{t+1}) + λX_t‖_F²,
    D_fw = ‖−(s/λ)polar(∇F(X_t)) − X_t‖_F, H_t = F_t + η/(1−β)·Φ_prev.
    """
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
    C = p.X_star_host
    D = C - project_spectral_ball(C, SCALE / lam)
    return 0.5 * 1.0 * float(np.sum(D * D))


def _trajectories(name, grid_axes, quick, cache, mutation):
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


@experiment("S3.L3")
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


@experiment("S3.L2")
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


@check(
    "S3.L3",
    claim="Frank-Wolfe view (beta = 0, exact polar, X_0 in the ball, s = 1): one step "
    "F(X_{t+1}) - F(X_t) <= -eta S(X_t) + (L/2) eta^2 lam^2 ||S_t - X_t||_F^2 and "
    "min_{t<T} S(X_t) <= (F(X_0) - F_inf)/(eta T) + 2 L r eta",
    source="S3",
    theorems=("S3.L3.step", "S3.L3"),
    experiment="S3.L3",
    mutations=("double_step", "understate_constant"),
)
def s3_l3(*, quick: bool, mutation: str | None = None):
    exp = get_experiment("S3.L3")(
        quick=quick, mutation="double_step" if mutation == "double_step" else None
    )
    m, th = exp
    f, lr, S = m["f"], exp.meta["lr"][:, None], m["S"]
    L_scale = understate(1.0, mutation)  # (L/2)η²λ²D² and 2Lrη are linear in L
    tol = _rounding(f[:, 1:], f[:, :-1], lr * S[:, :-1])
    step = ratio_to_bound(m["step_excess"], L_scale * th["step_bound"] + tol, points=_rows(exp, 0))
    # understate L in the rate bound: only the 2Lrη term scales with L
    rate_b = th["rate_bound"] - (1 - L_scale) * 2 * th["L"][:, None] * th["r"][:, None] * lr
    rate = ratio_to_bound(m["min_S"], rate_b, points=_rows(exp, 0))
    probs = "constrained_least_squares (see above) and isotropic_quadratic L=1 ||C||_F=3"
    return [
        Verdict.from_ratio(
            "S3-L3[step]",
            _SRC,
            probs,
            "-eta S_t + (L/2) eta^2 lam^2 ||S_t - X_t||^2",
            "worst (F_{t+1} - F_t + eta S_t)/((L/2) eta^2 lam^2 D^2 + rounding)",
            step,
            mutation=mutation,
        ),
        Verdict.from_ratio(
            "S3-L3[rate]",
            _SRC,
            probs,
            "(F(X_0) - F_inf)/(eta T) + 2 L r eta",
            "worst min_{t<T} S(X_t) / bound over T",
            rate,
            mutation=mutation,
        ),
    ]


@check(
    "S3.L2",
    claim="H_t = F(X_t) + eta/(1-beta) (s||B_t||_* + lam<B_t, X_t>) is non-increasing up "
    "to O(eta^2) inside the ball: one step <= -eta Phi_t - eta^2 lam/(1-beta) Phi_{t+1} + (L/2) eta^2 Q_t "
    "and H_{t+1} - H_t <= 2 L s^2 r eta^2",
    source="S3",
    theorems=("S3.L2", "S3.L2.ball"),
    experiment="S3.L2",
    mutations=("double_step", "understate_constant"),
)
def s3_l2(*, quick: bool, mutation: str | None = None):
    exp = get_experiment("S3.L2")(
        quick=quick, mutation="double_step" if mutation == "double_step" else None
    )
    m, th = exp
    H = m["H"]
    L_scale = understate(1.0, mutation)
    tol = _rounding(H[:, 1:], H[:, :-1], m["one_step_excess"] - m["dH"])
    one = ratio_to_bound(m["one_step_excess"], L_scale * th["one_step_bound"] + tol, points=_rows(exp, 0))
    dH_in = np.where(m["inside"], m["dH"], -np.inf)
    ball = ratio_to_bound(
        dH_in, L_scale * th["ball_bound"] + _rounding(H[:, 1:], H[:, :-1]), points=_rows(exp, 0)
    )
    probs = "constrained_least_squares and isotropic_quadratic; beta = 0.9, no Nesterov"
    return [
        Verdict.from_ratio(
            "S3-L2-lyapunov[one-step]",
            _SRC,
            probs,
            "-eta Phi_t - eta^2 lam/(1-beta) Phi_{t+1} + (L/2) eta^2 ||polar(B) + lam X||^2",
            "worst remainder ratio",
            one,
            mutation=mutation,
        ),
        Verdict.from_ratio(
            "S3-L2-lyapunov[ball]",
            _SRC,
            probs,
            "2 L s^2 r eta^2 (S3.L2.ball)",
            "worst (H_{t+1} - H_t)/(2 L s^2 r eta^2) inside the ball",
            ball,
            inside_fraction=float(np.mean(m["inside"])),
            mutation=mutation,
        ),
    ]
