"""``lab run``: options and TOML configurations, the written CSV/npz, and clear errors."""

from __future__ import annotations

import csv
import textwrap

import numpy as np
import pytest

from lab.cli import build_parser, main
from lab.runner import RunResult


@pytest.fixture(autouse=True)
def _temporary_cache(tmp_path, monkeypatch):
    """``lab run`` stores its chunks in the lab cache: keep them out of the repository's."""
    monkeypatch.setenv("LAB_CACHE_DIR", str(tmp_path / "cache"))


def _run_parser():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return sub.choices["run"]


def test_help_documents_every_option(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    parser = _run_parser()
    for action in parser._actions:
        for flag in action.option_strings:
            assert flag in text, flag
        assert action.help, f"option {action.option_strings or action.dest} has no help text"
    for table in ("[problem]", "[noise]", "[optimizer]", "[run]", "[sweep]"):
        assert table in text


def _rows(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


def test_run_from_options_writes_csv_and_npz(tmp_path, capsys):
    out = tmp_path / "muon_run"
    code = main(
        [
            "run",
            "--problem",
            "quadratic",
            "--problem-param",
            "m=6",
            "--problem-param",
            "n=4",
            "--noise",
            "gaussian",
            "--noise-param",
            "sigma=0.1",
            "--optimizer",
            "muon",
            "--opt",
            "lr=0.02",
            "--opt",
            "oracle=ns:jordan:5",
            "--sweep",
            "beta=[0.9, 0.95]",
            "--seeds",
            "0-2",
            "--steps",
            "50",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "6 member(s) after 50 steps" in printed and "wrote" in printed
    res = RunResult.load(out.with_suffix(".npz"))
    assert res.batch_shape == (6,)
    np.testing.assert_array_equal(res.members["seed"], [0, 0, 1, 1, 2, 2])
    np.testing.assert_array_equal(res.members["beta"], [0.9, 0.95] * 3)
    rows = _rows(out.with_suffix(".csv"))
    assert len(rows) == 6 * res.checkpoints.size
    assert rows[0]["optimizer"] == "muon" and rows[0]["oracle"] == "ns:jordan:5"
    assert rows[0]["problem"] == "quadratic" and rows[0]["git_revision"]


def test_run_from_toml_with_schedules_and_overrides(tmp_path):
    config = tmp_path / "cfg.toml"
    config.write_text(
        textwrap.dedent(f"""
        [problem]
        name = "kronecker_quadratic"
        m = 6
        n = 4
        mu = 0.01

        [noise]
        name = "gaussian"
        sigma = 0.05

        [optimizer]
        name = "muon_mvr2"
        lr = {{kind = "power", value = 0.05, exponent = 0.6667}}
        beta = {{kind = "anytime_beta", c = 1.0, exponent = 0.6667}}

        [run]
        steps = 500
        num_seeds = 2
        record = ["loss", "grad", "estimator", "step"]
        checkpoints = "all"
        out = "{(tmp_path / "from_toml").as_posix()}"
    """)
    )
    assert main(["run", str(config), "--steps", "30", "--no-progress"]) == 0  # the option overrides [run]
    res = RunResult.load(tmp_path / "from_toml.npz")
    assert res.steps == 30 and res.checkpoints.tolist() == list(range(31))
    np.testing.assert_allclose(res["lr"][:3, 0], 0.05 * np.arange(1, 4) ** -0.6667, rtol=1e-14)
    assert res.config["optimizer"]["hyperparameters"]["lr"]["kind"] == "power"


def test_gluon_takes_norms_and_constants_from_the_problem(tmp_path):
    out = tmp_path / "gluon"
    code = main(
        [
            "run",
            "--problem",
            "quartic",
            "--optimizer",
            "gluon",
            "--deterministic",
            "--steps",
            "20",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0
    res = RunResult.load(out.with_suffix(".npz"))
    assert res.success and np.all(np.diff(res["f"][:, 0]) <= 0)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--problem", "quadratic", "--optimizer", "adagrad"], "optimizer must be one of"),
        (
            ["--problem", "nonesuch", "--optimizer", "muon", "--opt", "lr=0.1"],
            "name must be one of the registered",
        ),
        (
            ["--problem", "quadratic", "--optimizer", "muon", "--opt", "lr=0.1", "--opt", "beta=1.5"],
            r"beta must lie in [0.0, 1.0)",
        ),
        (
            ["--problem", "quadratic", "--optimizer", "muon", "--opt", "lr=0.1", "--sweep", "lr=[0.1]"],
            "sweep lr: also given as a fixed optimizer option",
        ),
        (["--problem", "quadratic", "--optimizer", "muon", "--opt", "lr"], "--opt expects KEY=VALUE"),
        (["--optimizer", "muon", "--opt", "lr=0.1"], "problem: name the problem"),
        (
            ["--problem", "quadratic", "--optimizer", "muon_mvr2", "--opt", "lr=0.1", "--checkpoints", "a,b"],
            "checkpoints must be 'log', 'all' or a comma-separated list",
        ),
    ],
)
def test_bad_configurations_exit_with_a_message(argv, message, capsys, tmp_path):
    code = main(["run", *argv, "--steps", "5", "--out", str(tmp_path / "x"), "--no-progress"])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


def test_unknown_toml_keys_are_named(tmp_path, capsys):
    config = tmp_path / "bad.toml"
    config.write_text(
        '[problem]\nname = "quadratic"\n[optimizer]\nname = "muon"\nlr = 0.1\n[run]\nstepz = 5\n'
    )
    assert main(["run", str(config), "--no-progress"]) == 2
    assert "[run]: unknown key(s) ['stepz']" in capsys.readouterr().err


def test_list(capsys):
    assert main(["run", "--list"]) == 0
    text = capsys.readouterr().out
    assert "muon_mvr2" in text and "kronecker_quadratic" in text
