"""The top layer (report, CLI, bench, verdict pictures) and figures: imports go downwards only.

Nothing below the top imports it, and nothing below figures imports figures; every import is
counted, those inside functions too (see :mod:`lab.report` for the layers).  The CLI's start-up
keeps the heavy modules (sympy, matplotlib, pandas, the figures, the report's builder) out.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("lab", "problems", "bounds", "figures")

#: The application's top: it may import everything; nothing else may import it.
TOP = (
    "lab.cli", "lab.__main__", "lab.commands", "lab.report", "lab.appendix", "lab.bench", "lab.verdict_plot",
)


def _module_name(path: Path, root: Path = REPO) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _imports(path: Path, root: Path = REPO) -> set[str]:
    """Every module ``path`` imports, at module level or inside functions (absolute names)."""
    me = _module_name(path, root)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # "from lab import cli"
    return found


def _violations(upper: tuple[str, ...], exempt: tuple[str, ...], root: Path = REPO) -> list[str]:
    bad = []
    for pkg in PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            me = _module_name(path, root)
            if _within(me, exempt):
                continue
            bad += [f"{me} imports {name}" for name in sorted(_imports(path, root)) if _within(name, upper)]
    return bad


def test_nothing_below_the_top_imports_the_report_cli_or_bench():
    assert _violations(TOP, exempt=TOP) == []


def test_nothing_below_figures_imports_figures():
    assert _violations(("figures",), exempt=(*TOP, "figures")) == []


def test_the_layer_check_sees_upward_imports(tmp_path):
    """The scanner itself, on a small tree: a lazy absolute and a relative upward import are found."""
    (tmp_path / "lab" / "checks").mkdir(parents=True)
    (tmp_path / "lab" / "runner.py").write_text("def f():\n    from lab.report.build import build_appendix\n")
    (tmp_path / "lab" / "checks" / "x.py").write_text("from .. import cli\nimport figures.registry\n")
    (tmp_path / "lab" / "cli.py").write_text("import lab.report\n")  # the top may import anything
    assert _violations(TOP, exempt=TOP, root=tmp_path) == [
        "lab.checks.x imports lab.cli",
        "lab.runner imports lab.report.build",
        "lab.runner imports lab.report.build.build_appendix",
    ]
    assert _violations(("figures",), exempt=TOP, root=tmp_path) == ["lab.checks.x imports figures.registry"]


def test_cli_start_up_leaves_the_heavy_modules_out():
    code = "import sys, lab.cli; lab.cli.build_parser(); print('\\n'.join(sys.modules))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    loaded = set(run.stdout.split())
    heavy = {"sympy", "matplotlib", "pandas", "figures", "lab.report.build", "lab.tightness"}
    heavy.add("lab.experiments")
    assert "lab.commands.appendix" in loaded and not heavy & loaded


def test_the_old_appendix_module_is_the_report():
    import lab.appendix
    import lab.report.build
    import lab.report.formulas
    import lab.verdicts

    assert lab.appendix.build_appendix is lab.report.build.build_appendix
    assert lab.appendix.prose_tex is lab.report.formulas.prose_tex
    assert lab.appendix.write_verdicts is lab.verdicts.save_verdicts
    assert lab.appendix.load_verdicts is lab.verdicts.load_legacy_rows
    assert all(hasattr(lab.appendix, name) for name in lab.appendix.__all__)
