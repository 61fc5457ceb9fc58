"""Child process of tests/test_cache_keys.py: the cache salt of every experiment's first sweep.

Run with the project packages on ``sys.path`` from a temporary copy.  For the baseline and
after appending a comment to each named module file (one at a time, restored afterwards), it
records the code-version salt that each registered quick experiment's first ``run_sweep`` call
computes, stopping the experiment there (no sweep runs), and prints one JSON object:
``{"baseline": {experiment: salt}, "unchanged": {module: [experiments whose salt stayed]}}``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import lab.sweeps.sweep
from lab.cache import code_version
from lab.experiments import load_all


class _Stop(Exception):
    pass


def _salts(experiments, cache_dir):
    """{experiment: the objects its first sweep's salt hashes} (the experiment stops there)."""
    real = lab.sweeps.sweep.code_version
    seen = {}

    def record(*objects):
        real(*objects)
        raise _Stop(objects)

    lab.sweeps.sweep.code_version = record
    try:
        for name, fn in sorted(experiments.items()):
            try:
                fn(quick=True, cache=cache_dir)
            except _Stop as stop:
                seen[name] = stop.args[0]
    finally:
        lab.sweeps.sweep.code_version = real
    return seen


def main(root: str, cache_dir: str, modules: list[str]) -> None:
    experiments = load_all()
    hashed = _salts(experiments, cache_dir)
    # code_version reads the sources from disk at call time, so re-hashing the same objects after
    # an edit gives exactly the key the experiment would compute now (without re-running it)
    baseline = {name: code_version(*objects) for name, objects in hashed.items()}
    unchanged = {}
    for rel in modules:
        path = Path(root) / rel
        original = path.read_bytes()
        try:
            path.write_bytes(original + b"\n# an edit that changes nothing but the source text\n")
            after = {name: code_version(*objects) for name, objects in hashed.items()}
        finally:
            path.write_bytes(original)
        unchanged[rel] = sorted(name for name, salt in after.items() if baseline.get(name) == salt)
    print(json.dumps({"baseline": baseline, "unchanged": unchanged}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
