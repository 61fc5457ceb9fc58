r"""Search families for S2's anytime rates (N1, N1.MVR1, N2, P1 and its MVR variants) and S4's level.

N1/N2: the lab's Muon, MVR1 and MVR2 with their horizon-free schedules (η_t = η₀ t^(−3/4) or t^(−2/3),
1 − β_t = min(1, c_a t^(−1/2 or −2/3))), noise-free, on ``logcosh`` (entrywise) from :mod:`problems`:
a Huber-like function whose gradient stays near its bound far from the optimum.  Started at a distance
the schedule just covers by T, the gradient keeps its size while Δ₀ ≈ distance × gradient, which is
the worst case of the telescoped descent (the performance-estimation picture of a normalised method).

P1: the same methods on the scalar ``isotropic_quadratic`` (μ = L = 1, where the PL inequality is an
equality).  S4's level: constant-step Muon (β = 0, as the theorem states) on ``isotropic_quadratic``
started well *inside* the level (Δ₀ <= half the η² floor), so the ratio measures the floor, not the
starting gap.
"""

from __future__ import annotations

import functools

import numpy as np

import bounds
import problems
from lab.claims.mutations import mutate
from lab.optimizers import lmo_step, muon, muon_mvr1, muon_mvr2
from lab.oracles import inexact_oracle
from lab.schedules import anytime_beta, power
from lab.tight_families._common import nuclear, quadratic, run, start, value, worst
from lab.tightness import LOOSE_REASONS, family

_METHOD = {
    "S2.N1": "muon",
    "S2.N1.MVR1": "mvr1",
    "S2.N2": "mvr2",
    "S2.P1": "muon",
    "S2.P1.MVR1": "mvr1",
    "S2.P1.MVR2": "mvr2",
}
STEPS = 200


def _optimizer(method, eta0, c_a, mutation):

    if method == "mvr2":
        opt = muon_mvr2(lr=power(eta0, 2.0 / 3.0), beta=anytime_beta(c_a, 2.0 / 3.0))
    elif method == "mvr1":
        lr, beta = power(eta0, 0.75), anytime_beta(c_a, 0.5)
        opt = muon_mvr1(lr=lr, beta=beta, gamma=power(1.0, 0.5), momentum_init="gradient")
    else:
        lr, beta = power(eta0, 0.75), anytime_beta(c_a, 0.5)
        opt = muon(lr=lr, beta=beta, nesterov=False, shape_scale="none", momentum_init="gradient")
    return mutate(opt, mutation)


@functools.cache
def _logcosh(m: int, n: int):

    return problems.make("logcosh", m=m, n=n, mode="entrywise", x_scale=0.0, init_distance=1.0, seed=0)


def _rate_ratio(theorem, p, cat, mutation, problem, extra_constants):
    method = _METHOD[theorem]
    opt = _optimizer(method, p["eta0"], p["c_a"], mutation)
    f, g, _, _ = run(opt, problem, start(problem, p["dist"]), STEPS)
    c = problem.constants
    T = np.arange(1, STEPS + 1, dtype=float)[:, None]
    consts = dict(
        Delta0=f[0] - c.f_star,
        r=float(min(cat["shape"])),
        eta0=p["eta0"],
        L=c.L_frobenius,
        sigma=0.0,
        c_a=p["c_a"],
        T=T,
        **extra_constants(c),
    )
    if theorem == "S2.N2" or theorem == "S2.P1.MVR2":
        consts["L_ms"] = c.L_ms
    return f, g, value(theorem, **consts)


def _c_a_low(method: str) -> float:
    """The smallest c_a of the method's anytime schedule the theorems allow (c_a > 2^(2/3) - 1 or √2 - 1)."""
    return 2.0 ** (2.0 / 3.0) - 1.0 if method == "mvr2" else np.sqrt(2.0) - 1.0


