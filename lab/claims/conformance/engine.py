r"""Conformance of the engine: optimizers against NumPy transcriptions of their recursions, the runner,
the statistics and the problems' certified constants."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

import problems
from lab.claims.conformance._reference import _rel, _rows
from lab.claims.mutations import _Wrapped, mutate
from lab.claims.registry import Experiment, check, check_options, experiment, get_experiment
from lab.optimizers import gluon, lion_k, muon, muon_mvr1, muon_mvr2
from lab.runner import run
from lab.schedules import power
from lab.stats import argmin_with_uncertainty, loglog_slope, slope_ci

_SHAPES = ((6, 3), (3, 5))  # a tall and a wide block: the shape scales differ per block


def _grad_field(i, X, t):
    """A deterministic, step-dependent gradient field (so MVR corrections are non-trivial)."""
    A = np.arange(1.0, X.size + 1.0).reshape(X.shape) / X.size
    return (1.0 + 0.3 * i) * X + np.cos(t + A * (i + 1)) * 0.5 + 0.1 * A


def _polar(M):
    # Deliberately not lab.orthogonalization.polar: the reference iterates must stay independent of
    # the code under test, so a planted bug in the lab's polar (lab/mutants.py) changes only one side.
    U, _, Vh = np.linalg.svd(M, full_matrices=False)
    return U @ Vh


def _svd_map(M, h):
    U, S, Vh = np.linalg.svd(M, full_matrices=False)
    return (U * h(S)) @ Vh


def _clip(C):
    n = np.linalg.norm(C)
    return C / max(1.0, n)


def _ref_run(kind: str, cfg: dict, X0, steps: int):
    """The reference iterates of one configuration (module docstring of each optimizer)."""
    X = [x.copy() for x in X0]
    M = [np.zeros_like(x) for x in X]
    prev_g = [None] * len(X)
    prev_X = None
    lr, beta = cfg.get("lr", 0.05), cfg.get("beta", 0.9)
    for t in range(1, steps + 1):
        g = [_grad_field(i, x, t) for i, x in enumerate(X)]
        new = []
        for i, (x, gi) in enumerate(zip(X, g, strict=True)):
            A, B = x.shape
            if kind == "muon":
                M[i] = beta * M[i] + (1 - beta) * gi
                inp = (1 - beta) * gi + beta * M[i] if cfg.get("nesterov", True) else M[i]
                scale = {"original": max(1.0, A / B) ** 0.5, "match_rms_adamw": 0.2 * max(A, B) ** 0.5}.get(
                    cfg.get("shape_scale", "original"), 1.0
                )
                mult = cfg.get("block_lr", [1.0, 1.0])[i]
                wd = cfg.get("weight_decay", 0.0)
                new.append(x * (1 - lr * wd) - lr * scale * mult * _polar(inp))
            elif kind == "mvr1":
                gamma = cfg["gamma"]
                if cfg.get("mars_clip"):
                    c = gi if t == 1 else gi + gamma * beta / (1 - beta) * (gi - prev_g[i])
                    M[i] = beta * M[i] + (1 - beta) * _clip(c)
                else:
                    M[i] = (
                        beta * M[i] + (1 - beta) * gi + (0.0 if t == 1 else gamma * beta * (gi - prev_g[i]))
                    )
                new.append(x - lr * _polar(M[i]))
            elif kind == "mvr2":
                if t == 1:
                    M[i] = gi
                else:
                    hi = _grad_field(i, prev_X[i], t)  # the same sample (step t's field) at X_{t-1}
                    if cfg.get("mars_clip"):
                        M[i] = beta * M[i] + (1 - beta) * _clip(gi + beta / (1 - beta) * (gi - hi))
                    else:
                        M[i] = gi + beta * (M[i] - hi)
                new.append(x - lr * _polar(M[i]))
            elif kind == "lion":
                bn, s, wd, K = cfg["beta_n"], cfg.get("scale", 1.0), cfg.get("weight_decay", 0.0), cfg["K"]
                M[i] = beta * M[i] - (1 - beta) * gi
                Mt = bn * M[i] - (1 - bn) * gi
                if K == "nuclear":
                    D = _polar(Mt)
                elif K == "frobenius":
                    D = Mt
                elif K == "schatten_p":
                    p = cfg["p"]
                    D = _svd_map(Mt, lambda S, p=p: S ** (p - 1) / np.sum(S**p) ** ((p - 1) / p))
                elif K == "ky_fan_k":
                    D = _svd_map(Mt, lambda S: (np.arange(S.size) < cfg["k"]).astype(float))
                else:
                    D = _svd_map(Mt, lambda S: S / np.sqrt(S * S + cfg["eps"] ** 2))
                new.append(x * (1 - lr * wd) + lr * s * D)
            elif kind == "gluon":
                L0, L1, d = cfg["L0"][i], cfg["L1"][i], cfg["delta"]
                a = np.sum(np.linalg.svd(gi, compute_uv=False))  # ‖g‖_* (dual of spectral)
                step = lr * (1 - d) * a / ((1 + d) ** 2 * (L0 + L1 * a))
                new.append(x - step * _polar(gi))
        prev_g, prev_X, X = g, X, new
    return X


def _lab_optimizer(kind: str, cfg: dict):
    lr, beta = cfg.get("lr", 0.05), cfg.get("beta", 0.9)
    if kind == "muon":
        return muon(
            lr,
            beta,
            nesterov=cfg.get("nesterov", True),
            shape_scale=cfg.get("shape_scale", "original"),
            weight_decay=cfg.get("weight_decay", 0.0),
            block_lr=cfg.get("block_lr", 1.0),
        )
    if kind == "mvr1":
        return muon_mvr1(lr, beta, cfg["gamma"], mars_clip=cfg.get("mars_clip", False))
    if kind == "mvr2":
        return muon_mvr2(lr, beta, mars_clip=cfg.get("mars_clip", False))
    if kind == "lion":
        extra = {k: cfg[k] for k in ("p", "k", "eps") if k in cfg}
        return lion_k(
            lr,
            beta,
            beta_n=cfg["beta_n"],
            weight_decay=cfg.get("weight_decay", 0.0),
            K=cfg["K"],
            scale=cfg.get("scale", 1.0),
            **extra,
        )
    return gluon(cfg["L0"], cfg["L1"], norms=("spectral", "spectral"), delta=cfg["delta"], lr=lr, beta=0.0)


OPTIMIZER_CASES = {
    "muon:nesterov,original,wd,block_lr": ("muon", {"weight_decay": 0.3, "block_lr": [1.0, 0.4]}),
    "muon:ema,match_rms_adamw": ("muon", {"nesterov": False, "shape_scale": "match_rms_adamw"}),
    "mvr1": ("mvr1", {"gamma": 0.5}),
    "mvr1:mars_clip": ("mvr1", {"gamma": 0.5, "mars_clip": True}),
    "mvr2": ("mvr2", {}),
    "mvr2:mars_clip": ("mvr2", {"mars_clip": True}),
    "lion:nuclear": ("lion", {"K": "nuclear", "beta_n": 0.5, "weight_decay": 0.2, "scale": 1.5}),
    "lion:frobenius": ("lion", {"K": "frobenius", "beta_n": 0.5}),
    "lion:schatten_p": ("lion", {"K": "schatten_p", "beta_n": 0.5, "p": 3.0}),
    "lion:ky_fan_k": ("lion", {"K": "ky_fan_k", "beta_n": 0.5, "k": 2}),
    "lion:soft": ("lion", {"K": "soft", "beta_n": 0.5, "eps": 0.3}),
    "gluon:delta_aware": ("gluon", {"L0": [1.0, 3.0], "L1": [0.5, 0.2], "delta": 0.4, "lr": 1.0}),
}


@experiment("S2.optimizer.reference")
def conformance_optimizers(*, quick: bool = True, cache=True, mutation=None, **options) -> Experiment:
    """A few steps of each optimizer configuration vs its NumPy transcription (relative deviation)."""
    check_options(quick, mutation, (None, "double_step"), options=options, name="conformance_optimizers")
    steps = 4 if quick else 8
    gen = np.random.default_rng(3)
    X0 = tuple(gen.standard_normal(s) for s in _SHAPES)
    measured, theoretical = {}, {}
    for label, (kind, cfg) in OPTIMIZER_CASES.items():
        opt = mutate(_lab_optimizer(kind, cfg), mutation)
        X = tuple(x.copy() for x in X0)
        state = opt.init(X)
        for t in range(1, steps + 1):

            def gradient(P, t=t):
                return tuple(_grad_field(i, x, t) for i, x in enumerate(P))

            X, state, _ = opt.update(state, X, gradient)
        ref = _ref_run(kind, cfg, X0, steps)
        measured[label] = max(_rel(np.asarray(a), b) for a, b in zip(X, ref, strict=True))
        theoretical[label] = 1e-8
    return Experiment("conformance_optimizers", measured, theoretical, {"steps": steps, "shapes": _SHAPES})


class _NoiseProbe:
    """Wraps an optimizer; records, at every step, the noise g(X_t; ξ_t) − ∇f(X_t) it is handed."""

    def __init__(self, inner, problem):
        class Probe(_Wrapped):
            def update(probe, state, params, gradient, rng=None):
                g = gradient(params)
                f = problem.grad(params)
                self.noise.append(np.stack([np.asarray(a - b) for a, b in zip(g, f, strict=True)]))
                return probe.inner.update(state, params, gradient, rng)

        self.noise = []
        self.optimizer = Probe(inner)


class _FrozenSample:
    """A problem whose every step draws the sample of step 1 (the planted "wrong_sample" bug)."""

    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, item):
        return getattr(self._inner, item)

    def sample(self, rng):
        return self._inner.sample(rng.at(1))


@experiment("S2.runner.conformance")
def conformance_runner(*, quick: bool = True, cache=True, mutation=None, **options) -> Experiment:
    """Runner: running minima/averages vs the per-step values; seeds; independent step samples."""
    check_options(quick, mutation, (None, "wrong_sample"), options=options, name="conformance_runner")
    steps = 12 if quick else 30
    prob = problems.make("kronecker_quadratic", m=6, n=4, mu=0.05, noise={"name": "gaussian", "sigma": 0.5})
    # a decaying step size: the η-weighted average differs from the plain one
    opt = muon(power(0.2, 0.5), 0.9)
    res = run(prob, opt, steps, seeds=np.arange(4), record=("grad", "running"), checkpoints="all")
    dual = np.asarray(res.metrics["grad_dual"])  # (K, B), every iterate 0..T
    ref_min = np.minimum.accumulate(dual, axis=0)
    eta = np.array([0.2 * t**-0.5 for t in range(1, steps + 1)])
    num = np.cumsum(eta[:, None] * dual[:-1], axis=0)
    ref_avg = num / np.cumsum(eta)[:, None]
    measured = {
        "running_min": _rel(res.metrics["grad_dual_min"], ref_min),
        "running_avg": _rel(np.asarray(res.metrics["grad_dual_avg"])[1:], ref_avg),
    }
    theoretical = {"running_min": 1e-9, "running_avg": 1e-9}
    probe_prob = _FrozenSample(prob) if mutation == "wrong_sample" else prob
    probe = _NoiseProbe(muon(0.01, 0.9), prob)
    run(probe_prob, probe.optimizer, steps, seeds=np.arange(4), record=("loss",), checkpoints=[0, steps])
    N = np.stack(probe.noise)  # (T, blocks, B, m, n)
    N = np.moveaxis(N, 2, 1).reshape(N.shape[0], N.shape[2], -1)  # (T, B, entries)
    unit = N / np.linalg.norm(N, axis=-1, keepdims=True)
    consecutive = np.sum(unit[1:] * unit[:-1], axis=-1)  # cosines between the noise of steps t, t+1
    measured["sample_correlation"] = float(abs(np.mean(consecutive)))
    theoretical["sample_correlation"] = 0.5
    members = N[0]  # step-1 noise of the four seeds: distinct seeds, distinct draws
    same = max(
        float(np.max(np.abs(members[i] - members[j])) / np.max(np.abs(members)))
        for i in range(4)
        for j in range(i)
    )
    measured["seed_overlap"] = float(np.exp(-1e3 * same))  # ≈ 1 when two seeds drew the same noise
    theoretical["seed_overlap"] = 0.5
    return Experiment("conformance_runner", measured, theoretical, {"steps": steps, "problem": prob.name})


@experiment("S2.stats.reference")
def conformance_stats(*, quick: bool = True, cache=True, mutation=None, **options) -> Experiment:
    """Slope fits vs numpy.polyfit; the slope interval's coverage by simulation; the refined argmin."""
    check_options(quick, mutation, (None, "wrong_exponent"), options=options, name="conformance_stats")
    gen = np.random.default_rng(5)
    T = np.geomspace(10, 1000, 12)
    p = -0.5
    # the planted bug: data generated with another exponent than the one the comparison expects
    p_data = p + 0.25 if mutation == "wrong_exponent" else p
    y = 3.0 * T**p_data
    window = (T[0], T[-1])
    ref = np.polyfit(np.log(T), np.log(y), 1)[0]
    measured = {"slope_vs_polyfit": abs(float(loglog_slope(T, y, window)) - ref) / abs(ref)}
    theoretical = {"slope_vs_polyfit": 1e-9}
    measured["slope_vs_truth"] = abs(ref - p) / abs(p)
    theoretical["slope_vs_truth"] = 1e-9
    # coverage by simulation: replicate data sets of known slope; a 95% interval must contain it in
    # most of them (≥ 75% allows the small-sample undercoverage of a bootstrap, and still fails an
    # interval of the wrong level, e.g. the interquartile one, which covers about half the time)
    n, reps = 20, 40 if quick else 200
    covered = 0
    for _ in range(reps):
        Y = 3.0 * T[None, :] ** p_data * np.exp(0.3 * gen.standard_normal((n, T.size)))
        ci = slope_ci(T, Y, window, n_boot=1000, rng=int(gen.integers(2**31)))
        covered += ci.lo <= p <= ci.hi
    measured["ci_coverage"] = covered / reps
    theoretical["ci_coverage"] = (0.75, 1.0)
    # refined argmin of an exact parabola in log x: the vertex, wherever it falls between grid points
    x = np.geomspace(1e-3, 1.0, 9)
    u = np.log(x)
    u_star = u[3] + 0.37 * (u[4] - u[3])
    Ys = (u[None, :] - u_star) ** 2 + np.zeros((3, 1))
    am = argmin_with_uncertainty(x, Ys, log_x=True, n_boot=200, rng=0)
    got = np.log(am.x_refined) if am.x_refined > 0 else np.nan
    measured["argmin_vertex"] = abs(got - u_star) / (u[1] - u[0])
    theoretical["argmin_vertex"] = 1e-6
    return Experiment("conformance_stats", measured, theoretical, {"T": T.tolist()})


