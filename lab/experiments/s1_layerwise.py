r"""S1 layer-wise experiments: Gluon's adaptive steps with an inexact oracle, trajectory (L0, L1)
estimates, the stochastic layer-wise bound I4, and the NS-step learning-rate shift.

Source: Shulgin, AlRashed, Orabona, Richtárik, *Beyond the Ideal: Analyzing the Inexact Muon Update*,
arXiv 2510.19933 (claims I2, I4 and the NanoGPT learning-rate shift); layer-wise (L0, L1)-smoothness and
the adaptive step from Riabinin et al., *Gluon*, arXiv 2505.13416.  Every bound is a lab derivation
(``bounds/s1.py``: S1.I2.step, S1.I2.sum, S1.I4, S1.I4.opt), evaluated on certified constants.

Problem with certified per-layer constants (:class:`LayerwiseQuartic`).  A separable two-block sum
f(X_1, X_2) = q_1(X_1) + q_2(X_2) of the library's quartics q(X) = (c/4)‖X − C‖_F⁴ + (d/2)‖X − C‖_F²
(``problems.Quartic``).  Since ∇_i f depends on X_i only, the layer-wise (L0, L1) condition of block i
is exactly the (L0, L1) condition of q_i, whose constants ``problems.Quartic`` derives in closed form
and ``tests/test_problems_smooth.py`` certifies.  Block 1 (6×4) lives in spectral geometry (Muon's
‖·‖_op / ‖·‖_nuc; c = 0.01, so it is nearly the quadratic on which the spectral constant r·d is
attained by flat-spectrum steps), block 2 (5×3) in Frobenius geometry with a genuine L1 term
(c = d = 1, L1 = 4).  Both pairs hold on steps up to their radius, and every Gluon step
t_i(1 + δ) ≤ (1 − δ)/((1 + δ)L1_i) stays inside it.  f* = 0, X* = (C_1, C_2).

Experiments (sweeps through :func:`lab.sweeps.run_sweep`, one stacked run per chunk):

``s1_i2``
    Deterministic Gluon, δ-aware and δ-agnostic step, injected-error oracles (expand / adversarial /
    random) × δ × seeds: f(X^k) and a_i^k = ‖∇_i f(X^k)‖_(i)* at every step, paired with the I2
    per-step decrease (S1.I2.step) and the sum bound (S1.I2.sum).
``s1_l0l1_estimate``
    Gluon trajectories (exact and δ = 0.5 expand oracles): secant curvatures
    L̂_i[k] = ‖∇_i f(X^{k+1}) − ∇_i f(X^k)‖_* / ‖X_i^{k+1} − X_i^k‖ against a_i = ‖∇_i f(X^{k+1})‖_*,
    the fits of :func:`problems.estimate.estimate_l0_l1` (envelope LP and expectile κ = 10) and the
    certified lines L0_i + L1_i a.
``s1_i4``
    Stochastic layer-wise LMO method with EMA momentum (Scion's α-form, M⁰ = g⁰) and constant
    per-block steps t_i = φ·(1 − δ)α/(4L1_i(1 + δ)) (φ = 1: the cap, φ = 1/2 below it), Gaussian noise,
    expand oracle, grid δ × α × φ × ≥ 20 seeds: (1/K)Σ_kΣ_i t_i a_i^k against S1.I4, and the measured
    α*(δ), t_i*(δ) (argmin over α of (1/K)Σ_kΣ_i a_i^k/L1_i, the S1.I4.opt metric).
``s1_ns_lr_shift``
    Muon (EMA β = 0.95, Nesterov, Newton–Schulz oracle) on the two-layer ``teacher_student`` network
    with minibatch gradients: final loss against the learning rate for NS presets × steps k ×
    seeds, and the measured optimal learning rate per (preset, k) (:func:`lab.stats.argmin_with_uncertainty`).

Mutations: ``mutation="double_step"`` wraps the optimizer (:func:`lab.checks.mutations.mutate`, which
works with Gluon and Scion: it doubles X^{k+1} − X^k after the inner step); ``"understate_constant"``
reruns nothing and evaluates the bounds with L0_i, L1_i (I2) or σ_i (I4) ×0.8.
"""

