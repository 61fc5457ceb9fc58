"""Plain-text formulas as LaTeX.

Theorem texts written for the terminal carry formulas in ASCII ("||E|| <= delta", "eta_t^2",
"sqrt(T)"); a theorem that stores no LaTeX form of a field is typeset from it by these rules:
:func:`prose_tex` finds the formulas in a sentence, :func:`ascii_math_tex` typesets one.
"""

from __future__ import annotations

import re
from typing import Any

from lab.report.tex import SPECIALS, UNICODE_MATH, tex_text

_GREEK_NAMES = {
    "alpha": r"\alpha", "beta": r"\beta", "gamma": r"\gamma", "delta": r"\delta",
    "epsilon": r"\varepsilon", "eps": r"\varepsilon", "eta": r"\eta", "theta": r"\theta",
    "kappa": r"\kappa", "lam": r"\lambda", "lambda": r"\lambda", "mu": r"\mu", "nu": r"\nu",
    "xi": r"\xi", "pi": r"\pi", "rho": r"\rho", "sigma": r"\sigma", "tau": r"\tau",
    "phi": r"\varphi", "chi": r"\chi", "psi": r"\psi", "omega": r"\omega", "Delta": r"\Delta",
    "Gamma": r"\Gamma", "Phi": r"\Phi", "Sigma": r"\Sigma", "Omega": r"\Omega",
    "Lambda": r"\Lambda", "Theta": r"\Theta", "Psi": r"\Psi",
}  # fmt: skip
_MATH_FUNCS = {"min", "max", "log", "exp", "sup", "inf", "lim", "sin", "cos", "det", "ln", "sum", "prod"}
_MATH_OPNAMES = {"lmo", "argmin", "argmax", "polar", "sign", "tr", "diag", "rank", "msign", "Var", "sgn"}
_MATH_CHARS = set("=<>|^_*/~∇‖≤≥√−·×→←⟨⟩∑∈≈∝⦃⦄")
_OPS = {"+", "-", "−", "=", "<=", ">=", "<", ">", "·", "×", "->", "→", "≤", "≥", "≈", "/", "*", "~"}
_OPS |= {"<<", ">>"}
_CALL = re.compile(r"^\(?[A-Za-z]+[0-9]*\([^()\s]*\)?")
_MATH_WORDS = {"L0", "L1", "X0", "X1", "eta0", "Delta0", "Phi1", "L0_i", "L1_i", "f*"}


def _chunk_kind(core: str) -> str:
    """'math', 'op', 'neutral' (a number, bracket or lone symbol that joins a formula) or 'prose'."""
    if not core:
        return "prose"
    if core in _OPS:
        return "op"
    if core.lower() in ("i.e", "e.g", "cf", "etc", "vs"):
        return "prose"
    if re.fullmatch(r"(S[1-4]|X)(\.[A-Za-z0-9_]+)+", core.strip("()[]")):
        return "prose"  # a theorem id (S1.lemma_a), not a formula
    if re.fullmatch(r"[A-Za-z]{2,}(_[A-Za-z]{2,})+|[a-z][a-z0-9]*(\.[A-Za-z_0-9]+)+", core):
        return "code"  # a code name: constrained_least_squares, lab.claims.weight_decay
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{2,}(/[A-Za-z][A-Za-z0-9-]{2,})+", core.strip("()")):
        return "prose"  # Muon/MVR1, owner/repository: words, not a quotient
    if re.fullmatch(r"_*[A-Za-z]{2,}_*", core.strip("⦃⦄")) and core not in _GREEK_NAMES:
        return "prose"  # {braces}, _emphasis_: words
    bare = core.strip("()[]")
    if bare in _MATH_WORDS or bare in _GREEK_NAMES or re.fullmatch(r"[A-Za-z]+[0-9]*_\w+", core):
        return "math"
    if any(ch in _MATH_CHARS for ch in core) or _CALL.match(core) and not core.isalpha():
        return "math"
    stripped = core.strip("()[]")
    if re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", stripped) or re.fullmatch(r"[A-HJ-Zb-z]", stripped):
        return "neutral"
    if stripped and all(ch in UNICODE_MATH for ch in stripped):
        return "neutral"
    return "prose"


