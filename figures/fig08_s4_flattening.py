r"""Figure 8 — spectral flattening: Muon's step is set by the mean singular value (S4).

(a) One-step descent thresholds found by bisection on the loss (markers) against the mean singular
value σ̄ of the gradient, σ₁ = 1 fixed (``flattening`` problems, isotropic 𝓗 = L·Id and an anisotropic
Kronecker 𝓗): Muon follows 2‖G‖_*/⟨O, 𝓗O⟩ (= 2σ̄/L isotropic, line), GD stays at 2/λ_max
(its threshold is set by σ₁ and λ_max, not σ̄).
(b) Largest loss gap over 60 steps divided by the initial gap against η/(2/λ_max) on an anisotropic
Kronecker quadratic: GD diverges beyond 1 (triangles: runs that overflowed), Muon stays below its
certified level max(1, B(η)/gap₀) (dashed); growth above 10⁶ is marked at the top edge.
(c) The loss floor of constant-step Muon against η with the certified invariant level
B(η) = L_op²η²/(8μ) + L_opη²/2 and the fitted slope (fit window η ≤ 0.008).

Data: ``s4_thresholds``, ``s4_divergence``, ``s4_floor``.  Run ``python -m figures.fig08_s4_flattening``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

from figures import style
from figures.registry import script_main
from lab.claims.registry import get_experiment
from lab.stats import slope_ci

NAME = "fig08_s4_flattening"
CAPTION = (
    r"Spectral flattening: (a) one-step thresholds of Muon and GD against the mean singular value with "
    r"$\sigma_1$ fixed; (b) GD diverges beyond $2/\lambda_{\max}$, Muon stays bounded; (c) the $\eta^2$ loss "
    r"floor of constant-step Muon."
)

GD_C, MUON_C = "#D55E00", "#0072B2"
#: panel (b) shows growth factors up to this value; larger ones are marked at the top edge
GROWTH_CAP = 1e6


def _plain_log_ticks(axis, values):
    """Label a short log axis at 1, 2, 3, 5 x 10^k in plain numbers (one decade gets one label otherwise)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    lo, hi = np.floor(np.log10(v.min())), np.ceil(np.log10(v.max()))
    ticks = [m * 10.0**e for e in np.arange(lo, hi + 1) for m in (1, 2, 3, 5)]
    axis.set_major_locator(FixedLocator(ticks))
    axis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
    axis.set_minor_formatter(NullFormatter())


def draw(thr, div, flo):
    fig, axes = style.figure("double", aspect=0.36, nrows=1, ncols=3)
    _thresholds_panel(axes[0], thr)
    _divergence_panel(axes[1], div)
    _floor_panel(axes[2], flo)
    for a in axes:
        a.xaxis.set_minor_formatter(NullFormatter())
    return fig


def _thresholds_panel(ax, thr):
    """(a) one-step thresholds of Muon and GD against the mean singular value, with their formulas."""
    m, th = thr
    for curv, mk, ls in (("isotropic", "o", "-"), ("anisotropic", "s", "--")):
        k = thr.meta["curvature"] == curv
        sb = m["sigma_bar"][k]
        order = np.argsort(sb)
        ax.plot(
            sb[order],
            m["muon_bisect"][k][order],
            linestyle="none",
            marker=mk,
            color=MUON_C,
            label=f"Muon, {curv} (bisection)",
            markerfacecolor="none" if curv == "anisotropic" else MUON_C,
        )
        ax.plot(sb[order], th["muon_formula"][k][order], linestyle=ls, color=MUON_C, linewidth=0.8)
        ax.plot(
            sb[order],
            m["gd_bisect"][k][order],
            linestyle="none",
            marker=mk,
            color=GD_C,
            label=f"GD, {curv} (bisection)",
            markerfacecolor="none" if curv == "anisotropic" else GD_C,
        )
        ax.plot(sb[order], th["gd_formula"][k][order], linestyle=ls, color=GD_C, linewidth=0.8)
    k = thr.meta["curvature"] == "isotropic"
    # in the legend rather than as text: the GD curve lies on this line
    ax.axhline(
        float(th["gd_stability"][k][0]),
        color="0.5",
        linewidth=0.6,
        linestyle=":",
        label=r"$2/\lambda_{\max}$ (isotropic)",
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"mean singular value $\bar\sigma(G)$ ($\sigma_1 = 1$ fixed)")
    ax.set_ylabel(r"one-step threshold $\eta^*$")
    ax.set_title(
        r"(a) lines: $2\|G\|_*/\langle O,\mathcal{H}O\rangle$, $2\|G\|_F^2/\langle G,\mathcal{H}G\rangle$",
        fontsize="small",
    )
    _plain_log_ticks(ax.xaxis, m["sigma_bar"])
    _plain_log_ticks(ax.yaxis, np.concatenate([m["muon_bisect"], m["gd_bisect"]]))
    ax.legend(loc="lower right", fontsize=5.5)


