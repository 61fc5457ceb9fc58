"""The project's import graph and the names its docs mention, read with ``ast`` (nothing is imported).

:mod:`test_architecture` asserts on what this module finds.  Run it directly for the full list of
findings, e.g. after a merge or a move::

    python tests/_imports.py [ROOT]

An import is *module-level* when it runs on import of its module (top level, class bodies, ``try`` and
``if`` blocks) and *function-level* when it sits inside a function.  The import graph has one edge per
import of a project module: ``from a import b`` points at ``a.b`` when that is a module, else at ``a``;
``import a.b.c`` points at the longest prefix that is a module.  Relative imports are resolved.
"""

from __future__ import annotations

import ast
import fnmatch
import io
import re
import sys
import tokenize
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The project's importable top-level packages (``tests`` is not imported by them).
PACKAGES = ("lab", "problems", "bounds", "figures")
#: Where the docs checker reads docstrings and comments (besides README.md).
DOC_DIRS = (*PACKAGES, "tests")
#: The marker a function-level import of a project module must carry, followed by the reason.
LAZY_MARK = re.compile(r"#\s*lazy:\s*\S")


@dataclass(frozen=True)
class Import:
    """One import of a project module by another."""

    source: str
    target: str
    line: int
    in_function: bool
    justified: bool  # a "# lazy: why" comment on one of its lines or on the line above

    def __str__(self) -> str:
        where = "function-level" if self.in_function else "module-level"
        return f"{self.source}:{self.line} imports {self.target} ({where})"


# ------------------------------------------------------------------------------------------------
# modules and imports


def module_name(path: Path, root: Path = ROOT) -> str:
    """Dotted module name of a source file below ``root`` (a package's ``__init__`` is the package)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def project_modules(root: Path = ROOT, packages: Sequence[str] = PACKAGES) -> dict[str, Path]:
    """Every module of the project's packages: dotted name -> source file."""
    files = sorted(p for pkg in packages for p in (root / pkg).rglob("*.py"))
    return {module_name(p, root): p for p in files}


def _resolve(name: str, modules: Mapping[str, Path]) -> str | None:
    """The longest prefix of the dotted ``name`` that is a project module (None: not the project's)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module a (possibly relative) ``from ... import`` reads from."""
    if not node.level:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules) -> set[str]:
    if isinstance(node, ast.Import):
        found = {_resolve(alias.name, modules) for alias in node.names}
    else:
        base = _absolute(node, module, is_package)
        found = set()
        for alias in node.names:
            candidate = f"{base}.{alias.name}"
            found.add(candidate if candidate in modules else _resolve(base, modules))
    return {t for t in found if t and t != module}


