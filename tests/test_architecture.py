"""The architecture, checked: layers, import cycles, justified lazy imports, docs that name what exists.

The import graph is read from the source with ``ast`` (:mod:`_imports`); ``python tests/_imports.py``
prints every finding.  Adjust the rules here, as data:

* :data:`LAYERS` — each project module belongs to the first layer with a matching pattern
  (``fnmatch``: ``*`` matches any continuation, so a pattern ending in ``*`` covers the module's
  submodules and its siblings with a suffix).  A module may import (at module level or inside a
  function) only modules of its own layer or of a lower one.
* :data:`IN_PROGRESS` — known findings in code other parts of issue 14 are changing: each is an
  ``xfail`` of that one module or file, to be removed (and the test made strict) once they merge.
* :data:`NOT_REPOSITORY_PATHS` — paths the docs name that are not meant to exist in the repository.
"""

from __future__ import annotations

import functools
import textwrap
from pathlib import Path

import _imports
import pytest

#: Lowest first.  A module imports only its own layer and lower ones.
LAYERS = (
    (
        "ENGINE",
        (
            "lab",  # the package itself re-exports the numerical core only
            "lab.backend",
            "lab.random",
            "lab.norms",
            "lab.orthogonalization",
            "lab.polar_express",
            "lab.oracles",
            "lab.optimizers*",
            "lab.runner*",
            "lab.sweeps*",
            "lab.cache",
            "lab.stats",
            "lab.schedules",
            "lab.provenance",
            "lab.verdicts",
            "lab.results",
            "lab.thresholds",
            "lab.preflight",
            "lab.runbatch",
            "lab.run_result",  # RunResult (the runner's output record)
            "lab.run_files",  # RunResult on disk
            "lab.serialize",  # the one JSON normaliser
            "lab.plugins",  # entry points and --plugin modules
            "lab.claim_ids",  # the claim-id table (data; verdict documents translate old ids with it)
            "lab.torch*",  # the adapter to torch.optim
            "problems*",
            "bounds*",
        ),
    ),
    (
        "CLAIMS",
        (
            "lab.claims*",
            "lab.experiments*",
            "lab.checks*",
            "lab.tightness",
            "lab.tight_families*",
            "lab.mutants",
        ),
    ),
    ("FIGURES", ("figures*",)),
    (
        "TOP",
        (
            "lab.report*",
            "lab.appendix",
            "lab.cli",
            "lab.commands*",
            "lab.bench*",
            "lab.verdict_plot",
            "lab.__main__",
        ),
    ),
)

#: rule -> module (or file, for "docs") -> why the finding is tolerated for now.  Empty: every rule
#: is strict.  A part of the code under reconstruction may be listed here (an ``xfail``) while it is
#: changed; the stale-entry test makes sure the list does not outlive it.
IN_PROGRESS: dict[str, dict[str, str]] = {"layers": {}, "lazy": {}, "docs": {}}

#: Paths the docs name on purpose that are not files of the repository: path -> what they are.
NOT_REPOSITORY_PATHS = {
    "figures/figures.tex": "a file `lab appendix` writes into its output directory",
}


@functools.cache
def _all_imports() -> tuple[_imports.Import, ...]:
    return tuple(_imports.all_imports())


def _modules() -> list[str]:
    return sorted(_imports.project_modules())


def _params(rule: str, items) -> list:
    """``items`` as pytest params, those known to be in progress marked ``xfail`` (not strict)."""
    known = IN_PROGRESS[rule]
    return [
        pytest.param(
            item,
            id=item,
            marks=pytest.mark.xfail(strict=False, reason=f"issue 14 in progress: {known[item]}")
            if item in known
            else (),
        )
        for item in items
    ]


def test_every_module_has_a_layer():
    assert _imports.unassigned(_modules(), LAYERS) == []


def test_in_progress_entries_name_real_modules_and_files():
    modules = set(_modules())
    files = {str(p.relative_to(_imports.ROOT)) for p in _imports.doc_files()}
    stale = [m for rule in ("layers", "lazy") for m in IN_PROGRESS[rule] if m not in modules]
    stale += [f for f in IN_PROGRESS["docs"] if f not in files]
    assert stale == [], "IN_PROGRESS names modules or files that no longer exist: remove them"


@pytest.mark.parametrize("module", _params("layers", _modules()))
def test_imports_respect_layers(module):
    mine = [imp for imp in _all_imports() if imp.source == module]
    assert _imports.layer_violations(mine, LAYERS) == []


