"""The shared figure style: sizes, fonts, colours, plot helpers and reproducible saving.

Nothing here touches matplotlib's global state.  :func:`rc` returns a dictionary of
rcParams and :func:`context` applies it with :func:`matplotlib.rc_context`, so a figure
script reads::

    with style.context():
        fig, axes = style.figure("double", nrows=1, ncols=2)
        ...
        paths = style.save(fig, out_dir / NAME)

Figures are created with :class:`matplotlib.figure.Figure` directly (no pyplot, no
figure manager), sized for a two-column paper: :data:`SINGLE` = 3.25 in, :data:`DOUBLE`
= 6.75 in.  Labels are mathtext by default; ``LAB_USETEX=1`` renders them with LaTeX.
Write labels in the common subset (``$\\delta_k(\\ell)$``) and both modes work.

:func:`save` writes a vector PDF (TrueType fonts embedded, ``pdf.fonttype`` 42) and a PNG
at a fixed dpi, both with fixed metadata, so rendering the same figure twice gives the
same bytes (the tests check this across processes with different hash seeds).
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import zlib
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any, NamedTuple

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.transforms import blended_transform_factory

SINGLE = 3.25
"""Width of one column in inches."""
DOUBLE = 6.75
"""Width of the full text block (two columns) in inches."""
PNG_DPI = 200
"""Resolution of the PNG copies; fixed so that reruns give the same bytes."""

PDF_METADATA = {"Creator": "muon-lab figures", "Producer": "muon-lab figures", "CreationDate": None}
"""PDF document info: no creation date and no version strings, for byte-identical reruns."""
PNG_METADATA = {"Software": None}
"""PNG text chunks: matplotlib's version string removed, for byte-identical reruns."""

USETEX_ENV = "LAB_USETEX"
USETEX_SCALE = 0.9