from __future__ import annotations

import numpy as np

import bounds
from lab.experiments import Experiment, check_options, experiment
from problems.base import Constants, ProblemBase

__all__ = [
    "BLOCKS",
    "KINDS",
    "LayerwiseQuartic",
    "layerwise_problem",
    "s1_i2",
    "s1_l0l1_estimate",
    "s1_i4",
    "s1_ns_lr_shift",
]

#: The two blocks of :class:`LayerwiseQuartic` (``problems.Quartic`` parameters).
BLOCKS = (
    dict(m=6, n=4, c=0.01, d=1.0, L1=1.0, init_distance=2.0, geometry="spectral", seed=1),
    dict(m=5, n=3, c=1.0, d=1.0, L1=4.0, init_distance=2.0, geometry="frobenius", seed=2),
)
KINDS = ("expand", "adversarial", "random")
RULES = ("delta_aware", "delta_agnostic")
#: steps with f(X^k) <= REL_FLOOR·f(X^0) are not judged: f* = 0 is reached to rounding there
REL_FLOOR = 1e-12
NS_PRESETS = ("cubic", "quintic", "jordan", "polar_express")
_MUTATIONS = (None, "double_step", "understate_constant")


class LayerwiseQuartic(ProblemBase):
    """layerwise_quartic: f(X_1, …, X_p) = Σ_i q_i(X_i), q_i a ``problems.Quartic`` (module docstring).

    Constants: block i carries q_i's certified (norm, L0, L1, radius, ρ); f* = 0, X* = (C_i);
    Δ₀ = f(X⁰).  Separability makes the layer-wise (L0, L1) pair of block i that of q_i exactly.
    """

    name = "layerwise_quartic"

    def __init__(self, blocks=BLOCKS, backend=None, xp=None, dtype=None):
        import problems

        if not blocks:
            raise ValueError("blocks must name at least one quartic block")
        self._init_backend(backend, xp, dtype)
        self.parts = [
            problems.make("quartic", backend=backend, xp=self.xp, dtype=self.dtype, **b) for b in blocks
        ]
        self.block_shapes = tuple(p.block_shapes[0] for p in self.parts)
        self.params = {"blocks": [dict(b) for b in blocks]}
        self.constants = Constants(
            blocks=tuple(p.constants.blocks[0] for p in self.parts),
            sigma2=0.0,
            f_star=0.0,
            X_star=tuple(p.C for p in self.parts),
            extra={"separable": True},
        )

    def _f(self, X):
        total = self.parts[0]._f((X[0],))
        for p, x in zip(self.parts[1:], X[1:], strict=True):
            total = total + p._f((x,))
        return total

    def _grad(self, X):
        return tuple(p._grad((x,))[0] for p, x in zip(self.parts, X, strict=True))

    def x0(self, rng):
        return tuple(p.x0(rng.fold("block", i))[0] for i, p in enumerate(self.parts))


def layerwise_problem(sigma2: float | None = None):
    """The certified two-block problem, with Gaussian gradient noise E‖ξ‖_F² = σ² when given."""
    p = LayerwiseQuartic()
    return p if sigma2 is None else p.with_noise("gaussian", sigma2=float(sigma2))


def block_constants(problem):
    """(norms, L0, L1, ρ, σ²) per block as tuples (host floats)."""
    bl = problem.constants.blocks
    return (
        tuple(b.norm for b in bl),
        tuple(float(b.L0) for b in bl),
        tuple(float(b.L1) for b in bl),
        tuple(float(b.rho) for b in bl),
        tuple(float(b.sigma2 or 0.0) for b in bl),
    )


