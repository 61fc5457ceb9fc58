r"""S2's estimator-error recursions (E), the anytime bounds N1/N2, the measured rate exponents and the
same-sample requirement of MVR2 (experiments ``s2_rates`` and ``s2_tight``; checks ``S2-E``, ``S2-N1``,
``S2-N2``, ``S2-slopes``, ``S2-same-sample``)."""

from __future__ import annotations

import math

import numpy as np

import bounds
from bounds.s2 import anytime_bound, estimator_error_bound
from lab.claims.registry import Experiment, check, experiment
from lab.claims.variance_reduction._shared import (
    _BOUND_METHOD,
    _NAMES,
    _RATES_PROBLEM,
    _TIGHT_PROBLEM,
    METHODS,
    PREDICTED,
    RTOL,
    SLOPE_MAX_WIDTH,
    SLOPE_TOL,
    SRC,
    WINDOW_DECADES,
    Z_999,
    _check_options,
    _constants,
    _get,
    _ratio_with_zeros,
    _schedule,
    _single,
    _sweep,
)
from lab.stats import Verdict, ratio_to_bound, slope_ci, slope_difference_ci


def _rates_config(quick):
    return {
        "problem": "kronecker",
        "dist": 0.05,
        "sigma": 0.2,
        "eta0": 0.1,
        "c_a": 1.0,
        "steps": 1000 if quick else 10_000,
        "dense": 300 if quick else 1000,
        "seeds": 12 if quick else 32,
        "running": True,
        "window": (30.0, 1000.0) if quick else (100.0, 10_000.0),
    }


def _n_bound(method, T, *, Delta0, eta0, c_a, const):
    tid = {"muon": "S2.N1", "mvr1": "S2.N1.MVR1", "mvr2": "S2.N2", "mvr2_prev": "S2.N2"}[method]
    kw = {"L_ms": const["L_ms"]} if tid == "S2.N2" else {}
    return bounds.get(tid).evaluate(
        Delta0=Delta0,
        r=const["r"],
        eta0=eta0,
        L=const["L"],
        sigma=const["sigma"],
        c_a=c_a,
        T=np.asarray(T, dtype=float),
        **kw,
    )


def _rate_bounds(data, cfg, const, methods):
    """E-recursion, anytime and closed-form bounds for each method of a run family."""
    out = {}
    for m in methods:
        d = data[m]
        ck = d["checkpoints"][0].astype(int)
        T = int(ck[-1])
        eta, beta, gamma = _schedule(m, T + 1, cfg["eta0"], cfg["c_a"])
        bm = _BOUND_METHOD[m]
        kw = dict(sigma=const["sigma"], r=const["r"], L=const["L"], L_ms=const["L_ms"], gamma=gamma)
        e_b = estimator_error_bound(bm, eta, beta, **kw)
        Delta0 = float(np.mean(d["gap"][:, 0]))
        any_b = anytime_bound(bm, eta, beta, Delta0=Delta0, **kw)
        k = ck[ck < T]  # step metrics exist for the steps from X_k, k < T
        Tn = ck[ck >= 1]  # η-weighted averages over T = k iterates
        out[m] = {
            "e_steps": k,
            "e_bound": e_b.value[k],
            "avg_T": Tn,
            "anytime_bound": any_b.value[Tn - 1],
            "n_bound": _n_bound(m, Tn, Delta0=Delta0, eta0=cfg["eta0"], c_a=cfg["c_a"], const=const).value,
            "Delta0": Delta0,
        }
    return out


def _rate_measures(data, methods):
    out = {}
    for m in methods:
        d = data[m]
        ck = d["checkpoints"][0].astype(int)
        T = int(ck[-1])
        keep = ck < T
        err2 = d["est_err_fro"][:, keep] ** 2  # (seeds, K')
        S = err2.shape[0]
        res = {
            "checkpoints": ck,
            "e_steps": ck[keep],
            "e_mean": err2.mean(axis=0),
            "e_se": err2.std(axis=0, ddof=1) / math.sqrt(S) if S > 1 else np.zeros(err2.shape[1]),
            "est_err": d["est_err_fro"][:, keep],  # (seeds, K')
            "grad_fro": d["grad_fro"],  # (seeds, K)
            "gap": d["gap"],
            "diverged": float(np.sum(d["diverged"])),
        }
        if "grad_dual_avg" in d:
            Tn = ck >= 1
            res["avg_T"] = ck[Tn]
            res["grad_dual_avg"] = d["grad_dual_avg"][:, Tn].mean(axis=0)
            res["grad_dual_min"] = np.minimum.accumulate(d["grad_dual"].mean(axis=0))[Tn]
        out[m] = res
    return out


