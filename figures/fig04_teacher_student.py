r"""Figure 4 — the NS-step learning-rate shift on a two-layer teacher–student network (S1's NanoGPT analogue).

Muon (EMA β = 0.95, Nesterov) with a k-step Newton–Schulz oracle on ``teacher_student`` with
minibatch gradients: the full-batch loss averaged over the last 10 % of the steps against the learning
rate, one panel per NS preset and one curve per k (median over seeds, 25–75 % band), with the exact
polar factor as a reference and the measured optimum (:func:`lab.stats.argmin_with_uncertainty`,
bootstrap 95 % interval) marked.  Data: :func:`lab.claims.layerwise.lr_shift.s1_ns_lr_shift`.

Run ``python -m figures.fig04_teacher_student`` or ``lab figures fig04``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from figures import style
from figures.registry import script_main
from lab.claims.registry import get_experiment

NAME = "fig04_teacher_student"
CAPTION = (
    r"Muon on a two-layer teacher–student network: final loss vs learning rate per Newton–Schulz "
    r"preset and step count $k$ (median and quartile band over seeds; optimum with 95% interval)."
)


def make(out_dir: str | Path, *, quick: bool = False) -> list[Path]:
    e = get_experiment("S1.NS.lr_shift")(quick=quick)
    m, _ = e
    cfg = e.meta["config"]
    lr = np.asarray(cfg["lr"])
    presets, ks = cfg["preset"], cfg["k"]
    colors = style.rc()["axes.prop_cycle"].by_key()["color"]
    with style.context():
        fig, axes = style.figure(
            "double", aspect=0.3 if len(presets) > 2 else 0.42, ncols=len(presets), sharey=True, squeeze=False
        )
        for ax, p in zip(axes[0], presets, strict=True):
            for j, k in enumerate(ks + [0]):
                Y = m["exact"] if k == 0 else m["final"][presets.index(p), ks.index(k)]
                med = np.nanmedian(Y, axis=0)
                lo, hi = np.nanquantile(Y, [0.25, 0.75], axis=0)
                c = "k" if k == 0 else colors[j % len(colors)]
                lab = "exact polar" if k == 0 else f"$k={k}$"
                ax.plot(
                    lr, med, color=c, marker="o" if k else None, linestyle="--" if k == 0 else "-", label=lab
                )
                ax.fill_between(lr, lo, hi, color=c, alpha=0.15, linewidth=0)
                am = m["lr_opt"][("exact", 0) if k == 0 else (p, k)]
                y = np.interp(np.log(am.x_refined), np.log(lr), med)
                ax.errorbar(
                    [am.x_refined],
                    [y],
                    xerr=[[am.x_refined - am.lo], [am.hi - am.x_refined]],
                    color=c,
                    marker="*",
                    markersize=6,
                    capsize=1.5,
                    linewidth=0.8,
                )
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(style.preset_style(p)["label"])
            ax.set_xlabel("learning rate")
        axes[0][0].set_ylabel("final loss (mean of last 10% of steps)")
        axes[0][-1].legend(loc="upper left", ncol=1)
        return style.save(fig, Path(out_dir) / NAME)


if __name__ == "__main__":
    raise SystemExit(script_main(__name__))