# ------------------------------------------------------------------------------------------ helpers


def _check(quick, mutation, allowed=_MUTATIONS):
    check_options(quick, mutation, allowed)


def _run_mutation(mutation):
    """The optimizer mutation a sweep runs ("understate_constant" reuses the nominal runs)."""
    return "double_step" if mutation == "double_step" else "none"


def _rng(points):
    from lab.random import RNG

    return RNG(np.asarray([p["key"] for p in points], dtype=np.uint64))


def _col(points, name):
    return np.asarray([p[name] for p in points], dtype=np.float64)


def _sweep(compute, grid, name, mutation, cache, key_axes=("seed",), chunk_size=100_000):
    from lab.sweeps import run_sweep

    full = name if mutation == "none" else f"{name}__{mutation}"
    return run_sweep(
        compute,
        grid,
        name=full,
        cache=cache,
        chunk_size=chunk_size,
        progress=False,
        key_axes=key_axes,
    )


def _mutate(opt, mutation):
    from lab.checks.mutations import mutate

    return mutate(opt, None if mutation == "none" else mutation)


# ------------------------------------------------------------------------------------------ I2


def _i2_compute(points):
    """One stacked deterministic Gluon run (one oracle kind and step rule; δ and seed per member)."""
    from lab.optimizers import gluon
    from lab.oracles import inexact_oracle
    from lab.runner import run

    p0 = points[0]
    problem = layerwise_problem()
    norms, L0, L1, _, _ = block_constants(problem)
    delta = _col(points, "delta")
    oracles = [inexact_oracle(n, delta, p0["kind"]) for n in norms]
    opt = _mutate(gluon(L0, L1, oracles=oracles, delta=delta, step_rule=p0["rule"]), p0["mutation"])
    res = run(
        problem,
        opt,
        p0["steps"],
        seeds=_rng(points),
        stochastic=False,
        checkpoints="all",
        record=("loss", "grad", "step"),
    )
    m = res.metrics
    return {
        "f": m["f"].T,  # (B, K+1)
        "a": np.stack([m[f"grad_dual_b{i}"].T for i in range(len(norms))], axis=-1),  # (B, K+1, p)
        "t": np.stack([m[f"step_b{i}"].T for i in range(len(norms))], axis=-1),
    }


def _i2_config(quick):
    return dict(
        # shrink: D = (1 − δ)·lmo attains lemma (a) with equality, the δ-term of the decrease bound
        kind=["expand", "adversarial", "shrink"] if quick else [*KINDS, "shrink"],
        rule=list(RULES),
        delta=[0.0, 0.5, 0.95] if quick else [0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95],
        seed=list(range(4 if quick else 8)),
        steps=60 if quick else 200,
    )


def i2_step_bound(a, L0, L1, delta):
    """S1.I2.step on (…, p) arrays a: the guaranteed decrease Σ_i (1−δ)²a_i²/(2(1+δ)²(L0_i+L1_i a_i)) ≥ 0."""
    d = np.broadcast_to(np.asarray(delta, dtype=float)[..., None], a.shape)
    return (
        -bounds.get("S1.I2.step")
        .evaluate(a_i=a, L0_i=np.asarray(L0), L1_i=np.asarray(L1), delta_i=d)
        .require()
    )


