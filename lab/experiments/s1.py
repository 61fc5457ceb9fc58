r"""S1 experiments: inexact LMO methods with an additive oracle error δ.

Source: Shulgin, AlRashed, Orabona, Richtárik, *Beyond the Ideal: Analyzing the Inexact Muon Update*,
arXiv 2510.19933.  Every bound is a lab derivation (``bounds/s1.py``) evaluated on the problem's
certified constants; the experiments here only measure and pair each measurement with its bound.

Problem.  ``isotropic_quadratic`` f(X) = ½‖X − C‖_F² (L = 1), m×n, in spectral geometry: the LMO is
−polar, the dual norm is the nuclear norm and the certified constant is L_spectral = min(m, n)
(‖·‖_nuc ≤ rank·‖·‖_op).  The start is X⁰ = C + d·Z/‖Z‖_F, so Δ₀ = d²/2 (read back from f(X⁰)).
On this problem I1 is nearly tight: each singular value s of X − C falls by t(1 + δ) per step and
then oscillates in a 2-cycle of mean t/2, so (1/K)Σ‖∇f‖_* ≈ Δ₀/(tK) + Lt/2 − ‖∇f(X⁰)‖_*/(2K) at
δ = 0.  That is why a 20% understatement of L, or a doubled step, makes the measurement exceed it.

Experiments (all sweeps through :func:`lab.sweeps.run_sweep`, one stacked run per chunk):

``s1_lemma``
    Lemma (a)(b)(c) of the additive error model on random inputs G, H (spread spectra), for every
    injected-error kind × δ and for real Newton–Schulz oracles (δ = the a-priori ``ns_delta`` of the
    preset at the inputs' normalised spectral floor, kept when < 1).
``s1_i1``
    Deterministic ``lmo_step`` with an injected-error oracle (kinds × δ × t × seeds, K steps):
    running average and running minimum of ‖∇f(X^k)‖_* at every checkpoint K, paired with the I1
    bound (``bounds.get("S1.I1")``) at the same (t, δ, K) and the run's own Δ₀.
``s1_i1_ns``
    The same with real Newton–Schulz oracles (presets × steps k = 1..6 × t × seeds) and the
    measured δ_op along the trajectory.
``s1_i3``
    Stochastic Muon-EMA (Scion's α-form M ← (1 − α)M + αg, M⁰ = g⁰, no Nesterov, no shape scale)
    with Gaussian noise of exact E‖ξ‖_F² = σ², expand oracle, grid t × α × δ × ≥ 20 seeds:
    (1/K)Σ‖∇f(X^k)‖_* per seed, and the I3 bound at the same point.

Each experiment accepts ``mutation="double_step"`` (the optimizer wrapped by
:func:`lab.checks.mutations.mutate`; a separate cache entry) for the planted-bug checks.
"""

from __future__ import annotations

import math

import numpy as np

import bounds
from lab.experiments import Experiment, check_options, experiment

__all__ = [
    "KINDS",
    "i1_bound",
    "i3_bound",
    "s1_lemma",
    "s1_i1",
    "s1_i1_ns",
    "s1_i3",
    "t_star",
]

KINDS = ("expand", "shrink", "random", "adversarial")
PROBLEM = "isotropic_quadratic"
_MUTATIONS = (None, "double_step")
#: I3 noise levels: σ = 0.01 (bound nearly tight at α = 1, large t: the planted bugs must show there)
#: and σ = 1 (noise-dominated: the (t, α) coupling)
SIGMAS = [0.01, 1.0]


# ------------------------------------------------------------------------------------------ helpers


def _check_mutation(mutation):
    if mutation not in _MUTATIONS:
        raise ValueError(f"mutation must be one of {_MUTATIONS}, got {mutation!r}")
    return "none" if mutation is None else mutation


def _check_quick(quick):
    check_options(quick)


def _problem(point, noise=None):
    import problems

    return problems.make(
        PROBLEM, noise=noise, m=point["m"], n=point["n"], L=1.0, init_distance=point["dist"], seed=0
    )


def _rng(points):
    from lab.random import RNG

    return RNG(np.asarray([p["key"] for p in points], dtype=np.uint64))


def _col(points, name):
    return np.asarray([p[name] for p in points], dtype=np.float64)


