"""Cache keys come from the code that runs: editing any engine module re-keys every experiment.

The check works on a temporary copy of the project packages (the repository is never edited): a
child process records the code-version salt of each registered experiment's first sweep, then
appends a comment to one engine module at a time and records the salts again.  Every experiment
must get a new key for every edit, because an experiment's runs can reach any engine module
through the problem, optimizer and oracle registries.  (Before the keys covered the whole
project, the S3/S4 experiments listed their modules by hand and kept their keys when
``lab/norms.py``, ``lab/oracles.py`` or ``lab/optimizers/base.py`` changed.)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lab.claim_ids import EXPERIMENT_IDS
from lab.experiments import load_all

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("lab", "problems", "bounds")
CHILD = Path(__file__).with_name("_cache_key_child.py")

#: The application layer: code that turns results into verdicts, tables and commands.  It is
#: covered by the salt too (the safe choice), but the test edits the engine the runs execute.
_APPLICATION = ("lab/experiments/", "lab/checks/", "lab/claims/", "lab/commands/", "lab/bench/", "lab/cli.py",
                 "lab/appendix.py", "lab/report/", "lab/verdict_plot.py", "lab/__main__.py")


def _engine_modules() -> list[str]:
    files = []
    for pkg in PACKAGES:
        for path in sorted((REPO / pkg).rglob("*.py")):
            rel = path.relative_to(REPO).as_posix()
            if not rel.startswith(_APPLICATION) or rel == "lab/claims/mutations.py":
                files.append(rel)
    return files


@pytest.fixture(scope="module")
def salts(tmp_path_factory):
    root = tmp_path_factory.mktemp("project")
    for pkg in PACKAGES:
        shutil.copytree(REPO / pkg, root / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    cache = tmp_path_factory.mktemp("cache")
    env = dict(os.environ, PYTHONPATH=str(root), LAB_CACHE_DIR=str(cache), PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run(
        [sys.executable, str(CHILD), str(root), str(cache), *_engine_modules()],
        cwd=root, env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


#: Experiments that key no sweep through run_sweep: reference computations that are not cached
#: (conformance, the weight-decay floor) and the real-data grids, whose own per-run keys hash the
#: same project packages (lab.claims.real_data).
NOT_SWEPT_PREFIXES = ("conformance", "real_", "x_wd")
#: Their ids (experiments are registered under claim ids; the prefixes name the old names).
NOT_SWEPT = {new for old, new in EXPERIMENT_IDS.items() if old.startswith(NOT_SWEPT_PREFIXES)}


def test_the_child_reached_every_experiment(salts):
    expected = sorted(n for n in load_all() if n not in NOT_SWEPT)
    assert sorted(set(salts["baseline"]) & set(expected)) == expected, "an experiment never reached run_sweep"


def test_every_engine_edit_rekeys_every_experiment(salts):
    stale = {module: names for module, names in salts["unchanged"].items() if names}
    assert not stale, f"experiments that kept their cache key after an engine edit: {stale}"


def test_the_engine_list_is_not_empty_and_covers_the_known_stale_cases():
    modules = _engine_modules()
    for rel in ("lab/norms.py", "lab/oracles.py", "lab/optimizers/base.py", "lab/schedules.py",
                "lab/claims/mutations.py", "problems/quadratic.py", "bounds/s3.py"):
        assert rel in modules


def test_the_suite_runs_on_a_temporary_cache():
    from lab.cache import default_cache_dir

    assert not default_cache_dir().resolve().is_relative_to(REPO), "tests must not use the repository's cache"