@experiment("s1_i2")
def s1_i2(*, quick: bool = True, cache=True, mutation: str | None = None) -> Experiment:
    """I2 on the certified layer-wise problem: per-step decrease and sum bound.

    measured (rows = kind × rule × δ × seed, k = 0…K): ``f`` (rows, K+1), ``a`` (rows, K+1, p),
    ``decrease`` f(X^k) − f(X^{k+1}) (rows, K), ``judged`` f(X^k) > REL_FLOOR·f(X^0) (rows, K),
    ``progress_sum`` running Σ_{j≤k}Σ_i a_i²/(L0_i + L1_i a_i) (rows, K), ``increase_frac`` share of
    judged steps with f(X^{k+1}) > f(X^k) per row.
    theoretical: ``step_bound`` S1.I2.step decrease (rows, K), ``sum_bound`` S1.I2.sum per row
    (2Δ₀((1+δ)/(1−δ))², Δ₀ = f(X⁰)).  With ``mutation="understate_constant"`` the bounds (and the
    constants in the progress sum) use 0.8·L0_i, 0.8·L1_i; "double_step" runs the doubled optimizer.
    """
    from lab.checks.mutations import understate
    from lab.sweeps import Grid

    _check(quick, mutation)
    cfg = _i2_config(quick)
    run_mut = _run_mutation(mutation)
    grid = Grid(
        kind=cfg["kind"],
        rule=cfg["rule"],
        mutation=[run_mut],
        steps=[cfg["steps"]],
        delta=cfg["delta"],
        seed=cfg["seed"],
    )
    sw = _sweep(_i2_compute, grid, "s1_i2", run_mut, cache)
    f, a = sw.array("f"), sw.array("a")
    delta = sw.column("delta").astype(float)
    _, L0, L1, _, _ = block_constants(layerwise_problem())
    L0b, L1b = understate(np.asarray(L0), mutation), understate(np.asarray(L1), mutation)
    decrease = f[:, :-1] - f[:, 1:]
    judged = f[:, :-1] > REL_FLOOR * f[:, :1]
    step_bound = i2_step_bound(a[:, :-1], L0b, L1b, delta[:, None])
    progress = np.cumsum(np.sum(a[:, :-1] ** 2 / (L0b + L1b * a[:, :-1]), axis=-1), axis=1)
    sum_bound = bounds.get("S1.I2.sum").evaluate(Delta0=f[:, 0], delta=delta).require()
    inc = (decrease < 0) & judged
    return Experiment(
        "s1_i2",
        measured={
            "f": f,
            "a": a,
            "t": sw.array("t"),
            "decrease": decrease,
            "judged": judged,
            "progress_sum": progress,
            "increase_frac": inc.sum(axis=1) / np.maximum(judged.sum(axis=1), 1),
        },
        theoretical={"step_bound": step_bound, "sum_bound": sum_bound},
        meta={
            "config": cfg,
            "rows": [{k: r[k] for k in ("kind", "rule", "delta", "seed")} for r in sw.rows],
            "kind": sw.column("kind"),
            "rule": sw.column("rule"),
            "delta": delta,
            "L0": L0,
            "L1": L1,
            "problem": LayerwiseQuartic.name,
            "blocks": BLOCKS,
            "mutation": mutation,
            "theorems": ("S1.I2.step", "S1.I2.sum"),
        },
    )


# ------------------------------------------------------------------------------------------ (L0, L1)


def _estimate_compute(points):
    """Gluon iterates (δ-aware, expand oracle) and per-block secant curvatures along them."""
    from lab.norms import get_norm
    from lab.optimizers import gluon
    from lab.oracles import inexact_oracle

    p0 = points[0]
    problem = layerwise_problem()
    norms, L0, L1, _, _ = block_constants(problem)
    delta = _col(points, "delta")
    opt = gluon(L0, L1, oracles=[inexact_oracle(n, delta, "expand") for n in norms], delta=delta)
    X = problem.x0(_rng(points))
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


