"""The engine's modules never import the application, and the engine has one of each shared piece.

The engine (runner, sweeps, cache, stats, results, verdicts, provenance, ...) is what experiments,
checks, the CLI, the report, the bench and the figures are built on; an import the other way
would make the layers circular.  The test reads the sources (every import, at module level or
inside a function), so it needs no import of the application.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

ENGINE = (
    "lab/runner.py", "lab/run_result.py", "lab/run_files.py", "lab/runbatch.py", "lab/sweeps",
    "lab/cache.py", "lab/stats.py", "lab/results.py", "lab/verdicts.py", "lab/provenance.py",
    "lab/serialize.py", "lab/orthogonalization.py", "lab/preflight.py",
)
APPLICATION = (
    "lab.experiments", "lab.checks", "lab.claims", "lab.commands", "lab.cli", "lab.appendix",
    "lab.report", "lab.bench", "figures",
)


def _engine_files() -> list[Path]:
    out = []
    for rel in ENGINE:
        path = REPO / rel
        out += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return out


def _imported(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
    return names


@pytest.mark.parametrize("path", _engine_files(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_engine_module_imports_no_application_module(path):
    imported = _imported(ast.parse(path.read_text()))
    bad = sorted({n for n in imported for app in APPLICATION if n == app or n.startswith(app + ".")})
    assert not bad, f"{path.relative_to(REPO)} imports the application: {bad}"


def _defined(name: str) -> list[str]:
    """Modules of lab, problems and bounds that define a function ``name`` at module level."""
    hits = []
    for pkg in ("lab", "problems", "bounds"):
        for path in sorted((REPO / pkg).rglob("*.py")):
            tree = ast.parse(path.read_text())
            if any(isinstance(n, ast.FunctionDef) and n.name == name for n in tree.body):
                hits.append(path.relative_to(REPO).as_posix())
    return hits


def test_one_polar_one_json_normaliser_one_git_revision():
    # lab/claims/conformance/engine.py keeps its own _polar on purpose (an independent reference),
    # so only the public name is counted.
    assert _defined("polar") == ["lab/orthogonalization.py"]
    assert _defined("jsonable") == ["lab/serialize.py"]
    assert _defined("_jsonable") == []
    assert _defined("git_revision") == ["lab/provenance.py"]
    assert _defined("static_provenance") == ["lab/provenance.py"]


def test_old_import_paths_still_work():
    import lab.orthogonalization
    from lab.bench.machine import git_revision
    from lab.provenance import short_git_revision
    from lab.stats import Verdict
    from lab.sweeps import Grid, SweepResult, run_sweep
    from lab.sweeps.grid import Grid as GridHere
    from lab.sweeps.sweep import run_sweep as run_sweep_here
    from lab.sweeps.table import SweepResult as ResultHere
    from lab.verdicts import Verdict as VerdictHere
    from problems.quadratic import polar

    assert Verdict is VerdictHere and polar is lab.orthogonalization.polar
    assert (Grid, SweepResult, run_sweep) == (GridHere, ResultHere, run_sweep_here)
    assert git_revision is short_git_revision
