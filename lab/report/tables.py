"""The verdict tables of the appendix: summary, verdicts, slopes, claims ledger, problem legend.

Each table takes the rows of the verdicts file (:func:`lab.verdicts.load_legacy_rows`; ``None``:
"not run yet") and the theorem ids of the catalog (``known``), to which a claim links.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any

from lab.checks import load_all
from lab.report.formulas import prose_tex
from lab.report.tex import GENERATED, finite, tex_ci, tex_label, tex_number, tex_text


def _verdict_cell(row: Mapping[str, Any]) -> str:
    verdict = row.get("verdict")
    return r"\textbf{violated}" if verdict == "violated" else tex_text(verdict or "--")


def _claim_key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _claim_ref(claim: str, known: set[str]) -> str:
    """The claim id, linked to its theorem when it names a catalog key up to punctuation (S1-I1 = S1.I1)."""
    keys = {_claim_key(k): k for k in known}
    key = keys.get(_claim_key(claim))
    if key is None:  # a check's claim id: link to the first theorem the check covers
        key = next((t for t in claim_theorems().get(_claim_base(claim), []) if t in known), None)
    # a dotted claim id (S4.muon.level[...]) may break after its dots in a narrow table cell
    name, bracket, label = tex_text(claim, strict=False).partition("[")
    shown = name.replace(".", r".\allowbreak{}") + bracket + label
    if key is None:
        return shown
    return f"\\lablink{{thm:{tex_label(key)}}}{{{shown}}}"


def _longtable(spec: str, header: list[str], rows: list[list[str]], caption: str, label: str) -> str:
    head = " & ".join(header) + r" \\"
    body = "".join(" & ".join(r) + " \\\\\n" for r in rows)
    if not rows:
        body = f"\\multicolumn{{{len(header)}}}{{l}}{{(no rows)}} \\\\\n"
    return (
        f"{GENERATED}\\begin{{longtable}}{{{spec}}}\n"
        f"\\caption{{{caption}}}\\label{{{label}}}\\\\\n"
        f"\\toprule\n{head}\n\\midrule\n\\endfirsthead\n"
        f"\\toprule\n{head}\n\\midrule\n\\endhead\n"
        f"\\bottomrule\n\\endfoot\n"
        f"{body}"
        f"\\end{{longtable}}\n"
    )


def _not_run_table(caption: str, label: str, what: str) -> str:
    return (
        f"{GENERATED}\\begin{{table}}[h]\n\\centering\n\\caption{{{caption}}}\\label{{{label}}}\n"
        "\\begin{tabular}{l}\n\\toprule\n"
        f"{what}: not run yet (run \\texttt{{lab check}}, which writes "
        "\\texttt{build/check/verdicts.json}).\\\\\n"
        "\\bottomrule\n\\end{tabular}\n\\end{table}\n"
    )


def _cell(x: Any, limit: int = 160) -> str:
    """A table cell: numbers via :func:`tex_number`; text (with its formulas typeset by
    :func:`prose_tex`) cut at a word boundary after ``limit`` characters."""
    if isinstance(x, str):
        try:
            float(x)
        except ValueError:
            text = " ".join(x.split())
            if len(text) > limit:
                text = text[:limit].rsplit(" ", 1)[0] + " ..."
            return prose_tex(text, strict=False)
    return tex_number(x)


def problem_names(rows: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Short names ``p1``, ``p2``, ... for the problems of the verdict rows, in order of appearance."""
    names: dict[str, str] = {}
    for r in rows:
        problem = " ".join(str(r.get("problem") or "").split())
        if problem and problem not in names:
            names[problem] = f"p{len(names) + 1}"
    return names


def _problem_cell(row: Mapping[str, Any], names: Mapping[str, str]) -> str:
    problem = " ".join(str(row.get("problem") or "").split())
    short = names.get(problem)
    return f"\\lablink{{prob:{short}}}{{{short}}}" if short else "--"


