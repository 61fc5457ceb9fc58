"""Figure registry: every ``figures/figNN_<topic>.py`` module is one figure.

A figure module defines three names and nothing else is needed to register it:

``NAME``
    The figure's name, equal to the module name (e.g. ``"fig01_newton_schulz"``); the
    outputs are ``figures/out/<NAME>.pdf`` and ``.png``.
``CAPTION``
    One line saying what the figure shows (used by ``lab figures --list`` and as the
    caption in the LaTeX appendix).
``make(out_dir, *, quick=False) -> list[Path]``
    Reads the cached experiment results (computing them when missing), draws with
    :mod:`figures.style`, writes with :func:`figures.style.save` and returns the paths.
    ``quick=True`` is a reduced version for tests (seconds).  :func:`build` also writes the
    data of every experiment the figure used beside it, as ``<NAME>.data.npz``
    (:func:`lab.results.save_npz`).

and ends with::

    if __name__ == "__main__":
        raise SystemExit(script_main(__name__))

so that ``python -m figures.fig01_newton_schulz`` builds it.  Discovery imports the
modules, so a figure module keeps heavy work inside ``make``.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lab.results import recording, save_npz

OUT_DIR = Path(__file__).resolve().parent / "out"
"""Where the committed figures live: ``figures/out/``."""

MODULE_PATTERN = re.compile(r"^fig(?P<number>\d{2,3})[a-z]?_[a-z0-9_]+$")
"""Module names that are figures: ``fig01_newton_schulz``, ``fig02b_…``."""


@dataclass(frozen=True)
class FigureSpec:
    """One registered figure."""

    name: str
    caption: str
    module: str
    make: Callable[..., list[Path]]

    @property
    def short(self) -> str:
        """The ``figNN`` prefix, accepted as an alias on the command line."""
        return self.name.split("_", 1)[0]

    def outputs(self, out_dir: str | Path = OUT_DIR) -> list[Path]:
        """The files the figure writes (PDF and PNG)."""
        return [Path(out_dir) / f"{self.name}.{ext}" for ext in ("pdf", "png")]


@dataclass(frozen=True)
class FigureResult:
    """What building one figure produced."""

    name: str
    paths: list[Path]
    seconds: float

    @property
    def bytes(self) -> int:
        return sum(p.stat().st_size for p in self.paths)


def _load(module_name: str) -> FigureSpec:
    module = importlib.import_module(module_name)
    short = module_name.rsplit(".", 1)[-1]
    missing = [attr for attr in ("NAME", "CAPTION", "make") if not hasattr(module, attr)]
    if missing:
        raise TypeError(f"figure module {module_name} must define {', '.join(missing)}")
    if module.NAME != short:
        raise ValueError(
            f"figure module {module_name}: NAME must equal the module name {short!r}, got {module.NAME!r}"
        )
    caption = str(module.CAPTION).strip()
    if not caption or "\n" in caption:
        raise ValueError(f"figure module {module_name}: CAPTION must be one non-empty line")
    if not callable(module.make):
        raise TypeError(f"figure module {module_name}: make must be callable")
    return FigureSpec(name=module.NAME, caption=caption, module=module_name, make=module.make)


def discover(package: str = "figures") -> dict[str, FigureSpec]:
    """All figure modules of ``package``, by name, in figure-number order."""
    pkg = importlib.import_module(package)
    names = sorted(
        info.name for info in pkgutil.iter_modules(pkg.__path__) if MODULE_PATTERN.match(info.name)
    )
    specs = [_load(f"{package}.{name}") for name in names]
    return {spec.name: spec for spec in specs}


def resolve(names: Iterable[str] | None, registry: dict[str, FigureSpec] | None = None) -> list[FigureSpec]:
    """Figure specs for names or ``figNN`` aliases (all figures when ``names`` is empty).

    Raises
    ------
    ValueError
        Naming the unknown figure names and the known ones.
    """
    registry = discover() if registry is None else registry
    names = list(names or [])
    if not names:
        return list(registry.values())
    by_alias = {spec.short: spec for spec in registry.values()}
    chosen, unknown = [], []
    for name in names:
        spec = registry.get(name) or by_alias.get(name)
        if spec is None:
            unknown.append(name)
        elif spec not in chosen:
            chosen.append(spec)
    if unknown:
        raise ValueError(
            f"unknown figure(s) {', '.join(map(repr, unknown))}; known: {', '.join(registry) or '(none)'}"
        )
    return chosen


def build(spec: FigureSpec, out_dir: str | Path = OUT_DIR, *, quick: bool = False) -> FigureResult:
    """Build one figure and time it."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with recording() as data:
        paths = [Path(p) for p in spec.make(out_dir, quick=quick)]
    seconds = time.perf_counter() - start
    absent = [str(p) for p in paths if not p.is_file()]
    if not paths or absent:
        raise RuntimeError(f"figure {spec.name} reported files it did not write: {absent or '(none)'}")
    if data:  # the numbers the figure plots, beside it (lab.results.save_npz describes the layout)
        paths.append(save_npz(data, out_dir / f"{spec.name}.data.npz"))
    return FigureResult(spec.name, paths, seconds)


def script_main(module_name: str, argv: Sequence[str] | None = None) -> int:
    """The ``python -m figures.figNN_…`` entry point of a figure module."""
    spec = _load(module_name if module_name != "__main__" else _main_module_name())
    parser = argparse.ArgumentParser(prog=f"python -m {spec.module}", description=spec.caption)
    parser.add_argument("--out", type=Path, default=OUT_DIR, help=f"output folder (default {OUT_DIR})")
    parser.add_argument("--quick", action="store_true", help="reduced version (for tests)")
    args = parser.parse_args(argv)
    result = build(spec, args.out, quick=args.quick)
    for path in result.paths:
        print(f"{path}  {path.stat().st_size / 1024:.1f} KiB")
    print(f"{spec.name}: {result.seconds:.1f} s")
    return 0


def _main_module_name() -> str:
    import __main__

    spec = getattr(__main__, "__spec__", None)
    if spec is None or not spec.name:
        raise RuntimeError("run figure scripts as modules: python -m figures.<name>")
    return spec.name
