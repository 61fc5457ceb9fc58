"""A check of generated LaTeX without TeX: braces, environments, math delimiters, inputs, graphics."""

from __future__ import annotations

import os
import re
from pathlib import Path

_COMMENT = re.compile(r"(?<!\\)%.*")
_CMD_ARG = re.compile(r"\\(input|include|includegraphics)\s*(?:\[[^\]]*\])?\s*\{([^}]*)\}")
_ENV = re.compile(r"\\(begin|end)\s*\{([^}]*)\}")
_GRAPHICS_EXT = (".pdf", ".png", ".jpg", ".jpeg", ".eps")


def _strip_comments(text: str) -> str:
    return "\n".join(_COMMENT.sub("", line.replace("\\\\", "  ")) for line in text.splitlines())


def check_latex(main: str | os.PathLike) -> list[str]:
    """Check a LaTeX document without TeX; return the problems found (empty: sane).

    Follows ``\\input``/``\\include`` recursively (paths relative to the main file's folder,
    as TeX resolves them when run there) and checks in every file: braces balance (escaped
    ``\\{``, ``\\}`` and comments ignored), ``\\begin``/``\\end`` pair up in order, ``$``
    delimiters pair up, ``\\[``/``\\]`` pair up, and every ``\\input`` and
    ``\\includegraphics`` target exists.
    """
    main = Path(main)
    root = main.parent
    problems: list[str] = []
    seen: set[Path] = set()

    def visit(path: Path) -> None:
        if path in seen:
            return
        seen.add(path)
        rel = path.relative_to(root) if path.is_relative_to(root) else path
        text = _strip_comments(path.read_text(encoding="utf-8"))
        body = text.replace("\\{", "").replace("\\}", "").replace("\\$", "")
        depth = 0
        for lineno, line in enumerate(body.splitlines(), 1):
            for ch in line:
                depth += (ch == "{") - (ch == "}")
                if depth < 0:
                    problems.append(f"{rel}:{lineno}: unmatched '}}'")
                    depth = 0
        if depth:
            problems.append(f"{rel}: {depth} unclosed '{{'")
        if body.count("$") % 2:
            problems.append(f"{rel}: odd number of '$' math delimiters")
        if body.count("\\[") != body.count("\\]"):
            problems.append(f"{rel}: \\[ and \\] do not pair up")
        stack: list[str] = []
        for kind, env in _ENV.findall(text):
            if kind == "begin":
                stack.append(env)
            elif not stack or stack.pop() != env:
                problems.append(f"{rel}: \\end{{{env}}} does not close the innermost open environment")
        if stack and path == main:
            problems.append(f"{rel}: environments left open: {', '.join(stack)}")
        if stack and path != main:
            problems.append(f"{rel}: a fragment leaves environments open: {', '.join(stack)}")
        for cmd, target in _CMD_ARG.findall(text):
            target = target.strip()
            if cmd in ("input", "include"):
                candidate = root / (target if Path(target).suffix == ".tex" else f"{target}.tex")
                if not candidate.is_file():
                    missing = candidate.relative_to(root)
                    problems.append(f"{rel}: \\{cmd}{{{target}}} -> {missing} does not exist")
                else:
                    visit(candidate)
            else:
                base = root / target
                options = [base] if base.suffix else [base.with_name(base.name + e) for e in _GRAPHICS_EXT]
                if not any(p.is_file() for p in options):
                    problems.append(f"{rel}: \\includegraphics{{{target}}} does not exist")

    if not main.is_file():
        return [f"{main} does not exist"]
    visit(main)
    return problems


def referenced_files(main: str | os.PathLike) -> list[Path]:
    """Every file the document \\input's or \\includegraphics (recursively), for tests and reports."""
    main = Path(main)
    root = main.parent
    found: list[Path] = []
    todo = [main]
    while todo:
        path = todo.pop()
        text = _strip_comments(path.read_text(encoding="utf-8"))
        for cmd, target in _CMD_ARG.findall(text):
            target = target.strip()
            if cmd in ("input", "include"):
                p = root / (target if Path(target).suffix == ".tex" else f"{target}.tex")
                if p.is_file() and p not in found:
                    todo.append(p)
            else:
                p = root / target
            found.append(p)
    return found
