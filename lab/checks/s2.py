r"""S2 checks: variance-reduced Muon (Chang, Liu, Yuan, arXiv 2509.15816).

Every check runs an experiment of :mod:`lab.experiments.s2` and judges it against the lab's S2 bounds
(``bounds/s2.py``, lab derivations consistent with S2) evaluated on the problems' certified
constants, or against the predicted exponents.

Decision rules (stated once, used below)
----------------------------------------
* **Deterministic ratios** ((D), the tight configurations): holds iff measured/bound <= 1 + 1e-9
  everywhere (1e-9: float64 rounding of an inequality that is an identity on the isotropic quadratic).
* **Estimator error e_t = E‖ε_t‖_F²** (stochastic): the seed mean ê_t is an estimate, and at t = 1 the
  bound e_1 = σ² is attained exactly (M_1 = g_1).  A violation must therefore be significant: the
  verdict uses the one-sided 99.9 % lower confidence limit ê_t − 3.09·se_t (CLT over seeds); holds iff
  it is <= the bound at every t.  The raw worst ratio ê_t/bound_t is reported too.
* **Anytime bounds** (η-weighted average of E‖∇f‖_* for every T; closed forms N1/N2, P1, P2): the seed
  means against the bound; these bounds are loose by factors 5–50 in the noise-dominated runs, so no
  sampling allowance is needed (none is used).
* **Slopes** (S2-slopes): log-log OLS fit of the seed-mean curve over a window read from the data
  (:func:`fit_window`) with a 95 % t-interval over seeds (:func:`lab.stats.slope_ci`); judged on the
  interval alone (see :func:`s2_slopes`).  S2-same-sample keeps its stated tolerance ``SLOPE_TOL``.

Mutations (each was run and fails; see ``tests/test_checks_s2.py``): "double_step" and
"understate_constant" (L, L_ms, σ — and the path-wise G of P2 — ×0.8 in the bound) for the ratio
checks, through the nearly tight configurations of ``s2_tight`` / ``s2_descent``; "wrong_exponent" and
"wrong_sample" (MVR2 with the previous sample) for the rate checks.
"""

from __future__ import annotations

import numpy as np

from lab.checks import check
from lab.stats import Verdict, ratio_to_bound, slope_ci, slope_difference_ci

SRC = "lab derivation consistent with S2 (Chang, Liu, Yuan, arXiv 2509.15816)"
RTOL = 1e-9
Z_999 = 3.09  # one-sided 99.9 % normal quantile
SLOPE_TOL = 0.04
#: S2-slopes: an interval wider than this cannot confirm an exponent (it can still exclude one).
SLOPE_MAX_WIDTH = 0.03
#: S2-slopes: candidate fit windows [T_max/10^D, T_max], longest first (:func:`fit_window`).
WINDOW_DECADES = (2.5, 2.0, 1.5, 1.0)
FLOOR_RATIO = (0.9, 1.1)
_RATES_PROBLEM = "kronecker_quadratic 8x6 (L=1, mu=0.1), Gaussian sigma=0.2, start 0.05 from X*"
_TIGHT_PROBLEM = "isotropic_quadratic 8x6 (L=1), deterministic"
_PL_PROBLEM = "isotropic_quadratic 8x6 (mu=L=1), Gaussian sigma=0.05, start 0.05 from X*"
_NAMES = {"muon": "Muon", "mvr1": "MVR1", "mvr2": "MVR2", "mvr2_prev": "MVR2 (previous sample)"}


def _get(name, quick, mutation):
    from lab.experiments import get_experiment

    return get_experiment(name)(quick=quick, mutation=mutation)


def _ratio_with_zeros(measured, bound, rtol=RTOL):
    """ratio_to_bound where a zero bound is allowed: entries with bound 0 must measure <= 1e-24.

    A NaN measurement is never a pass: it is an infinite ratio wherever it occurs (also at a
    zero-bound entry, where ``NaN > 1e-24`` is False and the old rule read it as 0).
    """
    m = np.asarray(measured, dtype=float)
    b = np.asarray(bound, dtype=float)
    m, b = np.broadcast_arrays(m, b)
    zero = b <= 0
    exceeded = zero & ~(m <= 1e-24)  # NaN compares False, so it counts as exceeded
    b = np.where(zero, np.where(exceeded, 1e-300, 1.0), b)  # an exceeded zero bound: infinite ratio
    m = np.where(zero & ~exceeded, 0.0, np.where(np.isnan(m), np.nan, m))
    return ratio_to_bound(m, b, rtol=rtol)


# ------------------------------------------------------------------------------------------ (D)