def _sweep(compute, grid, name, mutation, cache):
    from lab.sweeps import run_sweep

    full = name if mutation == "none" else f"{name}__{mutation}"
    return run_sweep(
        compute,
        grid,
        name=full,
        cache=cache,
        chunk_size=100_000,
        progress=False,
        key_axes=("seed",),
    )


def _shape(result, grid_axes):
    return tuple(len(v) for v in grid_axes.values())


def t_star(L, Delta0, K, delta):
    """I1's optimal constant step t*(δ) = √(2Δ₀/(LK))/(1 + δ), from ``bounds.get("S1.I1")``."""
    opt = bounds.get("S1.I1").optimal_controls(L=L, Delta0=Delta0, K=K, delta=delta)
    return opt["t"].require()


def i1_bound(L, t, Delta0, K, delta):
    """The I1 bound on (1/K)Σ_{k<K}‖∇f(X^k)‖_* (NumPy broadcasting over all arguments)."""
    return bounds.get("S1.I1").evaluate(L=L, t=t, Delta0=Delta0, K=K, delta=delta).require()


def i3_bound(L, t, alpha, Delta0, K, rho, sigma, delta):
    """The I3 bound on (1/K)Σ_{k<K}E‖∇f(X^k)‖_*."""
    return (
        bounds.get("S1.I3")
        .evaluate(L=L, t=t, alpha=alpha, Delta0=Delta0, K=K, rho=rho, sigma=sigma, delta=delta)
        .require()
    )


# ------------------------------------------------------------------------------------------ lemma


def _ell(G):
    """Lower end ℓ of the normalised spectrum Newton–Schulz sees: σ_min(G)/(‖G‖_F + 1e-7), rounded down.

    ``newton_schulz`` divides by ‖G‖_F + eps (eps = 1e-7, its default), so every normalised singular
    value lies in [ℓ, 1]; the factor 1 − 1e-12 covers the rounding of the SVD.
    """
    s = np.linalg.svd(np.asarray(G), compute_uv=False)
    fro = np.sqrt(np.sum(s * s, axis=-1))
    return s[..., -1] / (fro + 1e-7) * (1 - 1e-12)


def _op_error(spec, D, G):
    """‖D − lmo(G)‖_op per member; +inf where D is not finite (a broken oracle is reported, not raised)."""
    D = np.asarray(D)
    finite = np.all(np.isfinite(D), axis=(-2, -1))
    err = np.asarray(spec.norm(np.where(finite[..., None, None], D, 0.0) - spec.lmo(G)))
    return np.where(finite, err, np.inf)


def _lemma_compute(points):
    """One batch of random (G, H) pairs per point (point = oracle × δ × ε × seed); see s1_lemma."""
    from lab.backend import get_backend
    from lab.norms import get_norm, inner
    from lab.oracles import inexact_oracle, newton_schulz_oracle
    from lab.orthogonalization import ns_delta_upper

    xp = get_backend("numpy")
    p0 = points[0]
    m, n, N = p0["m"], p0["n"], p0["batch"]
    from lab.random import RNG, derive_key

    # one key per (point, member): the random oracle needs an RNG of the full batch shape (P, N)
    rng = RNG(np.asarray([[derive_key(p["key"], j) for j in range(N)] for p in points], dtype=np.uint64))
    # spread spectra: columns scaled geometrically up to a condition number of 10^spread
    Z = rng.fold("G").normal((m, n))
    scales = 10.0 ** (-_col(points, "spread")[:, None, None, None] * np.arange(n) / (n - 1))
    G = Z * scales
    W = rng.fold("H").normal((m, n))
    eps = _col(points, "eps")[:, None, None, None]
    fro = lambda A: xp.sqrt(xp.sum(A * A, axis=(-2, -1), keepdims=True))  # noqa: E731
    # ε > 0: H = G + ε‖G‖_F W/‖W‖_F; ε < 0: H = εG, the reflected input on which (c) is tight as ε → 0
    H = xp.where(eps > 0, G + eps * fro(G) * W / fro(W), eps * G)
    spec = get_norm("spectral")
    oracle_name = p0["oracle"]
    if oracle_name.startswith("ns:"):
        _, preset, k = oracle_name.split(":")
        orc = newton_schulz_oracle(int(k), preset)
        DG, DH = orc(G), orc(H)
        measured = np.maximum(_op_error(spec, DG, G), _op_error(spec, DH, H))
        # The δ the lemma is judged with is a priori: ns_delta(ℓ) bounds |1 − p(x)| over x ∈ [ℓ, 1]
        # (ns_delta_upper: its value at a grid point just below ℓ, an upper bound)
        # from the preset's coefficients alone, with ℓ the smaller normalised singular value floor of
        # the two inputs (a property of G and H, not of the oracle's output).  The measured δ would make
        # the lemma a triangle inequality, true for any Newton–Schulz bug.
        delta = ns_delta_upper(np.minimum(_ell(G), _ell(H)), int(k), preset)
    else:
        delta = _col(points, "delta")[:, None]
        orc = inexact_oracle("spectral", np.broadcast_to(delta, (len(points), N)).copy(), oracle_name)
        r = rng.fold("oracle")
        DG, DH = orc(G, rng=r.fold("G")), orc(H, rng=r.fold("H"))
        delta = np.broadcast_to(delta, (len(points), N))
        measured = None
    return {
        "delta": np.asarray(delta, dtype=float),
        "delta_measured": np.asarray(delta if measured is None else measured, dtype=float),
        "g_dual": np.asarray(spec.dual(G)),
        "gh_dual": np.asarray(spec.dual(G - H)),
        "inner_a": np.asarray(inner(G, DG)),
        "norm_b": np.asarray(spec.norm(DG)),
        "inner_c": np.asarray(inner(G, DH)),
    }


