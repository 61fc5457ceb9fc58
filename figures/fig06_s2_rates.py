r"""Figure 6 — variance-reduced Muon: anytime rates of Muon, MVR1 and MVR2 (S2).

Panels (a), (b): the ``s2_rates`` experiment (``kronecker_quadratic`` 8×6, κ = 10, Gaussian noise
σ = 0.2, start near X*, horizon-free schedules, exact polar): estimator error ‖M_T − ∇f(X_T)‖_F and
gradient norm ‖∇f(X_T)‖_F against T, median over seeds with the 10–90 % band, log-log slopes with
95 % bootstrap intervals over seeds (the fit window is shaded) against −1/4 (Muon, MVR1) and −1/3
(MVR2).  Dashed: (a) √ of the E-recursion bounds on E‖ε_T‖_F²; (b) the anytime bounds ((★) with
the recursion, :func:`bounds.s2.anytime_bound`), which bound the η-weighted average of
E‖∇f‖_* >= E‖∇f‖_F.

Panels (c), (d): the ``s2_pl`` experiment (``isotropic_quadratic``, PL with μ = 1, σ = 0.05):
best iterate min_{t<=T} E√(f − f*) against the P1 bounds, last iterate E f(X_T) − f* against the P2
bounds (G measured along the paths), dashed.

Run ``python -m figures.fig06_s2_rates`` or ``lab figures fig06``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from figures import style
from figures.registry import script_main
from lab.claims.registry import get_experiment
from lab.claims.variance_reduction.rates import rate_slopes

NAME = "fig06_s2_rates"
CAPTION = (
    r"Variance-reduced Muon (S2): (a) estimator error and (b) gradient norm against $T$ for Muon, MVR1 and "
    r"MVR2 (median, 10–90 % band, fitted slopes vs $-1/4$, $-1/3$, bounds dashed); PL: (c) best iterate "
    r"$\min_t \mathbb{E}\sqrt{f-f^*}$ vs P1, (d) last iterate $\mathbb{E}f(X_T)-f^*$ vs P2."
)

METHODS = ("muon", "mvr1", "mvr2")
STYLES = {
    "muon": {"color": "#0072B2", "linestyle": "-", "label": "Muon"},
    "mvr1": {"color": "#009E73", "linestyle": "-.", "label": "MVR1"},
    "mvr2": {"color": "#D55E00", "linestyle": "-", "label": "MVR2"},
}


def _band(ax, T, Y, st):
    lo, med, hi = np.quantile(Y, [0.1, 0.5, 0.9], axis=0)
    ax.fill_between(T, lo, hi, color=st["color"], alpha=0.18, linewidth=0)
    ax.plot(T, med, color=st["color"], linestyle=st["linestyle"], label=st["label"])


def draw(rates, pl):
    fig, axes = style.figure("double", aspect=0.62, nrows=2, ncols=2)
    (ax_e, ax_g), (ax_p1, ax_p2) = axes
    m, th = rates.measured, rates.theoretical
    window = th["muon"]["window"]
    fits = rate_slopes({k: m[k] for k in METHODS}, window)
    for j, k in enumerate(METHODS):
        st = STYLES[k]
        Te = m[k]["e_steps"] + 1.0
        pos = Te >= 1
        _band(ax_e, Te[pos], m[k]["est_err"][:, pos], st)
        ax_e.plot(Te, np.sqrt(th[k]["e_bound"]), color=st["color"], linestyle="--", linewidth=0.8)
        Tg = m[k]["checkpoints"] + 1.0
        _band(ax_g, Tg, m[k]["grad_fro"], st)
        ax_g.plot(th[k]["avg_T"], th[k]["anytime_bound"], color=st["color"], linestyle="--", linewidth=0.8)
        for ax, q in ((ax_e, "est_err"), (ax_g, "grad_fro")):
            f = fits[k][q]
            style.annotate_slope(
                ax,
                f.slope,
                th[k]["exponent"],
                ci=(f.lo, f.hi),
                xy=(0.03, 0.03 + 0.08 * j),
                color=st["color"],
                fontsize=6,
            )
    for ax in (ax_e, ax_g):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.axvspan(*window, color="0.9", zorder=0)
        ax.set_xlabel(r"$T$")
    ax_e.set_ylabel(r"$\|M_T-\nabla f(X_T)\|_F$")
    ax_g.set_ylabel(r"$\|\nabla f(X_T)\|_F$")
    ax_e.set_title(r"(a) estimator error; dashed: $\sqrt{e_T}$ bound (E recursion)", fontsize="medium")
    ax_g.set_title(r"(b) gradient norm; dashed: anytime bound $(\star)$", fontsize="medium")
    ax_e.legend(loc="upper right", ncol=3)
    # what the bands, the shading and the dashes mean (shared by both panels)
    key = [
        Line2D([], [], color="0.3", label="median over seeds"),
        Patch(facecolor="0.3", alpha=0.18, linewidth=0, label="10–90 % of seeds"),
        Patch(facecolor="0.9", linewidth=0, label="slope-fit window"),
        Line2D([], [], color="0.3", linestyle="--", linewidth=0.8, label="bound"),
    ]
    ax_g.legend(handles=key, loc="upper left", bbox_to_anchor=(0.0, 0.9), fontsize=6)

    mp, tp = pl.measured, pl.theoretical
    for k in METHODS:
        st = STYLES[k]
        T = mp[k]["T"]
        ax_p1.plot(T, mp[k]["best_sqrt_gap"], color=st["color"], linestyle=st["linestyle"], label=st["label"])
        ax_p1.plot(T, tp[k]["p1"], color=st["color"], linestyle="--", linewidth=0.8)
        ax_p2.plot(T, mp[k]["last_gap"], color=st["color"], linestyle=st["linestyle"], label=st["label"])
        ax_p2.plot(T, tp[k]["p2"], color=st["color"], linestyle="--", linewidth=0.8)
    for ax in (ax_p1, ax_p2):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(r"$T$")
    G = mp["muon"]["G"]
    ax_p1.set_ylabel(r"$\min_{t\leq T}\mathbb{E}\sqrt{f(X_t)-f^*}$")
    ax_p2.set_ylabel(r"$\mathbb{E}f(X_T)-f^*$")
    ax_p1.set_title(r"(c) PL, best iterate; dashed: P1 bounds", fontsize="medium")
    ax_p2.set_title(rf"(d) PL, last iterate; dashed: P2 bounds ($G={G:.2f}$)", fontsize="medium")
    ax_p1.legend(loc="lower left", ncol=3)
    return fig


def make(out_dir: str | Path, *, quick: bool = False) -> list[Path]:
    """Build figure 6 into ``out_dir``; returns the PDF and PNG paths."""
    rates = get_experiment("S2.N1")(quick=quick)
    pl = get_experiment("S2.P1")(quick=quick)
    with style.context():
        fig = draw(rates, pl)
        return style.save(fig, Path(out_dir) / NAME)


if __name__ == "__main__":
    raise SystemExit(script_main(__name__))
