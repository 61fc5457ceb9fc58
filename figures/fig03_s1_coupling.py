r"""Figure 3 — coupling of the step size and momentum with the oracle precision (S1).

(a) Average (1/K)Σ‖∇f(X^k)‖_* after K deterministic ``lmo_step`` steps (seed mean) over step size t ×
oracle error δ (expand oracle), with the predicted t*(δ) = √(2Δ₀/(LK))/(1 + δ) of ``bounds.get("S1.I1")``
(line) and the measured refined argmin with its bootstrap interval (markers).  (b), (c) the same over
t × number of Newton–Schulz steps k for the cubic and Jordan presets (t*(0) as reference line).
(d) Stochastic Muon-EMA (I3, σ = 1, 20 seeds): min over t of the seed-mean average over α = 1 − β × δ,
with the bound's α*(δ) and the measured argmin.  Experiments ``s1_i1``, ``s1_i1_ns``, ``s1_i3``.

Run ``python -m figures.fig03_s1_coupling`` or ``lab figures fig03``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from figures import style
from figures.registry import script_main
from lab.claims.inexact_lmo.i1 import i1_argmins
from lab.claims.inexact_lmo.i3 import i3_optima
from lab.claims.registry import get_experiment
from lab.stats import argmin_with_uncertainty

NAME = "fig03_s1_coupling"
CAPTION = (
    r"Optimal step size and momentum against oracle precision: heatmaps of the final average "
    r"$\|\nabla f\|_*$ over $(t,\delta)$, $(t,k_{\mathrm{NS}})$ and $(\alpha=1-\beta,\delta)$ "
    r"with the predicted "
    r"optimum (line) and the measured argmin (markers, bootstrap interval)."
)


#: one line style per prediction, so the shared legend tells them apart
STYLE_A, STYLE_BC, STYLE_D = "--", "-.", ":"


def _edges(v, log=True):
    v = np.asarray(v, dtype=float)
    if log:
        u = np.log(v)
        mid = (u[1:] + u[:-1]) / 2
        return np.exp(np.concatenate([[2 * u[0] - mid[0]], mid, [2 * u[-1] - mid[-1]]]))
    mid = (v[1:] + v[:-1]) / 2
    return np.concatenate([[2 * v[0] - mid[0]], mid, [2 * v[-1] - mid[-1]]])


def _heat(fig, ax, x, y, Z, *, xlog=True, ylog=False, label=r"$\frac{1}{K}\sum_k\|\nabla f(X^k)\|_*$"):
    mesh = ax.pcolormesh(
        _edges(x, xlog),
        _edges(y, ylog),
        Z,
        norm=LogNorm(vmin=Z.min(), vmax=Z.max()),
        cmap="magma_r",
        shading="flat",
        rasterized=True,
    )
    if xlog:
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
    cb = fig.colorbar(mesh, ax=ax, pad=0.01, fraction=0.05)
    cb.set_label(label, fontsize="small")
    return mesh


EDGE_LABEL = "argmin on the grid edge (optimum at or beyond it)"


def _argmin_marks(ax, am, y, color="#56B4E9", label="measured argmin (95% CI)"):
    """Measured argmins with their intervals; one on the grid edge is an open arrow, not a point."""
    x = np.array([a.x_refined for a in am])
    lo = np.array([a.lo for a in am])
    hi = np.array([a.hi for a in am])
    edge = np.array([a.at_boundary for a in am])
    y = np.asarray(y, dtype=float)
    inner = ~edge
    ax.errorbar(
        x[inner],
        y[inner],
        xerr=[x[inner] - lo[inner], hi[inner] - x[inner]],
        color=color,
        marker="o",
        markersize=3,
        linestyle="none",
        elinewidth=0.8,
        capsize=1.5,
        label=label,
        zorder=3,
    )
    if edge.any():
        # the grid does not bracket these optima: no interval is meaningful, the arrow points outward
        right = np.array([a.index > 0 for a in am])
        for side, marker in ((True, ">"), (False, "<")):
            k = edge & (right == side)
            ax.plot(
                x[k], y[k], linestyle="none", marker=marker, markersize=4.5, markerfacecolor="none",
                markeredgecolor=color, zorder=3,
            )


def draw(i1, ns, i3):
    fig = Figure(figsize=(style.DOUBLE, 0.66 * style.DOUBLE))
    axes = fig.subplots(2, 2)
    _expand_panel(fig, axes[0, 0], i1)
    _ns_panels(fig, axes, ns)
    _momentum_panel(fig, axes[1, 1], i3)
    _legend(fig, axes)
    return fig


def _expand_panel(fig, ax, i1):
    """(a) I1 over t × δ under the expand oracle, with the predicted t*(δ) and the measured argmins."""
    a1 = i1.meta["axes"]
    k = a1["kind"].index("expand")
    Z = i1.measured["avg"][k, :, :, :, -1].mean(axis=-1)  # (δ, t)
    deltas = np.asarray(a1["delta"])
    _heat(fig, ax, a1["t"], deltas, Z)
    dd = np.linspace(deltas[0], deltas[-1], 50)
    ts = np.asarray(i1.theoretical["t_star"])
    ax.plot(ts[0] / (1 + dd), dd, color="w", linewidth=1.6)
    ax.plot(
        ts[0] / (1 + dd),
        dd,
        color="k",
        linewidth=0.9,
        linestyle=STYLE_A,
        label=r"predicted $t^*(\delta)=\sqrt{2\Delta_0/(LK)}/(1+\delta)$",
    )
    _argmin_marks(ax, i1_argmins(i1, k), deltas)
    ax.set_xlabel(r"step size $t$")
    ax.set_ylabel(r"oracle error $\delta$ (expand)")
    ax.set_title(rf"(a) I1, expand oracle, $K={i1.meta['steps']}$", fontsize="medium")


def _ns_panels(fig, axes, ns):
    """(b), (c) I1 over t × Newton–Schulz steps for the cubic and Jordan presets."""
    a2 = ns.meta["axes"]
    ks = np.asarray(a2["ns_steps"], dtype=float)
    for ax, preset, letter in ((axes[0, 1], "cubic", "b"), (axes[1, 0], "jordan", "c")):
        p = a2["preset"].index(preset)
        Y = ns.measured["avg"][p]  # (k, t, seed)
        _heat(fig, ax, a2["t"], ks, Y.mean(axis=-1))
        ax.axvline(
            ns.theoretical["t_star"],
            color="k",
            linestyle=STYLE_BC,
            linewidth=0.9,
            label=r"$t^*(0)$ (exact oracle)",
        )
        am = [argmin_with_uncertainty(a2["t"], Y[j].T, rng=0) for j in range(len(ks))]
        _argmin_marks(ax, am, ks)
        ax.set_xlabel(r"step size $t$")
        ax.set_ylabel(r"Newton–Schulz steps $k$")
        ax.set_title(f"({letter}) I1, {style.preset_style(preset)['label']} NS oracle", fontsize="medium")


def _momentum_panel(fig, ax, i3):
    """(d) I3 over α × δ (the largest σ, minimum over t), with the bound's α*(δ) and the measured argmins."""
    a3 = i3.meta["axes"]
    s = a3["sigma"].index(max(a3["sigma"]))
    M = i3.measured["avg"][s].mean(axis=-1)  # (δ, t, α)
    d3 = np.asarray(a3["delta"])
    _heat(
        fig,
        ax,
        a3["alpha"],
        d3,
        M.min(axis=1),
        label=r"$\min_t$ seed mean of $\frac{1}{K}\sum_k\|\nabla f\|_*$",
    )
    a_opt = np.asarray(i3.theoretical["alpha_opt"])[s]
    ax.plot(a_opt, d3, color="w", linewidth=1.6)
    ax.plot(
        a_opt,
        d3,
        color="k",
        linestyle=STYLE_D,
        linewidth=0.9,
        label=r"bound's $\alpha^*(\delta)\propto(1+\delta)^{1/2}$",
    )
    _argmin_marks(ax, [o[1] for o in i3_optima(i3, s)], d3)
    ax.set_xlabel(r"$\alpha = 1-\beta$ (weight on the fresh gradient)")
    ax.set_ylabel(r"oracle error $\delta$ (expand)")
    ax.set_title(
        rf"(d) I3, EMA momentum, $\sigma={a3['sigma'][s]:g}$, {len(a3['seed'])} seeds", fontsize="medium"
    )