def _anytime_family(theorem, *, form, instance, dist_low, shapes, make_problem, extra_constants, measure):
    """Register the family of an anytime rate: max over T of min_{t<T} measure(X_t) / bound(T)."""

    @family(
        theorem,
        form=form,
        instance=instance,
        space={
            "eta0": (1e-3, 1.0, "log"),
            "c_a": (_c_a_low(_METHOD[theorem]) * 1.01, 1e3, "log"),
            "dist": (dist_low, 100.0, "log"),
        },
        categories=tuple({"shape": shape} for shape in shapes),
        mutations=("double_step",),
    )
    def ratio(p, cat, mutation):
        problem = make_problem(*cat["shape"])
        f, g, bound = _rate_ratio(theorem, p, cat, mutation, problem, extra_constants)
        best = np.minimum.accumulate(measure(problem, f, g), axis=0)
        return worst(best / bound, "T")

    return ratio


for _tid in ("S2.N1", "S2.N1.MVR1", "S2.N2"):
    _anytime_family(
        _tid,
        form="max over T <= 200 of min_{t<T} ||grad f(X_t)||_* / bound(T) (noise-free)",
        instance=f"logcosh entrywise (scalar, 2x2) from a far start, {_METHOD[_tid]} with its "
        "horizon-free schedule, deterministic",
        dist_low=0.1,
        shapes=((1, 1), (2, 2)),
        make_problem=_logcosh,
        extra_constants=lambda c: {},
        measure=lambda problem, f, g: g,
    )
for _tid in ("S2.P1", "S2.P1.MVR1", "S2.P1.MVR2"):
    _anytime_family(
        _tid,
        form="max over T <= 200 of min_{t<T} sqrt(f(X_t) - f*) / bound(T) (noise-free)",
        instance=f"isotropic_quadratic scalar (mu = L = 1), {_METHOD[_tid]} with its horizon-free "
        "schedule, deterministic",
        dist_low=1e-2,
        shapes=((1, 1),),
        make_problem=quadratic,
        extra_constants=lambda c: {"mu": c.mu},
        measure=lambda problem, f, g: np.sqrt(np.maximum(f[:-1] - problem.constants.f_star, 0.0)),
    )

LEVEL_STEPS = 100


@family(
    "S4.muon.level",
    form="max over 1 <= t <= 100 of (f(X_t) - f*)/max(Delta0, L_op^2 eta^2/(8 mu) + L_op eta^2/2), "
    "started well inside the level (Delta0 = q x floor, q <= 1/2, so a ratio above 1/2 is the floor's)",
    instance="isotropic_quadratic (scalar, 3x2), constant-step Muon without momentum (beta = 0, the "
    "theorem's algorithm: W <- W - eta polar(G)), exact polar",
    space={"eta": (1e-3, 1.0, "log"), "q": (0.0, 0.5, "lin")},
    categories=({"shape": (1, 1)}, {"shape": (3, 2)}),
    mutations=("double_step",),
)
def s4_level(p, cat, mutation):

    problem = quadratic(*cat["shape"])
    c = problem.constants
    floor = value("S4.muon.level", Delta0=0.0 * p["eta"], L_op=c.L_op, mu=c.mu, eta=p["eta"])
    dist = np.sqrt(2.0 * p["q"] * floor / c.L_frobenius)  # f - f* = (L/2)||X - X*||_F^2
    opt = muon(p["eta"], beta=0.0, nesterov=False, shape_scale="none")
    f, _, _, _ = run(mutate(opt, mutation), problem, start(problem, dist), LEVEL_STEPS)
    gap = f - c.f_star
    bound = value("S4.muon.level", Delta0=gap[0], L_op=c.L_op, mu=c.mu, eta=p["eta"])
    return worst(gap[1:] / bound, "t")


@family(
    "S1.I2.descent",
    form="(f(X+) - f(X) + t(1-delta) a)/(t^2 (L0 + L1 a)(1+delta)^2/2) <= 1 (excess form)",
    instance="isotropic_quadratic (scalar, 3x2) as an (L0, L1)-smooth function with L0 = L_spectral, "
    "L1 = 0; one lmo_step with a delta-inexact oracle",
    space={"t": (1e-3, 3.0, "log"), "dist": (1e-2, 10.0, "log"), "delta": (0.0, 0.9, "lin")},
    categories=tuple({"shape": s, "kind": k} for s in ((1, 1), (3, 2)) for k in ("expand", "shrink")),
    mutations=("double_step",),
)
def i2_descent(p, cat, mutation):

    problem = quadratic(*cat["shape"])
    opt = mutate(lmo_step(p["t"], oracle=inexact_oracle("spectral", p["delta"], cat["kind"])), mutation)
    (X0,) = start(problem, p["dist"])
    f, g, _, _ = run(opt, problem, (X0,), 1)
    a = nuclear(np.asarray(problem.grad((X0,))[0]))
    c = problem.constants
    # '*_i' constants carry a trailing layer axis: (N candidates, 1 layer)
    consts = dict(
        t_i=p["t"][:, None], a_i=a[:, None], L0_i=c.L_spectral, L1_i=0.0, delta_i=p["delta"][:, None]
    )
    full = value("S1.I2.descent", **consts).reshape(-1)
    descent = -p["t"] * (1.0 - p["delta"]) * a  # the bound at L0 = L1 = 0 (outside its domain)
    return (f[1] - f[0] - descent) / (full - descent), {}