def _directional_fd(prob, X, E, h=1e-5):
    f = lambda Z: float(np.asarray(prob.f((Z,))))  # noqa: E731
    return (f(X + h * E) - f(X - h * E)) / (2 * h)


@experiment("S1.problem.constants")
def conformance_problems(*, quick: bool = True, cache=True, mutation=None, **options) -> Experiment:
    """Certified constants attained at their maximisers; gradients vs central differences."""
    check_options(
        quick, mutation, (None, "understate_constant"), options=options, name="conformance_problems"
    )
    under = 0.8 if mutation == "understate_constant" else 1.0
    measured, theoretical = {}, {}
    gen = np.random.default_rng(9)
    for m, n in [(6, 4), (4, 7)]:
        # split = 0.5: both factors carry curvature (the default puts it all in P, Q = I)
        prob = problems.make("kronecker_quadratic", m=m, n=n, mu=0.02, split=0.5)
        P, Q = np.asarray(prob.P), np.asarray(prob.Q)
        a, UA = np.linalg.eigh(P)
        b, VB = np.linalg.eigh(Q)
        a, UA, b, VB = a[::-1], UA[:, ::-1], b[::-1], VB[:, ::-1]
        r = min(m, n)
        Delta = UA[:, :r] @ VB[:, :r].T  # ‖Δ‖_op = 1: the maximiser of ⟨Δ, PΔQ⟩ over the op-ball
        attained = float(np.sum(Delta * (P @ Delta @ Q)))
        c = prob.constants
        measured[f"L_spectral attained {m}x{n}"] = attained / (under * c.L_spectral)
        theoretical[f"L_spectral attained {m}x{n}"] = (1 - 1e-9, 1 + 1e-9)
        D = np.outer(UA[:, -1], VB[:, -1])  # the softest direction: PL holds with equality
        Xs = np.asarray(prob.X_star)
        X = Xs + 0.3 * D
        g = np.asarray(prob.grad((X,))[0])
        gap = float(np.asarray(prob.f((X,)))) - c.f_star
        measured[f"mu attained {m}x{n}"] = 0.5 * float(np.sum(g * g)) / gap / (c.mu * under)
        theoretical[f"mu attained {m}x{n}"] = (1 - 1e-6, 1 + 1e-6)
    # the quartic's L0 = max_{s ≥ 0} h(s), h(s) = 3c(s + R)² + d − L1(cs³ + ds) (its docstring's
    # sufficient condition), found numerically: a dense grid, then a bounded scalar search
    for c_, d_, L1_ in [(2.0, 1.0, 1.0), (0.5, 3.0, 2.0)]:
        prob = problems.make("quartic", m=5, n=3, c=c_, d=d_, L1=L1_)
        blk = prob.constants.blocks[0]
        R = blk.radius

        def h(s, c_=c_, d_=d_, L1_=L1_, R=R):
            return 3 * c_ * (s + R) ** 2 + d_ - L1_ * (c_ * s**3 + d_ * s)

        grid = np.linspace(0.0, 20.0 / L1_ + 20.0, 20001)
        i = int(np.argmax(h(grid)))
        lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
        best = max(h(grid[i]), -minimize_scalar(lambda s: -h(s), bounds=(lo, hi), method="bounded").fun)
        measured[f"L0 quartic c={c_} d={d_}"] = blk.L0 * under / best
        theoretical[f"L0 quartic c={c_} d={d_}"] = (1 - 1e-6, 1 + 1e-6)
    for name, params in [("kronecker_quadratic", {"m": 5, "n": 3}), ("quartic", {"m": 5, "n": 3, "c": 2.0})]:
        prob = problems.make(name, **params)
        X = np.asarray(prob.x0(prob.make_rng(np.asarray(0)))[0])
        E = gen.standard_normal(X.shape)
        g = np.asarray(prob.grad((X,))[0])
        fd = _directional_fd(prob, X, E)
        measured[f"gradient {name}"] = abs(float(np.sum(g * E)) - fd) / max(abs(fd), 1e-12)
        theoretical[f"gradient {name}"] = 1e-6
    return Experiment("conformance_problems", measured, theoretical, {})