def _matching(text: str, start: int, open_: str = "(", close: str = ")") -> int:
    """Index of the bracket closing the one at ``start`` (or -1)."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == open_:
            depth += 1
        elif text[i] == close:
            depth -= 1
            if depth == 0:
                return i
    return -1


_MATH_TOKEN = re.compile(
    r"sqrt\(|\*\*|\^\(|_\(|_\{|\^\{|<=|>=|!=|->|<-|\|\|\||\|\||\.\.\.|[A-Za-z]+[0-9]*|[0-9]+(?:\.[0-9]+)?|\s+|."
)


def ascii_math_tex(text: str) -> str:
    """One ASCII formula (``||E|| <= delta``, ``eta_t^2``, ``sqrt(T)``) as LaTeX math source."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        m = _MATH_TOKEN.match(text, i)
        tok = m.group(0)
        j = m.end()
        prev = text[i - 1] if i else " "
        nxt = text[j] if j < n else " "
        if tok in ("**", "^", "^(", "^{") and out and re.search(r"\^(\*|\{[^{}]*\}|\w)$", out[-1]):
            out.append("{}")  # x^*^(1/2): TeX refuses a double superscript
        if tok in _GROUP_HEADS:
            i = _group(text, j, tok, out)
            if i < 0:
                break
        elif tok == "**" or tok == "^":
            i = _superscript(text, j, out)
        elif tok == "_":
            i = _subscript(text, j, out)
        elif tok == "~" and out and out[-1] == "O":
            out[-1] = r"\tilde{O}"
            i = j
        else:
            out.append(_token_tex(tok, prev, nxt, out[-1] if out else ""))
            i = j
    # a list of values may break across lines after its commas (in table cells)
    return re.sub(r", (?=\S)", r",\\allowbreak ", "".join(out).strip())


#: Tokens that open a group, with the LaTeX that opens it (``_(`` keeps its parenthesis).
_GROUP_HEADS = {"sqrt(": r"\sqrt{", "^(": "^{", "_(": "_{(", "_{": "_{", "^{": "^{"}

#: Tokens with a fixed LaTeX form.
_FIXED_TEX = {
    "<=": r" \le ", "≤": r" \le ", ">=": r" \ge ", "≥": r" \ge ", "!=": r" \ne ", "->": r" \to ",
    "<-": r" \leftarrow ", "||": r"\|", "‖": r"\|", "...": r"\dots ",
}  # fmt: skip

_EXPONENT = re.compile(r"-[0-9]+/[0-9]+|-?[A-Za-z0-9.]+")  # t^-1/2 is t^(-1/2)
_SUBSCRIPT = re.compile(r"[A-Za-z0-9]+")


def _group(text: str, j: int, tok: str, out: list[str]) -> int:
    """Typeset the group ``tok`` opens at ``j - 1`` into ``out``; the index after it, or -1 when
    it is never closed (the rest of the text is typeset then)."""
    open_, close = ("{", "}") if tok.endswith("{") else ("(", ")")
    end = _matching(text, j - 1, open_, close)
    if end < 0:
        out.append(ascii_math_tex(text[j:]))
        return -1
    inner = ascii_math_tex(text[j:end])
    out.append(_GROUP_HEADS[tok] + inner + (")}" if tok == "_(" else "}"))
    return end + 1


def _superscript(text: str, j: int, out: list[str]) -> int:
    """``**`` or ``^`` before ``j``: its exponent (a bracket or a word) into ``out``; the index after it."""
    m2 = _EXPONENT.match(text, j)
    if text[j:j + 1] == "(":
        end = _matching(text, j)
        if end > 0:
            out.append("^{" + ascii_math_tex(text[j + 1:end]) + "}")
            return end + 1
    if m2:
        out.append("^{" + ascii_math_tex(m2.group(0).rstrip(".")) + "}")
        return j + len(m2.group(0).rstrip("."))
    out.append("^")
    return j


def _subscript(text: str, j: int, out: list[str]) -> int:
    """``_`` before ``j``: its subscript into ``out`` (joined with one before it); the index after it."""
    m2 = _SUBSCRIPT.match(text, j)
    if not m2:
        out.append("_")
        return j
    sub = m2.group(0)
    if sub in _GREEK_NAMES:
        body = _GREEK_NAMES[sub]
    elif len(sub) > 1 and sub.isalpha() and sub not in ("it", "ij", "ik", "tk"):
        body = rf"\mathrm{{{sub}}}"
    else:
        body = sub
    last = out[-1] if out else ""
    m_sub = re.search(r"_\{([^{}]*)\}$", last)
    if m_sub:  # L0_i: one subscript "0,i" (TeX refuses a double subscript)
        out[-1] = last[: m_sub.start()] + f"_{{{m_sub.group(1)},{body}}}"
    else:
        out.append(f"_{{{body}}}")
    return j + len(sub)


