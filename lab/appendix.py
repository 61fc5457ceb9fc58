"""The LaTeX appendix (``lab appendix``): the public names of :mod:`lab.report`, where the code lives.

Kept so that ``from lab.appendix import build_appendix`` (and the other names below) keeps working.
"""

from lab.report.build import AppendixResult, build_appendix, compile_pdf, latex_available
from lab.report.formulas import ascii_math_tex, prose_tex
from lab.report.latex_check import check_latex, referenced_files
from lab.report.paths import DEFAULT_FIGURES, DEFAULT_OUT, REPO_ROOT
from lab.report.tables import (
    claim_theorems,
    ledger_table,
    problem_names,
    problems_table,
    rows_by_theorem,
    slopes_table,
    summary_table,
    verdicts_table,
)
from lab.report.template import (
    FIGURE_FOR,
    MACROS,
    PACKAGES,
    SECTIONS,
    figure_for,
    figures_fragment,
    preamble_fragment,
    template,
    theorem_section,
)
from lab.report.tex import tex_math, tex_number, tex_text
from lab.report.theorems import checks_summary, missing_tex, tex_field, theorem_fragment
from lab.verdicts import DEFAULT_VERDICTS
from lab.verdicts import SCHEMA as VERDICTS_SCHEMA
from lab.verdicts import load_legacy_rows as load_verdicts
from lab.verdicts import save_verdicts as write_verdicts

__all__ = [
    "AppendixResult", "build_appendix", "compile_pdf", "latex_available", "ascii_math_tex", "prose_tex",
    "check_latex", "referenced_files", "DEFAULT_FIGURES", "DEFAULT_OUT", "REPO_ROOT", "claim_theorems",
    "ledger_table", "problem_names", "problems_table", "rows_by_theorem", "slopes_table", "summary_table",
    "verdicts_table", "FIGURE_FOR", "MACROS", "PACKAGES", "SECTIONS", "figure_for", "figures_fragment",
    "preamble_fragment", "template", "theorem_section", "tex_math", "tex_number", "tex_text",
    "checks_summary", "missing_tex", "tex_field", "theorem_fragment", "DEFAULT_VERDICTS",
    "VERDICTS_SCHEMA", "load_verdicts", "write_verdicts",
]
