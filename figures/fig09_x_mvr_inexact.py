r"""Figure 9 — Muon-MVR2 with an inexact oracle (the lab's combined theorem ``X.MVR2.inexact``).

(a) ``x_mvr_rates``: ‖∇f(X_T)‖_F against T under S2's horizon-free MVR2 schedule for the exact
oracle, injected errors and Newton–Schulz presets (median over seeds with the 10–90 % band).
(b) The fitted exponent of E‖∇f(X_T)‖_F with its 95 % bootstrap interval against δ (nominal δ for the
injected kinds, the largest measured δ_op along the run for Newton–Schulz), and the predicted −1/3.
(c) ``x_mvr_grid``: degradation against δ — the best-over-η seed-mean of (1/T)Σ‖∇f‖_* at δ over its
value at δ = 0 (markers) under the theorem's factor (1 + δ)^(1/3)/(1 − δ) (solid), and the shift of
the grid-optimal step η̂(δ)/η̂(0) (expand kind, open markers) with the theorem's η*(δ)/η*(0) =
(1 + δ)^(−1/3) (dashed).

Run ``python -m figures.fig09_x_mvr_inexact`` or ``lab figures fig09``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from figures import style
from figures.registry import script_main
from lab.claims.registry import get_experiment
from lab.stats import argmin_with_uncertainty, slope_ci

NAME = "fig09_x_mvr_inexact"
CAPTION = (
    r"Muon-MVR2 with a $\delta$-inexact oracle (lab theorem X.MVR2.inexact): (a) gradient norm against $T$ "
    r"for injected and Newton--Schulz oracles; (b) fitted exponent vs $\delta$ against $-1/3$; (c) measured "
    r"degradation and optimal-step shift vs $\delta$ against $(1+\delta)^{1/3}/(1-\delta)$ and "
    r"$(1+\delta)^{-1/3}$."
)


def _delta_of(label, m):
    if label.startswith("ns:"):
        return float(np.nanmax(m["delta_op"][:, :-1]))
    return 0.0 if label == "exact" else float(label.split(":")[1])


def draw(rates, grid):
    fig, (ax_t, ax_s, ax_d) = style.figure("double", aspect=0.32, nrows=1, ncols=3)
    window = rates.theoretical["window"]
    colors = ["k", "#0072B2", "#56B4E9", "#009E73", "#D55E00", "#CC79A7"]
    for j, (label, m) in enumerate(rates.measured.items()):
        T = m["checkpoints"] + 1.0
        Y = m["grad_fro"]
        lo, med, hi = np.quantile(Y, [0.1, 0.5, 0.9], axis=0)
        c = colors[j % len(colors)]
        ax_t.fill_between(T, lo, hi, color=c, alpha=0.12, linewidth=0)
        ax_t.plot(T, med, color=c, label=label, linewidth=0.9)
        keep = (T >= window[0]) & (T <= window[1])
        ci = slope_ci(T[keep], Y[:, keep], window)
        marker = "s" if label.startswith("ns:") else "o"
        d = _delta_of(label, m)
        ax_s.errorbar(
            [d], [ci.slope], yerr=[[ci.slope - ci.lo], [ci.hi - ci.slope]], fmt=marker, color=c, ms=4
        )
    ax_t.set_xscale("log")
    ax_t.set_yscale("log")
    ax_t.axvspan(*window, color="0.92", zorder=0)
    ax_t.set_xlabel(r"$T$")
    ax_t.set_ylabel(r"$\|\nabla f(X_T)\|_F$")
    ax_t.legend(loc="lower left", fontsize=5, ncol=2)
    ax_t.set_title("(a) MVR2, horizon-free schedule", fontsize="medium")
    ax_s.axhline(rates.theoretical["exponent"], color="k", linestyle="--", linewidth=0.8, label=r"$-1/3$")
    ax_s.axhline(-0.25, color="0.5", linestyle=":", linewidth=0.8, label=r"$-1/4$")
    ax_s.set_xlabel(r"$\delta$ (nominal; NS: measured $\max\delta_{op}$)")
    ax_s.set_ylabel("fitted exponent (95% CI)")
    ax_s.legend(loc="upper left", fontsize=6)
    ax_s.set_title("(b) rate against $\\delta$", fontsize="medium")

    ax = grid.meta["axes"]
    mean = grid.measured["avg"][0].mean(axis=-1)  # MVR2: (kind, δ, η)
    d = np.asarray(ax["delta"])
    dd = np.linspace(0.0, max(d) * 1.05, 60)
    ax_d.plot(
        dd, (1 + dd) ** (1 / 3) / (1 - dd), color="k", linewidth=0.9, label=r"$(1+\delta)^{1/3}/(1-\delta)$"
    )
    ax_d.plot(
        dd,
        (1 + dd) ** (-1 / 3),
        color="k",
        linestyle="--",
        linewidth=0.9,
        label=r"$\eta^*(\delta)/\eta^*(0)$",
    )
    for k, kind in enumerate(ax["kind"]):
        best = mean[k].min(axis=-1)
        ax_d.plot(
            d, best / best[0], "o", color=colors[1 + 2 * k], ms=4, label=f"measured degradation ({kind})"
        )
    k = ax["kind"].index("expand")
    eta_hat = [
        argmin_with_uncertainty(ax["eta"], grid.measured["avg"][0, k, j].T, rng=0).x_refined
        for j in range(len(d))
    ]
    ax_d.plot(
        d,
        np.asarray(eta_hat) / eta_hat[0],
        "D",
        mfc="none",
        color="#D55E00",
        ms=4,
        label=r"$\hat\eta(\delta)/\hat\eta(0)$ (expand)",
    )
    ax_d.set_xlabel(r"$\delta$")
    ax_d.set_ylabel("ratio to $\\delta = 0$")
    ax_d.legend(loc="upper left", fontsize=5)
    ax_d.set_title("(c) degradation and step shift", fontsize="medium")
    return fig


def make(out_dir: str | Path, *, quick: bool = False) -> list[Path]:
    """Build figure 9 into ``out_dir``; returns the PDF and PNG paths."""
    rates = get_experiment("X.MVR2.inexact")(quick=quick)
    grid = get_experiment("X.MVR2.inexact.bound")(quick=quick)
    with style.context():
        fig = draw(rates, grid)
        return style.save(fig, Path(out_dir) / NAME)


if __name__ == "__main__":
    raise SystemExit(script_main(__name__))