def test_no_module_level_import_cycles():
    assert _imports.import_cycles(_all_imports()) == []


@pytest.mark.parametrize("module", _params("lazy", _modules()))
def test_function_level_imports_say_why(module):
    mine = [imp for imp in _all_imports() if imp.source == module]
    assert _imports.unjustified_lazy_imports(mine) == []


def _registered(kind: str, name: str) -> bool:
    """Whether the public registry of ``kind`` knows ``name`` (old ids count when they still resolve)."""
    import bounds  # lazy: only the docs test needs the registries, and loading every claim takes seconds
    from lab.checks import get_check  # lazy: as above
    from lab.experiments import get_experiment  # lazy: as above

    lookup = {"experiment": get_experiment, "check": get_check, "theorem": bounds.get}[kind]
    try:
        lookup(name)
    except (LookupError, ValueError):
        return False
    return True


@functools.cache
def _name_index() -> _imports.NameIndex:
    return _imports.NameIndex()


@pytest.mark.parametrize(
    "relpath", _params("docs", [str(p.relative_to(_imports.ROOT)) for p in _imports.doc_files()])
)
def test_docs_name_only_what_exists(relpath):
    found = _imports.broken_references(_imports.ROOT / relpath, _name_index(), _registered)
    meant = tuple(f"path {p} does not exist" for p in NOT_REPOSITORY_PATHS)
    found = [f for f in found if not f.endswith(meant)]
    assert found == []


# ------------------------------------------------------------------------------------------------
# the checker itself, on a small tree with one planted fault per rule

_TOY_LAYERS = (("LOW", ("pkg.low*",)), ("HIGH", ("pkg.high*",)))


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    files = {
        "pkg/__init__.py": "",
        "pkg/low.py": '''
            """See pkg/high.py, pkg/gone.py, pkg.high.shown and pkg.high.hidden."""
            from . import high_a  # a layer violation: LOW imports HIGH


            def f():
                from pkg import high  # a lazy import without the marker
                # lazy: the reason, on the line above
                from pkg.low_b import g
                return high, g
        ''',
        "pkg/low_b.py": "from pkg.low import f\n",
        "pkg/high.py": "import pkg.high_a\n\nshown = 1\n",
        "pkg/high_a.py": "from .high import shown  # lazy: a marker changes nothing at module level\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(text))
    return tmp_path


def test_checker_finds_each_planted_fault(toy):
    imports = _imports.all_imports(toy, packages=("pkg",))
    edges = {(i.source, i.target, i.in_function) for i in imports}
    assert ("pkg.low", "pkg.high_a", False) in edges  # relative import resolved to the module
    assert ("pkg.high_a", "pkg.high", False) in edges
    assert ("pkg.low", "pkg.low_b", True) in edges

    violations = _imports.layer_violations(imports, _TOY_LAYERS)
    assert len(violations) == 2 and all(v.startswith("pkg.low:") for v in violations)  # one is lazy
    assert _imports.unassigned(["pkg", "pkg.low", "pkg.high"], _TOY_LAYERS) == ["pkg"]
    assert _imports.import_cycles(imports) == [["pkg.high", "pkg.high_a"]]
    assert _imports.import_cycles([i for i in imports if i.target != "pkg.high"]) == []
    unjustified = _imports.unjustified_lazy_imports(imports)
    assert len(unjustified) == 1 and "pkg.low:7 imports pkg.high " in unjustified[0]


def test_checker_finds_names_that_do_not_exist(toy):
    index = _imports.NameIndex(toy, packages=("pkg",))
    assert index.exists("pkg.high.shown") and index.exists("pkg.low.f") and index.exists("pkg")
    assert not index.exists("pkg.high.hidden")
    doc = '''"""Uses lab.nowhere, tests/test_nowhere.py, tests/test_*.py, lab.fig…, lab/, ../notes.md.

    See get_experiment("gone") and get_experiment("kept").
    """
    '''
    (toy / "pkg" / "doc.py").write_text(textwrap.dedent(doc))
    (toy / "lab").mkdir()
    index = _imports.NameIndex(toy, packages=("pkg", "lab"))
    found = _imports.broken_references(toy / "pkg" / "doc.py", index, lambda kind, name: name == "kept")
    assert [f.split(": ", 1)[1] for f in found] == [
        "experiment gone is not registered",
        "path ../notes.md points outside the repository",
        "path tests/test_nowhere.py does not exist",
        "name lab.nowhere does not exist",
    ]
