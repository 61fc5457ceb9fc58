"""Files a plug-in user writes, for the plug-in tests: README's problem module and a dist-info
directory declaring entry points (what ``pip install`` of a package with entry points leaves)."""

from __future__ import annotations

import shlex
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SECTION = "## Your own problem"


def _section_lines() -> list[str]:
    lines = (REPO / "README.md").read_text().splitlines()
    start = lines.index(SECTION)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return lines[start:end]


def readme_problem_source() -> str:
    """The Python block of README's "Your own problem" section (the module ``mine.py``)."""
    lines = _section_lines()
    start = lines.index("```python") + 1
    return "\n".join(lines[start : lines.index("```", start)]) + "\n"


def readme_commands() -> list[list[str]]:
    """The ``lab`` commands of that section, as argument lists (without ``.venv/bin/lab``)."""
    lines = _section_lines()
    start = lines.index("```bash") + 1
    out = []
    for line in lines[start : lines.index("```", start)]:
        args = shlex.split(line.split("#", 1)[0])
        assert args[0] == ".venv/bin/lab", line
        out.append(args[1:])
    return out


def write_dist_info(root: Path, dist: str, entry_points: dict[str, dict[str, str]]) -> Path:
    """``root/<dist>-0.1.dist-info`` with METADATA and ``entry_points.txt`` ({group: {name: value}})."""
    info = root / f"{dist}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    text = "".join(
        f"[{group}]\n" + "".join(f"{name} = {value}\n" for name, value in eps.items()) + "\n"
        for group, eps in entry_points.items()
    )
    (info / "entry_points.txt").write_text(text)
    return info
