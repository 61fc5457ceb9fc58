r"""Figure 1 — how precise is Newton–Schulz orthogonalisation?

Panel (a): the uniform error δ_k(ℓ) = max_{x∈[ℓ,1]} |1 − p^(k)(x)| of each coefficient family
against the number of steps k, for normalised smallest singular values ℓ ∈ {10⁻³, 10⁻², 10⁻¹}
(:func:`lab.orthogonalization.ns_delta`, exact interval propagation, no grid).  This is the
additive error δ of S1's inexact-LMO model for every input with σ_min/‖G‖_F ≥ ℓ.

Panel (b): the measured error of the real matrix iteration
(:func:`lab.orthogonalization.newton_schulz`, float64, Frobenius normalisation) on two
m×n matrices G = U diag(σ) Vᵀ with geometric spectra σ_i = κ^{−(i−1)/(r−1)}, κ ∈ {10, 10³},
and Haar-random U, V: δ_op = ‖NS_k(G) − polar(G)‖_op, the alignment gap 1 − ⟨G, NS_k(G)⟩/‖G‖_*
and the overshoot ‖NS_k(G)‖_op.

Per-step schedules (Polar Express: 8 rows, modded-nanogpt: 5) repeat their last row after
their length, the lab's convention; that part of their curves is drawn faded.

Run ``python -m figures.fig01_newton_schulz`` or ``lab figures fig01``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from figures import style
from figures.registry import script_main
from lab.cache import Cache, code_version
from lab.claims.registry import Experiment
from lab.orthogonalization import (
    NS_PRESETS,
    newton_schulz,
    ns_delta,
    resolve_coefficients,
    spectral_diagnostics,
)
from lab.random import RNG
from lab.sweeps import default_code, project_version

NAME = "fig01_newton_schulz"
CAPTION = (
    r"Newton–Schulz precision: (a) uniform error $\delta_k(\ell)$ of five coefficient families against the "
    r"number of steps $k$; (b) measured $\delta_{\mathrm{op}}$, alignment gap and overshoot on matrices with "
    r"geometric spectra ($\kappa = 10, 10^3$)."
)

PRESETS = ("cubic", "quintic", "jordan", "polar_express", "modded_nanogpt")
FLOOR = 1e-16  # values below float64 rounding are drawn at this floor on the log axes


def config(quick: bool = False) -> dict:
    """The experiment's configuration (the cache key is derived from it)."""
    return {
        "presets": list(PRESETS),
        "steps": 10 if quick else 20,
        "ells": [1e-3, 1e-2, 1e-1],
        "kappas": [10.0, 1e3],
        "shape": [24, 40] if quick else [64, 112],
        "seed": 0,
    }


def geometric_spectrum_matrices(kappas, shape, seed: int) -> np.ndarray:
    """Matrices U diag(σ) Vᵀ, one per κ, with σ_i = κ^{−(i−1)/(r−1)} and Haar-random U, V.

    U and V come from QR of Gaussian matrices drawn with the lab's counter-based RNG (one key
    per κ, derived from ``seed`` and κ), with the signs fixed so that the factorisation is
    unique.  Returns a (len(kappas), m, n) float64 array.
    """
    m, n = shape
    r = min(m, n)
    out = []
    for kappa in kappas:
        rng = RNG.from_seeds([seed], "fig01", float(kappa))
        factors = []
        for rows, tag in ((m, "U"), (n, "V")):
            Z = np.asarray(rng.fold(tag).normal((rows, r)))[0]
            Q, R = np.linalg.qr(Z)
            factors.append(Q * np.sign(np.diag(R)))
        U, V = factors
        sigma = float(kappa) ** (-np.arange(r) / (r - 1))
        out.append((U * sigma) @ V.T)
    return np.stack(out)


