r"""Figure 7 — Muon + decoupled weight decay optimises over the spectral ball (S3).

(a) λ‖X_t‖_op/s against t for Lion-K (K = s‖·‖_*, β = 0.9, Nesterov) from ‖X₀‖_op = 4 with the exact
polar factor and five-step Newton–Schulz presets, with the L1 entry envelope (S3.L1, dashed) and each
preset's certified overshoot ω = max_{[0,1]} p^(5) (dotted): the invariant radius is ω·s/λ.
(b) F(X_t) − F_c against the independently computed constrained optimum F_c (FISTA with clipped
singular values) and the stationarity S(X_t) = ‖∇F‖_* + λ⟨∇F, X⟩ (exact polar, three step sizes).
(c) The Lyapunov function H_t = F(X_t) + (η/(1−β))(s‖B_t‖_* + λ⟨B_t, X_t⟩) of Muon + weight decay
(β = 0.9, no Nesterov), and its increments against the O(η²) tolerance 2Ls²rη² (S3.L2.ball).

Data: the experiments ``s3_entry``, ``s3_constrained`` and ``s3_lyapunov`` (shared cache with
``lab check``).  Run ``python -m figures.fig07_s3_constraint``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from figures import style
from figures.registry import script_main
from lab.claims.registry import get_experiment

NAME = "fig07_s3_constraint"
CAPTION = (
    r"Muon + weight decay on the spectral ball: (a) $\lambda\|X_t\|_{\mathrm{op}}/s$ "
    r"with the entry envelope, "
    r"exact polar and Newton–Schulz presets; (b) $F-F_c$ and $S(X_t)$; (c) the Lyapunov function and its "
    r"increments against $2Ls^2r\eta^2$."
)


#: one colour per step size in panels (b) and (c)
LR_COLORS = ("#0072B2", "#009E73", "#CC79A7")


def _pick(meta, **want):
    keep = np.ones(len(meta["lr"]), dtype=bool)
    for k, v in want.items():
        keep &= np.isclose(meta[k], v) if isinstance(v, float) else (meta[k] == v)
    return np.flatnonzero(keep)


def draw(entry, constrained, lyap):
    meta = entry.meta
    lr0, wd0, seed0 = float(np.max(meta["lr"])), 1.0, int(np.min(meta["seed"]))
    fig, axes = style.figure("double", aspect=0.36, nrows=1, ncols=3)
    _entry_panel(axes[0], entry, lr0, wd0, seed0)
    _constrained_panel(axes[1], constrained, wd0, seed0)
    _lyapunov_panel(axes[2], lyap, wd0)
    return fig


def _entry_panel(ax, entry, lr0, wd0, seed0):
    """(a) λ‖X_t‖_op/s along the runs of every oracle, with the L1 envelope of the exact one."""
    m, th = entry
    meta = entry.meta
    for oracle in ("exact", "cubic", "quintic", "jordan", "polar_express"):
        idx = _pick(meta, oracles=oracle, lr=lr0, wd=wd0, seed=seed0)
        if idx.size == 0:
            continue
        i = idx[0]
        st = style.preset_style(oracle)
        y = wd0 * m["x_op"][i] / meta["scale"]
        t = np.arange(y.size)
        exact = oracle == "exact"
        ax.plot(
            t,
            y,
            color=st["color"],
            linestyle=st["linestyle"],
            label=st["label"],
            linewidth=0.8 if exact else 1.0,
            zorder=3 if exact else 2,
        )
        if oracle != "exact" and th["omega_certified"][i] > 1 + 1e-9:
            ax.axhline(th["omega_certified"][i], color=st["color"], linestyle=":", linewidth=0.7)
    i = _pick(meta, oracles="exact", lr=lr0, wd=wd0, seed=seed0)[0]
    style.bound_line(ax, t, 1.0 + wd0 * th["envelope"][i] / meta["scale"], label="L1 envelope (exact)")
    ax.set_yscale("log")
    ax.set_xlim(0, min(t[-1], int(8 / (lr0 * wd0))))
    ax.set_ylim(0.5, 5)
    ax.set_xlabel("step $t$")
    ax.set_ylabel(r"$\lambda\|X_t\|_{\mathrm{op}}/s$")
    ax.set_title(
        rf"(a) entry, $\eta={lr0:g}$, $\lambda={wd0:g}$; dotted: $\omega$ of preset", fontsize="small"
    )
    ax.legend(loc="upper right", fontsize=5.5)


def _constrained_panel(ax, constrained, wd0, seed0):
    """(b) the gap to the constrained optimum and the stationarity measure per step size."""
    mc, thc = constrained
    metc = constrained.meta
    for c, lr in zip(LR_COLORS, np.unique(metc["lr"]), strict=False):
        i = _pick(metc, oracles="exact", lr=float(lr), wd=wd0, seed=seed0)[0]
        g = np.abs(mc["gap"][i])
        ax.plot(np.arange(g.size), g, color=c, label=rf"$|F-F_c|$, $\eta={lr:g}$")
        S = mc["stationarity"][i]
        ax.plot(
            np.arange(S.size),
            np.abs(S),
            color=c,
            linestyle="--",
            linewidth=0.8,
            label=rf"$|S(X_t)|$, $\eta={lr:g}$",
        )
    ij = _pick(metc, oracles="jordan", lr=float(np.max(metc["lr"])), wd=wd0, seed=seed0)
    if ij.size:
        st = style.preset_style("jordan")
        ax.plot(
            np.abs(mc["gap"][ij[0]]),
            color=st["color"],
            linestyle=st["linestyle"],
            linewidth=0.8,
            label=r"$|F-F_c|$, Jordan NS",
        )
    ax.set_yscale("log")
    ax.set_xlabel("step $t$")
    ax.set_ylabel(r"$|F(X_t)-F_c|$, $|S(X_t)|$")
    ax.set_title(rf"(b) to the constrained optimum, $\lambda={wd0:g}$", fontsize="small")
    ax.legend(loc="upper right", fontsize=5, ncol=2, framealpha=0.9, frameon=True)
    ax.set_ylim(1e-5, 1e3)


def _lyapunov_panel(ax, lyap, wd0):
    """(c) the largest increase of the Lyapunov function so far against its O(η²) bound."""
    ml, thl = lyap
    metl = lyap.meta
    for c, lr in zip(LR_COLORS, np.unique(metl["lr"]), strict=False):
        idx = np.flatnonzero(
            (metl["problems"] == "constrained_least_squares")
            & np.isclose(metl["lr"], lr)
            & np.isclose(metl["wd"], wd0)
        )
        i = idx[0]
        dH = np.maximum.accumulate(np.maximum(ml["dH"][i], 1e-18))
        ax.plot(
            np.arange(dH.size),
            dH,
            color=c,
            linewidth=1.0,
            label=rf"$\max_{{\tau\leq t}}(H_{{\tau+1}}-H_\tau)$, $\eta={lr:g}$",
        )
        style.bound_line(ax, np.arange(dH.size), thl["ball_bound"][i], color=c, linewidth=0.8)
    ax.plot([], [], color="k", linestyle="--", linewidth=0.8, label=r"$2Ls^2r\eta^2$ (S3.L2.ball)")
    ax.set_yscale("log")
    ax.set_ylim(1e-8, 1.0)
    ax.set_xlabel("step $t$")
    ax.set_ylabel(r"largest increase of $H_t$ so far")
    ax.set_title(r"(c) Lyapunov $H_t$, $\beta=0.9$: increments $\leq O(\eta^2)$", fontsize="small")
    ax.legend(loc="lower right", fontsize=5.5)


def make(out_dir: str | Path, *, quick: bool = False) -> list[Path]:
    """Build figure 7 into ``out_dir``; returns the PDF and PNG paths."""
    entry = get_experiment("S3.L1")(quick=quick)
    constrained = get_experiment("S3.S.constrained_optimum")(quick=quick)
    lyap = get_experiment("S3.L2")(quick=quick)
    with style.context():
        fig = draw(entry, constrained, lyap)
        return style.save(fig, Path(out_dir) / NAME)


if __name__ == "__main__":
    raise SystemExit(script_main(__name__))