@check(
    "S2-D",
    claim="One Muon step with exact polar obeys f(X+) <= f(X) - eta||grad||_* + 2 eta||eps||_* "
    "+ (L r/2) eta^2 (deterministic, every step)",
    source="S2",
    theorems=("S2.D",),
    experiment="s2_descent",
    mutations=("double_step", "understate_constant"),
)
def s2_d(*, quick: bool, mutation: str | None = None):
    """(D) per step, written with positive sides.

    f(X_{t+1}) − f* + η‖∇f‖_* <= f(X_t) − f* + 2η‖ε‖_* + (Lr/2)η².
    """
    ex = _get("s2_descent", quick, mutation)
    out = []
    for kind, per in ex.measured["lhs"].items():
        for method, lhs in per.items():
            ratio = ratio_to_bound(lhs, ex.theoretical["rhs"][kind][method], rtol=RTOL)
            out.append(
                Verdict.from_ratio(
                    "S2-D",
                    SRC,
                    f"{kind} quadratic 8x6, deterministic, {_NAMES[method]}",
                    "f(X_t) - f* + 2 eta_t ||eps_t||_* + (L r/2) eta_t^2",
                    "f(X_{t+1}) - f* + eta_t ||grad f(X_t)||_*",
                    ratio,
                    axes="(c_a, eta0, seed, t)",
                    rtol=RTOL,
                )
            )
    return out


# ------------------------------------------------------------------------------------------ (E)


@check(
    "S2-E",
    claim="The scalar recursions E-Muon, E-MVR1, E-MVR2 bound the measured E||M_t - grad f(X_t)||_F^2 "
    "at every t",
    source="S2",
    theorems=("S2.E.Muon", "S2.E.MVR1", "S2.E.MVR2"),
    experiment="s2_rates",
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


# ------------------------------------------------------------------------------------------ N1, N2


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
    "S2-N1",
    claim="Muon and MVR1 with horizon-free schedules: anytime O~(T^-1/4) bound on the gradient, "
    "ratio <= 1 for every T of one run",
    source="S2",
    theorems=("S2.star", "S2.N1", "S2.N1.MVR1"),
    experiment="s2_rates",
    mutations=("double_step", "understate_constant"),
)
def s2_n1(*, quick: bool, mutation: str | None = None):
    """(★) with the recursion and the closed form N1 at every T (noise-dominated and tight configurations)."""
    return _anytime("S2-N1", ("muon", "mvr1"), quick, mutation)


@check(
    "S2-N2",
    claim="MVR2 with the horizon-free schedule: anytime O~(T^-1/3) bound on the gradient, "
    "ratio <= 1 for every T of one run",
    source="S2",
    theorems=("S2.star", "S2.N2"),
    experiment="s2_rates",
    mutations=("double_step", "understate_constant"),
)
def s2_n2(*, quick: bool, mutation: str | None = None):
    """As S2-N1 for MVR2 (closed form N2)."""
    return _anytime("S2-N2", ("mvr2",), quick, mutation)


# ------------------------------------------------------------------------------------------ slopes


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
    "S2-slopes",
    claim="In the noise-dominated regime the estimator error and the gradient norm fall like "
    "T^-1/4 (Muon, MVR1) and T^-1/3 (MVR2), MVR2 significantly steeper",
    source="S2",
    theorems=("S2.N1", "S2.N1.MVR1", "S2.N2"),
    experiment="s2_rates",
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


# ------------------------------------------------------------------------------------------ PL


def _wrong_rate(T, method, mutation):
    """1, or T^(p − 2) under "wrong_exponent" (the claimed T^(−p) replaced by T^(−2))."""
    if mutation != "wrong_exponent":
        return 1.0
    p = 1 / 3 if method == "mvr2" else 1 / 4
    return np.asarray(T, dtype=float) ** (p - 2.0)


@check(
    "S2-P1",
    claim="Under PL the best iterate satisfies min_t E sqrt(f - f*) <= N_k / sqrt(2 mu) (Muon, MVR1, MVR2)",
    source="S2",
    theorems=("S2.P1", "S2.P1.MVR1", "S2.P1.MVR2"),
    experiment="s2_pl",
    mutations=("wrong_exponent",),
)
def s2_p1(*, quick: bool, mutation: str | None = None):
    """P1 at every T of one run (seed means; the bounds use the certified L, σ, μ).

    The bounds are loose here (worst ratios 0.01–0.02), so a 20 % understated constant, a doubled step
    or a flipped momentum sign (tried: worst ratio 0.015) cannot make them fail; the planted bug is
    "wrong_exponent": the claimed rate T^(−p) replaced by T^(−2) (bound × T^(p−2); with T^(−1)
    P2 is still not exceeded, since under PL the measured gap falls about twice as fast as claimed).
    """
    ex = _get("s2_pl", quick, None)
    out = []
    for method, m in ex.measured.items():
        t = ex.theoretical[method]
        ratio = ratio_to_bound(m["best_sqrt_gap"], t["p1"] * _wrong_rate(m["T"], method, mutation))
        out.append(
            Verdict.from_ratio(
                "S2-P1",
                SRC,
                f"{_PL_PROBLEM}, {_NAMES[method]}",
                "N_k / sqrt(2 mu)",
                "min_{t<=T} seed mean of sqrt(f(X_t) - f*)",
                ratio,
                worst_T=int(m["T"][ratio.index[0]]),
            )
        )
    return out


