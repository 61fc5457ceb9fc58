"""Build the appendix: the fragments, the tables, the main document and (with TeX) the PDF."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bounds
from lab.checks import ledger
from lab.report.latex_check import check_latex
from lab.report.paths import DEFAULT_FIGURES, DEFAULT_OUT
from lab.report.tables import (
    ledger_table,
    problems_table,
    rows_by_theorem,
    slopes_table,
    summary_table,
    verdicts_table,
)
from lab.report.template import (
    SECTIONS,
    figure_captions,
    figure_for,
    figures_fragment,
    preamble_fragment,
    template,
    theorem_section,
)
from lab.report.tex import file_stem
from lab.report.theorems import theorem_fragment
from lab.verdicts import DEFAULT_VERDICTS, load_legacy_rows


@dataclass
class AppendixResult:
    """What :func:`build_appendix` wrote."""

    out_dir: Path
    tex: Path
    fragments: list[Path] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)
    pdf: Path | None = None
    pdf_skipped: str | None = None
    verdicts_found: bool = False
    notes: list[str] = field(default_factory=list)


def _catalog() -> Mapping[str, Any]:
    catalog = getattr(bounds, "CATALOG", None)
    if catalog is None:
        return {}
    return catalog


def _write(path: Path, text: str, written: list[Path]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    written.append(path)


def latex_available() -> str | None:
    """The TeX driver on PATH ("latexmk" or "pdflatex"), or None."""
    for tool in ("latexmk", "pdflatex"):
        if shutil.which(tool):
            return tool
    return None


def build_appendix(
    out_dir: str | os.PathLike = DEFAULT_OUT,
    *,
    verdicts: str | os.PathLike = DEFAULT_VERDICTS,
    figures_dir: str | os.PathLike = DEFAULT_FIGURES,
    catalog: Mapping[str, Any] | None = None,
    derived: bool = True,
    pdf: bool | None = None,
) -> AppendixResult:
    """Write the appendix sources (and the PDF when TeX is installed).

    ``out_dir`` then holds ``appendix.tex``, ``preamble.tex`` (the packages and macros the
    fragments need), ``theorems/<id>.tex`` (one ``\\input``-able fragment per theorem, with its
    check results), ``tables/*.tex`` (summary, ledger, verdicts, slopes, problems) and
    ``figures/``.

    Parameters
    ----------
    out_dir : path
        Output folder (``build/appendix/``); its generated sub-folders are rewritten.
    verdicts : path
        The ``lab check`` verdicts JSON (schema in :mod:`lab.verdicts`); absent -> "not run yet".
    figures_dir : path
        Folder of the figures (``figures/out/``).
    catalog : mapping id -> theorem, optional
        Default ``bounds.CATALOG``.
    derived : bool
        Add what sympy derives (optimum, rate, degradation) to each theorem.
    pdf : bool, optional
        Build ``appendix.pdf``: ``None`` (default) when TeX is installed, ``True`` requires it.

    Raises
    ------
    ValueError
        A malformed verdicts file.
    RuntimeError
        ``pdf=True`` without TeX, a TeX run that fails (with the log's tail), or sources
        that fail :func:`check_latex`.
    """
    out = Path(out_dir)
    catalog = _catalog() if catalog is None else catalog
    driver = latex_available()
    if pdf is True and driver is None:
        raise RuntimeError("pdf=True needs latexmk or pdflatex on PATH")
    for sub in ("theorems", "tables", "figures"):  # generated folders: stale fragments must go
        shutil.rmtree(out / sub, ignore_errors=True)
    written: list[Path] = []
    rows = load_legacy_rows(verdicts)
    known = {str(k) for k in catalog}
    fragment, names = figures_fragment(Path(figures_dir), out / "figures", figure_captions())
    _write(out / "figures" / "figures.tex", fragment, written)
    sections, notes = _write_theorems(out, catalog, rows, known, names, derived, written)
    _write_tables(out, rows, known, written)
    _write(out / "preamble.tex", preamble_fragment(), written)
    tex = out / "appendix.tex"
    theorem_files = [f for _, _, files in sections for f in files]
    tex.write_text(template(theorem_files, sections), encoding="utf-8")
    problems = check_latex(tex)
    if problems:
        raise RuntimeError("the generated appendix is not sane LaTeX:\n  " + "\n  ".join(problems))
    result = AppendixResult(out, tex, written, names, verdicts_found=rows is not None, notes=notes)
    if pdf is False:
        result.pdf_skipped = "not requested"
    elif driver is None:
        result.pdf_skipped = "no latexmk or pdflatex on PATH"
    else:
        result.pdf = compile_pdf(tex, driver=driver)
    return result


def _write_theorems(
    out: Path,
    catalog: Mapping[str, Any],
    rows: list[Mapping[str, Any]] | None,
    known: set[str],
    figures: list[str],
    derived: bool,
    written: list[Path],
) -> tuple[list[tuple[str, str, list[str]]], list[str]]:
    """One fragment per theorem (a glyph TeX cannot set is written as '?' and noted); returns the
    sections of the template, (title, label, fragment files), and the notes."""
    per_theorem = rows_by_theorem(rows, known) if rows is not None else {}
    notes: list[str] = []
    by_section: dict[str, list[str]] = {key: [] for key, _, _ in SECTIONS}
    for key, thm in catalog.items():
        rel = f"theorems/{file_stem(str(key))}"
        options = dict(
            derived=derived,
            checks=per_theorem.get(str(key), []) if rows is not None else None,
            figure=figure_for(str(key), figures),
        )
        try:
            text = theorem_fragment(str(key), thm, **options)
        except ValueError as exc:
            notes.append(f"theorem {key}: {exc}")
            text = theorem_fragment(str(key), thm, strict=False, **options)
        _write(out / f"{rel}.tex", text, written)
        by_section[theorem_section(str(key), thm)].append(rel)
    return [(title, label, by_section[key]) for key, title, label in SECTIONS], notes


def _write_tables(
    out: Path, rows: list[Mapping[str, Any]] | None, known: set[str], written: list[Path]
) -> None:
    """The summary, verdicts, slopes, problems and ledger tables (each "not run yet" without rows)."""
    _write(out / "tables" / "summary.tex", summary_table(rows, known), written)
    _write(out / "tables" / "verdicts.tex", verdicts_table(rows, known), written)
    _write(out / "tables" / "slopes.tex", slopes_table(rows, known), written)
    _write(out / "tables" / "problems.tex", problems_table(rows), written)
    ledger_rows = ledger(rows) if rows is not None else None
    _write(out / "tables" / "ledger.tex", ledger_table(ledger_rows, known), written)
def compile_pdf(tex: Path, *, driver: str | None = None, timeout: float = 600.0) -> Path:
    """Run latexmk (or pdflatex twice) on ``tex``; reproducible dates; returns the PDF path."""
    driver = driver or latex_available()
    if driver is None:
        raise RuntimeError("no latexmk or pdflatex on PATH")
    tex = Path(tex)
    env = dict(os.environ, SOURCE_DATE_EPOCH="0", FORCE_SOURCE_DATE="1")
    flags = ["-interaction=nonstopmode", "-halt-on-error", "-file-line-error"]
    if driver == "latexmk":
        commands = [["latexmk", "-pdf", "-silent", *flags, tex.name]]
    else:
        commands = [["pdflatex", *flags, tex.name]] * 2  # twice: references and longtable widths
    for cmd in commands:
        proc = subprocess.run(cmd, cwd=tex.parent, env=env, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            log = tex.with_suffix(".log")
            tail = log.read_text(errors="replace")[-3000:] if log.is_file() else proc.stdout[-3000:]
            raise RuntimeError(f"{' '.join(cmd)} failed (exit {proc.returncode}); log tail:\n{tail}")
    pdf = tex.with_suffix(".pdf")
    if not pdf.is_file():
        raise RuntimeError(f"{driver} finished but wrote no {pdf}")
    return pdf