@experiment("s1_l0l1_estimate")
def s1_l0l1_estimate(*, quick: bool = True, cache=True, mutation: str | None = None) -> Experiment:
    """Trajectory (L0, L1) per layer against the certified constants (Gluon's procedure).

    measured: ``L_hat`` (pairs, p) secant curvatures and ``a`` (pairs, p) = ‖∇_i f(X^{k+1})‖_* over
    every run and step with a positive step; ``envelope`` and ``expectile`` (p, 2) fitted (L0, L1).
    theoretical: ``certified`` (p, 2) the problem's (L0_i, L1_i) (×0.8 under "understate_constant").
    """
    from lab.checks.mutations import understate
    from lab.sweeps import Grid
    from problems.estimate import estimate_l0_l1

    _check(quick, mutation, (None, "understate_constant"))
    cfg = dict(delta=[0.0, 0.5], seed=list(range(3 if quick else 8)), steps=40 if quick else 120)
    grid = Grid(steps=[cfg["steps"]], delta=cfg["delta"], seed=cfg["seed"])
    sw = _sweep(_estimate_compute, grid, "s1_l0l1_estimate", "none", cache)
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


# ------------------------------------------------------------------------------------------ I4


def i4_cap(alpha, delta, L1):
    """The step cap of S1.I4: t_i ≤ (1 − δ)α/(4L1_i(1 + δ)) (broadcast; trailing layer axis from L1)."""
    alpha, delta = np.asarray(alpha, dtype=float)[..., None], np.asarray(delta, dtype=float)[..., None]
    return (1.0 - delta) * alpha / (4.0 * np.asarray(L1, dtype=float) * (1.0 + delta))


class _FrozenSample:
    """The planted bug "wrong_sample": every step reuses the step-0 noise sample (biased gradients).

    E‖g − ∇f‖_F² = σ² still holds, but the samples are no longer independent and unbiased given the
    past, which I4's momentum-error estimate needs; the method then settles where ∇f = −ξ₀.
    """

    def __init__(self, problem):
        self._problem = problem

    def __getattr__(self, item):
        return getattr(self.__dict__["_problem"], item)

    def sample(self, rng):
        return self._problem.sample(rng.at(0))


def _i4_compute(points):
    """One stacked stochastic run: Scion α-momentum (M⁰ = g⁰), constant t_i = φ·cap, expand oracle."""
    from lab.optimizers import scion
    from lab.oracles import inexact_oracle
    from lab.runner import run

    p0 = points[0]
    problem = layerwise_problem(p0["sigma2"])
    norms, _, L1, _, _ = block_constants(problem)
    delta, alpha, frac = _col(points, "delta"), _col(points, "alpha"), _col(points, "frac")
    # t_i = lr·b_i with lr = φ(1−δ)α/(4(1+δ)) and b_i = 1/L1_i
    lr = frac * (1.0 - delta) * alpha / (4.0 * (1.0 + delta))
    opt = scion(
        lr,
        alpha,
        oracles=[inexact_oracle(n, delta, "expand") for n in norms],
        block_lr=tuple(1.0 / v for v in L1),
        momentum_init="gradient",
    )
    opt = _mutate(opt, p0["mutation"] if p0["mutation"] != "wrong_sample" else "none")
    # one common start X⁰ = C + ε(x0 − C) (seed 0): the expectation in I4 is over the noise only, Δ₀ is
    # fixed; ε < 1 puts the runs in the noise-dominated regime where the optimal α is interior
    X0 = problem.x0(problem.make_rng(np.zeros(len(points), dtype=np.int64)))
    X0 = tuple(C + p0["start"] * (x - C) for x, C in zip(X0, problem.constants.X_star, strict=True))
    if p0["mutation"] == "wrong_sample":
        problem = _FrozenSample(problem)
    res = run(
        problem, opt, p0["steps"], seeds=_rng(points), x0=X0, checkpoints="all", record=("loss", "grad")
    )
    m = res.metrics
    a = np.stack([m[f"grad_dual_b{i}"].T for i in range(len(norms))], axis=-1)[:, :-1]  # (B, K, p)
    return {"a_mean": a.mean(axis=1), "f0": m["f"][0], "f_final": m["f"][-1]}