# Okabe–Ito colour-blind safe palette; line styles and markers also differ, so the
# presets stay distinguishable in grey-scale print.
_PALETTE = ("#0072B2", "#009E73", "#D55E00", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")

PRESET_STYLES: dict[str, dict[str, Any]] = {
    "cubic": {"color": "#0072B2", "linestyle": "-", "marker": "o", "label": "cubic"},
    "quintic": {
        "color": "#009E73",
        "linestyle": "--",
        "marker": "s",
        "label": r"quintic $(15/8, {-}10/8, 3/8)$",
    },
    "jordan": {"color": "#D55E00", "linestyle": "-.", "marker": "^", "label": "Jordan quintic"},
    "polar_express": {"color": "#CC79A7", "linestyle": ":", "marker": "D", "label": "Polar Express"},
    "modded_nanogpt": {
        "color": "#56B4E9",  # not orange: Jordan's vermilion sits next to it in fig01
        "linestyle": (0, (5, 1, 1, 1, 1, 1)),
        "marker": "v",
        "label": "modded-nanogpt",
    },
    "exact": {"color": "#000000", "linestyle": "-", "marker": None, "label": "exact polar (SVD)"},
}
"""Colour, line style, marker and legend label per Newton–Schulz preset (keys of ``lab.NS_PRESETS``)."""

_FALLBACK_LINESTYLES = ("-", "--", "-.", ":")
_FALLBACK_MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def usetex_requested() -> bool:
    """Whether ``LAB_USETEX=1`` asks for LaTeX-rendered labels."""
    return os.environ.get(USETEX_ENV, "0").strip().lower() in ("1", "true", "yes", "on")


def rc(*, usetex: bool | None = None, base_size: float = 8.0) -> dict[str, Any]:
    """The figure style as a dictionary of rcParams (nothing is applied).

    Parameters
    ----------
    usetex : bool, optional
        Render text with LaTeX.  Default: ``$LAB_USETEX`` (off), so figures build without TeX.
    base_size : float
        Font size in points of labels; tick labels and legends are derived from it (times
        :data:`USETEX_SCALE` with LaTeX, whose Computer Modern is wider).

    Raises
    ------
    ValueError
        If ``base_size`` is not positive.
    RuntimeError
        If LaTeX labels are requested but no ``latex`` executable is on PATH.
    """
    if not (isinstance(base_size, (int, float)) and base_size > 0):
        raise ValueError(f"base_size must be a positive number of points, got {base_size!r}")
    if usetex is None:
        usetex = usetex_requested()
    if usetex:
        missing = [tool for tool in ("latex", "dvipng") if shutil.which(tool) is None]
        if missing:
            raise RuntimeError(
                f"{USETEX_ENV}=1 needs LaTeX (with cm-super) and dvipng, but {', '.join(missing)} "
                "is not on PATH; e.g. apt-get install texlive-latex-extra cm-super-minimal dvipng"
            )
        # Computer Modern sets about 10 % wider than STIX: scale so that layouts match mathtext's
        base_size = USETEX_SCALE * base_size
    params: dict[str, Any] = {
        "figure.figsize": (SINGLE, 0.75 * SINGLE),
        "figure.dpi": 100,
        "figure.constrained_layout.use": True,
        "figure.constrained_layout.h_pad": 0.02,
        "figure.constrained_layout.w_pad": 0.02,
        "font.size": base_size,
        "axes.labelsize": base_size,
        "axes.titlesize": base_size,
        "axes.titleweight": "normal",
        "axes.linewidth": 0.6,
        "axes.formatter.use_mathtext": True,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.prop_cycle": matplotlib.cycler(color=list(_PALETTE)),
        "xtick.labelsize": base_size - 1,
        "ytick.labelsize": base_size - 1,
        "xtick.major.width": 0.6,
        "ytick.major.width": 0.6,
        "xtick.minor.width": 0.4,
        "ytick.minor.width": 0.4,
        "legend.fontsize": base_size - 1.5,
        "legend.frameon": False,
        "legend.handlelength": 2.4,
        "legend.borderaxespad": 0.3,
        "lines.linewidth": 1.1,
        "lines.markersize": 3.0,
        "grid.linewidth": 0.4,
        "grid.alpha": 0.35,
        "savefig.dpi": PNG_DPI,
        "savefig.pad_inches": 0.02,
        "pdf.fonttype": 42,
        "ps.fonttype": 42,
        "svg.fonttype": "none",
        "svg.hashsalt": "muon-lab",
        "text.usetex": bool(usetex),
    }
    if usetex:
        params.update(
            {
                "font.family": "serif",
                "font.serif": ["Computer Modern Roman"],
                "text.latex.preamble": r"\usepackage{amsmath}\usepackage{amssymb}",
            }
        )
    else:
        # STIX ships with matplotlib and has every glyph the labels use (Times-like, as in papers).
        params.update({"font.family": "STIXGeneral", "mathtext.fontset": "stix"})
    return params


@contextlib.contextmanager
def context(*, usetex: bool | None = None, base_size: float = 8.0) -> Iterator[dict[str, Any]]:
    """Apply :func:`rc` for the duration of a ``with`` block (matplotlib's state is restored after)."""
    params = rc(usetex=usetex, base_size=base_size)
    with matplotlib.rc_context(params):
        yield params


def figure(
    width: str | float = "single", *, aspect: float = 0.75, nrows: int = 1, ncols: int = 1, **subplot_kw
) -> tuple[Figure, Any]:
    """A new figure of column width and its axes (a bare :class:`Figure`, no pyplot state).

    Parameters
    ----------
    width : {"single", "double"} or float
        Column width (:data:`SINGLE`, :data:`DOUBLE`) or a width in inches.
    aspect : float
        Height divided by width.
    nrows, ncols : int
        The axes grid; ``subplot_kw`` go to :meth:`Figure.subplots` (``squeeze`` and
        ``sharex`` and so on).
    """
    if isinstance(width, str):
        widths = {"single": SINGLE, "double": DOUBLE}
        if width not in widths:
            raise ValueError(f"width must be 'single', 'double' or inches > 0, got {width!r}")
        inches = widths[width]
    elif isinstance(width, (int, float)) and width > 0:
        inches = float(width)
    else:
        raise ValueError(f"width must be 'single', 'double' or inches > 0, got {width!r}")
    if not (isinstance(aspect, (int, float)) and aspect > 0):
        raise ValueError(f"aspect must be a positive number, got {aspect!r}")
    fig = Figure(figsize=(inches, aspect * inches))
    axes = fig.subplots(nrows, ncols, **subplot_kw)
    return fig, axes


def preset_style(name: str) -> dict[str, Any]:
    """Colour, line style, marker and label of a Newton–Schulz preset.

    Unknown names get a style derived from a checksum of the name (stable across runs and
    machines, unlike ``hash``), so new presets plot without editing this module.
    """
    if name in PRESET_STYLES:
        return dict(PRESET_STYLES[name])
    k = zlib.crc32(name.encode())
    return {
        "color": _PALETTE[k % len(_PALETTE)],
        "linestyle": _FALLBACK_LINESTYLES[(k // 8) % len(_FALLBACK_LINESTYLES)],
        "marker": _FALLBACK_MARKERS[(k // 32) % len(_FALLBACK_MARKERS)],
        "label": name.replace("_", " "),
    }


def delta_color(delta: float, *, delta_max: float = 1.0, cmap: str = "viridis"):
    """Colour of an oracle error δ ∈ [0, delta_max]: a sequential map, dark for δ = 0.

    The top of the map is cut (at 85 %) so that the largest δ stays readable on white.
    """
    if not (isinstance(delta_max, (int, float)) and delta_max > 0):
        raise ValueError(f"delta_max must be positive, got {delta_max!r}")
    if not (0.0 <= float(delta) <= delta_max):
        raise ValueError(f"delta must lie in [0, {delta_max}], got {delta!r}")
    return matplotlib.colormaps[cmap](0.85 * float(delta) / delta_max)


_DELTA_LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (1, 1)))


def delta_style(
    delta: float, deltas: Sequence[float] | None = None, *, delta_max: float = 1.0
) -> dict[str, Any]:
    """Colour, line style and label of one δ among ``deltas`` (line styles cycle with the rank)."""
    rank = 0 if deltas is None else sorted(float(d) for d in deltas).index(float(delta))
    return {
        "color": delta_color(delta, delta_max=delta_max),
        "linestyle": _DELTA_LINESTYLES[rank % len(_DELTA_LINESTYLES)],
        "label": rf"$\delta = {float(delta):g}$",
    }


# --------------------------------------------------------------------------------------- helpers


class Band(NamedTuple):
    """What :func:`median_band` drew: per-x median, band edges and number of diverged seeds."""

    median: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    n_diverged: np.ndarray
    line: Any


def quantiles_with_divergence(Y: np.ndarray, qs: Sequence[float], axis: int = 0) -> np.ndarray:
    """Quantiles over seeds where a non-finite entry (a diverged run) counts as +∞.

    Linear interpolation between order statistics, as :func:`numpy.quantile`; a quantile
    whose interpolation touches a diverged run is +∞.  So diverged runs are never dropped:
    if more than half of the seeds diverged the median is +∞.
    """
    Y = np.moveaxis(np.asarray(Y, dtype=float), axis, 0)
    n = Y.shape[0]
    if n == 0:
        raise ValueError("Y must hold at least one seed along the seed axis")
    s = np.sort(np.where(np.isfinite(Y), Y, np.inf), axis=0)
    out = []
    for q in qs:
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"quantiles must lie in [0, 1], got {q!r}")
        h = q * (n - 1)
        lo, hi = math.floor(h), math.ceil(h)
        frac = h - lo
        a, b = s[lo], s[hi]
        if frac == 0.0:
            out.append(a)
        else:
            with np.errstate(invalid="ignore"):
                out.append(np.where(np.isinf(b), np.inf, a + (b - a) * frac))
    return np.stack(out)


def median_band(
    ax,
    x,
    Y_seeds,
    *,
    quantiles: tuple[float, float] = (0.1, 0.9),
    color=None,
    label: str | None = None,
    alpha: float = 0.2,
    seed_axis: int = 0,
    mark_diverged_runs: bool = True,
    **line_kw,
) -> Band:
    """Plot the median over seeds as a line and a quantile band around it.

    Parameters
    ----------
    ax : matplotlib Axes
    x : array of shape (n,)
    Y_seeds : array of shape (n_seeds, n) (seeds along ``seed_axis``)
        Non-finite entries are diverged runs; they count as +∞ in the quantiles (see
        :func:`quantiles_with_divergence`) and, with ``mark_diverged_runs``, the x where any
        seed diverged are marked at the top of the axes by :func:`mark_diverged`.
    quantiles : (low, high)
        The band; default the 10 %–90 % range.
    """
    x = np.asarray(x, dtype=float)
    Y = np.moveaxis(np.asarray(Y_seeds, dtype=float), seed_axis, 0)
    if Y.ndim != 2 or Y.shape[1] != x.shape[0]:
        raise ValueError(f"Y_seeds must have shape (n_seeds, {x.shape[0]}) along seed_axis, got {Y.shape}")
    qlo, qhi = quantiles
    if not 0.0 <= qlo <= 0.5 <= qhi <= 1.0:
        raise ValueError(f"quantiles must satisfy 0 <= low <= 0.5 <= high <= 1, got {quantiles!r}")
    lower, median, upper = quantiles_with_divergence(Y, (qlo, 0.5, qhi))
    n_div = np.sum(~np.isfinite(Y), axis=0)

    def drawable(v):  # an infinite quantile leaves a gap, the marker says why
        return np.where(np.isfinite(v), v, np.nan)

    (line,) = ax.plot(x, drawable(median), color=color, label=label, **line_kw)
    ax.fill_between(x, drawable(lower), drawable(upper), color=line.get_color(), alpha=alpha, linewidth=0)
    if mark_diverged_runs and np.any(n_div > 0):
        hit = n_div > 0
        mark_diverged(ax, x[hit], n_diverged=n_div[hit], n_total=Y.shape[0], color=line.get_color())
    return Band(median, lower, upper, n_div, line)


def bound_line(ax, x, y, *, label: str | None = None, color="k", linewidth: float = 0.9, **kw):
    """Plot a theoretical bound: a dashed line (non-finite values leave gaps)."""
    y = np.asarray(y, dtype=float)
    kw.setdefault("linestyle", "--")
    kw.setdefault("zorder", 1.5)
    y = np.where(np.isfinite(y), y, np.nan)
    (line,) = ax.plot(x, y, color=color, linewidth=linewidth, label=label, **kw)
    return line


def format_exponent(p: float, *, max_denominator: int = 12) -> str:
    """``-0.25`` -> ``'-1/4'``; a value that is not a small fraction is printed with 2 decimals."""
    f = Fraction(float(p)).limit_denominator(max_denominator)
    if abs(float(f) - float(p)) < 1e-9:
        return f"{f.numerator}" if f.denominator == 1 else f"{f.numerator}/{f.denominator}"
    return f"{float(p):.2f}"


def annotate_slope(
    ax,
    fitted: float,
    predicted: float | str | None = None,
    *,
    ci: tuple[float, float] | None = None,
    xy: tuple[float, float] = (0.04, 0.04),
    ha: str = "left",
    va: str = "bottom",
    color=None,
    fontsize: float | None = None,
):
    """Write "slope -0.26 [-0.29, -0.23] (theory -1/4)" in axes coordinates.

    ``fitted`` is a log-log slope, ``ci`` its confidence interval, ``predicted`` the
    exponent the theory predicts (a number, printed as a fraction when it is one, or text).
    Numbers are set in math mode so that minus signs are right with mathtext and LaTeX.
    """
    text = f"slope ${float(fitted):.2f}$"
    if ci is not None:
        text += f" $[{float(ci[0]):.2f}, {float(ci[1]):.2f}]$"
    if predicted is not None:
        pred = predicted if isinstance(predicted, str) else f"${format_exponent(predicted)}$"
        text += f" (theory {pred})"
    return ax.text(*xy, text, transform=ax.transAxes, ha=ha, va=va, color=color, fontsize=fontsize)


def mark_diverged(
    ax,
    x,
    *,
    n_diverged=None,
    n_total: int | None = None,
    color="k",
    label: str | None = None,
    y_axes: float = 0.98,
    marker: str = "^",
):
    """Mark x positions of diverged runs with markers at the top edge of the axes.

    Diverged runs are shown, never dropped.  With ``n_diverged`` and ``n_total`` the count
    ("3/20") is written next to each marker.  Returns the marker artist.
    """
    x = np.atleast_1d(np.asarray(x, dtype=float))
    trans = blended_transform_factory(ax.transData, ax.transAxes)
    (markers,) = ax.plot(
        x,
        np.full(x.shape, y_axes),
        linestyle="none",
        marker=marker,
        markersize=3.5,
        markerfacecolor="none",
        markeredgecolor=color,
        transform=trans,
        clip_on=False,
        label=label,
    )
    if n_diverged is not None and n_total is not None:
        for xi, ni in zip(x, np.atleast_1d(n_diverged), strict=True):
            ax.text(
                xi,
                y_axes - 0.03,
                f"{int(ni)}/{n_total}",
                transform=trans,
                ha="center",
                va="top",
                fontsize=5,
                color=color,
            )
    return markers


def panel_label(ax, letter: str, *, xy: tuple[float, float] = (-0.02, 1.02)):
    """Write "(a)" at the top left corner of a panel."""
    return ax.text(*xy, f"({letter})", transform=ax.transAxes, ha="right", va="bottom", fontweight="bold")


# --------------------------------------------------------------------------------------- saving


def save(
    fig: Figure, path_stem: str | os.PathLike, *, formats: Sequence[str] = ("pdf", "png"), dpi: int = PNG_DPI
) -> list[Path]:
    """Write ``<path_stem>.pdf`` and ``<path_stem>.png`` reproducibly; return the paths.

    The PDF is vector with TrueType fonts embedded (``pdf.fonttype`` 42) and no creation
    date or version strings; the PNG has a fixed dpi and no software chunk.  Both are
    byte-identical when the same figure is drawn again.  Call inside :func:`context` so
    that the text drawn at save time uses the figure's style.
    """
    allowed = ("pdf", "png")
    bad = [f for f in formats if f not in allowed]
    if bad or not formats:
        raise ValueError(f"formats must be a non-empty subset of {allowed}, got {tuple(formats)!r}")
    if not (isinstance(dpi, int) and dpi > 0):
        raise ValueError(f"dpi must be a positive integer, got {dpi!r}")
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    with matplotlib.rc_context({"pdf.fonttype": 42, "pdf.compression": 6}):
        for fmt in formats:
            path = stem.parent / f"{stem.name}.{fmt}"
            if fmt == "pdf":
                fig.savefig(path, format="pdf", metadata=PDF_METADATA)
            else:
                fig.savefig(path, format="png", dpi=dpi, metadata=PNG_METADATA)
            written.append(path)
    return written
