r"""S3.L2.sharp: the discrete Lyapunov function of Muon + weight decay with exact cancellation.

Chen, Li, Liu, *Muon Optimizes Under Spectral Norm Constraints* (arXiv 2506.15054); the discrete
statement is a lab derivation (``bounds/s3.py``, ``S3.L2.sharp``).  Muon in buffer form, no Nesterov,
exact polar, shape scale s (the ``block_lr`` multiplier: the direction gets η·s, the decay the
unscaled η):

    B_{t+1} = βB_t + (1 − β)∇F(X_t),   O_{t+1} = polar(B_{t+1}),   X_{t+1} = (1 − ηλ)X_t − ηs O_{t+1},

Φ(B, X) = s‖B‖_* + λ⟨B, X⟩ and H^β_t = F(X_t) + c Φ(B_t, X_t) with c = ηβ/(1 − β).

**Exact one-step identity** (the proof of S3.L2.sharp with both inequalities kept as remainders):

    H^β_{t+1} − H^β_t + η(1 + ηλβ/(1 − β)) Φ(B_{t+1}, X_t) = R_F + c·R_K,

    R_F = F(X_{t+1}) − F(X_t) + η⟨∇F(X_t), s O_{t+1} + λX_t⟩ <= (L/2)η²‖s O_{t+1} + λX_t‖_F²  (smoothness),
    R_K = s(⟨O_{t+1}, B_t⟩ − ‖B_t‖_*) <= 0                                       (convexity of ‖·‖_*).

Derivation: B_{t+1} − B_t = ((1 − β)/β)(∇F(X_t) − B_{t+1}) and ⟨O_{t+1}, B_{t+1}⟩ = ‖B_{t+1}‖_*, so
Φ(B_{t+1}, X_{t+1}) = (1 − ηλ)Φ(B_{t+1}, X_t) and c[Φ(B_{t+1}, X_t) − Φ(B_t, X_t)] =
η⟨∇F, sO + λX_t⟩ − ηΦ(B_{t+1}, X_t) + cR_K: the ⟨O, ∇F⟩ and λ⟨∇F, X⟩ terms cancel exactly.
The identity holds for any F, start and β ∈ [0, 1) (no ball condition); the theorem follows from the
two remainder signs.  On ``isotropic_quadratic`` R_F = (L/2)η²Q exactly.

``s3_sharp``
    Batched over (β, η, λ, start, seed) per (problem, s) chunk, every step recorded; problems: the S3
    ``constrained_least_squares`` instance (:data:`lab.claims.weight_decay._shared.PROBLEM`, certified L) and
    ``isotropic_quadratic`` 8×6 (L = 1, ‖C‖_F = 3).  Starts ‖X₀‖_op = ρ·s/λ with ρ ∈ {0.5, 2}
    (inside and outside the ball).  ``mutation`` ("double_step", "flip_momentum") wraps the optimizer;
    every quantity is evaluated with the nominal η and the buffer the optimizer reports.

Checks
------
S3.L2.sharp check: the discrete Lyapunov function with exact cancellation, one step at a time.

Experiment: :func:`s3_sharp` above (its docstring derives the identity).  Theorem:
``bounds.get("S3.L2.sharp")`` (lab derivation consistent with S3, Chen, Li, Liu, arXiv 2506.15054),
evaluated with the problems' certified L.

Rounding allowance: every verdict compares differences of O(1) quantities; the allowance is
64·ε_mach times the sum of the absolute values of the terms entering the compared expression
(``measured["scale"]``), the rounding error of that sum with room for the SVDs (backward stable, error
O(ε_mach) relative to ‖B‖).  Three verdicts:

1. [identity] |H_{t+1} − H_t + η(1 + ηλβ/(1 − β))Φ_{t+1} − R_F − cR_K| <= allowance at every step of every
   run: the exact cancellation of the proof; any change to the optimizer's step or momentum breaks it.
2. [remainders] R_F <= (L/2)η²Q + allowance (L-smoothness) and R_K <= allowance (convexity of ‖·‖_*).
3. [inequality] the theorem: H_{t+1} − H_t + η(1 + ηλβ/(1 − β))Φ_{t+1} <= (L/2)η²Q + allowance
   (attained up to rounding on the isotropic quadratic whenever the polar factor does not turn).

Mutations: "double_step" and "flip_momentum" wrap the optimizer; both must give "violated"."""

