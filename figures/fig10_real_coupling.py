r"""Figure 10 — S1's coupling on real data: the optimal learning rate and momentum against NS steps.

Experiment ``real_s1_coupling`` (MLP 64-64-64-10 on scikit-learn's digits, ``lab.torch.InexactMuon``,
final evaluation loss over an (lr, β) grid, 5 seeds): (a) the optimal lr (at the best β) and (b) the
optimal β (at the best lr), refined argmin with 95 % bootstrap intervals over seeds, against the number
of Newton–Schulz steps k for each preset; the exact polar factor's optimum as a grey band.  S1 predicts
both to move with k: lr* up, β* down (fewer steps: smaller lr, larger β).

Built by ``make real`` / ``lab figures --real``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.ticker import NullFormatter

from figures import style
from figures.registry import script_main
from lab.claims.real_data import coupling_optima
from lab.claims.registry import get_experiment

NAME = "fig10_real_coupling"
CAPTION = (
    r"S1's coupling on real data (digits MLP): optimal learning rate (a) and momentum $\beta$ (b) against "
    r"Newton--Schulz steps $k$ per preset (bootstrap 95\% intervals over seeds); exact polar as a grey band."
)
REAL = True


def make(out_dir, *, quick: bool = False) -> list[Path]:
    exp = get_experiment("S1.real.coupling")(quick=quick)
    opt = coupling_optima(exp)
    ks = np.asarray(exp.meta["k"])
    with style.context():
        fig, axes = style.figure("double", aspect=0.32, ncols=2)
        for ax, name, letter in ((axes[0], "lr", "a"), (axes[1], "alpha", "b")):
            conv = (lambda v: v) if name == "lr" else (lambda v: 1 - np.asarray(v))
            ex = opt[-1][name]
            ax.axhspan(
                min(conv(ex.lo), conv(ex.hi)),
                max(conv(ex.lo), conv(ex.hi)),
                color="0.85",
                label="exact polar",
            )
            for j, preset in enumerate(exp.meta["presets"]):
                rows = [o[name] for o, p in zip(opt, exp.meta["preset_of"], strict=False) if p == preset]
                x = conv([a.x_refined for a in rows])
                lo, hi = conv([a.lo for a in rows]), conv([a.hi for a in rows])
                st = style.preset_style(preset)
                shift = ks * (1 + 0.04 * (j - 1.5))  # side by side, not on top of each other
                ax.errorbar(
                    shift,
                    x,
                    yerr=[np.abs(x - np.minimum(lo, hi)), np.abs(np.maximum(lo, hi) - x)],
                    color=st["color"],
                    marker=st["marker"],
                    ls=st["linestyle"],
                    lw=0.8,
                    ms=3,
                    capsize=1.5,
                    label=st["label"],
                )
            ax.set_xscale("log")
            ax.set_xticks(ks, [str(k) for k in ks])
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_xlabel("Newton–Schulz steps $k$")
            if name == "lr":
                ax.set_yscale("log")
                ax.set_ylabel("optimal learning rate")
            else:
                ax.set_ylabel(r"optimal momentum $\beta$")
            style.panel_label(ax, letter)
        axes[0].legend(fontsize="x-small")
        return style.save(fig, Path(out_dir) / NAME)


if __name__ == "__main__":
    raise SystemExit(script_main(__name__))