def _import_nodes(tree: ast.AST) -> Iterable[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement with whether it sits inside a function."""

    def visit(node: ast.AST, in_function: bool):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child, in_function
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            yield from visit(child, inner)

    yield from visit(tree, False)


def imports_of(module: str, path: Path, modules: Mapping[str, Path]) -> list[Import]:
    """The imports of project modules that ``module`` (source file ``path``) makes."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    is_package = path.name == "__init__.py"
    out = []
    for node, in_function in _import_nodes(ast.parse(source, filename=str(path))):
        first, last = node.lineno, node.end_lineno or node.lineno
        around = lines[max(first - 2, 0) : last]
        justified = any(LAZY_MARK.search(text) for text in around)
        for target in sorted(_targets(node, module, is_package, modules)):
            out.append(Import(module, target, node.lineno, in_function, justified))
    return out


def all_imports(root: Path = ROOT, packages: Sequence[str] = PACKAGES) -> list[Import]:
    """Every import of a project module by a project module."""
    modules = project_modules(root, packages)
    return [imp for name, path in modules.items() for imp in imports_of(name, path, modules)]


# ------------------------------------------------------------------------------------------------
# the rules


def layer_of(module: str, layers: Sequence[tuple[str, Sequence[str]]]) -> int | None:
    """Index of the first layer one of whose patterns (``fnmatch``, ``*`` any continuation) matches."""
    for rank, (_, patterns) in enumerate(layers):
        if any(fnmatch.fnmatchcase(module, pattern) for pattern in patterns):
            return rank
    return None


def unassigned(modules: Iterable[str], layers) -> list[str]:
    """Modules no layer pattern matches."""
    return sorted(m for m in modules if layer_of(m, layers) is None)


def layer_violations(imports: Iterable[Import], layers) -> list[str]:
    """Imports (module- or function-level) of a module of a higher layer than the importer's."""
    out = []
    for imp in imports:
        mine, theirs = layer_of(imp.source, layers), layer_of(imp.target, layers)
        if mine is not None and theirs is not None and theirs > mine:
            out.append(f"{imp}: layer {layers[mine][0]} imports layer {layers[theirs][0]}")
    return out


def unjustified_lazy_imports(imports: Iterable[Import]) -> list[str]:
    """Function-level imports of project modules without a ``# lazy: why`` comment."""
    return [f"{imp}: no '# lazy: why' comment" for imp in imports if imp.in_function and not imp.justified]


def import_cycles(imports: Iterable[Import]) -> list[list[str]]:
    """Strongly connected components (more than one module) of the module-level import graph."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        if not imp.in_function:
            graph.setdefault(imp.source, set()).add(imp.target)
            graph.setdefault(imp.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(graph) + 100))
    try:
        for v in sorted(graph):
            if v not in index:
                connect(v)
    finally:
        sys.setrecursionlimit(limit)
    return sorted(components)


# ------------------------------------------------------------------------------------------------
# names the docs mention

#: A repository path: a project directory, a slash, then path characters (glob patterns are skipped).
PATH_REF = re.compile(r"(?<![\w./~-])((?:lab|tests|problems|bounds|figures)/[\w./*{}<>-]*)")
#: A relative path that climbs out of the directory it starts from (out of the repository, from README).
OUTSIDE_REF = re.compile(r"(?<![\w.])(\.\./[\w./-]*)")
#: A dotted name in a project package (a module, or a module's attribute).
DOTTED_REF = re.compile(r"(?<![\w./-])((?:lab|problems|bounds|figures)(?:\.[A-Za-z_]\w*)+)")
#: A registered name written as code: kind -> pattern whose group 1 is the name.
REGISTRY_REFS = {
    "experiment": re.compile(
        r"(?:@experiment|get_experiment)\(\s*[\"'](\w+)[\"']|\bexperiment=[\"'](\w+)[\"']"
    ),
    "check": re.compile(r"(?:@check|get_check)\(\s*[\"']([\w.-]+)[\"']"),
    "theorem": re.compile(r"bounds\.get\(\s*[\"']([\w.-]+)[\"']"),
}


def doc_texts(path: Path) -> list[tuple[int, str]]:
    """``(line, text)`` of every docstring and comment of a Python file, or every line of another file."""
    source = path.read_text(encoding="utf-8")
    if path.suffix != ".py":
        return list(enumerate(source.splitlines(), start=1))
    out = []
    for node in ast.walk(ast.parse(source, filename=str(path))):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                if isinstance(body[0].value.value, str):
                    first = body[0].lineno
                    out += [(first + i, text) for i, text in enumerate(body[0].value.value.splitlines())]
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            out.append((token.start[0], token.string))
    return sorted(out)


def _defined_names(body: Sequence[ast.stmt]) -> dict[str, ast.AST]:
    """Names bound by a module's or class's statements (defs, classes, assignments, imports, ``__all__``)."""
    names: dict[str, ast.AST] = {}
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names[node.name] = node
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for leaf in ast.walk(target):
                    if isinstance(leaf, ast.Name):
                        names[leaf.id] = node
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
            ):
                for element in getattr(node.value, "elts", ()):
                    if isinstance(element, ast.Constant) and isinstance(element.value, str):
                        names.setdefault(element.value, node)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names[(alias.asname or alias.name).split(".")[0]] = node
        elif isinstance(node, (ast.If, ast.Try, ast.With, ast.For)):
            inner = [*node.body, *getattr(node, "orelse", ()), *getattr(node, "finalbody", ())]
            for handler in getattr(node, "handlers", ()):
                inner += handler.body
            names.update(_defined_names(inner))
    return names


class NameIndex:
    """Resolves dotted project names against the source, statically."""

    def __init__(self, root: Path = ROOT, packages: Sequence[str] = PACKAGES):
        self.root = root
        self.modules = project_modules(root, packages)
        self._names: dict[str, dict[str, ast.AST]] = {}

    def names(self, module: str) -> dict[str, ast.AST]:
        if module not in self._names:
            tree = ast.parse(self.modules[module].read_text(encoding="utf-8"))
            self._names[module] = _defined_names(tree.body)
        return self._names[module]

    def exists(self, dotted: str) -> bool:
        """Whether ``dotted`` is a project module or an attribute the source visibly defines.

        A module defining ``__getattr__``, or a class with base classes, may provide more than the
        source shows: such names are accepted.
        """
        module = _resolve(dotted, self.modules)
        if module is None:
            return False
        rest = dotted[len(module) :].lstrip(".").split(".") if dotted != module else []
        if not rest:
            return True
        names = self.names(module)
        if rest[0] not in names:
            return "__getattr__" in names
        node = names[rest[0]]
        if len(rest) == 1 or not isinstance(node, ast.ClassDef) or node.bases:
            return True
        return rest[1] in _defined_names(node.body)


def doc_files(root: Path = ROOT, dirs: Sequence[str] = DOC_DIRS) -> list[Path]:
    """README.md and every Python file of ``dirs``."""
    readme = [root / "README.md"] if (root / "README.md").exists() else []
    return readme + sorted(p for d in dirs for p in (root / d).rglob("*.py"))


def _is_pattern(text: str, match: re.Match) -> bool:
    """Whether the match is a pattern standing for many names (``fig*.py``, ``figures.figNN_…``)."""
    return any(c in match.group(1) for c in "*{}<>") or text[match.end() : match.end() + 1] in ("…", "*")


def registry_references(path: Path) -> list[tuple[int, str, str]]:
    """``(line, kind, name)`` of every experiment, check or theorem ``path``'s docs name as code."""
    out = []
    for line, text in doc_texts(path):
        for kind, pattern in REGISTRY_REFS.items():
            for match in pattern.finditer(text):
                out.append((line, kind, next(g for g in match.groups() if g)))
    return out


def broken_references(
    path: Path, index: NameIndex, registered: Callable[[str, str], bool] | None = None
) -> list[str]:
    """Paths, dotted project names and (given ``registered(kind, name)``) registered names that
    ``path``'s docs mention and that do not exist."""
    out = []
    where = path.relative_to(index.root)
    if registered is not None:
        for line, kind, name in registry_references(path):
            if not registered(kind, name):
                out.append(f"{where}:{line}: {kind} {name} is not registered")
    for line, text in doc_texts(path):
        for match in OUTSIDE_REF.finditer(text):
            out.append(f"{where}:{line}: path {match.group(1).rstrip('.-')} points outside the repository")
        for match in PATH_REF.finditer(text):
            ref = match.group(1).rstrip(".-")
            if _is_pattern(text, match) or (index.root / ref).exists():
                continue
            out.append(f"{where}:{line}: path {ref} does not exist")
        for match in DOTTED_REF.finditer(text):
            if not _is_pattern(text, match) and not index.exists(match.group(1)):
                out.append(f"{where}:{line}: name {match.group(1)} does not exist")
    return out


# ------------------------------------------------------------------------------------------------


def main(argv: Sequence[str]) -> int:
    """Print every finding of the architecture rules (layers from test_architecture.LAYERS)."""
    root = Path(argv[0]).resolve() if argv else ROOT
    sys.path.insert(0, str(Path(__file__).parent))
    # lazy: the rules' data live in the test, beside the rules
    from test_architecture import LAYERS, NOT_REPOSITORY_PATHS, _registered

    imports = all_imports(root)
    modules = project_modules(root)
    index = NameIndex(root)
    sections = {
        "modules without a layer": unassigned(modules, LAYERS),
        "layer violations": layer_violations(imports, LAYERS),
        "module-level import cycles": [" <-> ".join(c) for c in import_cycles(imports)],
        "function-level imports without '# lazy: why'": unjustified_lazy_imports(imports),
        "docs naming what does not exist": [
            found
            for path in doc_files(root)
            for found in broken_references(path, index, _registered)
            if not found.endswith(tuple(f"path {p} does not exist" for p in NOT_REPOSITORY_PATHS))
        ],
    }
    for title, findings in sections.items():
        print(f"{title}: {len(findings)}")
        for finding in findings:
            print(f"  {finding}")
    return int(any(sections.values()))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