from __future__ import annotations

import numpy as np

import bounds
import bounds.s3
import problems
from bounds.s3 import lyapunov_phi, muon_wd_direction_sq
from lab.claims.mutations import mutate
from lab.claims.registry import Experiment, check, check_options, experiment, get_experiment
from lab.claims.weight_decay._shared import PROBLEM
from lab.optimizers import muon
from lab.random import RNG
from lab.stats import Verdict, ratio_to_bound
from lab.sweeps import Grid, run_sweep

PROBLEMS = ("constrained_least_squares", "isotropic_quadratic")
_MUTATIONS = (None, "double_step", "flip_momentum")


def _sharp_problem(name):
    if name == "constrained_least_squares":
        return problems.make(name, **PROBLEM)
    return problems.make("isotropic_quadratic", m=PROBLEM["m"], n=PROBLEM["n"], L=1.0, c_scale=3.0, seed=0)


def _config(quick):
    return dict(
        problem=list(PROBLEMS),
        s=[1.0, 0.5] if quick else [0.5, 1.0, 2.0],
        steps=[120 if quick else 400],
        beta=[0.5, 0.9] if quick else [0.0, 0.5, 0.9, 0.95],
        lr=[0.02, 0.1] if quick else [0.01, 0.03, 0.1],
        wd=[1.0, 2.0] if quick else [0.5, 1.0, 2.0],
        rho=[0.5, 2.0],
        seed=[0] if quick else [0, 1],
    )


def _sharp_start(problem, keys, op_norm):
    """Gaussian starts (lab RNG, one per point key) rescaled to ‖X₀‖_op = op_norm (array (B,))."""
    rng = RNG(problem.xp.asarray(np.asarray(keys, dtype=np.uint64)))
    Z = np.asarray(rng.fold("s3_sharp_x0").normal(problem.block_shapes[0]), dtype=float)
    op = np.linalg.norm(Z, ord=2, axis=(-2, -1))
    return Z * (np.asarray(op_norm, dtype=float) / op)[:, None, None]


def _compute(points):
    """Step-by-step run of one chunk; the identity's pieces at every step t = 0..T−1 (arrays (B, T))."""
    p = _sharp_problem(points[0]["problem"])
    xp = p.xp
    s = float(points[0]["s"])
    lr, wd, beta = (np.array([q[k] for q in points], dtype=float) for k in ("lr", "wd", "beta"))
    steps = int(points[0]["steps"])
    opt = muon(lr=lr, beta=beta, nesterov=False, shape_scale="none", weight_decay=wd, block_lr=s)
    opt = mutate(opt, None if points[0]["mutation"] == "none" else points[0]["mutation"])
    rho = np.array([q["rho"] for q in points])
    X = xp.asarray(_sharp_start(p, [q["key"] for q in points], rho * s / wd))
    params = (X,)
    state = opt.init(params)
    B = xp.zeros_like(X)  # momentum_init "zero": B_0 = 0
    lam_b, lam = xp.asarray(wd)[:, None, None], xp.asarray(wd)
    keys = ("F", "F_next", "phi_prev", "phi_next", "phi_after", "lin", "R_K", "Q", "x_op")
    out = {k: np.empty((len(points), steps)) for k in keys}

    def nuclear(A):
        return xp.sum(xp.linalg.svdvals(A), axis=-1)

    for t in range(steps):
        X = params[0]
        G = p.grad(params)[0]
        F = p.f(params)
        params, state, info = opt.update(state, params, p.grad)
        B_next = info.estimate[0]
        U, _, Vh = xp.linalg.svd(B_next, full_matrices=False)
        O = U @ Vh
        D = s * O + lam_b * X  # X_{t+1} = X_t − η D at the nominal step
        out["F"][:, t] = np.asarray(F)
        out["F_next"][:, t] = np.asarray(p.f(params))
        out["phi_prev"][:, t] = np.asarray(lyapunov_phi(B, X, lam, s))
        out["phi_next"][:, t] = np.asarray(lyapunov_phi(B_next, X, lam, s))
        out["phi_after"][:, t] = np.asarray(lyapunov_phi(B_next, params[0], lam, s))
        out["lin"][:, t] = np.asarray(xp.sum(G * D, axis=(-2, -1)))  # ⟨∇F(X_t), sO + λX_t⟩
        out["R_K"][:, t] = np.asarray(s * (xp.sum(O * B, axis=(-2, -1)) - nuclear(B)))
        out["Q"][:, t] = np.asarray(muon_wd_direction_sq(B_next, X, lam_b, s))
        out["x_op"][:, t] = np.asarray(xp.linalg.matrix_norm(X, ord=2))
        B = B_next
    return out


