r"""Figure 2 — the I1 bound of the inexact LMO method against measured runs (S1).

One panel per injected-error kind (expand, shrink, random, adversarial).  Deterministic
``lmo_step`` on ``isotropic_quadratic`` 8×6 in spectral geometry (certified L = L_spectral = 6),
K steps with constant step t: markers are the measured min_{k<K}‖∇f(X^k)‖_* (seed mean; bars the
seed range), solid lines the running average (1/K)Σ‖∇f(X^k)‖_*, dashed lines the I1 bound
Δ₀/((1−δ)tK) + Lt(1+δ)²/(2(1−δ)) from ``bounds.get("S1.I1")`` with the run's Δ₀, one colour per δ.
The numbers are those of ``lab check`` (experiment ``s1_i1``, the same cache).

Run ``python -m figures.fig02_s1_bound`` or ``lab figures fig02``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from figures import style
from figures.registry import script_main
from lab.claims.registry import get_experiment

NAME = "fig02_s1_bound"
CAPTION = (
    r"I1 bound (dashed, certified $L$) against the measured $\min_k\|\nabla f(X^k)\|_*$ (markers) and "
    r"running average (solid) over the step size $t$, for four injected oracle errors and $\delta$ values."
)


def draw(exp):
    ax_ = exp.meta["axes"]
    t = np.asarray(ax_["t"])
    deltas = ax_["delta"]
    fig = Figure(figsize=(style.DOUBLE, 0.62 * style.DOUBLE))
    axes = fig.subplots(2, 2, sharex=True, sharey=True).ravel()
    dmax = max(deltas)
    for k, (ax, kind) in enumerate(zip(axes, ax_["kind"], strict=True)):
        for i, d in enumerate(deltas):
            color = style.delta_color(d, delta_max=dmax)
            mn = exp.measured["min"][k, i, :, :, -1]  # (t, seed)
            av = exp.measured["avg"][k, i, :, :, -1].mean(axis=-1)
            b = exp.theoretical["bound"][k, i, :, :, -1].mean(axis=-1)  # Δ₀ is the same for all seeds
            mean = mn.mean(axis=-1)
            ax.errorbar(
                t,
                mean,
                yerr=[mean - mn.min(axis=-1), mn.max(axis=-1) - mean],
                color=color,
                marker="o",
                linestyle="none",
                markersize=2.6,
                elinewidth=0.6,
                label=rf"$\delta={d:g}$ min$_k$",
            )
            ax.plot(t, av, color=color, linewidth=0.9, label=rf"$\delta={d:g}$ average")
            style.bound_line(ax, t, b, color=color, label=rf"$\delta={d:g}$ I1 bound")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_title(f"oracle kind: {kind}")
        ax.grid(True, which="major")
    for ax in axes[2:]:
        ax.set_xlabel(r"step size $t$")
    for ax in axes[::2]:
        ax.set_ylabel(r"$\|\nabla f\|_*$ (nuclear) after $K$ steps")
    p = exp.meta["problem"]
    handles = [
        axes[0].plot([], [], color=style.delta_color(d, delta_max=dmax), linewidth=1.4)[0] for d in deltas
    ]
    labels = [rf"$\delta={d:g}$" for d in deltas]
    handles += [
        axes[0].plot([], [], color="k", marker="o", linestyle="none", markersize=2.6)[0],
        axes[0].plot([], [], color="k", linewidth=0.9)[0],
        axes[0].plot([], [], color="k", linewidth=0.9, linestyle="--")[0],
    ]
    labels += [
        r"measured $\min_{k<K}$ (seed mean, range)",
        r"measured $\frac{1}{K}\sum_{k<K}$",
        "I1 bound (bounds S1.I1)",
    ]
    fig.legend(handles, labels, loc="outside upper center", ncol=4)
    axes[0].text(
        0.02,
        0.03,
        rf"{p['name'].replace('_', ' ')} ${p['params']['m']}\times{p['params']['n']}$, "
        rf"$L={exp.theoretical['L']:g}$, $K={exp.meta['steps']}$, {len(ax_['seed'])} seeds",
        transform=axes[0].transAxes,
        fontsize="x-small",
        va="bottom",
    )
    return fig


def make(out_dir: str | Path, *, quick: bool = False) -> list[Path]:
    """Build figure 2 into ``out_dir``; returns the PDF and PNG paths."""
    exp = get_experiment("S1.I1")(quick=quick)
    with style.context():
        fig = draw(exp)
        return style.save(fig, Path(out_dir) / NAME)


if __name__ == "__main__":
    raise SystemExit(script_main(__name__))