@experiment("s1_lemma")
def s1_lemma(*, quick: bool = True, cache=True) -> Experiment:
    """Lemma (a)(b)(c) of the additive error model on random inputs.

    For every oracle (injected kinds × δ; Newton–Schulz presets × steps with their a-priori δ =
    ``ns_delta(ℓ, steps, preset)`` at the inputs' normalised spectral floor ℓ; the measured δ_op is
    kept as ``delta_measured``),
    perturbation size ε (H = G + ε‖G‖_F W/‖W‖_F, or H = εG for ε < 0, where (c) is tight)
    and seed, a batch of random 8×6 matrices G with
    spectra spread over up to 10^spread.  Measured: ⟨G, D(G)⟩, ‖D(G)‖_op, ⟨G, D(H)⟩, ‖G‖_*,
    ‖G − H‖_*, and the δ that applies (nominal, or the a-priori δ for NS).
    Theoretical: the three bounds of ``bounds.get("S1.lemma_a"/"_b"/"_c")`` at those values
    (NaN where an NS oracle's δ ≥ 1: the lemma says nothing there).
    """
    from lab.sweeps import Grid

    _check_quick(quick)
    deltas = [0.05, 0.3, 0.9] if quick else [0.01, 0.05, 0.1, 0.3, 0.6, 0.9, 0.99]
    ns = [
        f"ns:{p}:{k}"
        for p in ("cubic", "quintic", "jordan", "polar_express")
        for k in ((2, 5) if quick else (1, 2, 3, 4, 5, 6))
    ]
    common = dict(
        m=[8],
        n=[6],
        batch=[16 if quick else 64],
        spread=[0.0, 1.0, 3.0],
        eps=[-1e-3, 1e-3, 0.1, 1.0],
        seed=[0, 1] if quick else [0, 1, 2],
    )
    res_kind = _sweep(
        _lemma_compute, Grid(oracle=list(KINDS), delta=deltas, **common), "s1_lemma", "none", cache
    )
    res_ns = _sweep(_lemma_compute, Grid(oracle=ns, delta=[0.0], **common), "s1_lemma_ns", "none", cache)
    measured, theoretical, rows = {}, {}, {}
    for tag, res in (("kind", res_kind), ("ns", res_ns)):
        m = {
            k: res.array(k)
            for k in ("delta", "delta_measured", "g_dual", "gh_dual", "inner_a", "norm_b", "inner_c")
        }
        ok = m["delta"] < 1.0
        d = np.where(ok, m["delta"], 0.5)  # placeholder where the lemma does not apply (masked below)
        th = {
            "a": bounds.get("S1.lemma_a").evaluate(delta=d, g_dual=m["g_dual"]).require(),
            "b": bounds.get("S1.lemma_b").evaluate(delta=d).require(),
            "c": bounds.get("S1.lemma_c")
            .evaluate(delta=d, g_dual=m["g_dual"], gh_dual=m["gh_dual"])
            .require(),
        }
        for k in th:
            th[k] = np.where(ok, th[k], np.nan)
        measured[tag] = m
        theoretical[tag] = th
        rows[tag] = [{a: r[a] for a in ("oracle", "delta", "spread", "eps", "seed")} for r in res.rows]
    return Experiment(
        "s1_lemma",
        measured,
        theoretical,
        {"rows": rows, "problem": "random 8x6 matrices, spectra spread to 10^{0,1,3}", "quick": quick},
    )