@experiment("S3.L2.sharp")
def s3_sharp(*, quick: bool = True, cache=True, mutation: str | None = None, **options) -> Experiment:
    """S3.L2.sharp one step at a time, with the exact identity behind it (module docstring).

    measured (rows, T): ``lhs`` = H^β_{t+1} − H^β_t + η(1 + ηλβ/(1 − β))Φ(B_{t+1}, X_t) (what the
    theorem bounds), ``R_F`` (smoothness remainder at the nominal step), ``R_K`` (convexity remainder,
    <= 0), ``residual`` = lhs − R_F − cR_K (0 up to rounding), ``scale`` = the sum of the absolute
    values of every term entering lhs, R_F and cR_K (for the rounding allowance), ``x_op``.
    theoretical (rows, T): ``bound`` = (L/2)η²‖sO_{t+1} + λX_t‖_F² from ``bounds.get("S3.L2.sharp")``
    evaluated at Φ_next = 0 (the Φ term is moved to the left), with the problem's certified L.
    """
    check_options(quick, mutation, _MUTATIONS, options=options, name="s3_sharp")
    cfg = _config(quick)
    variant = "none" if mutation is None else mutation
    sw = run_sweep(
        _compute,
        Grid(mutation=[variant], **cfg),
        name="s3_sharp" if mutation is None else f"s3_sharp__{mutation}",
        cache=cache,
        chunk_size=100_000,
        progress=False,
        key_axes=("seed",),
        by=("problem", "s", "mutation", "steps"),
    )
    A = {k: sw.array(k) for k in ("F", "F_next", "phi_prev", "phi_next", "phi_after", "lin", "R_K", "Q")}
    lr, wd, beta = (sw.column(k).astype(float)[:, None] for k in ("lr", "wd", "beta"))
    probs = sw.column("problem")
    L = np.array([float(_sharp_problem(n).constants.L_frobenius) for n in probs])[:, None]
    c = lr * beta / (1.0 - beta)
    dH = A["F_next"] - A["F"] + c * (A["phi_after"] - A["phi_prev"])
    phi_term = lr * (1.0 + lr * wd * beta / (1.0 - beta)) * A["phi_next"]
    lhs = dH + phi_term
    R_F = A["F_next"] - A["F"] + lr * A["lin"]
    residual = lhs - R_F - c * A["R_K"]
    scale = (
        2 * (np.abs(A["F_next"]) + np.abs(A["F"]))
        + c * (np.abs(A["phi_after"]) + np.abs(A["phi_prev"]) + np.abs(A["R_K"]))
        + np.abs(phi_term)
        + lr * np.abs(A["lin"])
    )
    bound = (
        bounds.get("S3.L2.sharp").evaluate(eta=lr, lam=wd, beta=beta, Phi_next=0.0, L=L, Q_step=A["Q"]).value
    )
    return Experiment(
        "s3_sharp",
        measured={
            "lhs": lhs,
            "dH": dH,
            "R_F": R_F,
            "R_K": A["R_K"],
            "residual": residual,
            "scale": scale,
            "x_op": sw.array("x_op"),
        },
        theoretical={"bound": np.asarray(bound, dtype=float), "L": L[:, 0]},
        meta={
            "config": cfg,
            "rows": sw.rows,
            "problems": probs,
            "s": sw.column("s").astype(float),
            "lr": lr[:, 0],
            "wd": wd[:, 0],
            "beta": beta[:, 0],
            "rho": sw.column("rho").astype(float),
            "mutation": mutation,
            "theorems": ("S3.L2.sharp",),
        },
    )