def _legend(fig, axes):
    """One legend for the four panels, above them."""
    handles = [
        axes[0, 0].plot([], [], color="k", linestyle=STYLE_A, linewidth=0.9)[0],
        axes[0, 1].plot([], [], color="k", linestyle=STYLE_BC, linewidth=0.9)[0],
        axes[1, 1].plot([], [], color="k", linestyle=STYLE_D, linewidth=0.9)[0],
        axes[0, 0].errorbar([], [], xerr=[], color="#56B4E9", marker="o", markersize=3, linestyle="none"),
        axes[0, 0].plot([], [], linestyle="none", marker=">", markersize=4.5, markerfacecolor="none",
                        markeredgecolor="#56B4E9")[0],
    ]
    labels = [
        r"(a) predicted $t^*(\delta)=\sqrt{2\Delta_0/(LK)}/(1+\delta)$",
        r"(b, c) $t^*(0)$, exact oracle",
        r"(d) bound's $\alpha^*(\delta)\propto(1+\delta)^{1/2}$",
        "measured argmin (95% bootstrap CI)",
        EDGE_LABEL,
    ]
    fig.legend(handles, labels, loc="outside upper center", ncol=3)


def make(out_dir: str | Path, *, quick: bool = False) -> list[Path]:
    """Build figure 3 into ``out_dir``; returns the PDF and PNG paths."""
    i1 = get_experiment("S1.I1")(quick=quick)
    ns = get_experiment("S1.I1.trend")(quick=quick)
    i3 = get_experiment("S1.I3")(quick=quick)
    with style.context():
        fig = draw(i1, ns, i3)
        return style.save(fig, Path(out_dir) / NAME)


if __name__ == "__main__":
    raise SystemExit(script_main(__name__))