# ------------------------------------------------------------------------------------------ I1


def _i1_compute(points):
    """One stacked deterministic lmo_step run over the points (same kind / NS oracle)."""
    from lab.checks.mutations import mutate
    from lab.optimizers import lmo_step
    from lab.oracles import inexact_oracle, newton_schulz_oracle
    from lab.runner import run

    p0 = points[0]
    problem = _problem(p0)
    t = _col(points, "t")
    if "kind" in p0:
        oracle = inexact_oracle("spectral", _col(points, "delta"), p0["kind"])
        record = ("loss", "grad", "running")
    else:
        oracle = newton_schulz_oracle(p0["ns_steps"], p0["preset"])
        record = ("loss", "grad", "running", "oracle")
    opt = lmo_step(t, oracle=oracle)
    opt = mutate(opt, None if p0["mutation"] == "none" else p0["mutation"])
    res = run(problem, opt, p0["steps"], seeds=_rng(points), record=record, stochastic=False)
    out = {
        "delta0": res.metrics["gap"][0],
        "avg": res.metrics["grad_dual_avg"].T,
        "min": res.metrics["grad_dual_min"].T,
        "checkpoints": np.broadcast_to(res.checkpoints.astype(float), (len(points), len(res.checkpoints))),
    }
    if "oracle_delta_b0" in res.metrics:
        out["delta_op_max"] = np.nanmax(res.metrics["oracle_delta_b0"][:-1], axis=0)
    return out


def _i1_config(quick):
    m, n, dist = 8, 6, 3.0
    K = 200 if quick else 1000
    L = float(min(m, n))  # certified below from the problem's constants
    t0 = math.sqrt(2 * (dist**2 / 2) / (L * K))
    ks = np.arange(-4, 5) / 2 if quick else np.arange(-9, 10) / 3  # ratio √2 (quick) or 2^(1/3)
    t_grid = [float(f"{t0 * 2.0**k:.6g}") for k in ks]
    return dict(m=m, n=n, dist=dist, steps=K, t=t_grid)


def _certified(m, n, dist, noise=None):
    p = _problem({"m": m, "n": n, "dist": dist}, noise=noise)
    c = p.constants
    return {
        "L": float(c.L_spectral),
        "rho": float(c.rho),
        "sigma2": float(c.sigma2),
        "describe": p.describe(),
    }