def _divergence_panel(ax, div):
    """(b) the largest loss growth against η/(2/λ_max): GD diverges, Muon stays under its level."""
    m, th = div
    ef, meth = div.meta["eta_factor"], div.meta["method"]
    for name, c, mk in (("gd", GD_C, "o"), ("muon", MUON_C, "s")):
        k = meth == name
        xs = np.unique(ef[k])
        growth = np.array([np.nanmax(m["gap"][k & (ef == x)] / m["gap"][k & (ef == x)][:, :1]) for x in xs])
        diverged = np.array([np.isnan(m["gap"][k & (ef == x)]).any() for x in xs])
        # growth beyond the axis cap is shown as markers at the top edge: a 1e145 axis would
        # flatten every bounded curve
        off = ~diverged & (growth > GROWTH_CAP)
        on = ~diverged & ~off
        ax.plot(
            xs[on],
            growth[on],
            marker=mk,
            color=c,
            label="GD" if name == "gd" else "Muon (exact polar)",
        )
        if off.any():
            who = "GD" if name == "gd" else "Muon"
            cap = f"$10^{{{np.log10(GROWTH_CAP):.0f}}}$"
            style.mark_diverged(ax, xs[off], color=c, label=f"{who} above {cap}")
        if diverged.any():
            style.mark_diverged(ax, xs[diverged], color=c, marker="x", label="GD overflowed")
    k = meth == "muon"
    xs = np.unique(ef[k])
    sup = np.array([np.max(th["muon_sup"][k & (ef == x)] / m["gap"][k & (ef == x)][:, 0]) for x in xs])
    style.bound_line(ax, xs, sup, color=MUON_C, label="Muon certified level")
    ax.axvline(1.0, color="0.5", linewidth=0.6, linestyle=":")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(top=GROWTH_CAP * 10)
    _plain_log_ticks(ax.xaxis, ef)
    ax.set_xlabel(r"$\eta \,/\, (2/\lambda_{\max})$")
    ax.set_ylabel(r"$\max_t\, (F_t - F^*)/(F_0 - F^*)$")
    ax.set_title("(b) GD diverges, Muon stays bounded", fontsize="small")
    ax.legend(loc="upper left", fontsize=5.5)


def _floor_panel(ax, flo):
    """(c) the constant-step loss floor of Muon against η, with its certified η² level and slope."""
    m, th = flo
    eta, seeds = flo.meta["eta"], flo.meta["seed"]
    etas = np.unique(eta)
    Y = np.array([[m["floor"][(seeds == s) & (eta == x)][0] for x in etas] for s in np.unique(seeds)])
    ax.plot(etas, Y.T, color=MUON_C, alpha=0.25, linewidth=0.6)
    ax.plot(etas, Y.mean(axis=0), color=MUON_C, marker="o", label="tail mean of $F-F^*$ (per seed, mean)")
    level = np.array([th["level"][eta == x][0] for x in etas])
    style.bound_line(ax, etas, level, label=r"certified level $B(\eta)\propto\eta^2$")
    ci = slope_ci(etas, Y, th["window"], rng=0)
    style.annotate_slope(ax, ci.slope, 2, ci=(ci.lo, ci.hi), xy=(0.04, 0.9), va="top")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"step size $\eta$")
    ax.set_ylabel(r"loss floor $F - F^*$")
    ax.set_title(r"(c) constant-step Muon: floor $\propto\eta^2$", fontsize="small")
    ax.legend(loc="lower right", fontsize=5.5)


def make(out_dir: str | Path, *, quick: bool = False) -> list[Path]:
    """Build figure 8 into ``out_dir``; returns the PDF and PNG paths."""
    thr = get_experiment("S4.threshold")(quick=quick)
    div = get_experiment("S4.gd.stability")(quick=quick)
    flo = get_experiment("S4.muon.level")(quick=quick)
    with style.context():
        fig = draw(thr, div, flo)
        return style.save(fig, Path(out_dir) / NAME)


if __name__ == "__main__":
    raise SystemExit(script_main(__name__))
