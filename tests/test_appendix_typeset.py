"""The appendix as a paper includes it: formulas typeset, symbols as in the papers, the project's
own words, a summary first, sections per source, fragments that compile on their own.

The ASCII-math count runs on the real catalog: a theorem whose plain text the typesetter cannot
turn into LaTeX fails it, and the message names the theorem and the fields that lack a stored
LaTeX form (``Theorem.tex``).  The TeX tests skip without TeX (CI installs it).
"""

from __future__ import annotations

import re
import subprocess

import pytest
import sympy as sp

import bounds
from bounds import symbols as S
from bounds.core import Theorem
from lab.appendix import (
    SECTIONS,
    build_appendix,
    check_latex,
    latex_available,
    missing_tex,
    prose_tex,
    theorem_fragment,
    theorem_section,
    write_verdicts,
)
from lab.stats import Verdict

#: ASCII math that must not reach the generated LaTeX: powers, relations, roots and norms
#: typed for a terminal, and code names of symbols.
ASCII_MATH = re.compile(r"\*\*|<=|>=|!=|sqrt\(|\|\||(?<![\\\w])lam\b|X_\{0op\}")
#: Pointers to a document the reader does not have.
OUTSIDE = re.compile(r"THEORY|\.\./shared")

VERDICTS = [
    Verdict(claim="S1-lemma[a]", source="lab derivation consistent with S1", problem="random 8x6 matrices",
            bound="S1.lemma_a (excess form, ratio <= 1)", measured="worst ratio 1", verdict="holds",
            worst_ratio=0.99),
    Verdict(claim="S2-N1", source="lab derivation consistent with S2",
            problem="isotropic_quadratic 8x6 (L=1), noisy: sigma=0.2, eta0=0.1",
            bound=-0.25, measured=-0.26, verdict="holds", slope=-0.26, ci=(-0.28, -0.24)),
    Verdict(claim="S4-eta2-floor[invariant level]", source="lab formalisation consistent with S4",
            problem="kronecker_quadratic mu=0.05", bound="L_op**2 eta**2/(8 mu) + L_op eta^2/2",
            measured="worst max_{t >= entry} gap_t / level", verdict="violated", worst_ratio=1.5),
]


def lab_theorem(**tex) -> Theorem:
    """A lab result added after the appendix was written, with plain-text fields only (or ``tex``)."""
    return Theorem(
        id="X.MVR2.inexact",
        title="MVR2 with a δ-inexact oracle",
        source="lab derivation",
        algorithm="M_t = g_t + beta_t (M_{t-1} - grad f(X_{t-1}; xi_t)), X_{t+1} = X_t - eta D(M_t), "
        "||E|| <= delta",
        parametrisation={"momentum": "STORM, a_t = 1 - beta_t"},
        assumptions=(S.delta, S.eta, S.lam, S.X0_op),
        conditions=(sp.Lt(S.delta, 1),),
        metric="op_norm",
        expr=S.X0_op + S.eta / S.lam * (1 + S.delta),
        reference="lab",
        proof_sketch="Induction: ||X_{t+1}||_op <= (1 - eta lam) ||X_t||_op + eta (1 + delta); "
        "the fixed point is (1 + delta)/lam, reached at rate T^(-1/2) with sqrt(T) steps.",
        tex=tex,
        example={"delta": 0.1, "eta": 0.1, "lam": 0.5, "X0_op": 1.0},
    )


def _generated(out) -> dict[str, str]:
    return {p.relative_to(out).as_posix(): p.read_text() for p in sorted(out.rglob("*.tex"))}


def _ascii_lines(files: dict[str, str]) -> list[str]:
    return [f"{name}:{i}: {line.strip()[:120]}" for name, text in files.items()
            for i, line in enumerate(text.splitlines(), 1) if ASCII_MATH.search(line)]


@pytest.fixture
def verdicts_file(tmp_path):
    return write_verdicts(VERDICTS, tmp_path / "verdicts.json")


