"""Plug-ins: problems and optimizers that live outside the project.

A plug-in is a Python module that registers things when it is imported
(``problems.register``, ``lab.optimizers.register``).  It reaches the lab in one of three ways:

* an installed package declares entry points in the group ``muon_lab.problems`` (or
  ``muon_lab.optimizers``), ``name = "module:object"``: the object (a problem class or factory)
  is registered under ``name``; an entry point naming a module (``name = "module"``) only
  imports it, which registers what it defines.  Loaded once per process by
  :func:`load_entry_points`, when a registry is read;
* the environment variable ``LAB_PLUGINS=mod1,mod2`` names modules to import: a module name
  (importable: on ``PYTHONPATH``, or an installed package) or the path of a ``.py`` file;
* ``lab run --plugin MODULE`` and ``lab problems --plugin MODULE`` (repeatable) do the same for
  one command, e.g. ``lab run --plugin mine.py --problem mine``.

A plug-in that fails to load raises :class:`PluginError` naming the plug-in, where it came from
and the underlying error; the CLI turns it into an error message and exit status 2.

This module imports nothing of the project, so every registry can use it.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from importlib import metadata
from pathlib import Path

ENV_VAR = "LAB_PLUGINS"
PROBLEM_GROUP = "muon_lab.problems"
OPTIMIZER_GROUP = "muon_lab.optimizers"

_entry_points: dict[str, dict[str, object]] = {}  # group -> {name: loaded object}, filled once
_imported: set[str] = set()


class PluginError(ImportError):
    """A plug-in module or entry point that could not be loaded (the message names it)."""


def load_entry_points(group: str) -> dict[str, object]:
    """The objects of the installed entry points of ``group``, ``{name: object}``, loaded once.

    Raises
    ------
    PluginError
        An entry point that fails to load (its name, value, distribution and the error), or two
        distributions giving the same name different values.  Nothing is cached then, so the
        next call raises again.
    """
    if group in _entry_points:
        return dict(_entry_points[group])
    found: dict[str, object] = {}
    values: dict[str, str] = {}
    for ep in metadata.entry_points(group=group):
        if ep.name in values:
            if ep.value == values[ep.name]:  # the same distribution seen twice on sys.path
                continue
            raise PluginError(
                f"plug-in {ep.name!r}: two installed entry points in group {group!r} use the name, "
                f"{values[ep.name]!r} and {ep.value!r}{_origin(ep)}"
            )
        try:
            found[ep.name] = ep.load()
        except Exception as exc:  # a plug-in's own error, whatever its type
            raise PluginError(
                f"plug-in {ep.name!r} (entry point {ep.value!r} in group {group!r}{_origin(ep)}) "
                f"failed to load: {type(exc).__name__}: {exc}"
            ) from exc
        values[ep.name] = ep.value
    _entry_points[group] = found
    return dict(found)


def import_plugins(modules=()) -> None:
    """Import the plug-in modules ``modules`` (e.g. from ``--plugin``) and those in ``LAB_PLUGINS``.

    Each module is imported once per process; importing it is what registers its problems and
    optimizers.

    Raises
    ------
    PluginError
        A module that is not found or raises while it is imported (named, with where it was
        asked for).
    """
    requested = [(m, "--plugin") for m in modules] + [(m, ENV_VAR) for m in env_plugins()]
    for module, source in requested:
        if module in _imported:
            continue
        try:
            _import(module)
        except Exception as exc:  # a plug-in's own error, whatever its type
            raise PluginError(
                f"plug-in module {module!r} (from {source}) failed to import: {type(exc).__name__}: {exc}"
            ) from exc
        _imported.add(module)


def _import(module: str) -> None:
    """Import a module by name, or a ``.py`` file by path (as a module named after the file)."""
    if not (module.endswith(".py") or os.sep in module or "/" in module):
        importlib.import_module(module)
        return
    path = Path(module)
    if not path.is_file():
        raise FileNotFoundError(f"no such file {str(path)!r}")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = loaded  # what it defines pickles by reference to this name
    try:
        spec.loader.exec_module(loaded)
    except BaseException:
        del sys.modules[path.stem]
        raise


def add_plugin_option(parser) -> None:
    """``--plugin MODULE`` (repeatable) on a command's argparse parser; the values land in ``args.plugin``."""
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE (a module name or a .py file) first; it registers problems of its own "
        f"(repeatable; see also {ENV_VAR})",
    )


def env_plugins() -> list[str]:
    """The module names in ``LAB_PLUGINS`` (comma-separated; blanks ignored)."""
    return [m.strip() for m in os.environ.get(ENV_VAR, "").split(",") if m.strip()]


def _origin(ep) -> str:
    dist = getattr(ep, "dist", None)
    return f", from {dist.name} {dist.version}" if dist is not None else ""