@experiment("s1_i1")
def s1_i1(*, quick: bool = True, cache=True, mutation: str | None = None) -> Experiment:
    """I1: deterministic inexact LMO steps with a constant step t.

    Grid: kind ∈ {expand, shrink, random, adversarial} × δ × t × seeds, K steps of ``lmo_step``
    on ``isotropic_quadratic`` (8×6, d = 3, spectral geometry).  Measured, at every log-spaced
    checkpoint K: the running average (1/K)Σ_{k<K}‖∇f(X^k)‖_* and min_{k<=K}‖∇f(X^k)‖_* (runner's
    ``running`` group), and Δ₀ = f(X⁰) − f*.  Theoretical: the I1 bound at the same (t, δ, K, Δ₀)
    with the certified L = L_spectral, and t*(δ).  Arrays have shape (kind, δ, t, seed, checkpoint).
    """
    from lab.sweeps import Grid

    _check_quick(quick)
    mut = _check_mutation(mutation)
    cfg = _i1_config(quick)
    deltas = [0.0, 0.1, 0.2, 0.4] if quick else [0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    seeds = [0, 1] if quick else [0, 1, 2, 3]
    axes = dict(kind=list(KINDS), delta=deltas, t=cfg["t"], seed=seeds)
    grid = Grid(**axes, m=[cfg["m"]], n=[cfg["n"]], dist=[cfg["dist"]], steps=[cfg["steps"]], mutation=[mut])
    res = _sweep(_i1_compute, grid, "s1_i1", mut, cache)
    shape = tuple(len(v) for v in axes.values())
    ck = res.array("checkpoints")[0]
    avg = res.array("avg").reshape(shape + (-1,))
    mn = res.array("min").reshape(shape + (-1,))
    d0 = res.array("delta0").reshape(shape)
    cert = _certified(cfg["m"], cfg["n"], cfg["dist"])
    L = cert["L"]
    K = ck[1:]  # checkpoint 0 has no average (K = 0)
    dl = np.asarray(deltas)[None, :, None, None, None]
    tt = np.asarray(cfg["t"])[None, None, :, None, None]
    bound = i1_bound(L, tt, d0[..., None], K, dl)
    ts = t_star(L, d0.mean(), cfg["steps"], np.asarray(deltas))
    return Experiment(
        "s1_i1",
        {"avg": avg[..., 1:], "min": mn[..., 1:], "delta0": d0},
        {"bound": bound, "t_star": ts, "L": L},
        {
            "axes": {k: list(v) for k, v in axes.items()},
            "K": K,
            "steps": cfg["steps"],
            "problem": cert["describe"],
            "mutation": mutation,
            "quick": quick,
        },
    )


@experiment("s1_i1_ns")
def s1_i1_ns(*, quick: bool = True, cache=True, mutation: str | None = None) -> Experiment:
    """I1 coupling with real Newton–Schulz oracles: grid preset × NS steps k × t × seeds.

    Same problem and horizon as :func:`s1_i1`.  Measured: the running average and minimum of
    ‖∇f‖_* at K, Δ₀, and the largest δ_op = ‖NS_k(∇f) − lmo(∇f)‖_op seen at the checkpoints.
    Theoretical: t*(0) and the I1 bound with δ = that measured δ_op where it is < 1.
    Arrays have shape (preset, k, t, seed).
    """
    from lab.sweeps import Grid

    _check_quick(quick)
    mut = _check_mutation(mutation)
    cfg = _i1_config(quick)
    presets = ["cubic", "jordan"] if quick else ["cubic", "quintic", "jordan", "polar_express"]
    ks = [1, 2, 3, 4, 5, 6]
    seeds = [0, 1] if quick else [0, 1, 2, 3]
    axes = dict(preset=presets, ns_steps=ks, t=cfg["t"], seed=seeds)
    grid = Grid(**axes, m=[cfg["m"]], n=[cfg["n"]], dist=[cfg["dist"]], steps=[cfg["steps"]], mutation=[mut])
    res = _sweep(_i1_compute, grid, "s1_i1_ns", mut, cache)
    shape = tuple(len(v) for v in axes.values())
    avg = res.array("avg").reshape(shape + (-1,))[..., -1]
    mn = res.array("min").reshape(shape + (-1,))[..., -1]
    d0 = res.array("delta0").reshape(shape)
    dop = res.array("delta_op_max").reshape(shape)
    cert = _certified(cfg["m"], cfg["n"], cfg["dist"])
    L = cert["L"]
    ok = dop < 1
    tt = np.asarray(cfg["t"])[None, None, :, None]
    bound = np.where(ok, i1_bound(L, tt, d0, cfg["steps"], np.where(ok, dop, 0.0)), np.nan)
    return Experiment(
        "s1_i1_ns",
        {"avg": avg, "min": mn, "delta0": d0, "delta_op": dop},
        {"bound": bound, "t_star": float(t_star(L, d0.mean(), cfg["steps"], 0.0)), "L": L},
        {
            "axes": {k: list(v) for k, v in axes.items()},
            "steps": cfg["steps"],
            "problem": cert["describe"],
            "mutation": mutation,
            "quick": quick,
        },
    )


# ------------------------------------------------------------------------------------------ I3


def _i3_compute(points):
    """One stacked stochastic Muon-EMA run (α-form, M⁰ = g⁰, no Nesterov) over the points."""
    from lab.checks.mutations import mutate
    from lab.optimizers import muon
    from lab.oracles import inexact_oracle
    from lab.runner import run

    p0 = points[0]
    problem = _problem(p0, noise={"name": "gaussian", "sigma": _col(points, "sigma")})
    oracle = inexact_oracle("spectral", _col(points, "delta"), p0["kind"])
    opt = muon(
        _col(points, "t"),
        momentum="alpha",
        alpha=_col(points, "alpha"),
        nesterov=False,
        momentum_init="gradient",
        shape_scale="none",
        oracle=oracle,
    )
    opt = mutate(opt, None if p0["mutation"] == "none" else p0["mutation"])
    res = run(
        problem,
        opt,
        p0["steps"],
        seeds=_rng(points),
        record=("loss", "grad", "running"),
        checkpoints=[0, p0["steps"]],
        stochastic=True,
    )
    return {"delta0": res.metrics["gap"][0], "avg": res.metrics["grad_dual_avg"][-1]}


def _i3_config(quick):
    return dict(m=8, n=6, dist=1.0, steps=150 if quick else 400)


@experiment("s1_i3")
def s1_i3(*, quick: bool = True, cache=True, mutation: str | None = None) -> Experiment:
    """I3: stochastic EMA momentum, constant (t, α), Gaussian noise with exact σ.

    Grid: σ × δ (expand kind) × t × α × 20 seeds, K steps of Muon in the α-form on
    ``isotropic_quadratic`` (8×6, d = 1) with additive Gaussian noise E‖ξ‖_F² = σ², σ ∈ SIGMAS.
    Measured: (1/K)Σ_{k<K}‖∇f(X^k)‖_* per seed (its seed mean estimates the expectation).
    Theoretical: the I3 bound at the same point with the certified L = L_spectral, ρ = √min(m, n),
    σ and the run's Δ₀, and the bound's optimal t*(δ), α*(δ).  Arrays: (σ, δ, t, α, seed).
    """
    from lab.sweeps import Grid

    _check_quick(quick)
    mut = _check_mutation(mutation)
    cfg = _i3_config(quick)
    deltas = [0.0, 0.5] if quick else [0.0, 0.2, 0.4, 0.6]
    t_grid = [float(f"{v:.4g}") for v in np.geomspace(4e-3, 0.256, 7 if quick else 10)]
    a_grid = [float(f"{v:.4g}") for v in np.geomspace(1 / 8 if quick else 1 / 32, 1.0, 4 if quick else 6)]
    seeds = list(range(20))
    axes = dict(sigma=SIGMAS, kind=["expand"], delta=deltas, t=t_grid, alpha=a_grid, seed=seeds)
    grid = Grid(**axes, m=[cfg["m"]], n=[cfg["n"]], dist=[cfg["dist"]], steps=[cfg["steps"]], mutation=[mut])
    res = _sweep(_i3_compute, grid, "s1_i3", mut, cache)
    shape = tuple(len(v) for k, v in axes.items() if k != "kind")
    avg = res.array("avg").reshape(shape)
    d0 = res.array("delta0").reshape(shape)
    certs = [
        _certified(cfg["m"], cfg["n"], cfg["dist"], noise={"name": "gaussian", "sigma": s}) for s in SIGMAS
    ]
    L, rho = certs[0]["L"], certs[0]["rho"]
    sig = np.sqrt([c["sigma2"] for c in certs])[:, None, None, None]  # certified E‖ξ‖_F² = σ²
    dl = np.asarray(deltas)[None, :, None, None]
    tt = np.asarray(t_grid)[None, None, :, None]
    aa = np.asarray(a_grid)[None, None, None, :]
    D0 = d0.mean(axis=-1)  # Δ₀ is the same for every seed (‖X⁰ − X*‖_F = d); the mean is exact
    bound = i3_bound(L, tt, aa, D0, cfg["steps"], rho, sig, dl)
    opt = bounds.get("S1.I3").optimal_controls(
        L=L, Delta0=float(D0.mean()), K=cfg["steps"], rho=rho, sigma=sig[:, :, 0, 0], delta=dl[:, :, 0, 0]
    )
    return Experiment(
        "s1_i3",
        {"avg": avg, "delta0": d0},
        {
            "bound": bound,
            "t_opt": opt["t"].value,
            "alpha_opt": opt["alpha"].value,
            "L": L,
            "rho": rho,
            "sigma": sig.ravel(),
        },
        {
            "axes": {k: list(v) for k, v in axes.items()},
            "steps": cfg["steps"],
            "problem": certs[-1]["describe"],
            "mutation": mutation,
            "quick": quick,
        },
    )
