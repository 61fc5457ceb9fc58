r"""Figure 10b — δ along real training: each preset's measured δ_op against exact polar, per layer and step.

Experiment ``real_delta`` (the oracle inputs of a Jordan-NS5 run, torch's default, recorded every few
steps: char-level transformer on standard-library source, MLP on digits): (a) the margin 1 − δ_op at
k = 5 against step (median over layers, band: min–max over layers) per preset, with the uniform bound's
margin 1 − ns_delta(x_min, 5) dashed; (b) the fraction of records with δ_op < 1 and the median margin
against k; (c) the normalised smallest singular value x_min = σ_min/‖M‖_F per layer against step.

Built by ``make real`` / ``lab figures --real``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from figures import style
from figures.registry import script_main
from lab.claims.registry import get_experiment

NAME = "fig10b_real_delta"
CAPTION = (
    r"$\delta$ along real training: margin $1-\delta_{op}$ at $k=5$ per preset against step "
    r"(layers: median and range; bound dashed), median margin against $k$, and the normalised "
    r"$\sigma_{\min}$ per layer."
)
REAL = True


def make(out_dir, *, quick: bool = False) -> list[Path]:
    exp = get_experiment("S1.real.delta_bound")(quick=quick)
    m, bound = exp.measured, exp.theoretical["bound"]
    tasks = list(exp.meta["tasks"])
    ti = len(tasks) - 1  # the last task (the transformer in the full run)
    sel = m["task"] == ti
    steps = np.unique(m["step"][sel])
    ks = list(exp.meta["k"])
    j5 = ks.index(5)
    tiny = 1e-18  # δ = 1 exactly would vanish on the log axis
    with style.context():
        fig, axes = style.figure("double", aspect=0.3, ncols=3)
        for i, preset in enumerate(exp.meta["presets"]):
            st = style.preset_style(preset)
            marg = np.maximum(1 - m["delta"][sel, i, j5], tiny)
            bmarg = np.maximum(1 - bound[sel, i, j5], tiny)
            med = [np.median(marg[m["step"][sel] == s]) for s in steps]
            lo = [np.min(marg[m["step"][sel] == s]) for s in steps]
            hi = [np.max(marg[m["step"][sel] == s]) for s in steps]
            bmed = [np.median(bmarg[m["step"][sel] == s]) for s in steps]
            axes[0].plot(
                steps, med, color=st["color"], marker=st["marker"], ms=2.5, lw=0.8, label=st["label"]
            )
            axes[0].fill_between(steps, lo, hi, color=st["color"], alpha=0.15, lw=0)
            axes[0].plot(steps, bmed, color=st["color"], ls="--", lw=0.6)
            allm = np.maximum(1 - m["delta"][:, i, :], tiny)
            axes[1].plot(
                ks,
                np.median(allm, axis=0),
                color=st["color"],
                marker=st["marker"],
                ms=2.5,
                lw=0.8,
                label=f"{st['label']} (δ<1: {np.mean(m['delta'][:, i, :] < 1):.0%})",
            )
        axes[0].set_yscale("log")
        axes[0].set_xlabel(f"step ({tasks[ti]})")
        axes[0].set_ylabel(r"$1-\delta_{op}$ at $k=5$")
        axes[0].legend(fontsize="xx-small")
        axes[1].set_yscale("log")
        axes[1].set_xlabel("Newton–Schulz steps $k$")
        axes[1].set_ylabel(r"median $1-\delta_{op}$ (all records)")
        axes[1].legend(fontsize="xx-small")
        for layer in np.unique(m["layer"][sel]):
            s = sel & (m["layer"] == layer)
            axes[2].semilogy(m["step"][s], np.maximum(m["x_min"][s], tiny), lw=0.7, label=f"layer {layer}")
        axes[2].set_xlabel(f"step ({tasks[ti]})")
        axes[2].set_ylabel(r"$x_{\min}=\sigma_{\min}/\|M\|_F$")
        axes[2].legend(fontsize="xx-small", ncol=2)
        for ax, letter in zip(axes, "abc", strict=True):
            style.panel_label(ax, letter)
        return style.save(fig, Path(out_dir) / NAME)


if __name__ == "__main__":
    raise SystemExit(script_main(__name__))
