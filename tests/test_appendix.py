"""The LaTeX appendix: fragments per theorem, verdict tables, figures, and a sane document.

Every build is checked without TeX by :func:`lab.appendix.check_latex` (braces,
environments, math delimiters, every \\input and \\includegraphics target).  With TeX
installed one test also compiles the PDF.
"""

from __future__ import annotations

import json
import shutil

import pytest
import sympy as sp

from bounds import symbols as S
from bounds.core import METRICS_TEX, Theorem
from lab.appendix import (
    DEFAULT_FIGURES,
    VERDICTS_SCHEMA,
    build_appendix,
    check_latex,
    latex_available,
    load_verdicts,
    referenced_files,
    tex_text,
    theorem_fragment,
    write_verdicts,
)
from lab.stats import Verdict

BOUND = S.Delta0 / ((1 - S.delta) * S.t * S.K) + S.L * S.t * (1 + S.delta) ** 2 / (2 * (1 - S.delta))


def make_theorem(theorem_id: str = "S1.I1") -> Theorem:
    """A small theorem of the real class (the I1 shape of THEORY.md §2)."""
    return Theorem(
        id=theorem_id,
        title="Inexact LMO, deterministic, L-smooth",
        source="lab derivation consistent with S1 (claim: explicit degradation in δ)",
        algorithm="X ← X + t·D(∇f(X)) with ‖D(G) − lmo(G)‖ ≤ δ",
        parametrisation={"norm": "spectral", "step": "constant t"},
        assumptions=(S.Delta0, S.delta, S.t, S.L, S.K),
        conditions=(sp.StrictLessThan(S.delta, 1),),
        metric="avg_grad_dual",
        expr=BOUND,
        reference="S1, I1",
        proof_sketch="""Descent lemma with ⟨G, D⟩ ≤ −(1−δ)‖G‖_* and ‖D‖ ≤ 1 + δ.

            Sum over k; divide by (1−δ)tK.  100% of {braces} & _underscores_ escaped.""",
        horizon=S.K,
        controls=(S.t,),
        trends={"t_opt": "decreasing in delta"},
        example={"Delta0": 1.0, "delta": 0.1, "t": 0.1, "L": 1.0, "K": 100},
    )


VERDICTS = [
    Verdict(claim="S1.I1", source="lab derivation consistent with S1", problem="quadratic 8×8, spectral",
            bound=0.31, measured=0.12, verdict="holds", worst_ratio=0.83),
    Verdict(claim="S2.N1", source="lab derivation consistent with S2", problem="MVR2 on noisy quadratic",
            bound=-1 / 3, measured=-0.31, verdict="holds", slope=-0.31, ci=(-0.35, -0.29)),
    Verdict(claim="P2", source="lab derivation consistent with S2", problem="PL least squares",
            bound=1.0, measured=float("inf"), verdict="violated", worst_ratio=float("inf")),
]


@pytest.fixture
def figures_dir(tmp_path):
    """A figure folder holding one small figure (PDF + PNG)."""
    from figures import style

    out = tmp_path / "figs"
    with style.context():
        fig, ax = style.figure("single")
        ax.plot([0, 1], [1, 0])
        style.save(fig, out / "fig01_demo")
    return out


@pytest.fixture
def verdicts_file(tmp_path):
    return write_verdicts(VERDICTS, tmp_path / "check" / "verdicts.json")


def _build(tmp_path, figures_dir, verdicts, catalog=None, pdf=False, derived=True):
    catalog = {"S1.I1": make_theorem("S1.I1"), "S2.N1": make_theorem("S2.N1")} if catalog is None else catalog
    out = tmp_path / "appendix"
    return build_appendix(out, verdicts=verdicts, figures_dir=figures_dir, catalog=catalog, pdf=pdf,
                          derived=derived)


def test_every_reference_exists_and_latex_is_sane(tmp_path, figures_dir, verdicts_file):
    result = _build(tmp_path, figures_dir, verdicts_file)
    assert check_latex(result.tex) == []
    refs = referenced_files(result.tex)
    assert refs and all(p.is_file() for p in refs)
    names = {p.relative_to(result.out_dir).as_posix() for p in refs}
    assert {"theorems/S1_I1.tex", "theorems/S2_N1.tex", "tables/verdicts.tex", "tables/slopes.tex",
            "figures/figures.tex", "figures/fig01_demo.pdf"} <= names