def problems_table(rows: list[Mapping[str, Any]] | None) -> str:
    """Legend of the verdict tables: each short problem name with the problem it stands for."""
    caption = "Problems of the verdict tables: short name and full description."
    if rows is None:
        return _not_run_table(caption, "tab:problems", "Problems")
    cells = [
        [f"{short}\\label{{prob:{short}}}", prose_tex(problem, strict=False)]
        for problem, short in problem_names(rows).items()
    ]
    spec = f"@{{}}l {_P}{{0.9\\linewidth}}@{{}}"
    return _longtable(spec, ["name", "problem"], cells, caption, "tab:problems")


def _claim_base(claim: str) -> str:
    return str(claim).split("[", 1)[0].strip()


@functools.lru_cache(maxsize=1)
def claim_theorems() -> dict[str, list[str]]:
    """{check id: the theorem ids it covers} from the registered checks (empty when none load)."""
    try:
        return {c.id: list(c.theorems) for c in load_all().values()}
    except Exception:  # the appendix must render even when a check module is broken; no links then
        return {}


def rows_by_theorem(
    rows: list[Mapping[str, Any]], known: Iterable[str], covers: Mapping[str, list[str]] | None = None
) -> dict[str, list[Mapping[str, Any]]]:
    """The verdict rows of each theorem: rows of the checks that cover it (``covers``), or whose
    claim names it up to punctuation (``S1-I1`` is ``S1.I1``)."""
    covers = claim_theorems() if covers is None else covers
    keys = {_claim_key(k): k for k in known}
    out: dict[str, list[Mapping[str, Any]]] = {k: [] for k in known}
    for r in rows:
        base = _claim_base(r["claim"])
        tids = [t for t in covers.get(base, []) if t in out]
        suffix = str(r["claim"])[len(base):].strip("[] ").lower()
        named_by_suffix = [t for t in tids if suffix and re.search(rf"[._]{re.escape(suffix)}$", t.lower())]
        tids = named_by_suffix or tids  # S1-lemma[a] is S1.lemma_a, not every lemma its check covers
        named = keys.get(_claim_key(base))
        if named and named not in tids:
            tids.append(named)
        for tid in tids:
            out[tid].append(r)
    return out


def _source_short(row: Mapping[str, Any]) -> str:
    m = re.search(r"\bS[1-4]\b", str(row.get("source") or "")) or re.match(r"S[1-4]", str(row.get("claim")))
    return m.group(0) if m else "lab"


def summary_table(rows: list[Mapping[str, Any]] | None, known: set[str] = frozenset()) -> str:
    """One line per claim: source, verdict (worst, with counts), tightness (the largest worst
    measured/bound ratio) and the fitted slope with its CI."""
    caption = (
        "Summary: each claim with its source, its verdict (the worst over its rows; counts in brackets), "
        "its tightness (the largest measured/bound ratio; 1 means the bound is attained) and the fitted "
        "slope with its confidence interval against the predicted exponent."
    )
    if rows is None:
        return _not_run_table(caption, "tab:summary", "The summary")
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        groups.setdefault(_claim_base(r["claim"]), []).append(r)
    cells = []
    for claim, rs in groups.items():
        verdicts = [r.get("verdict") for r in rs]
        worst = next((v for v in ("violated", "inconclusive", "holds") if v in verdicts), "--")
        verdict = f"\\textbf{{{worst}}}" if worst == "violated" else tex_text(worst)
        if len(rs) > 1:
            verdict += f" ({verdicts.count(worst)}/{len(rs)})"
        ratios = [x for x in (finite(r.get("worst_ratio")) for r in rs) if x is not None]
        slopes = [r for r in rs if finite(r.get("slope")) is not None]
        slope = "--"
        if slopes:
            r0 = slopes[0]
            slope = f"{tex_number(r0.get('slope'))} {tex_ci(r0)}"
            if finite(r0.get("bound")) is not None:
                slope += f" vs {tex_number(r0.get('bound'))}"
            if len(slopes) > 1:
                slope += f" (+{len(slopes) - 1})"
        cells.append([
            _claim_ref(claim, known),
            _source_short(rs[0]),
            verdict,
            tex_number(max(ratios)) if ratios else "--",
            slope,
        ])
    header = ["claim", "source", "verdict", "tightness", "slope [CI] vs predicted"]
    spec = f"@{{}}{_P}{{0.24\\linewidth}} l l r {_P}{{0.28\\linewidth}}@{{}}"
    return "{\\small\n" + _longtable(spec, header, cells, caption, "tab:summary") + "}\n"