_P1_REASON = (
    "the best instance found is the noise-free scalar quadratic (mu = L, PL an equality), at ~0.47-0.48: "
    "the closed form telescopes the descent lemma, charging all of Delta0 = L x0^2/2 against the "
    "schedule's travelled distance S, while the measured sqrt-gap is the remaining distance x0 - S, so "
    "(x0 - S) S/(x0^2/2) <= 1/2 on any quadratic; the functions that keep their gradient while "
    "descending (logcosh, where N1 reaches 0.73) are not PL with a useful mu"
)
LOOSE_REASONS.update({"S2.P1": _P1_REASON, "S2.P1.MVR1": _P1_REASON, "S2.P1.MVR2": _P1_REASON})


P2_FIRST_T = 2


def _p2_family(theorem, method, p_exp):

    @family(
        theorem,
        form=f"max over {P2_FIRST_T} <= T <= 200 of (f(X_T) - f*)/bound(T) (noise-free), G the largest "
        "||grad f(X_t)||_F along the run, eta0 = u G/(2 mu)",
        instance=f"isotropic_quadratic scalar (mu = L = 1), {method} with its horizon-free schedule, "
        "deterministic",
        space={
            "u": (p_exp * 1.001, 1.0, "lin"),
            "c_a": (_c_a_low(method) * 1.01, 1e3, "log"),
            "dist": (1e-2, 100.0, "log"),
        },
        categories=({"shape": (1, 1)},),
        mutations=("double_step",),
    )
    def ratio(p, cat, mutation):
        problem = quadratic(*cat["shape"])
        c = problem.constants
        X0 = start(problem, p["dist"])
        G0 = np.linalg.norm(np.asarray(problem.grad(X0)[0]), axis=(-2, -1))
        eta0 = p["u"] * G0 / (2.0 * c.mu)
        opt = _optimizer(method, eta0, p["c_a"], mutation)
        params, state = X0, opt.init(X0)
        gaps, G = [], G0
        for _ in range(STEPS):
            params, state, _ = opt.update(state, params, problem.grad)
            gaps.append(np.asarray(problem.f(params)) - c.f_star)
            G = np.maximum(G, np.linalg.norm(np.asarray(problem.grad(params)[0]), axis=(-2, -1)))
        gaps = np.asarray(gaps)  # gaps[T - 1] = f(X_T) - f*
        T = np.arange(1, STEPS + 1, dtype=float)[:, None]
        consts = dict(
            Delta0=np.asarray(problem.f(X0)) - c.f_star,
            r=1.0,
            eta0=eta0,
            L=c.L_frobenius,
            sigma=0.0,
            c_a=p["c_a"],
            T=T,
            mu=c.mu,
            G=G,
        )
        if method == "mvr2":
            consts["L_ms"] = c.L_ms
        bv = bounds.get(theorem).evaluate(**consts)
        # G grows along a run that overshoots: where 2 eta0 mu/G leaves (1/4, 1] the theorem does not apply
        r = np.where(bv.applicable, gaps / np.where(bv.applicable, bv.value, 1.0), 0.0)[P2_FIRST_T - 1 :]
        ratio, where = worst(r, "T", first=float(P2_FIRST_T))
        return ratio, {**where, "eta0": eta0, "G": G}

    return ratio


_p2_family("S2.P2", "muon", 0.25)
_p2_family("S2.P2.MVR1", "mvr1", 0.25)
_p2_family("S2.P2.MVR2", "mvr2", 1.0 / 3.0)