def test_theorem_fragment_carries_every_part(tmp_path, figures_dir, verdicts_file):
    result = _build(tmp_path, figures_dir, verdicts_file)
    text = (result.out_dir / "theorems" / "S1_I1.tex").read_text()
    thm = make_theorem()
    assert thm.latex(typeset_metric=True) in text and sp.latex(BOUND) in text  # the sympy LaTeX of the bound
    parts = ("Source.", "Statement.", "Assumptions (domains).", "Validity conditions.", "Predicted trends.",
             "Derived by sympy.", "Proof sketch.", "lab derivation consistent with S1",
             METRICS_TEX["avg_grad_dual"])
    for part in parts:
        assert part in text, part
    assert r"$\delta \ge 0$" in text and r"$t > 0$" in text  # domains from the sympy assumptions
    assert f"${sp.latex(sp.StrictLessThan(S.delta, 1))}$" in text  # validity condition
    assert r"$t^{*}$ decreasing in $\delta$" in text  # trend
    assert sp.latex(thm.optimum[S.t]) in text  # derived optimum t*
    assert r"100\% of \{braces\} \& \_underscores\_ escaped" in text


def test_tables_hold_the_verdict_rows(tmp_path, figures_dir, verdicts_file):
    result = _build(tmp_path, figures_dir, verdicts_file)
    verdicts = (result.out_dir / "tables" / "verdicts.tex").read_text()
    slopes = (result.out_dir / "tables" / "slopes.tex").read_text()
    assert r"\toprule" in verdicts and r"\bottomrule" in verdicts  # booktabs
    assert verdicts.count(" \\\\\n") == 2 + len(VERDICTS)  # two header copies (longtable) + one per row
    # linked to the theorem (the id may break after its dots); P2 is not in the catalog
    assert r"\lablink{thm:S1.I1}{S1.\allowbreak{}I1}" in verdicts
    assert r"\lablink{thm:S2.N1}{S2.\allowbreak{}N1}" in verdicts
    assert "\nP2 & " in verdicts
    assert r"\textbf{violated}" in verdicts and r"$\infty$" in verdicts
    assert slopes.count(" \\\\\n") == 2 + 1  # only the row with a slope
    assert "$-0.31$" in slopes and "[$-0.35$, $-0.29$]" in slopes and "$-0.333$" in slopes


def test_missing_verdicts_say_not_run_yet(tmp_path, figures_dir):
    result = _build(tmp_path, figures_dir, tmp_path / "absent.json")
    assert not result.verdicts_found
    for table in ("verdicts", "slopes"):
        assert "not run yet" in (result.out_dir / "tables" / f"{table}.tex").read_text()
    assert check_latex(result.tex) == []


def test_stale_fragments_are_removed(tmp_path, figures_dir, verdicts_file):
    _build(tmp_path, figures_dir, verdicts_file)
    result = _build(tmp_path, figures_dir, verdicts_file, catalog={"S1.I1": make_theorem()})
    assert not (result.out_dir / "theorems" / "S2_N1.tex").exists()


@pytest.mark.parametrize(
    "broken, message",
    [
        ("\\section{A\n", "unclosed '{'"),
        ("}\n", "unmatched '}'"),
        ("\\begin{itemize}\\item x\\end{enumerate}\n", "does not close"),
        ("$x\n", "odd number of '$'"),
        ("\\input{theorems/nowhere}\n", "does not exist"),
        ("\\includegraphics[width=2in]{figures/nowhere}\n", "does not exist"),
    ],
)
def test_check_latex_catches_broken_documents(tmp_path, figures_dir, verdicts_file, broken, message):
    """The deliberately wrong variants: each breakage is reported."""
    result = _build(tmp_path, figures_dir, verdicts_file)
    fragment = result.out_dir / "theorems" / "S1_I1.tex"
    fragment.write_text(fragment.read_text() + broken)
    problems = check_latex(result.tex)
    assert any(message in p for p in problems), problems


