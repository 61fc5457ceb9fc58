"""Real-data plumbing of lab.torch.real and lab.claims.real_data: data, determinism, caching, figures."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the real-data experiments need the optional [torch] extra")
pytest.importorskip("sklearn", reason="the digits data set ships with scikit-learn (the [torch] extra)")

import lab.claims.real_data as real  # noqa: E402
from figures.registry import discover  # noqa: E402
from lab.cache import Cache  # noqa: E402
from lab.commands import figures as figures_command  # noqa: E402
from lab.torch.real import digits_data, stdlib_text, train  # noqa: E402


@pytest.fixture(autouse=True)
def _one_thread():
    # tiny models: on a shared 2-core machine extra torch threads only spin against other processes
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def test_data_ship_with_packages():
    X, y = digits_data()
    assert X.shape == (1797, 64) and set(np.unique(y)) == set(range(10))
    codes, sha = stdlib_text()
    assert codes.size > 100_000 and codes.max() < 128 and len(sha) == 64


@pytest.mark.parametrize("task,method", [("digits", "muon"), ("digits", "mvr2"), ("text", "mvr1")])
def test_same_seed_same_numbers(task, method):
    a = train(task, method=method, oracle="ns:jordan:3", lr=0.02, seed=3, steps=4, eval_every=2)
    b = train(task, method=method, oracle="ns:jordan:3", lr=0.02, seed=3, steps=4, eval_every=2)
    c = train(task, method=method, oracle="ns:jordan:3", lr=0.02, seed=4, steps=4, eval_every=2)
    assert np.array_equal(a["eval_loss"], b["eval_loss"]) and np.array_equal(a["eval_steps"], [2, 4])
    assert not np.array_equal(a["train_loss"], c["train_loss"])


def test_recorded_inputs_and_delta_rows_respect_the_bound():
    run = train("digits", steps=4, record_inputs_every=2)
    assert sorted(run["inputs"]) == [(2, 0), (2, 1), (2, 2), (4, 0), (4, 1), (4, 2)]
    M = run["inputs"][(4, 1)]
    d, b, x_min, x_max = real._delta_rows(M, ("cubic", "jordan"), (1, 5))
    assert np.all(d <= b + 1e-9) and 0 <= x_min <= x_max <= 1
    # cubic's error is attained at x_min: the bound is tight there (so an understated bound is caught)
    assert d[0, 0] == pytest.approx(b[0, 0], abs=1e-9)


def test_run_grid_is_cached_and_resumes(tmp_path, monkeypatch):
    calls = []
    one = real._one_run

    def counting(config):
        calls.append(config["seed"])
        return one(config)

    monkeypatch.setattr(real, "_one_run", counting)
    cache = Cache(tmp_path)
    configs = [{"task": "digits", "steps": 2, "eval_every": 1, "seed": s} for s in range(3)]
    first = real.run_grid("t", configs[:2], cache=cache, n_jobs=1)  # "interrupted" after two runs
    assert calls == [0, 1]
    full = real.run_grid("t", configs, cache=cache, n_jobs=1)
    assert calls == [0, 1, 2]  # only the missing run is computed
    for a, b in zip(first, full[:2], strict=True):
        assert np.array_equal(a["eval_loss"], b["eval_loss"])


def test_real_figures_only_with_the_real_flag():
    real_figs = {n for n, s in discover().items() if figures_command._is_real(s)}
    assert {"fig09_torch_parity", "fig10_real_coupling", "fig10b_real_delta", "fig10c_real_s2"} <= real_figs
    assert "fig01_newton_schulz" not in real_figs


def test_options_are_validated():
    with pytest.raises(ValueError, match="unknown options"):
        real.real_s2(quick=True, bogus=1)
    with pytest.raises(ValueError, match="task"):
        train("imagenet")