def compute(cfg: dict) -> dict[str, np.ndarray]:
    """All numbers of the figure: uniform bounds and measured diagnostics for k = 0..steps.

    NS_k(G) for every k comes from one pass: X₀ = NS_0(G) (the normalised input), then
    X_k = one step of row k of the schedule applied to X_{k−1} (``normalization="none"``),
    which is the k-step iteration operation by operation; the last X_K is checked against a
    direct ``newton_schulz(G, K, preset)`` call.  The diagnostics of all k are one batched call.
    """
    steps = cfg["steps"]
    uniform = np.array(
        [[[ns_delta(ell, k, p) for k in range(steps + 1)] for p in cfg["presets"]] for ell in cfg["ells"]]
    )
    G = geometric_spectrum_matrices(cfg["kappas"], cfg["shape"], cfg["seed"])
    keys = ("delta_op", "alignment", "overshoot")
    measured = {key: np.empty((len(cfg["kappas"]), len(cfg["presets"]), steps + 1)) for key in keys}
    for j, preset in enumerate(cfg["presets"]):
        X = newton_schulz(G, 0, preset)
        iterates = [X]
        for row in resolve_coefficients(preset, steps):
            X = newton_schulz(X, 1, row, normalization="none")
            iterates.append(X)
        direct = newton_schulz(G, steps, preset)
        if not np.allclose(X, direct, rtol=0, atol=1e-12):
            raise RuntimeError(f"step-by-step NS differs from newton_schulz(G, {steps}, {preset!r})")
        D = np.stack(iterates)  # (k, κ, m, n)
        diag = spectral_diagnostics(np.broadcast_to(G, D.shape), D)
        for key in keys:
            measured[key][:, j, :] = np.asarray(diag[key]).T
    x_min = np.array([np.linalg.svd(g, compute_uv=False)[-1] / np.linalg.norm(g) for g in G])
    return {"uniform": uniform, "x_min": x_min, **measured}


def results(quick: bool = False) -> tuple[dict, dict[str, np.ndarray]]:
    """The configuration and its numbers, from the on-disk cache (computed and stored when missing)."""
    cfg = config(quick)
    # the whole project and this module, as every sweep's key (no hand-written module list)
    salt = code_version(*default_code(compute))
    cache = Cache()
    key = cache.key(NAME, cfg, salt)
    entry = cache.load(NAME, key)
    if entry is not None:
        return cfg, entry.arrays
    data = compute(cfg)
    cache.store(NAME, key, data, config=cfg, salt=salt,
                extra={"provenance": {"project_version": project_version()}})
    return cfg, data


def _schedule_length(preset: str) -> int | None:
    rows = NS_PRESETS[preset].shape[0]
    return rows if rows > 1 else None


def _plot_steps(ax, ks, values, preset, *, linestyle=None, show_marker=True, legend=True):
    """One preset's curve; the part beyond a per-step schedule's own length is faded."""
    st = style.preset_style(preset)
    kw = {
        "color": st["color"],
        "linestyle": linestyle or st["linestyle"],
        "marker": st["marker"] if show_marker else None,
        "markevery": 2,
        "markersize": 2.6,
    }
    length = _schedule_length(preset)
    cut = len(ks) if length is None else min(length + 1, len(ks))
    ax.plot(ks[:cut], values[:cut], label=st["label"] if legend else None, **kw)
    if cut < len(ks):
        ax.plot(ks[cut - 1 :], values[cut - 1 :], alpha=0.35, **{**kw, "marker": None})


def _exp10(v: float) -> str:
    """1e-3 -> '10^{-3}', 10 -> '10' (LaTeX math)."""
    e = np.log10(v)
    if abs(e - round(e)) > 1e-12:
        return f"{v:g}"
    return {0: "1", 1: "10"}.get(int(round(e)), f"10^{{{int(round(e))}}}")


def _sci(v: float) -> str:
    mantissa, exponent = f"{v:.1e}".split("e")
    return rf"{mantissa}\cdot 10^{{{int(exponent)}}}"