@experiment("S2.N1")
def s2_rates(*, quick: bool = True, cache=True, mutation: str | None = None) -> Experiment:
    """Muon vs MVR1 vs MVR2 (and MVR2 with the previous sample) in the noise-dominated regime.

    Problem: ``kronecker_quadratic`` 8×6 (L = 1, μ = 0.1), start at distance 0.05 from X*,
    Gaussian noise with E‖ξ‖_F² = σ² = 0.04 exactly; η₀ = 0.1, c_a = 1; 32 seeds × 10⁴ steps
    (quick: 12 × 10³).  See the module docstring for the methods and the index map.

    Returns
    -------
    measured[method]: ``e_mean``/``e_se`` (seed mean and standard error of ‖ε_t‖_F² at the steps
    ``e_steps``: every t up to ``dense``, log-spaced beyond), ``est_err`` and ``grad_fro`` per seed,
    ``grad_dual_avg`` (seed mean of Σ_{t<=T}η_t‖∇f(X_t)‖_*/Ση_t at ``avg_T``), ``grad_dual_min``
    (running min over T of the seed mean of ‖∇f‖_*), ``gap``.
    theoretical[method]: ``e_bound`` (E recursion), ``anytime_bound`` ((★) with the recursion),
    ``n_bound`` (N1 / N1-MVR1 / N2 closed form), ``exponent`` (−1/4 or −1/3), ``window``.
    Under "wrong_sample" the entry "mvr2" holds the previous-sample runs (the claim's MVR2 is swapped).
    """
    _check_options(quick, mutation)
    cfg = _rates_config(quick)
    methods = ("muon", "mvr1", "mvr2", "mvr2_prev")
    data = _single(_sweep("s2_rates", cfg, methods, mutation, cache, cfg["seeds"]))
    const = _constants(cfg["problem"], cfg["sigma"], mutation)
    measured = _rate_measures(data, methods)
    theoretical = _rate_bounds(data, cfg, const, methods)
    for m in methods:
        theoretical[m]["exponent"] = PREDICTED[m]
        theoretical[m]["window"] = cfg["window"]
    if mutation == "wrong_sample":
        measured["mvr2"] = measured["mvr2_prev"]
    return Experiment(
        "s2_rates", measured, theoretical, {"config": cfg, "constants": const, "mutation": mutation}
    )


def _tight_configs(quick):
    T = 400 if quick else 2000
    return {
        "sum": {
            "problem": "isotropic",
            "dist": 0.01,
            "sigma": 0.0,
            "eta0": 0.05,
            "c_a": 1000.0,
            "steps": T,
            "dense": T,
            "running": True,
        },
        "drift": {
            "problem": "isotropic",
            "dist": 20.0,
            "sigma": 0.0,
            "eta0": 0.02,
            "c_a": 0.3,
            "steps": T,
            "dense": T,
            "running": False,
        },
    }


@experiment("S2.E")
def s2_tight(*, quick: bool = True, cache=True, mutation: str | None = None) -> Experiment:
    """Deterministic configurations on ``isotropic_quadratic`` where the S2 bounds are nearly tight.

    "sum": σ = 0, c_a = 1000 (β_t = 0 for t < 10⁶: M_t = ∇f(X_t), ε = 0), start at distance 0.01,
    η₀ = 0.05.  On f = ½‖X − C‖_F² with a full-rank gradient, f(X − ηO) = f(X) − η‖∇f‖_* + (r/2)η²,
    so Σ η_t‖∇f(X_t)‖_* = Δ − (f(X_{T+1}) − f*) + (L r/2)Σ η_t²: (★) with e_t = 0 (which the
    recursions give) holds with slack f(X_{T+1}) − f* only.
    "drift": start at distance 20, c_a = 0.3, η₀ = 0.02: the gradient direction is constant for
    many steps, ‖∇f(X_t) − ∇f(X_{t−1})‖_F = Lη_{t−1}√r, and the E-Muon / E-MVR1 drift term is
    attained up to the recursion's β vs β² (the source tightness remark).

    Returns measured/theoretical per config and method as :func:`s2_rates` (e_mean, e_bound,
    grad_dual_avg, anytime_bound, n_bound).
    """
    _check_options(quick, mutation)
    cfgs = _tight_configs(quick)
    measured, theoretical = {}, {}
    for name, cfg in cfgs.items():
        methods = METHODS if name == "sum" else ("muon", "mvr1")
        data = _single(_sweep(f"s2_tight_{name}", cfg, methods, mutation, cache, 1))
        const = _constants(cfg["problem"], 0.0, mutation)
        measured[name] = _rate_measures(data, methods)
        theoretical[name] = _rate_bounds(data, cfg, const, methods)
    return Experiment("s2_tight", measured, theoretical, {"configs": cfgs, "mutation": mutation})