@check(
    "S2.optimizer.reference",
    claim="Muon, Muon-MVR1/MVR2 (MARS clip on and off), Lion-K (every K) and Gluon's δ-aware step "
    "follow their recursions (NumPy transcriptions), with per-block multipliers and shape scales",
    source="S2",
    experiment="S2.optimizer.reference",
    mutations=("double_step",),
)
def optimizer_reference(*, quick: bool, mutation: str | None = None):
    exp = get_experiment("S2.optimizer.reference")(quick=quick, mutation=mutation)
    return _rows("S2-optimizer-reference", "S2", exp, "two blocks (6x3, 3x5), deterministic field")


@check(
    "S2.runner.conformance",
    claim="the runner's running minima and η-weighted averages match the per-step values; seeds give "
    "distinct draws; the step samples are independent",
    source="S2",
    experiment="S2.runner.conformance",
    mutations=("wrong_sample",),
)
def runner_conformance(*, quick: bool, mutation: str | None = None):
    exp = get_experiment("S2.runner.conformance")(quick=quick, mutation=mutation)
    return _rows("S2-runner-conformance", "S2", exp, "kronecker_quadratic + gaussian noise")


@check(
    "S2.stats.reference",
    claim="log-log slopes equal the least-squares fit (numpy.polyfit); the 95% slope interval covers "
    "the true slope of simulated data; the refined argmin is a parabola's vertex",
    source="S2",
    experiment="S2.stats.reference",
    mutations=("wrong_exponent",),
)
def stats_reference(*, quick: bool, mutation: str | None = None):
    exp = get_experiment("S2.stats.reference")(quick=quick, mutation=mutation)
    return _rows("S2-stats-reference", "S2", exp, "power laws, parabolas")


@check(
    "S1.problem.constants",
    claim="certified constants are attained (spectral L of a Kronecker quadratic at its maximiser, PL μ "
    "along the softest direction); gradients match central differences",
    source="S1",
    experiment="S1.problem.constants",
    mutations=("understate_constant",),
)
def problem_constants(*, quick: bool, mutation: str | None = None):
    exp = get_experiment("S1.problem.constants")(quick=quick, mutation=mutation)
    return _rows("S1-problem-constants", "S1", exp, "kronecker_quadratic, quartic")
