"""The LaTeX fragment of one theorem of ``bounds.CATALOG``, with its check results."""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from typing import Any

import sympy

from bounds import symbols
from bounds.core import METRICS
from lab.report.formulas import prose_tex
from lab.report.tex import GENERATED, finite, tex_ci, tex_label, tex_number, tex_text


def _sympy_latex(obj: Any) -> str:
    """``sympy.latex`` with the symbols named as in the papers (λ, ‖X_0‖_op; ``bounds.symbols.LATEX``)."""
    return symbols.latex(obj)


def _attr(thm: Any, name: str, default: Any = None) -> Any:
    return getattr(thm, name, default)


def _itemize(items: list[str]) -> str:
    if not items:
        return "none.\n"
    return "\\begin{itemize}\n" + "".join(f"  \\item {it}\n" for it in items) + "\\end{itemize}\n"


def tex_field(thm: Any, name: str, *, strict: bool = True) -> str:
    """A text field of a theorem as LaTeX: its stored LaTeX form (``thm.tex[name]``) when it has
    one, else its plain text typeset by :func:`prose_tex`; '' when the field is empty."""
    stored = (_attr(thm, "tex") or {}).get(name)
    if stored:
        return str(stored).strip()
    value = _attr(thm, name)
    if not value:
        return ""
    paragraphs = [p.strip() for p in inspect.cleandoc(str(value)).split("\n\n") if p.strip()]
    return "\n\n".join(prose_tex(" ".join(p.split()), strict=strict) for p in paragraphs)


def missing_tex(thm: Any) -> list[str]:
    """The text fields of ``thm`` with plain text but no stored LaTeX form (``thm.tex``)."""
    stored = _attr(thm, "tex") or {}
    return [n for n in ("algorithm", "proof_sketch", "notes") if _attr(thm, n) and not stored.get(n)]


def _assumption_items(thm: Any, strict: bool) -> list[str]:
    """'$\\delta \\ge 0$ -- meaning' per declared symbol (domain from its sympy assumptions)."""
    items = []
    for sym in _attr(thm, "assumptions", ()) or ():
        if isinstance(sym, str):
            items.append(prose_tex(sym, strict=strict))
            continue
        domain = r"> 0" if getattr(sym, "is_positive", False) else r"\ge 0"
        info = symbols.INFO.get(getattr(sym, "name", None))
        meaning = f" -- {prose_tex(info.doc, strict=strict)}" if info is not None else ""
        items.append(f"${_sympy_latex(sym)} {domain}${meaning}")
    return items


_TREND_WORD = re.compile(r"\b(delta_i|delta|beta|alpha)\b")


def _trend_items(trends: Any, strict: bool) -> list[str]:
    """{'t_opt': 'decreasing in delta'} -> '$t^{*}$ decreasing in $\\delta$'."""
    if not trends:
        return []
    if not isinstance(trends, Mapping):
        return [prose_tex(t, strict=strict) for t in trends]
    items = []
    for key, text in trends.items():
        name = str(key)[:-4] if str(key).endswith("_opt") else None
        head = f"${_sympy_latex(sympy.Symbol(name))}^{{*}}$" if name else prose_tex(key, strict=strict)
        parts = _TREND_WORD.split(str(text))
        body = "".join(
            f"${_sympy_latex(sympy.Symbol(w))}$" if i % 2 else prose_tex(w, strict=strict)
            for i, w in enumerate(parts)
        )
        items.append(f"{head} {body}")
    return items


def _derived_items(thm: Any) -> list[str]:
    """What sympy derives from the statement (optimum, rate, degradation); failures are reported."""
    items = []
    for label, getter in (
        (
            "optimal controls",
            lambda: ",\\; ".join(
                f"{_sympy_latex(c)}^{{*}} = {_sympy_latex(v)}" for c, v in thm.optimum.items()
            ),
        ),
        (
            "rate in the horizon",
            lambda: None if thm.rate is None else f"{_sympy_latex(thm.horizon)}^{{{_sympy_latex(thm.rate)}}}",
        ),
        (
            "degradation (value at the optimum over its $\\delta = 0$ value)",
            lambda: None if thm.degradation is None else _sympy_latex(thm.degradation),
        ),
    ):
        try:
            value = getter()
        except Exception as exc:  # a derivation sympy cannot do is a fact to report, not a crash
            items.append(f"{label}: not derived ({tex_text(type(exc).__name__)})")
            continue
        if value:
            items.append(f"{label}: \\fitmath{{{value}}}")
    return items


def _statement(thm: Any) -> str:
    if callable(_attr(thm, "latex")):
        try:
            return thm.latex(typeset_metric=True)
        except TypeError:  # a theorem class without the option: the metric by its name
            return thm.latex()
    return _sympy_latex(_attr(thm, "expr"))