@check(
    "S2.E",
    claim="The scalar recursions E-Muon, E-MVR1, E-MVR2 bound the measured E||M_t - grad f(X_t)||_F^2 "
    "at every t",
    source="S2",
    theorems=("S2.E.Muon", "S2.E.MVR1", "S2.E.MVR2"),
    experiment="S2.N1",
    mutations=("understate_constant", "double_step"),
)
def s2_e(*, quick: bool, mutation: str | None = None):
    """E recursions along the run's own schedule vs the seed-mean squared estimator error (module rules)."""
    out = []
    ex = _get("s2_rates", quick, mutation)
    for method in ("muon", "mvr1", "mvr2"):
        m, t = ex.measured[method], ex.theoretical[method]
        lcl = m["e_mean"] - Z_999 * m["e_se"]
        ratio = ratio_to_bound(lcl, t["e_bound"])
        raw = ratio_to_bound(m["e_mean"], t["e_bound"])
        out.append(
            Verdict.from_ratio(
                "S2-E",
                SRC,
                f"{_RATES_PROBLEM}, {_NAMES[method]}",
                f"E-{_NAMES[method]} recursion",
                "seed mean of ||eps_t||_F^2 minus 3.09 standard errors",
                ratio,
                worst_t=int(m["e_steps"][ratio.index[0]]),
                raw_worst_ratio=raw.worst,
                raw_worst_t=int(m["e_steps"][raw.index[0]]),
                seeds=int(ex.meta["config"]["seeds"]),
                level=1 - 0.001,
            )
        )
    tight = _get("s2_tight", quick, mutation)
    for method, m in tight.measured["drift"].items():
        t = tight.theoretical["drift"][method]
        ratio = _ratio_with_zeros(m["e_mean"], t["e_bound"])
        out.append(
            Verdict.from_ratio(
                "S2-E",
                SRC,
                f"{_TIGHT_PROBLEM}, drift-dominated (start 20 from X*, c_a=0.3), {_NAMES[method]}",
                f"E-{_NAMES[method]} recursion",
                "||eps_t||_F^2",
                ratio,
                worst_t=int(m["e_steps"][ratio.index[0]]),
                rtol=RTOL,
            )
        )
    return out


def _anytime(claim, methods, quick, mutation):
    out = []
    ex = _get("s2_rates", quick, mutation)
    tight = _get("s2_tight", quick, mutation)
    for method in methods:
        for label, m, t, prob, rtol in (
            ("noise-dominated", ex.measured[method], ex.theoretical[method], _RATES_PROBLEM, 0.0),
            (
                "tight (beta=0, sigma=0)",
                tight.measured["sum"][method],
                tight.theoretical["sum"][method],
                f"{_TIGHT_PROBLEM}, start 0.01 from X*, c_a=1000",
                RTOL,
            ),
        ):
            T = m["avg_T"]
            r1 = ratio_to_bound(m["grad_dual_avg"], t["anytime_bound"], rtol=rtol)
            out.append(
                Verdict.from_ratio(
                    claim,
                    SRC,
                    f"{prob}, {_NAMES[method]}",
                    "(*) / sum eta_t with the E recursion (anytime, every T)",
                    "seed mean of sum_{t<=T} eta_t ||grad f(X_t)||_* / sum eta_t",
                    r1,
                    config=label,
                    worst_T=int(T[r1.index[0]]),
                    horizons=int(T.size),
                    T_max=int(T[-1]),
                )
            )
            r2 = ratio_to_bound(m["grad_dual_min"], t["n_bound"], rtol=rtol)
            out.append(
                Verdict.from_ratio(
                    claim,
                    SRC,
                    f"{prob}, {_NAMES[method]}",
                    "closed form " + ("N2" if method == "mvr2" else "N1"),
                    "min_{t<=T} of the seed mean of ||grad f(X_t)||_*",
                    r2,
                    config=label,
                    worst_T=int(T[r2.index[0]]),
                )
            )
    return out