_SRC = "lab derivation consistent with S3 (Chen, Li, Liu, arXiv 2506.15054)"
_EPS = float(np.finfo(float).eps)
_PROBS = (
    "constrained_least_squares (lab.claims.weight_decay._shared.PROBLEM) and "
    "isotropic_quadratic 8x6 L=1 ||C||_F=3; "
    "Muon EMA, no Nesterov, exact polar, weight decay, shape scale s"
)


@check(
    "S3.L2.sharp",
    claim="H_t = F(X_t) + eta beta/(1-beta) (s||B_t||_* + lam<B_t, X_t>): one step "
    "H_{t+1} - H_t <= -eta(1 + eta lam beta/(1-beta)) Phi(B_{t+1}, X_t) "
    "+ (L/2) eta^2 ||s polar(B_{t+1}) + lam X_t||^2, "
    "with the proof's exact cancellation holding to rounding",
    source="S3",
    theorems=("S3.L2.sharp",),
    experiment="S3.L2.sharp",
    mutations=("double_step", "flip_momentum"),
)
def s3_l2_sharp(*, quick: bool, mutation: str | None = None):
    """Identity, remainder signs and the theorem's inequality at every step of every (β, η, λ, s, start)."""
    exp = get_experiment("S3.L2.sharp")(quick=quick, mutation=mutation)
    m, th = exp
    allow = 64 * _EPS * m["scale"]
    rows = exp.meta["rows"]
    n_runs, n_steps = m["lhs"].shape
    common = dict(runs=int(n_runs), steps=int(n_steps), mutation=mutation)
    ident = ratio_to_bound(np.abs(m["residual"]), allow, points=rows)
    rem = ratio_to_bound(np.maximum(m["R_F"] / (th["bound"] + allow), m["R_K"] / allow), 1.0, points=rows)
    ineq = ratio_to_bound(m["lhs"], th["bound"] + allow, points=rows)
    inside = m["x_op"] <= (exp.meta["s"] / exp.meta["wd"])[:, None] * (1 + 1e-12)
    return [
        Verdict.from_ratio(
            "S3-L2-sharp[identity]",
            _SRC,
            _PROBS,
            "64 eps * (sum of |terms|)",
            "|dH + eta(1 + eta lam beta/(1-beta)) Phi_next - R_F - c R_K|",
            ident,
            **common,
        ),
        Verdict.from_ratio(
            "S3-L2-sharp[remainders]",
            _SRC,
            _PROBS,
            "R_F <= (L/2) eta^2 Q + allowance and R_K <= allowance",
            "max(R_F/((L/2) eta^2 Q + allowance), R_K/allowance)",
            rem,
            max_R_K=float(np.max(m["R_K"])),
            **common,
        ),
        Verdict.from_ratio(
            "S3-L2-sharp[inequality]",
            _SRC,
            _PROBS,
            "(L/2) eta^2 ||s polar(B_{t+1}) + lam X_t||_F^2 + allowance (S3.L2.sharp)",
            "H_{t+1} - H_t + eta(1 + eta lam beta/(1-beta)) Phi(B_{t+1}, X_t)",
            ineq,
            inside_fraction=float(np.mean(inside)),
            **common,
        ),
    ]
