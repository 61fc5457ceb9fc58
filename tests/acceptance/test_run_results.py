"""Acceptance: ``lab run``'s results, output safety, resumption and memory guard, driven through the
installed ``lab`` command in subprocesses (temporary cache and working directory), as a user runs it."""

from __future__ import annotations

import os
import shlex
import signal
import time
from collections import defaultdict

import numpy as np
import pytest

from lab.runbatch import estimate, memory_limit
from tests.acceptance._lab_run import REPO, chunk_counts, committed_chunks, lab, popen, read_csv, stable

QUICK = [
    "run", "--problem", "quadratic", "--optimizer", "muon", "--opt", "oracle=ns:jordan:5",
    "--sweep", "lr=[0.01,0.02,0.05]", "--seeds", "0-1", "--no-progress",
]  # fmt: skip


def readme_run_command() -> list[str]:
    """The ``lab run`` example of README's "A first session", as arguments of ``lab``."""
    lines = (REPO / "README.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith(".venv/bin/lab run "))
    text = ""
    for line in lines[start:]:
        line = line.split("#", 1)[0].rstrip()
        text += line.rstrip("\\") + " "
        if not line.endswith("\\"):
            break
    args = shlex.split(text)
    assert args[:2] == [".venv/bin/lab", "run"], args
    return args[1:]


def test_readme_example_csv_groups_by_learning_rate(tmp_path):
    args = readme_run_command()
    assert "--sweep" in args and "lr=[0.01,0.02,0.05]" in args and "--num-seeds" in args
    out = lab(args, cwd=tmp_path, cache=tmp_path / "cache")
    assert out.returncode == 0, out.stderr
    stem = tmp_path / args[args.index("--out") + 1]
    rows = read_csv(stem.with_suffix(".csv"))
    seeds = int(args[args.index("--num-seeds") + 1])
    last = max(int(r["step"]) for r in rows)
    groups = defaultdict(list)
    for r in rows:
        if int(r["step"]) == last:
            groups[float(r["lr"])].append(r)
    assert sorted(groups) == [0.01, 0.02, 0.05]
    assert all(len(g) == seeds for g in groups.values())
    assert sorted(int(r["seed"]) for r in groups[0.02]) == list(range(seeds))
    # The per-step step size has its own column: under a constant schedule it equals the member's lr
    # on every row that has a step, and it is NaN at the last checkpoint (no step is taken from X_T).
    for r in rows:
        if int(r["step"]) < last:
            assert float(r["step_lr"]) == float(r["lr"])
        else:
            assert np.isnan(float(r["step_lr"]))
    # The rows carry the problem's parameters and one run id.
    assert {r["problem_m"] for r in rows} == {"8"} and {r["problem_n"] for r in rows} == {"6"}
    assert len({r["run_id"] for r in rows}) == 1 and rows[0]["run_id"]
    # The CSV agrees with the npz arrays member by member.
    with np.load(stem.with_suffix(".npz"), allow_pickle=False) as z:
        member_lr = z["member/lr"]
        final_f = z["metric/f"][-1]
    for r in rows:
        if int(r["step"]) == last:
            j = int(r["member"])
            assert float(r["lr"]) == member_lr[j] and float(r["f"]) == final_f[j]


def test_unwritable_out_is_refused_before_any_work(tmp_path):
    (tmp_path / "a_file").write_text("not a directory")
    t0 = time.monotonic()
    out = lab(
        [*QUICK, "--steps", "200000", "--out", tmp_path / "a_file" / "run"],
        cwd=tmp_path,
        cache=tmp_path / "cache",
        timeout=60,
    )
    assert out.returncode == 2, out.stderr
    assert "--out" in out.stderr and "a_file" in out.stderr and "Traceback" not in out.stderr
    assert time.monotonic() - t0 < 30  # 200000 steps x 6 members would take minutes
    assert committed_chunks(tmp_path / "cache") == 0


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes through mode bits")
def test_read_only_out_directory_is_refused_before_any_work(tmp_path):
    target = tmp_path / "ro"
    target.mkdir()
    target.chmod(0o555)
    try:
        out = lab([*QUICK, "--steps", "200000", "--out", target / "run"], cwd=tmp_path, cache=tmp_path / "c")
    finally:
        target.chmod(0o755)
    assert out.returncode == 2 and "--out" in out.stderr, out.stderr
    assert committed_chunks(tmp_path / "c") == 0


def test_existing_results_are_kept_unless_force(tmp_path):
    args = [*QUICK, "--steps", "20", "--out", "r/run"]
    first = lab(args, cwd=tmp_path, cache=tmp_path / "cache")
    assert first.returncode == 0, first.stderr
    csv_path = tmp_path / "r" / "run.csv"
    before = csv_path.read_bytes()
    again = lab([*args[:-4], "--steps", "30", "--out", "r/run"], cwd=tmp_path, cache=tmp_path / "cache")
    assert again.returncode == 2
    assert "run.csv" in again.stderr and "--force" in again.stderr
    assert csv_path.read_bytes() == before
    forced = lab(
        [*args[:-4], "--steps", "30", "--out", "r/run", "--force"], cwd=tmp_path, cache=tmp_path / "c"
    )
    assert forced.returncode == 0, forced.stderr
    assert max(int(r["step"]) for r in read_csv(csv_path)) == 30


def test_kill_9_then_resume_gives_the_uninterrupted_results(tmp_path):
    args = [*QUICK, "--steps", "1200", "--chunk-size", "1"]
    reference = lab([*args, "--out", "ref/run"], cwd=tmp_path, cache=tmp_path / "cache_ref")
    assert reference.returncode == 0, reference.stderr
    assert chunk_counts(reference.stdout) == (6, 0)

    cache = tmp_path / "cache"
    proc = popen([*args, "--out", "run/run"], cwd=tmp_path, cache=cache)
    deadline = time.monotonic() + 120
    while committed_chunks(cache) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed; make it longer"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    done = committed_chunks(cache)
    assert 2 <= done < 6
    assert not (tmp_path / "run" / "run.csv").exists()
    assert (tmp_path / "run" / "run.partial.json").is_file()

    # Without --resume the interrupted run is named, not silently restarted.
    plain = lab([*args, "--out", "run/run"], cwd=tmp_path, cache=cache)
    assert plain.returncode == 2 and "--resume" in plain.stderr

    # Another configuration cannot resume it.
    other = lab([*args, "--steps", "1201", "--out", "run/run", "--resume"], cwd=tmp_path, cache=cache)
    assert other.returncode == 2 and "--resume" in other.stderr and "records run" in other.stderr

    resumed = lab([*args, "--out", "run/run", "--resume"], cwd=tmp_path, cache=cache)
    assert resumed.returncode == 0, resumed.stderr
    computed, loaded = chunk_counts(resumed.stdout)
    assert loaded >= done and computed + loaded == 6
    assert not (tmp_path / "run" / "run.partial.json").exists()

    assert stable(read_csv(tmp_path / "run" / "run.csv")) == stable(read_csv(tmp_path / "ref" / "run.csv"))
    with (
        np.load(tmp_path / "run" / "run.npz", allow_pickle=False) as a,
        np.load(tmp_path / "ref" / "run.npz", allow_pickle=False) as b,
    ):
        assert sorted(a.files) == sorted(b.files)
        for name in a.files:
            if name != "meta":
                np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def _default_guard_size() -> int:
    """m for ``--problem-param m=M --problem-param n=8`` over this machine's default memory limit.

    The issue's case is m = 20000; a machine with more than twice its estimate gets a larger m.
    """
    limit, _ = memory_limit()
    m = 20000
    while True:
        params = {"m": m, "n": 8, "p": None, "q": None}
        need = estimate(problem_params=params, members=1, steps=1000, checkpoints="log", record=("loss",))
        if need.total > limit:
            return m
        m *= 2


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param(
            ["--problem-param", f"m={_default_guard_size()}", "--problem-param", "n=8"], id="m-large"
        ),
        pytest.param(["--num-seeds", "100000000"], id="num-seeds-1e8"),
        pytest.param(["--num-seeds", "2000", "--max-memory", "1M"], id="max-memory-1M"),
        pytest.param(["--seeds", "0-99999999"], id="seed-range-1e8"),
    ],
)
def test_memory_guard_stops_before_any_work(tmp_path, extra):
    t0 = time.monotonic()
    out = lab(
        ["run", "--problem", "quadratic", "--optimizer", "muon", "--no-progress", *extra, "--out", "r"],
        cwd=tmp_path,
        cache=tmp_path / "cache",
        timeout=60,
    )
    elapsed = time.monotonic() - t0
    assert out.returncode == 2, out.stderr
    assert "lab run: error: memory: this run needs about" in out.stderr, out.stderr
    assert "above the limit" in out.stderr and "--max-memory" in out.stderr
    assert "Traceback" not in out.stderr
    assert elapsed < 20
    assert committed_chunks(tmp_path / "cache") == 0 and not (tmp_path / "r.csv").exists()


def test_max_memory_must_be_a_size(tmp_path):
    out = lab([*QUICK, "--max-memory", "lots", "--out", "r"], cwd=tmp_path, cache=tmp_path / "cache")
    assert out.returncode == 2 and "lab run: error: --max-memory must be a size" in out.stderr