@check(
    "S2.N1",
    claim="Muon and MVR1 with horizon-free schedules: anytime O~(T^-1/4) bound on the gradient, "
    "ratio <= 1 for every T of one run",
    source="S2",
    theorems=("S2.star", "S2.N1", "S2.N1.MVR1"),
    experiment="S2.N1",
    mutations=("double_step", "understate_constant"),
)
def s2_n1(*, quick: bool, mutation: str | None = None):
    """(★) with the recursion and the closed form N1 at every T (noise-dominated and tight configurations)."""
    return _anytime("S2-N1", ("muon", "mvr1"), quick, mutation)


@check(
    "S2.N2",
    claim="MVR2 with the horizon-free schedule: anytime O~(T^-1/3) bound on the gradient, "
    "ratio <= 1 for every T of one run",
    source="S2",
    theorems=("S2.star", "S2.N2"),
    experiment="S2.N1",
    mutations=("double_step", "understate_constant"),
)
def s2_n2(*, quick: bool, mutation: str | None = None):
    """As S2-N1 for MVR2 (closed form N2)."""
    return _anytime("S2-N2", ("mvr2",), quick, mutation)


def _slope(T, Y, window):
    keep = (T >= window[0]) & (T <= window[1])
    return slope_ci(T[keep], Y[:, keep], window)


def _slope_verdict(claim, problem, quantity, predicted, ci, window, **details):
    slope, lo, hi = ci
    ok = (lo <= predicted <= hi) or abs(slope - predicted) <= SLOPE_TOL
    return Verdict(
        claim=claim,
        source=SRC,
        problem=problem,
        bound=predicted,
        measured=slope,
        verdict="holds" if ok else "violated",
        slope=slope,
        ci=(lo, hi),
        details={
            "quantity": quantity,
            "window": list(window),
            "tolerance": SLOPE_TOL,
            "rule": "CI contains the exponent or |slope - exponent| <= tolerance",
            **details,
        },
    )


def rate_slopes(measured, window):
    """Slopes (SlopeCI) of E‖ε_T‖_F and E‖∇f(X_T)‖_F per method of an ``s2_rates`` result."""
    out = {}
    for method, m in measured.items():
        out[method] = {
            "est_err": _slope(m["e_steps"].astype(float) + 1.0, m["est_err"], window),
            "grad_fro": _slope(m["checkpoints"].astype(float) + 1.0, m["grad_fro"], window),
        }
    return out


def fit_window(T, Y, decades=WINDOW_DECADES, min_T=10.0):
    """The fit window of one seed-curve family, read from the data (S2-slopes rule).

    Candidates are [T_max/10^D, T_max] for D in ``decades`` (longest first, lower end >= ``min_T``
    and >= the first T).  A candidate is accepted when the slopes of its two halves (split at the
    geometric midpoint) agree within their combined 95 % t-interval half-widths, i.e. the curve
    shows no curvature (transient) there; the longest accepted candidate is the window.  When none is
    accepted, the last decade is used and ``settled`` is False.

    Returns
    -------
    (window, settled)
    """
    T = np.asarray(T, dtype=float)
    t_max = float(T[-1])
    for D in decades:
        lo = t_max / 10.0**D
        if lo < max(min_T, float(T[0])):
            continue
        mid = float(np.sqrt(lo * t_max))
        try:
            a = slope_ci(T, Y, (lo, mid))
            b = slope_ci(T, Y, (mid, t_max))
        except ValueError:  # fewer than two checkpoints in a half
            continue
        if abs(a.slope - b.slope) <= float(np.hypot((a.hi - a.lo) / 2, (b.hi - b.lo) / 2)):
            return (lo, t_max), True
    return (t_max / 10.0, t_max), False


