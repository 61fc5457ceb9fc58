"""Figures: the shared style, the registry, `lab figures`, and figure 1.

Figure 1 is built in quick mode twice — by ``lab figures`` in this process (computing its
numbers into an empty cache), then by ``python -m figures.fig01_newton_schulz`` in a fresh
process with another hash seed (reading them back) — and the PDFs and PNGs must be the
same bytes.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import matplotlib
import numpy as np
import pytest

import figures.style as style
from figures.registry import FigureSpec, build, discover, resolve
from lab.cli import main as lab_main

REPO = Path(__file__).resolve().parents[1]
FIG01 = "fig01_newton_schulz"


# --------------------------------------------------------------------------- figure 1, built once


@pytest.fixture(scope="module")
def fig01_builds(tmp_path_factory):
    """Figure 1 (quick) built twice: {"cli", "subprocess"} -> folder, and the CLI's "stdout"."""
    root = tmp_path_factory.mktemp("fig01")
    out = {name: root / name for name in ("cli", "subprocess")}
    cache = root / "cache"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LAB_CACHE_DIR", str(cache))
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            code = lab_main(["figures", "fig01", "--quick", "--no-progress", "--out", str(out["cli"])])
        assert code == 0
    entries = sorted((cache / FIG01).glob("*.npz"))
    assert len(entries) == 1  # the first build computed and stored its numbers
    env = dict(os.environ, LAB_CACHE_DIR=str(cache), PYTHONHASHSEED="12345")
    proc = subprocess.run(
        [sys.executable, "-m", f"figures.{FIG01}", "--quick", "--out", str(out["subprocess"])],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted((cache / FIG01).glob("*.npz")) == entries  # the second one read them back
    return {**out, "stdout": buf.getvalue()}


@pytest.mark.parametrize("ext", ["pdf", "png", "data.npz"])
def test_fig01_reruns_are_byte_identical(fig01_builds, ext):
    files = [fig01_builds[k] / f"{FIG01}.{ext}" for k in ("cli", "subprocess")]
    data = [f.read_bytes() for f in files]
    assert len(data[0]) > 1000
    assert data[0] == data[1]


def test_fig01_pdf_is_vector_with_embedded_truetype_and_fixed_metadata(fig01_builds):
    pdf = (fig01_builds["cli"] / f"{FIG01}.pdf").read_bytes()
    assert b"/FontFile2" in pdf  # TrueType fonts embedded (pdf.fonttype 42)
    assert b"/Type3" not in pdf and b"/Subtype /Image" not in pdf  # no Type 3 fonts, no raster images
    assert b"CreationDate" not in pdf and b"Matplotlib" not in pdf and b"(muon-lab figures)" in pdf


def test_fig01_writes_the_numbers_it_plots_beside_it(fig01_builds):
    from figures import fig01_newton_schulz as fig

    _, data = fig.results(True)
    with np.load(fig01_builds["cli"] / f"{FIG01}.data.npz") as saved:
        for key in ("delta_op", "alignment", "overshoot"):
            np.testing.assert_array_equal(saved[f"{FIG01}/measured/{key}"], data[key])


def test_fig01_png_has_no_software_chunk(fig01_builds):
    png = (fig01_builds["cli"] / f"{FIG01}.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"Software" not in png and b"matplotlib" not in png.lower()


def test_lab_figures_prints_a_summary(fig01_builds):
    text = fig01_builds["stdout"]
    assert "wrote 3 files for 1 figure(s)" in text
    for ext in ("pdf", "png", "data.npz"):
        assert f"{FIG01}.{ext}" in text
    assert "KiB" in text and f"{FIG01}:" in text and " s" in text


def test_fig01_measured_error_respects_the_uniform_bound():
    """Panel (b) against panel (a)'s theory: δ_op(k) ≤ δ_k(x_min) for every preset, κ and k.

    x_min is the smallest normalised singular value of the actual input of the iteration.
    Using the bound of a 10× larger ℓ (an interval that misses the small singular values)
    must violate the inequality somewhere: the check can fail.
    """
    from figures import fig01_newton_schulz as fig
    from lab.orthogonalization import newton_schulz, ns_delta

    cfg = fig.config(quick=True)
    data = fig.compute(cfg)
    G = fig.geometric_spectrum_matrices(cfg["kappas"], cfg["shape"], cfg["seed"])
    x_min = np.linalg.svd(np.asarray(newton_schulz(G, 0)), compute_uv=False)[:, -1]
    rounding = 1e-12
    wrong = []
    for i in range(len(cfg["kappas"])):
        for j, preset in enumerate(cfg["presets"]):
            for k in range(cfg["steps"] + 1):
                measured = data["delta_op"][i, j, k]
                assert measured <= ns_delta(x_min[i], k, preset) + rounding, (preset, cfg["kappas"][i], k)
                wrong.append(measured > ns_delta(min(1.0, 10 * x_min[i]), k, preset) + rounding)
    assert any(wrong)
    assert np.allclose(data["x_min"], x_min, rtol=1e-6)


def test_geometric_spectrum_matrices_have_the_prescribed_spectrum():
    from figures.fig01_newton_schulz import geometric_spectrum_matrices

    G = geometric_spectrum_matrices([10.0, 1e3], (12, 20), seed=3)
    r = 12
    for g, kappa in zip(G, (10.0, 1e3), strict=True):
        expected = kappa ** (-np.arange(r) / (r - 1))
        np.testing.assert_allclose(np.linalg.svd(g, compute_uv=False), expected, rtol=1e-12)
    np.testing.assert_array_equal(G, geometric_spectrum_matrices([10.0, 1e3], (12, 20), seed=3))
    assert not np.allclose(G, geometric_spectrum_matrices([10.0, 1e3], (12, 20), seed=4))


# --------------------------------------------------------------------------- registry and CLI


def test_registry_discovers_figure_1():
    registry = discover()
    spec = registry[FIG01]
    assert spec.module == f"figures.{FIG01}" and spec.short == "fig01"
    assert spec.caption and "\n" not in spec.caption
    assert resolve(["fig01"], registry) == [spec] == resolve([FIG01, "fig01"], registry)
    assert resolve([], registry) == list(registry.values())
    with pytest.raises(ValueError, match="unknown figure.*'nope'.*known: .*fig01_newton_schulz"):
        resolve(["nope"], registry)


def test_lab_figures_list(capsys):
    assert lab_main(["figures", "--list"]) == 0
    out = capsys.readouterr().out
    assert FIG01 in out and discover()[FIG01].caption in out


def test_lab_figures_rejects_unknown_names(capsys, tmp_path):
    assert lab_main(["figures", "nope", "--out", str(tmp_path)]) == 2
    assert "unknown figure" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def _write_package(root: Path, name: str, modules: dict[str, str]) -> None:
    pkg = root / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for module, source in modules.items():
        (pkg / f"{module}.py").write_text(textwrap.dedent(source))


GOOD_FIGURE = '''
    from pathlib import Path
    NAME = "fig09_demo"
    CAPTION = "A demo figure."

    def make(out_dir, *, quick=False):
        from figures import style
        with style.context():
            fig, ax = style.figure("single")
            ax.plot([0, 1], [0, 1])
            return style.save(fig, Path(out_dir) / NAME)
'''


def test_a_new_figure_is_one_new_file(tmp_path, monkeypatch):
    _write_package(tmp_path, "demo_figs_ok", {"fig09_demo": GOOD_FIGURE, "helpers": "X = 1\n"})
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = discover("demo_figs_ok")
    assert list(registry) == ["fig09_demo"]  # helpers.py is not a figure
    result = build(registry["fig09_demo"], tmp_path / "out")
    assert [p.name for p in result.paths] == ["fig09_demo.pdf", "fig09_demo.png"]
    assert result.bytes == sum(p.stat().st_size for p in result.paths) > 0


@pytest.mark.parametrize(
    "source, error, match",
    [
        ('NAME = "fig09_demo"\ndef make(out_dir, *, quick=False): return []\n', TypeError, "CAPTION"),
        ('NAME = "other"\nCAPTION = "x"\ndef make(out_dir, *, quick=False): return []\n', ValueError, "NAME"),
        ('NAME = "fig09_demo"\nCAPTION = "two\\nlines"\ndef make(o, *, quick=False): return []\n', ValueError,
         "one non-empty line"),
    ],
)
def test_malformed_figure_modules_are_rejected(tmp_path, monkeypatch, source, error, match):
    package = f"demo_figs_bad_{error.__name__.lower()}_{abs(hash(source)) % 10**6}"
    _write_package(tmp_path, package, {"fig09_demo": source})
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(error, match=match):
        discover(package)


def test_build_rejects_a_figure_that_writes_nothing(tmp_path):
    spec = FigureSpec("fig09_none", "nothing", "none", lambda out_dir, quick=False: [Path(out_dir) / "x.pdf"])
    with pytest.raises(RuntimeError, match="did not write"):
        build(spec, tmp_path)


# --------------------------------------------------------------------------- style


def test_style_does_not_touch_global_state():
    before = dict(matplotlib.rcParams)
    importlib.reload(style)
    params = style.rc()
    assert dict(matplotlib.rcParams) == before
    with style.context():
        assert matplotlib.rcParams["pdf.fonttype"] == 42
        assert matplotlib.rcParams["font.size"] == params["font.size"]
    assert dict(matplotlib.rcParams) == before


def test_usetex_is_opt_in(monkeypatch):
    monkeypatch.delenv(style.USETEX_ENV, raising=False)
    assert style.rc()["text.usetex"] is False
    monkeypatch.setenv(style.USETEX_ENV, "1")
    monkeypatch.setattr(style.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="LAB_USETEX=1 needs LaTeX.*latex, dvipng"):
        style.rc()
    monkeypatch.setattr(style.shutil, "which", lambda name: f"/usr/bin/{name}")
    assert style.rc()["text.usetex"] is True


def test_sizes_and_bad_arguments():
    fig, ax = style.figure("single")
    assert tuple(fig.get_size_inches()) == pytest.approx((3.25, 0.75 * 3.25))
    fig, axes = style.figure("double", aspect=0.5, ncols=2)
    assert fig.get_size_inches()[0] == pytest.approx(6.75) and len(axes) == 2
    with pytest.raises(ValueError, match="width"):
        style.figure("triple")
    with pytest.raises(ValueError, match="base_size"):
        style.rc(base_size=0)
    with pytest.raises(ValueError, match="formats"):
        style.save(fig, "/tmp/never", formats=("svg",))
    with pytest.raises(ValueError, match="delta"):
        style.delta_color(1.5)


def test_every_ns_preset_has_its_own_style():
    from lab.orthogonalization import NS_PRESETS

    assert set(NS_PRESETS) <= set(style.PRESET_STYLES)
    colours = [style.PRESET_STYLES[p]["color"] for p in NS_PRESETS]
    assert len(set(colours)) == len(colours)
    assert style.preset_style("brand_new") == style.preset_style("brand_new")  # stable fallback


def test_quantiles_count_diverged_runs_as_infinite():
    rng = np.random.default_rng(0)
    Y = rng.normal(size=(9, 4))
    np.testing.assert_allclose(style.quantiles_with_divergence(Y, (0.1, 0.5, 0.9)),
                               np.quantile(Y, (0.1, 0.5, 0.9), axis=0), rtol=1e-14)
    runs = np.array([[1.0], [2.0], [3.0], [np.inf], [np.nan]])  # two of five diverged
    lo, med, hi = style.quantiles_with_divergence(runs, (0.1, 0.5, 0.9))[:, 0]
    assert med == 3.0  # dropping the diverged runs would give 2.0
    assert hi == np.inf and lo == pytest.approx(1.4)
    assert style.quantiles_with_divergence(np.array([[1.0], [np.inf], [np.inf]]), (0.5,))[0, 0] == np.inf


def test_median_band_marks_diverged_runs():
    fig, ax = style.figure()
    x = np.arange(4.0)
    Y = np.ones((5, 4))
    Y[:3, 2] = np.inf  # 3 of 5 seeds diverged at x = 2
    band = style.median_band(ax, x, Y, label="run")
    assert list(band.n_diverged) == [0, 0, 3, 0] and band.median[2] == np.inf
    texts = [t.get_text() for t in ax.texts]
    assert "3/5" in texts
    markers = [line for line in ax.lines if line.get_marker() == "^"]
    assert len(markers) == 1 and list(markers[0].get_xdata()) == [2.0]
    with pytest.raises(ValueError, match="Y_seeds"):
        style.median_band(ax, x, np.ones((5, 3)))


def test_slope_annotation_and_bound_line():
    fig, ax = style.figure()
    text = style.annotate_slope(ax, -0.2612, -0.25, ci=(-0.29, -0.23)).get_text()
    assert text == "slope $-0.26$ $[-0.29, -0.23]$ (theory $-1/4$)"
    assert style.format_exponent(-1 / 3) == "-1/3" and style.format_exponent(-0.2612) == "-0.26"
    line = style.bound_line(ax, [1, 2, 3], [1.0, np.inf, 0.5], label="bound")
    assert line.get_linestyle() == "--" and np.isnan(line.get_ydata()[1])