def _token_tex(tok: str, prev: str, nxt: str, last: str) -> str:
    """One token that opens no group, between the characters ``prev`` and ``nxt``; ``last``: the
    LaTeX written before it."""
    if tok in _FIXED_TEX:
        return _FIXED_TEX[tok]
    if tok == "|||":  # |‖x‖ (an absolute value of a norm); a closing ‖x‖| reads the same
        return r"|\|" if not prev.isalnum() and prev not in ")}" else r"\| |"
    if tok == "<":
        return r"\langle " if not nxt.isspace() else "<"
    if tok == ">":
        return r"\rangle " if not prev.isspace() and (nxt.isspace() or nxt in ",.;:)]}") else ">"
    if tok == "*":
        if last.endswith(("_", "^")):
            return "*"
        return r" \cdot " if nxt.isalnum() or nxt == "(" else "^*"
    if tok[0].isascii() and tok[0].isalpha():
        return _word_tex(tok, prev, nxt)
    if tok[0].isascii() and tok[0].isdigit():
        return tok
    if tok in "⦃⦄":
        return r"\{" if tok == "⦃" else r"\}"
    if tok == "~":
        return r"\sim "
    if tok in SPECIALS and tok not in "{}^_":
        return SPECIALS[tok]
    if tok in UNICODE_MATH:
        macro = UNICODE_MATH[tok]
        return macro + " " if macro[-1].isalpha() else macro
    if tok.isspace():
        return " "
    return tok if ord(tok) < 128 else "?"


def _word_tex(tok: str, prev: str, nxt: str) -> str:
    """A word with optional trailing digits (``eta0``, ``grad``, ``E``) as math."""
    word, digits = re.fullmatch(r"([A-Za-z]+)([0-9]*)", tok).groups()
    if word in _GREEK_NAMES:
        body = _GREEK_NAMES[word]
    elif word in _MATH_FUNCS:
        body = "\\" + word
    elif word in _MATH_OPNAMES:
        body = rf"\operatorname{{{word}}}"
    elif word == "grad":
        body = r"\nabla"
    elif word == "E" and nxt in "|‖[" and prev in " (=+-−":
        body = r"\mathbb{E}"
    elif len(word) == 1:
        body = word
    else:
        body = rf"\text{{{word}}}"
    sep = " " if body.startswith("\\") and nxt.isalnum() else ""
    return body + (f"_{{{digits}}}" if digits else "") + sep


def _balanced(text: str) -> bool:
    return all(text.count(a) == text.count(b) for a, b in ("()", "[]", "{}"))


def _set_braces(text: str) -> str:
    """Mark set braces ``{x : ...}`` (a ``{`` not after ``_`` or ``^``) as ⦃ ⦄, which print as \\{ \\};
    the braces of ``e_{t-1}`` stay TeX groups."""
    out, stack = [], []
    for i, ch in enumerate(text):
        if ch == "{":
            kind = "group" if i and text[i - 1] in "_^" else "set"
            stack.append(kind)
            out.append("{" if kind == "group" else "⦃")
        elif ch == "}" and stack:
            out.append("}" if stack.pop() == "group" else "⦄")
        else:
            out.append(ch)
    return "".join(out)


def prose_tex(text: Any, *, strict: bool = True) -> str:
    """Plain text with ASCII formulas as LaTeX: formulas found and typeset, prose escaped.

    A run of whitespace-separated chunks that holds a formula marker (``=``, ``<=``, ``|``, ``^``,
    ``_``, ``*``, ``/``, a call ``f(x)``, a Greek name such as ``eta``) becomes one math span
    (:func:`ascii_math_tex`); numbers, single letters and operators between formulas join them;
    the rest is text (:func:`tex_text`).  Author-written ``$...$`` spans are kept.
    """
    text = _set_braces(str(text))
    pieces = re.split(r"(?<!\\)(\$[^$]+\$|:[a-z]+:`[^`]+`|``[^`]+``)", text)
    out: list[str] = []
    for k, piece in enumerate(pieces):
        if k % 2 == 1:
            out.append(_marked_span_tex(piece, strict))
        else:
            out.append(_chunks_tex(_prose_chunks(piece), strict))
    return "".join(out)