@check(
    "S2-P2",
    claim="Under PL with a gradient bound G the last iterate satisfies E f(X_T) - f* <= "
    "max(Delta, H/(c eta0 - p)) T^-p, c = 2 mu/G, p = 1/4 (Muon, MVR1), 1/3 (MVR2), p < c eta0 <= 1",
    source="S2",
    theorems=("S2.P2", "S2.P2.MVR1", "S2.P2.MVR2"),
    experiment="s2_pl",
    mutations=("wrong_exponent",),
)
def s2_p2(*, quick: bool, mutation: str | None = None):
    """P2 at every T; G = the largest ‖∇f(X_t)‖_F over all steps and seeds.

    Inconclusive if p < cη₀ <= 1 fails.

    Loose here (worst ratios about 0.07–0.13; flip_momentum tried: 0.13, not caught), so the planted bug
    is "wrong_exponent" as in S2-P1.
    """
    ex = _get("s2_pl", quick, None)
    out = []
    for method, m in ex.measured.items():
        t = ex.theoretical[method]
        prob = f"{_PL_PROBLEM}, {_NAMES[method]}, G={m['G']:.3g}, c*eta0={t['c_eta0']:.3g}"
        if not t["p2_applicable"]:
            out.append(
                Verdict(
                    claim="S2-P2",
                    source=SRC,
                    problem=prob,
                    bound="P2",
                    measured="-",
                    verdict="inconclusive",
                    details={"reason": t["p2_reason"]},
                )
            )
            continue
        ratio = ratio_to_bound(m["last_gap"], t["p2"] * _wrong_rate(m["T"], method, mutation))
        out.append(
            Verdict.from_ratio(
                "S2-P2",
                SRC,
                prob,
                "max(Delta, H/(c eta0 - p)) T^-p",
                "seed mean of f(X_T) - f*",
                ratio,
                worst_T=int(m["T"][ratio.index[0]]),
            )
        )
    return out


# ------------------------------------------------------------------------------------------ γ floor


@check(
    "S2-gamma-floor",
    claim="MVR1 with a constant gamma leaves an estimator-error floor ~ gamma*sigma, "
    "while gamma_t = t^-1/2 keeps decreasing",
    source="S2",
    theorems=(),
    experiment="s2_gamma_floor",
    mutations=("wrong_exponent",),
)
def s2_gamma_floor(*, quick: bool, mutation: str | None = None):
    """Late-time RMS error vs the quasi-stationary prediction (→ γσ), and the γ_t = t^(−1/2) reference.

    Rule: holds iff measured/predicted lies in FLOOR_RATIO = [0.9, 1.1] for every γ (the prediction
    neglects the drift, which is small near X*), and the reference run's RMS error is below min γσ.
    "wrong_exponent": the floor γσ replaced by √γ·σ (a wrong exponent of γ).
    """
    ex = _get("s2_gamma_floor", quick, None)
    m, t = ex.measured, ex.theoretical
    q = 0.5 if mutation == "wrong_exponent" else t["exponent"]
    pred = np.sqrt(t["transient"] + (m["gamma"] ** q * t["sigma"]) ** 2 * t["beta2"])
    ratios = m["plateau"] / pred
    lo, hi = FLOOR_RATIO
    prob = f"{_RATES_PROBLEM}, MVR1 with constant gamma in {m['gamma'].tolist()}"
    out = [
        Verdict(
            claim="S2-gamma-floor",
            source=SRC,
            problem=prob,
            bound=f"sqrt(sigma^2[(a+gamma^{q:g} beta)^2 + a beta^2/(1+beta)]) -> gamma^{q:g} sigma",
            measured=m["plateau"].tolist(),
            verdict="holds" if np.all((ratios >= lo) & (ratios <= hi)) else "violated",
            worst_ratio=float(ratios[np.argmax(np.abs(np.log(ratios)))]),
            details={
                "ratios": ratios.tolist(),
                "allowed": [lo, hi],
                "floor": t["floor"].tolist(),
                "window_t": list(m["window"]),
            },
        )
    ]
    below = m["reference_rms"] < float(np.min(t["floor"]))
    out.append(
        Verdict(
            claim="S2-gamma-floor",
            source=SRC,
            problem=f"{_RATES_PROBLEM}, MVR1 gamma_t = t^-1/2",
            bound=f"< min gamma*sigma = {float(np.min(t['floor'])):.4g}",
            measured=float(m["reference_rms"]),
            verdict="holds" if below else "violated",
        )
    )
    return out


# ------------------------------------------------------------------------------------------ same sample


@check(
    "S2-same-sample",
    claim="MVR2 needs the same sample at X_t and X_{t-1}: with the previous sample the "
    "estimator error loses the T^-1/3 rate",
    source="S2",
    theorems=(),
    experiment="s2_rates",
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
