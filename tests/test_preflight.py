"""Checks made before any work: the cache directory, the execution settings, and the inputs that
used to surprise a user (issue: errors are never verdicts)."""

from __future__ import annotations

import json
import socket

import numpy as np
import pytest

from lab.commands.check import merge_rows
from lab.commands.run import _pairs
from lab.optimizers import muon
from lab.preflight import EnvironmentProblem, check_cache_dir, session_n_jobs, session_scheduler
from lab.runner import batch_grid, run
from lab.stats import Verdict


def test_cache_dir_is_created_when_missing(tmp_path):
    target = tmp_path / "a" / "b"
    assert check_cache_dir(target) == target and target.is_dir()
    assert list(target.iterdir()) == []  # the write probe leaves nothing behind


def test_cache_dir_that_is_a_file_or_below_one_is_named(tmp_path, monkeypatch):
    f = tmp_path / "f"
    f.write_text("x")
    monkeypatch.setenv("LAB_CACHE_DIR", str(f))
    with pytest.raises(EnvironmentProblem, match="LAB_CACHE_DIR .* is not a directory"):
        check_cache_dir()
    monkeypatch.setenv("LAB_CACHE_DIR", str(f / "sub"))
    with pytest.raises(EnvironmentProblem, match="LAB_CACHE_DIR .* cannot be created"):
        check_cache_dir()


@pytest.mark.parametrize("value", ["abc", "0", "1.5", " "])
def test_lab_n_jobs_is_validated(monkeypatch, value):
    monkeypatch.setenv("LAB_N_JOBS", value)
    if value.strip():
        with pytest.raises(EnvironmentProblem, match="LAB_N_JOBS"):
            session_n_jobs(None)
    else:
        assert session_n_jobs(None) is None
    assert session_n_jobs(2) == 2  # the option wins over the environment


def test_n_jobs_zero_names_the_option():
    with pytest.raises(EnvironmentProblem, match="--n-jobs"):
        session_n_jobs(0)


def test_scheduler_origin_is_named(monkeypatch):
    monkeypatch.setenv("LAB_SCHEDULER", "tcp://h:1")
    assert session_scheduler(None) == ("tcp://h:1", "LAB_SCHEDULER")
    assert session_scheduler("local") == ("local", "--scheduler")


def test_unreachable_scheduler_is_a_scheduler_error(monkeypatch):
    pytest.importorskip("distributed", reason="dask.distributed is not installed (optional extra)")
    from lab.sweeps import SchedulerError, execution

    monkeypatch.setenv("DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT", "1s")
    import dask

    dask.config.refresh()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    try:
        with pytest.raises(SchedulerError, match="cannot connect"), execution(scheduler=address):
            pass
    finally:
        monkeypatch.delenv("DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT")
        dask.config.refresh()


def _row(claim, check, verdict="holds"):
    v = Verdict(claim=claim, source="S1", problem="p", bound=1.0, measured=0.5, verdict=verdict)
    row = v.as_row()
    row["details"] = json.dumps({"check": check})
    return row


def test_only_merges_into_the_verdicts_file(tmp_path):
    from lab.appendix import write_verdicts
    from lab.checks import load_all

    ids = list(load_all())[:3]
    path = write_verdicts(
        [_row(f"{i}[x]", i) for i in ids] + [_row("gone", "no-such-check")], tmp_path / "v.json"
    )
    merged, kept = merge_rows(path, [_row(f"{ids[1]}[new]", ids[1], "violated")], {ids[1]})
    assert [r["claim"] for r in merged] == [f"{ids[0]}[x]", f"{ids[1]}[new]", f"{ids[2]}[x]"]
    assert kept == 2
    fresh, kept = merge_rows(tmp_path / "absent.json", [_row("a", ids[0])], {ids[0]})
    assert [r["claim"] for r in fresh] == ["a"] and kept == 0


def test_repeated_keys_are_refused():
    assert _pairs(["lr=0.1", "beta=0.9"], "--opt") == {"lr": 0.1, "beta": 0.9}
    with pytest.raises(ValueError, match="--opt lr: given twice"):
        _pairs(["lr=0.1", "lr=0.2"], "--opt")


@pytest.mark.parametrize("values", [["a", "b"], [0.1, "x"], [True, False], [None]])
def test_wrong_typed_sweep_values_name_the_key(values):
    with pytest.raises(ValueError, match=r"^lr must be a non-empty 1-D sequence of numbers"):
        batch_grid(seed=[0], lr=values)


def test_run_takes_a_registered_problem_name():
    import problems

    by_name = run("quadratic", muon(lr=0.01), 5, seeds=np.arange(2), stochastic=False)
    by_object = run(problems.make("quadratic"), muon(lr=0.01), 5, seeds=np.arange(2), stochastic=False)
    assert np.array_equal(by_name.metrics["f"], by_object.metrics["f"])
    with pytest.raises(ValueError, match="problem must be a Problem or one of"):
        run("no-such-problem", muon(lr=0.01), 5)