def _i4_config(quick):
    return dict(
        delta=[0.0, 0.6] if quick else [0.0, 0.3, 0.6],
        alpha=[0.003, 0.01, 0.03, 0.1, 0.3, 1.0]
        if quick
        else [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0],
        frac=[1.0] if quick else [1.0, 0.5],
        seed=list(range(20 if quick else 24)),
        steps=300 if quick else 600,
        sigma2=1.0,
        start=0.25,
    )


@experiment("s1_i4")
def s1_i4(*, quick: bool = True, cache=True, mutation: str | None = None) -> Experiment:
    """I4 on the noisy certified problem; measured α*(δ), t*(δ) (S1.I4, S1.I4.opt).

    measured (rows = δ × α × φ × seed): ``lhs`` (1/K)Σ_kΣ_i t_i a_i^k per row, ``lhs_mean`` its mean
    over the seeds per (δ, α, φ), ``metric`` (1/K)Σ_kΣ_i a_i^k/L1_i per row; ``alpha_opt`` per δ
    (Argmin records at φ = 1), ``t_opt`` (δ, p) the cap at the measured α*.
    theoretical: ``bound`` S1.I4 per (δ, α, φ) (σ_i ×0.8 under "understate_constant"; the bound is
    loose by about 3× (its factor 2 and the √(α/(1+β)) ≤ √α step), so that mutation cannot fail it;
    "wrong_sample" reuses one noise sample at every step and does),
    ``alpha_opt_theory`` the S1.I4.opt minimiser (which assumes L0_i = 0; a reference, not a check).
    """
    from lab.checks.mutations import understate
    from lab.stats import argmin_with_uncertainty
    from lab.sweeps import Grid

    _check(quick, mutation, _MUTATIONS + ("wrong_sample", "wrong_exponent"))
    cfg = _i4_config(quick)
    run_mut = "wrong_sample" if mutation == "wrong_sample" else _run_mutation(mutation)  # else nominal runs
    grid = Grid(
        mutation=[run_mut],
        steps=[cfg["steps"]],
        sigma2=[cfg["sigma2"]],
        start=[cfg["start"]],
        delta=cfg["delta"],
        alpha=cfg["alpha"],
        frac=cfg["frac"],
        seed=cfg["seed"],
    )
    sw = _sweep(_i4_compute, grid, "s1_i4", run_mut, cache)
    problem = layerwise_problem(cfg["sigma2"])
    _, L0, L1, rho, s2 = block_constants(problem)
    shape = (len(cfg["delta"]), len(cfg["alpha"]), len(cfg["frac"]), len(cfg["seed"]))
    delta = sw.column("delta").astype(float).reshape(shape)[..., 0]
    alpha = sw.column("alpha").astype(float).reshape(shape)[..., 0]
    frac = sw.column("frac").astype(float).reshape(shape)[..., 0]
    a_mean = sw.array("a_mean").reshape(shape + (len(L1),))  # (δ, α, φ, seed, p)
    t = frac[..., None] * i4_cap(alpha, delta, L1)  # (δ, α, φ, p)
    lhs = np.sum(t[..., None, :] * a_mean, axis=-1)
    metric = np.sum(a_mean / np.asarray(L1), axis=-1)
    Delta0 = float(sw.array("f0")[0])  # common X⁰; f* = 0
    sigma = understate(np.sqrt(np.asarray(s2)), mutation)
    if mutation == "wrong_exponent":
        # planted derivation bug: the noise terms' exponents of α raised by one (σ√α → σα^{3/2}, …)
        sigma = sigma * alpha[..., None]
    bound = (
        bounds.get("S1.I4")
        .evaluate(
            alpha=alpha,
            K=cfg["steps"],
            Delta0=Delta0,
            delta=delta,
            t_i=t,
            rho_i=np.asarray(rho),
            sigma_i=sigma,
            L0_i=np.asarray(L0),
            L1_i=np.asarray(L1),
        )
        .require()
    )
    j = cfg["frac"].index(1.0)
    argmins = [
        argmin_with_uncertainty(cfg["alpha"], metric[d, :, j, :].T, log_x=True, rng=0)
        for d in range(len(cfg["delta"]))
    ]
    a_opt = np.array([r.x_refined for r in argmins])
    S_L = float(np.sum(np.asarray(rho) * np.sqrt(s2) / np.asarray(L1)))
    theory = bounds.get("S1.I4.opt").optimal_controls(
        K=cfg["steps"], Delta0=Delta0, delta=np.asarray(cfg["delta"]), S=S_L, L1_i=np.asarray(L1)
    )
    return Experiment(
        "s1_i4",
        measured={
            "lhs": lhs,
            "lhs_mean": lhs.mean(axis=-1),
            "metric": metric,
            "alpha_opt": argmins,
            "alpha_opt_value": a_opt,
            "t_opt": i4_cap(a_opt, np.asarray(cfg["delta"]), L1),
            "f_final": sw.array("f_final").reshape(shape),
        },
        theoretical={
            "bound": bound,
            "t": t,
            "alpha_opt_theory": np.asarray(theory["alpha"].value, dtype=float),
        },
        meta={
            "config": cfg,
            "axes": ("delta", "alpha", "frac", "seed"),
            "Delta0": Delta0,
            "L0": L0,
            "L1": L1,
            "rho": rho,
            "sigma2": s2,
            "S": S_L,
            "problem": LayerwiseQuartic.name,
            "mutation": mutation,
            "theorems": ("S1.I4", "S1.I4.opt"),
        },
    )


