r"""Figure 5 — layer-wise (L0, L1) smoothness and Gluon's δ-aware step.

(a, b) Per layer of the certified separable quartic problem: secant curvatures
L̂_i = ‖∇_i f(X^{k+1}) − ∇_i f(X^k)‖_*/‖X_i^{k+1} − X_i^k‖ against ‖∇_i f(X^{k+1})‖_* along Gluon runs,
the envelope fit of :func:`problems.estimate.estimate_l0_l1` and the certified line L0_i + L1_i a
(which must lie above every point).  (c) f(X^k) for the δ-aware step t_i = (1−δ)a_i/((1+δ)²(L0_i+L1_i a_i))
(solid) and the δ-agnostic t_i = a_i/(L0_i+L1_i a_i) (dashed) under the adversarial oracle, several δ
(median over seeds).  Data: :mod:`lab.claims.layerwise` (``s1_l0l1_estimate``, ``s1_i2``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from figures import style
from figures.registry import script_main
from lab.claims.registry import get_experiment

NAME = "fig05_layerwise"
CAPTION = (
    r"Layer-wise $(L^0, L^1)$: trajectory secant curvatures with the envelope fit and the certified line "
    r"per layer; loss of Gluon with the $\delta$-aware and the $\delta$-agnostic step under an adversarial "
    r"$\delta$-inexact oracle."
)


def make(out_dir: str | Path, *, quick: bool = False) -> list[Path]:
    est = get_experiment("S1.L0L1.estimate")(quick=quick)
    i2 = get_experiment("S1.I2")(quick=quick)
    me, te = est
    with style.context():
        fig, axes = style.figure("double", aspect=0.34, ncols=3)
        for i, ax in enumerate(axes[:2]):
            a, y = me["a"][i], me["L_hat"][i]
            ax.scatter(a, y, s=3, color="0.4", alpha=0.5, linewidths=0, label=r"$\hat L_i[k]$")
            grid = np.geomspace(a.min(), a.max(), 100)
            env, cert = me["envelope"][i], te["certified"][i]
            ax.plot(
                grid,
                env[0] + env[1] * grid,
                color="#0072B2",
                label=rf"envelope fit $({env[0]:.2f}, {env[1]:.2f})$",
            )
            style.bound_line(
                ax, grid, cert[0] + cert[1] * grid, label=rf"certified $({cert[0]:.3g}, {cert[1]:.3g})$"
            )
            ax.set_xscale("log")
            ax.set_yscale("log")
            geom = est.meta["norms"][i]
            ax.set_xlabel(rf"$\|\nabla_{i + 1} f\|_*$ ({'nuclear' if geom == 'spectral' else 'Frobenius'})")
            ax.set_ylabel(r"secant curvature $\hat L_%d$" % (i + 1))
            ax.set_title(f"layer {i + 1} ({geom} geometry)")
            ax.legend(loc="upper left")
        ax = axes[2]
        mi = i2.measured
        kind, rule, delta = i2.meta["kind"], i2.meta["rule"], i2.meta["delta"]
        shown = [d for d in sorted(set(delta)) if d in (0.0, 0.5, 0.8, 0.9, 0.95)]
        for d in shown:
            c = style.delta_color(d, delta_max=1.0, cmap="plasma")
            for r, ls in (("delta_aware", "-"), ("delta_agnostic", "--")):
                sel = (kind == "adversarial") & (rule == r) & (delta == d)
                f = np.median(mi["f"][sel], axis=0)
                ax.plot(
                    np.arange(f.size),
                    np.maximum(f, 1e-30),
                    color=c,
                    linestyle=ls,
                    label=rf"$\delta={d:g}$" if r == "delta_aware" else None,
                )
        ax.plot([], [], color="0.3", linestyle="-", label=r"$\delta$-aware")
        ax.plot([], [], color="0.3", linestyle="--", label=r"$\delta$-agnostic")
        ax.set_yscale("log")
        ax.set_ylim(1e-30, None)
        ax.set_xlabel("iteration $k$")
        ax.set_ylabel(r"$f(X^k) - f^\star$ (adversarial oracle)")
        ax.legend(loc="lower left", ncol=2)
        return style.save(fig, Path(out_dir) / NAME)


if __name__ == "__main__":
    raise SystemExit(script_main(__name__))