def checks_summary(rows: list[Mapping[str, Any]] | None) -> str:
    """The compact result of a theorem's checks: verdict counts, tightness, slopes with their CI."""
    if rows is None:
        return "not run yet (\\texttt{lab check})."
    if not rows:
        return "no check covers this statement yet."
    counts = {k: sum(r.get("verdict") == k for r in rows) for k in ("holds", "violated", "inconclusive")}
    names = {"violated": "\\textbf{violated}"}
    parts = [", ".join(f"{n} {names.get(k, k)}" for k, n in counts.items() if n)]
    parts[0] += f" ({len(rows)} verdict{'s' if len(rows) != 1 else ''})"
    ratios = [finite(r.get("worst_ratio")) for r in rows]
    ratios = [x for x in ratios if x is not None]
    if ratios:
        parts.append(f"tightness (worst measured/bound ratio) {tex_number(max(ratios))}")
    for r in rows:
        if finite(r.get("slope")) is not None:
            predicted = tex_number(r.get("bound")) if finite(r.get("bound")) is not None else "--"
            parts.append(f"slope {tex_number(r.get('slope'))} with CI {tex_ci(r)} (predicted {predicted})")
    return "; ".join(parts) + ". All rows: Table~\\labref{tab:verdicts}{(verdicts)}."


def theorem_fragment(
    key: str,
    thm: Any,
    *,
    derived: bool = False,
    strict: bool = True,
    checks: list[Mapping[str, Any]] | None | bool = False,
    figure: str | None = None,
) -> str:
    """The LaTeX fragment of one ``bounds.core.Theorem``.

    Parts: title and label ``thm:<key>``; source and reference; algorithm and its
    parametrisation; the statement ``metric relation bound`` (``thm.latex()``, the sympy
    LaTeX of the bound) with the metric's meaning; the assumptions (every symbol with its
    domain and meaning); the validity conditions (sympy relations); the predicted trends;
    with ``derived`` the optimum, rate and degradation sympy derives; the proof sketch;
    with ``checks`` (its verdict rows, ``None``: not run yet) their compact result; with
    ``figure`` a reference to it.  Text fields come from ``thm.tex`` when stored there,
    else from the plain text (:func:`tex_field`).  ``strict=False`` replaces characters
    LaTeX cannot set by ``?`` instead of raising.
    """

    def text(value: Any) -> str:
        return prose_tex(value, strict=strict)

    title = (_attr(thm, "tex") or {}).get("title") or text(_attr(thm, "title") or key)
    heading = f"\\texorpdfstring{{{tex_text(key)}: {title}}}{{{tex_text(key)}}}"  # bookmarks: plain text
    out = [GENERATED, f"\\subsection{{{heading}}}\\label{{thm:{tex_label(key)}}}\n\n"]
    source, reference = _attr(thm, "source"), _attr(thm, "reference")
    out.append(f"\\paragraph{{Source.}} {text(source) if source else 'not stated.'}")
    out.append(f"\\par\n{{\\raggedright Reference: {text(reference)}.\\par}}\n\n" if reference else "\n\n")
    algorithm = tex_field(thm, "algorithm", strict=strict)
    if algorithm:
        out.append(f"\\paragraph{{Algorithm.}} {algorithm}\n")
        conventions = _attr(thm, "parametrisation") or {}
        if conventions:
            pairs = "; ".join(f"{text(k)}: {text(v)}" for k, v in conventions.items())
            out.append(f"\\\\\nConventions: {pairs}.\n")
        out.append("\n")
    metric = _attr(thm, "metric")
    meaning = METRICS.get(metric)
    lead = ""
    if metric and meaning:
        lead = "The bounded quantity: " + text(meaning) + ". "
    out.append("\\paragraph{Statement.} Under the assumptions and conditions below,\n")
    out.append(f"\\begin{{center}}\n\\fitmath{{{_statement(thm)}}}\n\\end{{center}}\n{lead}\n")
    out.append("\\paragraph{Assumptions (domains).}\n" + _itemize(_assumption_items(thm, strict)))
    conditions = [f"${_sympy_latex(c)}$" for c in (_attr(thm, "conditions") or ())]
    out.append("\n\\paragraph{Validity conditions.}\n" + _itemize(conditions))
    trends = _trend_items(_attr(thm, "trends"), strict)
    if trends:
        out.append("\n\\paragraph{Predicted trends.}\n" + _itemize(trends))
    if derived:
        out.append("\n\\paragraph{Derived by sympy.}\n" + _itemize(_derived_items(thm)))
    sketch = tex_field(thm, "proof_sketch", strict=strict)
    if sketch:
        out.append("\n\\paragraph{Proof sketch.} " + sketch + "\n")
    notes = tex_field(thm, "notes", strict=strict)
    if notes:
        out.append("\n\\paragraph{Remarks.} " + notes + "\n")
    if checks is not False:
        out.append("\n\\paragraph{Checks.} " + checks_summary(checks) + "\n")
    if figure:
        fallback = f"(\\texttt{{{tex_text(figure)}}})"
        out.append(f"\n\\paragraph{{Figure.}} Figure~\\labref{{fig:{tex_label(figure)}}}{{{fallback}}}.\n")
    return "".join(out)