# ------------------------------------------------------------------------------------------ NS lr shift

TEACHER_STUDENT = dict(d=8, h=16, k=4, N=128, activation="tanh", seed=0)


def _ns_compute(points):
    """One stacked Muon run on teacher_student for one (preset, k): lr and seed per member."""
    import problems
    from lab.optimizers import muon
    from lab.runner import run

    p0 = points[0]
    problem = problems.make(
        "teacher_student", noise={"name": "minibatch", "batch_size": p0["batch"]}, **TEACHER_STUDENT
    )
    oracle = "exact" if p0["preset"] == "exact" else f"ns:{p0['preset']}:{p0['k']}"
    opt = _mutate(muon(_col(points, "lr"), beta=0.95, oracle=oracle), p0["mutation"])
    K = p0["steps"]
    tail = list(range(K - K // 10, K + 1))
    res = run(
        problem, opt, K, seeds=_rng(points), checkpoints=[0] + tail, record=("loss",), diverge_threshold=1e6
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


@experiment("s1_ns_lr_shift")
def s1_ns_lr_shift(*, quick: bool = True, cache=True, mutation: str | None = None) -> Experiment:
    """Final loss vs learning rate per NS preset and step count on teacher_student (S1's NanoGPT analogue).

    measured: ``final`` (preset, k, seed, lr) the full-batch loss averaged over the last 10 % of the steps
    (NaN = diverged), ``lr_opt`` {(preset, k): Argmin} and ``exact`` (seed, lr) for the exact polar factor.
    theoretical: ``direction`` = +1 (S1: lower precision, i.e. fewer steps, gives a smaller optimal lr,
    so lr*(k) grows with k).
    """
    from lab.stats import argmin_with_uncertainty
    from lab.sweeps import Grid

    _check(quick, mutation, (None, "double_step"))
    cfg = _ns_config(quick)
    run_mut = _run_mutation(mutation)
    common = dict(
        mutation=[run_mut], steps=[cfg["steps"]], batch=[cfg["batch"]], seed=cfg["seed"], lr=cfg["lr"]
    )
    sw = _sweep(
        _ns_compute,
        Grid(preset=cfg["preset"], k=cfg["k"], **common),
        "s1_ns_lr_shift",
        run_mut,
        cache,
        chunk_size=100_000,
    )
    ex = _sweep(_ns_compute, Grid(preset=["exact"], k=[0], **common), "s1_ns_lr_shift_exact", run_mut, cache)
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
