"""Where the appendix is written and what it reads by default (light: the CLI imports it at start-up)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO_ROOT / "build" / "appendix"
DEFAULT_FIGURES = REPO_ROOT / "figures" / "out"
