"""-q / -v: messages through logging on stderr; results stay on stdout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

LAB = Path(sys.executable).with_name("lab")


def _lab(*args, cache):
    env = dict(os.environ, LAB_CACHE_DIR=str(cache))
    return subprocess.run([str(LAB), *args], env=env, capture_output=True, text=True, timeout=300)


def test_verbose_says_what_each_sweep_loads_and_computes(tmp_path):
    first = _lab("-v", "check", "--quick", "--only", "S4-threshold", cache=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "lab: s4_thresholds: 1 chunks, 0 from the cache, 1 to compute" in first.stderr
    again = _lab("-v", "check", "--quick", "--only", "S4-threshold", cache=tmp_path)
    assert "1 from the cache, 0 to compute" in again.stderr
    quiet = _lab("-q", "check", "--quick", "--only", "S4-threshold", cache=tmp_path)
    assert "from the cache" not in quiet.stderr and "S4-threshold" in quiet.stdout


def test_quiet_and_verbose_exclude_each_other(tmp_path):
    out = _lab("-q", "-v", "problems", cache=tmp_path)
    assert out.returncode == 2 and "not allowed with" in out.stderr