@pytest.fixture
def real_appendix(tmp_path, verdicts_file):
    """The appendix sources of the real catalog (derivations off: they are tested in the bounds tests)."""
    return build_appendix(tmp_path / "appendix", verdicts=verdicts_file, derived=False, pdf=False)


def test_no_ascii_math_in_the_generated_latex(real_appendix):
    files = _generated(real_appendix.out_dir)
    bad = _ascii_lines(files)
    lacking = {k: missing_tex(t) for k, t in bounds.CATALOG.items() if missing_tex(t)}
    culprits = sorted({name.split("/")[-1] for name in (b.split(":", 1)[0] for b in bad)})
    assert not bad, (
        f"{len(bad)} lines of ASCII math in {culprits}:\n  " + "\n  ".join(bad[:30])
        + "\ntheorems without stored LaTeX (Theorem.tex) for: "
        + "; ".join(f"{k} ({', '.join(v)})" for k, v in lacking.items() if any(k.replace('.', '_') in c
                                                                          for c in culprits))
    )


def test_no_pointers_to_documents_outside_the_repository(real_appendix):
    hits = [f"{name}: {m.group(0)}" for name, text in _generated(real_appendix.out_dir).items()
            for m in OUTSIDE.finditer(text)]
    assert hits == []


def test_symbols_print_as_in_the_papers():
    assert S.latex(S.lam) == r"\lambda"
    assert S.latex(S.X0_op) == r"\|X_0\|_{\mathrm{op}}"
    code_name = re.compile(r"(?<![\\a-zA-Z])[a-z]{3,}")  # 'lam', 'srank': a name, not a symbol
    for name in S.INFO:
        symbol = sp.Symbol(name)
        printed = re.sub(r"\\(mathrm|operatorname)\{[^}]*\}", "", S.latex(symbol))
        assert not code_name.search(printed), f"{name} prints as {S.latex(symbol)!r}: add it to symbols.LATEX"


@pytest.mark.parametrize(
    "plain, pieces",
    [
        ("D(G) = lmo(G) + E, ||E|| <= delta", [r"\operatorname{lmo}(G)", r"\|E\|", r"\le", r"\delta"]),
        ("e**3*(3*e**2 - 15*e + 20)/8", ["e^{3}", "e^{2}"]),
        ("f(X_t) - f* + 2 eta_t ||eps_t||_* + (L r/2) eta_t^2",
         [r"f^*", r"\eta_{t}^{2}", r"\|\varepsilon_{t}\|_*"]),
        ("rate T^(-1/3) with sqrt(T) steps", ["T^{-1/3}", r"\sqrt{T}"]),
        ("<G, D(G)> <= −(1 − δ)‖G‖_*", [r"\langle G,", r"D(G)\rangle", r"\|G\|_*"]),
        ("anytime O~(T^-1/4)", [r"\tilde{O}(T^{-1/4})"]),
        ("{F − F* <= B(η)} is invariant", [r"\{F - F^*", r"\}$ is invariant"]),
        ("max |||NS_k - polar||_op - e_k|", [r"|\|\text{NS}_{k}", r"\|_{\mathrm{op}}"]),
    ],
)
def test_plain_text_formulas_are_typeset(plain, pieces):
    tex = prose_tex(plain)
    for piece in pieces:
        assert piece in tex, (piece, tex)
    assert not ASCII_MATH.search(tex) and tex.count("$") % 2 == 0


