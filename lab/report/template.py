"""The document's frame: packages and macros, the theorem sections, the figures and the main template."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from figures.registry import discover
from lab.report.tex import GENERATED, tex_label, tex_text

PACKAGES = r"""\usepackage[T1]{fontenc}
\usepackage[utf8]{inputenc}
\usepackage{lmodern}
\usepackage{amsmath,amssymb}
\usepackage{booktabs}
\usepackage{array}
\usepackage{longtable}
\usepackage{graphicx}
\usepackage[hidelinks]{hyperref}
"""
"""The packages the fragments need (``preamble.tex`` lists them for a paper's preamble)."""

MACROS = r"""% \fitmath{...}: display math, scaled down to the line width when it is wider
\providecommand{\fitmath}{}
\newsavebox{\fitmathbox}
\renewcommand{\fitmath}[1]{\sbox{\fitmathbox}{$\displaystyle #1$}%
  \ifdim\wd\fitmathbox>\linewidth\resizebox{\linewidth}{!}{\usebox{\fitmathbox}}\else\usebox{\fitmathbox}\fi}
% \labref{label}{fallback} and \lablink{label}{text}: a reference and a link that fall back to
% plain text in a document without the label (a single fragment pasted into a paper)
\makeatletter
\providecommand{\labref}[2]{\@ifundefined{r@#1}{#2}{\ref{#1}}}
\providecommand{\lablink}[2]{\@ifundefined{r@#1}{#2}{\hyperref[#1]{#2}}}
\makeatother
"""

_PREAMBLE = (
    "\\documentclass[10pt]{article}\n"
    + PACKAGES
    + "\\usepackage[margin=0.85in]{geometry}\n"
    + r"""\setlength{\parindent}{0pt}
\setlength{\parskip}{0.4em}
\setlength{\LTcapwidth}{\linewidth}
\emergencystretch=2em
\tolerance=1000
% in the whole appendix every label exists: plain \ref and \hyperref, so that a broken one warns
\newcommand{\labref}[2]{\ref{#1}}
\newcommand{\lablink}[2]{\hyperref[#1]{#2}}
"""
    + MACROS
)


def preamble_fragment() -> str:
    """``preamble.tex``: what a paper's preamble needs to ``\\input`` the fragments."""
    return (
        GENERATED
        + "% \\input this file in the preamble of a paper that \\input's fragments of this folder.\n"
        + "% Packages (drop those the paper loads already):\n"
        + PACKAGES
        + MACROS
    )


SECTIONS = (
    ("S1", "S1: inexact linear minimisation oracles", "sec:S1"),
    ("S2", "S2: variance-reduced Muon", "sec:S2"),
    ("S3", "S3: Muon with decoupled weight decay", "sec:S3"),
    ("S4", "S4: spectral flattening", "sec:S4"),
    ("lab", "The lab's own results", "sec:lab"),
)
"""The theorem sections: source key, title, label."""


def theorem_section(key: str, thm: Any) -> str:
    """The section of a theorem: its source S1--S4 from the id prefix, "lab" for the lab's own
    results (ids ``X.*`` and sources that are a plain "lab derivation")."""
    m = re.match(r"(S[1-4])\.", str(key))
    if m and not str(key).startswith("X."):
        return m.group(1)
    return "lab"


FIGURE_FOR = (
    (r"S1\.(NS|lemma)", "fig01_newton_schulz"),
    (r"S1\.I[12]", "fig02_s1_bound"),
    (r"S1\.I3", "fig03_s1_coupling"),
    (r"S1\.I4", "fig05_layerwise"),
    (r"S2\.", "fig06_s2_rates"),
    (r"S3\.", "fig07_s3_constraint"),
    (r"S4\.", "fig08_s4_flattening"),
)
"""Theorem id pattern -> the figure that shows it (when that figure exists)."""


def figure_for(key: str, figures: Iterable[str]) -> str | None:
    figures = set(figures)
    for pattern, name in FIGURE_FOR:
        if re.match(pattern, str(key)) and name in figures:
            return name
    return None


def template(theorem_files: list[str], sections: list[tuple[str, str, list[str]]] | None = None) -> str:
    """The main document: preamble, the summary, the theorems by section, the tables, the figures.

    ``sections`` are (title, label, fragment files); without them every theorem goes in one section.
    """
    if sections is None:
        sections = [("Theorems", "sec:theorems", theorem_files)]
    body = []
    for title, label, files in sections:
        if files:
            inputs = "".join(f"\\input{{{f}}}\n" for f in files)
            body.append(f"\\section{{{title}}}\\label{{{label}}}\n{inputs}")
    inputs = "\n".join(body) or "No theorems in the catalog yet.\n"
    return (
        GENERATED
        + _PREAMBLE
        + r"""
\begin{document}
\appendix
\section*{Appendix: theory verification with \texttt{muon-lab}}
Every bound below is a statement of \texttt{bounds.CATALOG}; its source says whether it is
quoted from a paper or a lab derivation consistent with one.  \texttt{lab check} holds measured
runs against these bounds; Table~\ref{tab:summary} gives one line per claim, the sections after
it each theorem with its check results, and the tables at the end every verdict.
\input{tables/summary}
\clearpage
"""
        + inputs
        + r"""
\clearpage
\section{Verdict tables}\label{sec:tables}
\input{tables/ledger}
\input{tables/verdicts}
\input{tables/slopes}
\input{tables/problems}

\section{Figures}\label{sec:figures}
\input{figures/figures}
\end{document}
"""
    )


# --------------------------------------------------------------------------- figures


def figure_captions() -> dict[str, str]:
    """{figure name: caption} of the registered figures (empty when a figure module fails to load)."""
    try:
        return {name: spec.caption for name, spec in discover().items()}
    except Exception:  # a broken figure module must not stop the appendix; names are captions then
        return {}


def figures_fragment(figures_dir: Path, dest: Path, captions: Mapping[str, str]) -> tuple[str, list[str]]:
    """Copy the figures of ``figures_dir`` into ``dest`` and return (fragment, names)."""
    dest.mkdir(parents=True, exist_ok=True)
    stems = sorted({p.stem for p in Path(figures_dir).glob("*") if p.suffix in (".pdf", ".png")})
    parts = [GENERATED]
    for stem in stems:
        src = figures_dir / f"{stem}.pdf"
        if not src.is_file():
            src = figures_dir / f"{stem}.png"
        shutil.copyfile(src, dest / src.name)
        caption = captions.get(stem, stem)
        label = tex_label(stem)
        parts.append(
            "\\begin{figure}[htbp]\n\\centering\n"
            f"\\includegraphics{{figures/{src.name}}}\n"
            f"\\caption{{{tex_text(caption)} (\\texttt{{{tex_text(stem)}}})}}\\label{{fig:{label}}}\n"
            "\\end{figure}\n\n"
        )
    if not stems:
        parts.append("No figures yet (run \\texttt{lab figures}).\n")
    return "".join(parts), stems
