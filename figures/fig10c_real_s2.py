r"""Figure 10c — S2 per iteration on real data: the loss of Muon, MVR1 and MVR2 against step.

Experiment ``real_s2`` (exact polar, β = 0.9, each method at its best learning rate on a grid): the
evaluation loss against step, seed mean with a 95 % bootstrap band over seeds, for each task (MLP on
scikit-learn's digits; char-level transformer on standard-library source).

Built by ``make real`` / ``lab figures --real``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from figures import style
from figures.registry import script_main
from lab.claims.registry import get_experiment

NAME = "fig10c_real_s2"
CAPTION = (
    r"S2 per iteration on real data: evaluation loss of Muon, MVR1 and MVR2 (each at its best learning rate) "
    r"against step, seed mean and 95\% bootstrap band."
)
REAL = True
STYLES = {
    "muon": {"color": "#0072B2", "linestyle": "-", "label": "Muon"},
    "mvr1": {"color": "#009E73", "linestyle": "-.", "label": "MVR1"},
    "mvr2": {"color": "#D55E00", "linestyle": "--", "label": "MVR2"},
}


def _band(Y, n_boot=2000, seed=0):
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, Y.shape[0], (n_boot, Y.shape[0]))
    means = Y[idx].mean(axis=1)
    return np.quantile(means, 0.025, axis=0), np.quantile(means, 0.975, axis=0)


def make(out_dir, *, quick: bool = False) -> list[Path]:
    exp = get_experiment("S2.real.mvr")(quick=quick)
    tasks = list(exp.meta["tasks"])
    with style.context():
        fig, axes = style.figure("double", aspect=0.3, ncols=len(tasks), squeeze=False)
        for ax, task, letter in zip(axes[0], tasks, "abc", strict=False):
            t = exp.measured[f"{task}:steps"]
            curves = exp.measured[f"{task}:curves"]
            lrs = exp.measured[f"{task}:best_lr"]
            for mi, meth in enumerate(exp.meta["methods"]):
                Y = curves[mi]
                lo, hi = _band(Y)
                st = STYLES[meth]
                ax.plot(
                    t,
                    Y.mean(axis=0),
                    color=st["color"],
                    ls=st["linestyle"],
                    lw=0.9,
                    label=f"{st['label']} (lr {lrs[mi]:g})",
                )
                ax.fill_between(t, lo, hi, color=st["color"], alpha=0.2, lw=0)
            ax.set_yscale("log")
            ax.set_xlabel("step")
            ax.set_ylabel(f"evaluation loss ({task})")
            ax.legend(fontsize="x-small")
            style.panel_label(ax, letter)
        return style.save(fig, Path(out_dir) / NAME)


if __name__ == "__main__":
    raise SystemExit(script_main(__name__))