@check(
    "S2.slopes",
    claim="In the noise-dominated regime the estimator error and the gradient norm fall like "
    "T^-1/4 (Muon, MVR1) and T^-1/3 (MVR2), MVR2 significantly steeper",
    source="S2",
    theorems=("S2.N1", "S2.N1.MVR1", "S2.N2"),
    experiment="S2.N1",
    mutations=("wrong_sample",),
)
def s2_slopes(*, quick: bool, mutation: str | None = None):
    """Fitted exponents with t-intervals over seeds against −1/4 / −1/3; T = S2's step index.

    Rule: per method and quantity, the window is read from the data (:func:`fit_window`); the
    slope of the seed-mean curve there gets a 95 % t-interval over seeds (jackknife standard error,
    :func:`lab.stats.slope_ci`).  "holds" iff the interval contains the predicted exponent and is no
    wider than ``SLOPE_MAX_WIDTH`` = 0.03; "violated" iff it excludes it (at any width: that is
    decisive); "inconclusive" when it contains it but is wider than 0.03.  No tolerance around the
    exponent.  The full configuration (32 seeds × 10⁴ steps) gives widths 0.01–0.025; quick (12 seeds ×
    10³ steps) gives 0.02–0.06, so quick rows can be inconclusive.  Comparison: the paired difference
    of the MVR2 and Muon slopes (same seeds) on the later of their two windows, with a 95 % t-interval:
    "holds" iff entirely below 0, "violated" iff entirely above, else "inconclusive".
    """
    ex = _get("s2_rates", quick, mutation)
    seeds = int(ex.meta["config"]["seeds"])
    predicted = {k: ex.theoretical[k]["exponent"] for k in ("muon", "mvr1", "mvr2")}
    out, windows, curves = [], {}, {}
    for quantity in ("est_err", "grad_fro"):
        for method in ("muon", "mvr1", "mvr2"):
            m = ex.measured[method]
            T = (m["e_steps"] if quantity == "est_err" else m["checkpoints"]).astype(float) + 1.0
            Y = m[quantity]
            window, settled = fit_window(T, Y)
            windows[method, quantity], curves[method, quantity] = window, (T, Y)
            ci = slope_ci(T, Y, window)
            out.append(
                Verdict.from_slope(
                    "S2-slopes",
                    SRC,
                    f"{_RATES_PROBLEM}, {_NAMES[method]}",
                    predicted[method],
                    ci,
                    kind="equal",
                    max_width=SLOPE_MAX_WIDTH,
                    quantity=quantity,
                    window=list(window),
                    window_settled=settled,
                    window_rule="longest [T_max/10^D, T_max], D in (2.5, 2, 1.5, 1), whose halves' slopes "
                    "agree within their t-intervals",
                    interval="95% t-interval over seeds (jackknife)",
                    seeds=seeds,
                    steps=int(ex.meta["config"]["steps"]),
                    mutation=mutation,
                )
            )
        (T, A), (_, B) = curves["mvr2", quantity], curves["muon", quantity]
        lo = max(windows["mvr2", quantity][0], windows["muon", quantity][0])
        window = (lo, float(T[-1]))
        d = slope_difference_ci(T, A, B, window)
        verdict = "holds" if d.hi < 0 else "violated" if d.lo > 0 else "inconclusive"
        out.append(
            Verdict(
                claim="S2-slopes",
                source=SRC,
                problem=f"{_RATES_PROBLEM}, MVR2 vs Muon",
                bound="slope(MVR2) - slope(Muon) < 0",
                measured=d.slope,
                verdict=verdict,
                slope=d.slope,
                ci=(d.lo, d.hi),
                details={
                    "quantity": quantity,
                    "window": list(window),
                    "rule": "paired 95% t-interval of the slope difference (same seeds) entirely below 0",
                    "seeds": seeds,
                    "mutation": mutation,
                },
            )
        )
    return out


@check(
    "S2.same_sample",
    claim="MVR2 needs the same sample at X_t and X_{t-1}: with the previous sample the "
    "estimator error loses the T^-1/3 rate",
    source="S2",
    theorems=(),
    experiment="S2.N1",
    mutations=("wrong_sample",),
)
def s2_same_sample(*, quick: bool, mutation: str | None = None):
    """Same sample: slope within tolerance of −1/3.

    Previous sample: interval entirely above −1/3 + SLOPE_TOL.
    """
    ex = _get("s2_rates", quick, mutation)
    window = ex.theoretical["mvr2"]["window"]
    fits = rate_slopes({k: ex.measured[k] for k in ("mvr2", "mvr2_prev")}, window)
    p = ex.theoretical["mvr2"]["exponent"]
    out = [
        _slope_verdict(
            "S2-same-sample",
            f"{_RATES_PROBLEM}, MVR2 (same sample)",
            "est_err",
            p,
            fits["mvr2"]["est_err"],
            window,
        )
    ]
    a = fits["mvr2_prev"]["est_err"]
    out.append(
        Verdict(
            claim="S2-same-sample",
            source=SRC,
            problem=f"{_RATES_PROBLEM}, MVR2 with the previous sample",
            bound=f"slope > {p + SLOPE_TOL:.3f} (no -1/3)",
            measured=a.slope,
            verdict="holds" if a.lo > p + SLOPE_TOL else "violated",
            slope=a.slope,
            ci=(a.lo, a.hi),
            details={
                "quantity": "est_err",
                "window": list(window),
                "note": "with M_1 = g_1 the previous-sample recursion is exactly M_t = g_t",
            },
        )
    )
    return out