def test_check_latex_ignores_escapes_and_comments(tmp_path):
    main = tmp_path / "doc.tex"
    text = "\\begin{document}\n50\\% \\{ \\$ % } unbalanced in a comment $\n\\\\% {\n\\end{document}\n"
    main.write_text(text)
    assert check_latex(main) == []


@pytest.mark.parametrize(
    "data, field",
    [
        ({"schema": "other", "rows": []}, "schema"),
        ({"schema": VERDICTS_SCHEMA, "rows": {}}, "rows"),
        ({"schema": VERDICTS_SCHEMA, "rows": [{"verdict": "holds"}]}, "claim"),
        ({"schema": VERDICTS_SCHEMA, "rows": [{"claim": "I1", "verdict": "pass"}]}, "verdict"),
    ],
)
def test_malformed_verdicts_are_rejected(tmp_path, data, field):
    path = tmp_path / "v.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=field):
        load_verdicts(path)


def test_verdicts_round_trip(verdicts_file):
    def comparable(row):
        return {k: (json.loads(v) if k == "details" else v) for k, v in row.items() if k in first}

    first = VERDICTS[0].as_row()
    loaded = load_verdicts(verdicts_file)
    assert [comparable(r) for r in loaded] == [comparable(v.as_row()) for v in VERDICTS]


def test_tex_text_escapes_and_rejects_unknown_glyphs():
    assert tex_text("a_b & 50% #1 {x}") == r"a\_b \& 50\% \#1 \{x\}"
    assert tex_text("‖G‖ ≤ δ") == r"$\|$G$\|$ $\le$ $\delta$"
    assert tex_text("δx") == r"$\delta$x"
    assert tex_text("keep $a_b$ math") == "keep $a_b$ math"
    assert tex_text("Richtárik") == "Richtárik"
    assert tex_text("σ̄ and x̄") == r"$\bar{\sigma}$ and $\bar{x}$"  # combining macron
    with pytest.raises(ValueError, match="U\\+2603"):
        tex_text("snow ☃")


def test_real_catalog_fragments_are_sane(tmp_path, figures_dir):
    """Every theorem of bounds.CATALOG renders to a sane fragment (skipped while it is empty)."""
    import bounds

    catalog = getattr(bounds, "CATALOG", {})
    if not catalog:
        pytest.skip("bounds.CATALOG is empty or missing (the bounds package is not written yet)")
    # derived=False: sympy's derivations of every theorem are tested in the bounds tests and slow here
    result = _build(tmp_path, figures_dir, tmp_path / "absent.json", catalog=catalog, derived=False)
    assert check_latex(result.tex) == []
    assert result.notes == []  # every character of every text has a LaTeX rendering (else extend the tables)
    for key, thm in catalog.items():
        assert thm.latex(typeset_metric=True) in theorem_fragment(key, thm, strict=False)


def test_repository_figures_are_included(tmp_path):
    """The figures committed in figures/out/ all get an \\includegraphics that resolves."""
    stems = sorted({p.stem for p in DEFAULT_FIGURES.glob("*.p[dn][fg]")})
    if not stems:
        pytest.skip("figures/out/ is empty (run `lab figures`)")
    result = build_appendix(tmp_path / "appendix", verdicts=tmp_path / "absent.json", catalog={}, pdf=False)
    assert result.figures == stems
    assert check_latex(result.tex) == []


@pytest.mark.skipif(latex_available() is None, reason="no latexmk or pdflatex on PATH (TeX not installed)")
def test_pdf_builds(tmp_path, figures_dir, verdicts_file):
    result = _build(tmp_path, figures_dir, verdicts_file, pdf=True)
    assert result.pdf is not None and result.pdf.read_bytes()[:5] == b"%PDF-"
    log = result.tex.with_suffix(".log").read_text(errors="replace")
    assert "Undefined control sequence" not in log and "Missing $ inserted" not in log


def test_pdf_required_without_tex_is_an_error(tmp_path, figures_dir, verdicts_file, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="latexmk or pdflatex"):
        _build(tmp_path, figures_dir, verdicts_file, pdf=True)
    result = _build(tmp_path, figures_dir, verdicts_file, pdf=None)
    assert result.pdf is None and "no latexmk" in result.pdf_skipped