#: Column types that wrap (ragged right) for the verdicts and ledger tables.
_P = r">{\raggedright\arraybackslash}p"


def verdicts_table(rows: list[Mapping[str, Any]] | None, known: set[str] = frozenset()) -> str:
    """Booktabs table of every verdict (or a "not run yet" table when ``rows`` is None)."""
    caption = "Verdicts of \\texttt{lab check}: each claim's measured quantity against its bound."
    if rows is None:
        return _not_run_table(caption, "tab:verdicts", "Verdicts")
    names = problem_names(rows)
    cells = [
        [
            _claim_ref(str(r["claim"]), known),
            _problem_cell(r, names),
            _cell(r.get("bound")),
            _cell(r.get("measured")),
            tex_number(r.get("worst_ratio")),
            _verdict_cell(r),
        ]
        for r in rows
    ]
    header = ["claim", "problem", "bound", "measured", "worst ratio", "verdict"]
    spec = f"@{{}}{_P}{{0.17\\linewidth}} l {_P}{{0.25\\linewidth}} {_P}{{0.18\\linewidth}} r l@{{}}"
    return "{\\small\n" + _longtable(spec, header, cells, caption, "tab:verdicts") + "}\n"


def slopes_table(rows: list[Mapping[str, Any]] | None, known: set[str] = frozenset()) -> str:
    """Booktabs table of the fitted log-log slopes against the predicted exponents."""
    caption = "Fitted log--log slopes (with confidence intervals) against the exponents the theory predicts."
    if rows is None:
        return _not_run_table(caption, "tab:slopes", "Slope fits")
    names = problem_names(rows)
    cells = [
        [
            _claim_ref(str(r["claim"]), known),
            _problem_cell(r, names),
            tex_number(r.get("slope")),
            tex_ci(r),
            tex_number(r.get("bound")),
            _verdict_cell(r),
        ]
        for r in rows
        if r.get("slope") is not None
    ]
    header = ["claim", "problem", "fitted slope", "CI", "predicted", "verdict"]
    spec = f"@{{}}{_P}{{0.24\\linewidth}} l r {_P}{{0.18\\linewidth}} r l@{{}}"
    return "{\\small\n" + _longtable(spec, header, cells, caption, "tab:slopes") + "}\n"


def ledger_table(ledger_rows: list[Mapping[str, Any]] | None, known: set[str] = frozenset()) -> str:
    """Booktabs table of the claims ledger: every claim, its experiment(s) and its verdict."""
    caption = (
        "Claims ledger: every theorem of \\texttt{bounds.CATALOG} and every trend or rate claim, with "
        "the experiment behind it and its verdict (counts over the check's verdicts)."
    )
    if ledger_rows is None:
        return _not_run_table(caption, "tab:ledger", "The claims ledger")
    cells = [
        [
            _claim_ref(str(r["claim"]), known),
            prose_tex(r.get("statement") or "--", strict=False),
            # long experiment names (conformance_optimizers) may break after an underscore
            tex_text(", ".join(r.get("experiments") or []) or "--", strict=False).replace(
                r"\_", r"\_\allowbreak{}"
            ),
            tex_text(r.get("verdicts") or r.get("verdict") or "--", strict=False)
            if r.get("verdict") != "violated"
            else "\\textbf{" + tex_text(r.get("verdicts") or "violated", strict=False) + "}",
        ]
        for r in ledger_rows
    ]
    header = ["claim", "statement", "experiment", "verdict"]
    return _longtable(
        "@{}" + " ".join(f"{_P}{{{w}\\linewidth}}" for w in (0.25, 0.29, 0.2, 0.16)) + "@{}",
        header,
        cells,
        caption,
        "tab:ledger",
    )