def test_a_theorem_without_latex_falls_back_and_says_so(tmp_path, verdicts_file):
    thm = lab_theorem()
    assert missing_tex(thm) == ["algorithm", "proof_sketch"]
    assert theorem_section(thm.id, thm) == "lab"
    text = theorem_fragment(thm.id, thm)
    assert r"\lambda" in text and r"\|X_0\|_{\mathrm{op}}" in text and r"\sqrt{T}" in text
    assert not ASCII_MATH.search(text)
    stored = lab_theorem(proof_sketch=r"By induction on $t$: $\|X_t\|_{\mathrm{op}} \le R$.")
    assert missing_tex(stored) == ["algorithm"]
    assert r"By induction on $t$: $\|X_t\|_{\mathrm{op}} \le R$." in theorem_fragment(stored.id, stored)
    result = build_appendix(tmp_path / "a", verdicts=verdicts_file, catalog={thm.id: thm}, derived=False,
                            pdf=False)
    main = result.tex.read_text()
    lab_title = dict((k, t) for k, t, _ in SECTIONS)["lab"]
    assert f"\\section{{{lab_title}}}" in main and "\\input{theorems/X_MVR2_inexact}" in main


def test_summary_first_then_sections_then_tables(real_appendix):
    main = real_appendix.tex.read_text()
    marks = ("\\input{tables/summary}", "\\section{S1", "\\section{S2", "\\section{S3", "\\section{S4",
             "\\input{tables/verdicts}", "\\input{tables/problems}")
    order = [main.index(m) for m in marks]
    assert order == sorted(order)
    summary = (real_appendix.out_dir / "tables" / "summary.tex").read_text()
    assert r"\textbf{violated}" in summary and "[$-0.28$, $-0.24$]" in summary  # worst verdict, slope CI
    verdicts = (real_appendix.out_dir / "tables" / "verdicts.tex").read_text()
    assert "kronecker_quadratic" not in verdicts and r"\lablink{prob:p3}{p3}" in verdicts  # short names
    legend = (real_appendix.out_dir / "tables" / "problems.tex").read_text()
    assert r"p3\label{prob:p3}" in legend and "kronecker\\_quadratic" in legend
    lemma = (real_appendix.out_dir / "theorems" / "S1_lemma_a.tex").read_text()
    assert r"\paragraph{Checks.} 1 holds (1 verdict)" in lemma
    assert r"\labref{fig:fig01-newton-schulz}" in lemma
    other = (real_appendix.out_dir / "theorems" / "S1_lemma_b.tex").read_text()
    assert "no check covers this statement yet" in other  # the row of lemma (a) is not lemma (b)'s


def _tex_log(folder, name: str) -> str:
    for _ in range(2):  # twice: references
        proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", name], cwd=folder,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout[-3000:]
    return (folder / name).with_suffix(".log").read_text(errors="replace")


def _warnings(log: str, overfull_pt: float = 5.0) -> list[str]:
    found = re.findall(r"^(?:LaTeX|Package \w+) Warning:.*$", log, flags=re.M)
    found += [m.group(0) for m in re.finditer(r"Overfull \\hbox \(([\d.]+)pt too wide\).*", log)
              if float(m.group(1)) > overfull_pt]
    return found


@pytest.mark.skipif(latex_available() is None, reason="no latexmk or pdflatex on PATH (TeX not installed)")
def test_the_appendix_builds_without_warnings(tmp_path, verdicts_file):
    result = build_appendix(tmp_path / "appendix", verdicts=verdicts_file, derived=False, pdf=True)
    log = result.tex.with_suffix(".log").read_text(errors="replace")
    assert _warnings(log) == []


@pytest.mark.skipif(latex_available() is None, reason="no latexmk or pdflatex on PATH (TeX not installed)")
def test_a_fragment_compiles_in_a_paper_of_its_own(tmp_path, verdicts_file):
    out = tmp_path / "fragments"
    catalog = {"S1.lemma_a": bounds.get("S1.lemma_a")}
    build_appendix(out, verdicts=verdicts_file, catalog=catalog, derived=False, pdf=False)
    paper = out / "paper.tex"
    paper.write_text("\\documentclass{article}\n\\input{preamble}\n\\begin{document}\n"
                     "\\input{theorems/S1_lemma_a}\n\\end{document}\n")
    assert check_latex(paper) == []
    assert _warnings(_tex_log(out, "paper.tex")) == []  # the figure and table references fall back to text