def draw(cfg: dict, data: dict[str, np.ndarray]):
    """The figure (call inside :func:`figures.style.context`)."""
    ks = np.arange(cfg["steps"] + 1)
    presets = cfg["presets"]
    fig = Figure(figsize=(style.DOUBLE, 0.64 * style.DOUBLE))
    top, bottom = fig.subfigures(2, 1, hspace=0.02, height_ratios=(1.0, 1.05))

    axes_a = top.subplots(1, len(cfg["ells"]), sharey=True)
    for ax, ell, block in zip(axes_a, cfg["ells"], data["uniform"], strict=True):
        for j, preset in enumerate(presets):
            _plot_steps(ax, ks, np.maximum(block[j], FLOOR), preset)
        ax.set_yscale("log")
        ax.set_ylim(FLOOR / 3, 3.0)
        ax.set_title(rf"$\ell = {_exp10(ell)}$")
        ax.set_xlabel(r"steps $k$")
        ax.axhline(1.0, color="0.6", linewidth=0.5, zorder=0)
    axes_a[0].set_ylabel(r"$\delta_k(\ell)=\max_{x\in[\ell,1]}|1-p^{(k)}(x)|$")
    top.suptitle(
        r"(a) uniform bound over all inputs with $\sigma_{\min}/\|G\|_F \geq \ell$",
        x=0.0,
        ha="left",
        fontsize="medium",
    )

    axes_b = bottom.subplots(1, 3)
    kappa_styles = ("-", (0, (3, 1.5)))
    panels = (
        ("delta_op", r"$\delta_{\mathrm{op}}=\|\mathrm{NS}_k(G)-\mathrm{polar}(G)\|_{\mathrm{op}}$", "log"),
        ("alignment", "alignment gap $|1-a|$\n" r"$a=\langle G,\mathrm{NS}_k(G)\rangle/\|G\|_*$", "log"),
        ("overshoot", r"overshoot $\|\mathrm{NS}_k(G)\|_{\mathrm{op}}$", "linear"),
    )
    for ax, (key, ylabel, scale) in zip(axes_b, panels, strict=True):
        for i, _ in enumerate(cfg["kappas"]):
            for j, preset in enumerate(presets):
                values = data[key][i, j]
                if key == "alignment":
                    values = np.maximum(np.abs(1.0 - values), FLOOR)
                elif scale == "log":
                    values = np.maximum(values, FLOOR)
                _plot_steps(
                    ax, ks, values, preset, linestyle=kappa_styles[i], show_marker=i == 0, legend=False
                )
        ax.set_yscale(scale)
        ax.set_xlabel(r"steps $k$")
        ax.set_ylabel(ylabel)
        if scale == "log":
            ax.set_ylim(FLOOR / 3, 3.0)
        else:
            ax.axhline(1.0, color="0.6", linewidth=0.5, zorder=0)
    m, n = cfg["shape"]
    bottom.suptitle(
        rf"(b) measured on ${m}\times{n}$ matrices $G = U\,\mathrm{{diag}}(\sigma)\,V^\top$ with "
        r"$\sigma_i = \kappa^{-(i-1)/(r-1)}$ and random $U, V$ (float64)",
        x=0.0,
        ha="left",
        fontsize="medium",
    )
    # one legend for the figure: presets (colour, marker), the faded tail, and κ (line style, panel b)
    handles, labels = axes_a[0].get_legend_handles_labels()
    handles.append(axes_a[0].plot([], [], color="0.3", alpha=0.35, linewidth=1.1)[0])
    labels.append("beyond the schedule (last row repeated)")
    for ls, kappa, x in zip(kappa_styles, cfg["kappas"], data["x_min"], strict=True):
        handles.append(axes_b[0].plot([], [], color="k", linestyle=ls, linewidth=1.0)[0])
        labels.append(rf"(b) $\kappa={_exp10(kappa)}$, $x_{{\min}}={_sci(x)}$")
    fig.legend(handles, labels, loc="outside upper center", ncol=4)
    return fig


def make(out_dir: str | Path, *, quick: bool = False) -> list[Path]:
    """Build figure 1 into ``out_dir``; returns the PDF and PNG paths."""
    cfg, data = results(quick)
    # not an experiment of lab.experiments: register its numbers so the data file beside the figure has them
    Experiment(NAME, measured=data, theoretical={}, meta={"config": cfg})
    with style.context():
        fig = draw(cfg, data)
        return style.save(fig, Path(out_dir) / NAME)


if __name__ == "__main__":
    raise SystemExit(script_main(__name__))