_FORMULA_KINDS = ("math", "op", "neutral")


def _marked_span_tex(piece: str, strict: bool) -> str:
    """An author-marked span: ``$math$`` kept, a code name (````x````, ``:func:`x```) set as code."""
    if piece.startswith("$"):
        return tex_text(piece, strict=strict)
    name = piece.strip("`").rsplit("`", 1)[-1] if piece.startswith(":") else piece.strip("`")
    return f"\\texttt{{{tex_text(name.lstrip('~'), strict=strict)}}}"


def _prose_chunks(piece: str) -> list[tuple[str, str, str]]:
    """The whitespace-separated chunks of ``piece`` as (core, trailing punctuation, kind); the
    whitespace between them as (space, "", "space")."""
    items: list[tuple[str, str, str]] = []
    for chunk in re.split(r"(\s+)", piece):
        if not chunk or chunk.isspace():
            items.append((chunk, "", "space"))
            continue
        m = re.fullmatch(r"(.*?)([.,;:!?]*)", chunk, re.S)
        core, trail = m.group(1), m.group(2)
        if core.endswith("...") or trail.startswith("..."):
            core, trail = chunk, ""
        items.append((core, trail, _chunk_kind(core)))
    return items


def _chunks_tex(items: list[tuple[str, str, str]], strict: bool) -> str:
    """The chunks as LaTeX: code names as code, runs of formula chunks as one math span, prose escaped."""
    out: list[str] = []
    i = 0
    while i < len(items):
        core, trail, kind = items[i]
        if kind == "code":
            out.append(f"\\texttt{{{tex_text(core, strict=strict)}}}{tex_text(trail, strict=strict)}")
            i += 1
        elif kind not in _FORMULA_KINDS:
            out.append(tex_text(core + trail, strict=strict) if kind != "space" else core)
            i += 1
        else:
            i, run, has_math = _formula_run(items, i)
            out.append(_run_tex(run, has_math, strict))
    return "".join(out)


def _formula_run(items: list[tuple[str, str, str]], i: int) -> tuple[int, list[str], bool]:
    """The run of formula chunks from ``items[i]`` (spaces between them included): (the index
    after it, its pieces, whether it holds math).  A last piece "\\0<punctuation>" ends the run."""
    j, run, has_math = i, [], False
    while j < len(items):
        c, tr, kd = items[j]
        open_group = run and "".join(run).count("{") > "".join(run).count("}")
        if kd == "space":
            if j + 1 < len(items) and run and (items[j + 1][2] in _FORMULA_KINDS or open_group):
                run.append(c)
                j += 1
                continue
            break
        if kd not in _FORMULA_KINDS and not open_group:
            break
        run.append(c)
        has_math |= kd in ("math", "op")
        j += 1
        if tr:
            nxt_kind = items[j + 1][2] if j + 1 < len(items) else "prose"
            if tr == "," and nxt_kind in ("math", "neutral"):
                run.append(tr)
                continue
            run.append("\0" + tr)
            break
    return j, run, has_math


def _run_tex(run: list[str], has_math: bool, strict: bool) -> str:
    """A run of formula chunks: one math span (unbalanced brackets at its ends stay text), or text
    when it holds no math or its braces do not balance."""
    trail_text = ""
    if run and run[-1].startswith("\0"):
        trail_text = run.pop()[1:]
    formula = "".join(run).strip()
    if not has_math:
        return tex_text(formula + trail_text, strict=strict)
    lead_text = ""
    while formula.startswith(("(", "[")) and not _balanced(formula):
        lead_text, formula = lead_text + formula[0], formula[1:]
    tail_text = ""
    while formula.endswith((")", "]")) and not _balanced(formula):
        tail_text, formula = formula[-1] + tail_text, formula[:-1]
    tex = ascii_math_tex(formula)
    if tex.count("{") != tex.count("}"):  # only braces matter to TeX in math mode
        return tex_text(lead_text + formula + tail_text + trail_text, strict=strict)
    after = tex_text(tail_text + trail_text, strict=strict)
    return f"{tex_text(lead_text)}${tex}${after}"
