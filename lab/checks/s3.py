"""S3 checks — Muon + decoupled weight decay on the spectral ball (``bounds/s3.py``).

Each check runs an :mod:`lab.experiments.s3` experiment and compares measurements with bounds
evaluated on certified constants (L = L_frobenius of the problem, r = min(m, n), the oracle's
certified overshoot ω, and constrained optima computed independently of any Muon run).

Floating-point allowance: one-step inequalities compare differences of O(1) losses with O(η²)
remainders; they get an absolute allowance of 64·ε·(|F_t| + |F_{t+1}| + |extra terms|) (ε = 2⁻⁵²),
the rounding error of the left-hand side, stated in each verdict.  Radii get a relative 1e-12.
"""

from __future__ import annotations

import numpy as np

import bounds
from lab.checks import check
from lab.checks.mutations import understate
from lab.experiments import get_experiment
from lab.stats import Verdict, ratio_to_bound, slope_ci, vacuous

_SRC = "lab derivation consistent with S3 (Chen, Li, Liu, arXiv 2506.15054)"
_PROBLEM = "constrained_least_squares m=8 n=6 L=1 mu=0.1 excess=2 (||X*||_op = 2 > s/lam)"
_EPS = float(np.finfo(float).eps)


def _rounding(*terms):
    return 64 * _EPS * sum(np.abs(t) for t in terms)


def _rows(exp, index):
    rows = exp.meta.get("rows")
    return (
        None
        if rows is None
        else [{k: r[k] for k in r if k in ("oracle", "problem", "lr", "wd", "seed")} for r in rows]
    )


@check(
    "S3-L1-envelope",
    claim="(||X_t||_op - omega s/lam)_+ <= (1 - eta lam)^t (||X_0||_op - omega s/lam)_+ "
    "for every oracle with ||O||_op <= omega (omega certified per NS preset; 1 for exact polar)",
    source="S3",
    theorems=("S3.L1",),
    experiment="s3_entry",
    mutations=("understate_constant",),
)
def s3_l1_envelope(*, quick: bool, mutation: str | None = None):
    """Envelope with the certified overshoot ω = max_{[0,1]} p^(5) (understate_constant: 0.8ω)."""
    exp = get_experiment("s3_entry")(quick=quick)
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
    "S3-radius",
    claim="the invariant radius is (max_t ||O_t||_op) s/lam: ||X_t||_op <= omega_t s/lam + "
    "(1 - eta lam)^t (||X_0|| - omega_t s/lam)_+ with the measured running overshoot omega_t",
    source="S3",
    theorems=("S3.L1.radius",),
    experiment="s3_entry",
    mutations=("understate_constant",),
)
def s3_radius(*, quick: bool, mutation: str | None = None):
    exp = get_experiment("s3_entry")(quick=quick)
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
    "S3-constrained-optimum",
    claim="Muon + weight decay (exact polar) converges to the constrained optimum "
    "min F s.t. ||X||_op <= s/lam computed independently: 0 <= F(X_t) - F_c <= S(X_t)/lam inside the ball, "
    "and S(X_t) -> 0 as eta -> 0",
    source="S3",
    theorems=("S3.S",),
    experiment="s3_constrained",
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
    exp = get_experiment("s3_constrained")(quick=quick, radius_factor=factor)
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


@check(
    "S3-L3",
    claim="Frank-Wolfe view (beta = 0, exact polar, X_0 in the ball, s = 1): one step "
    "F(X_{t+1}) - F(X_t) <= -eta S(X_t) + (L/2) eta^2 lam^2 ||S_t - X_t||_F^2 and "
    "min_{t<T} S(X_t) <= (F(X_0) - F_inf)/(eta T) + 2 L r eta",
    source="S3",
    theorems=("S3.L3.step", "S3.L3"),
    experiment="s3_frank_wolfe",
    mutations=("double_step", "understate_constant"),
)
def s3_l3(*, quick: bool, mutation: str | None = None):
    exp = get_experiment("s3_frank_wolfe")(
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
    "S3-L2-lyapunov",
    claim="H_t = F(X_t) + eta/(1-beta) (s||B_t||_* + lam<B_t, X_t>) is non-increasing up "
    "to O(eta^2) inside the ball: one step <= -eta Phi_t - eta^2 lam/(1-beta) Phi_{t+1} + (L/2) eta^2 Q_t "
    "and H_{t+1} - H_t <= 2 L s^2 r eta^2",
    source="S3",
    theorems=("S3.L2", "S3.L2.ball"),
    experiment="s3_lyapunov",
    mutations=("double_step", "understate_constant"),
)
def s3_l2(*, quick: bool, mutation: str | None = None):
    exp = get_experiment("s3_lyapunov")(
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
