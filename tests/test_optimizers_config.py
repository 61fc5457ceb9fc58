"""Bad configurations fail before any work, with a message that names the option and the range."""

from __future__ import annotations

import re

import numpy as np
import pytest
from test_optimizers_problems import Counting, NoSample

from lab.optimizers import (
    OPTIMIZERS,
    adam,
    gluon,
    lion_k,
    lmo_step,
    make_optimizer,
    muon,
    muon_mvr1,
    muon_mvr2,
    scion,
    sgd,
)
from lab.oracles import inexact_oracle
from lab.runner import run
from lab.schedules import from_callable, power


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: muon(0.1, beta=1.0), r"beta must lie in \[0.0, 1.0\)"),
        (lambda: muon(0.1, beta=-0.1), r"beta must lie in \[0.0, 1.0\)"),
        (lambda: muon(0.1, beta=np.array([0.9, 1.2])), r"beta must lie in \[0.0, 1.0\)"),
        (lambda: muon(0.0), r"lr must lie in \(0.0, inf\)"),
        (lambda: muon(-1.0), r"lr must lie in \(0.0, inf\)"),
        (lambda: lmo_step(np.array([0.1, 0.0])), r"lr must lie in \(0.0, inf\)"),
        (lambda: muon(float("nan")), r"lr: value must be finite"),
        (lambda: muon(0.1, momentum="alpha", alpha=0.0), r"alpha must lie in \(0.0, 1.0\]"),
        (lambda: muon(0.1, weight_decay=-0.1), r"weight_decay must lie in \[0.0, inf\)"),
        (lambda: muon_mvr1(0.1, 0.9, gamma=-1.0), r"gamma must lie in \[0.0, inf\)"),
        (lambda: muon_mvr2(0.1, beta=1.0), r"beta must lie in"),
        (lambda: lion_k(0.1, beta_n=1.5), r"beta_n must lie in"),
        (lambda: adam(0.1, beta2=1.0), r"beta2 must lie in"),
        (lambda: sgd(0.1, beta=2.0), r"beta must lie in"),
        (lambda: gluon(1.0, 0.0, norms="spectral", delta=1.0), r"delta must lie in \[0.0, 1.0\)"),
        (lambda: gluon(1.0, 0.0, norms="spectral", delta=np.array([0.1, -0.2])), r"delta must lie in"),
        (lambda: gluon(0.0, 0.0, norms="spectral"), r"L0 and L1 must not both be 0"),
        (lambda: inexact_oracle("spectral", 1.0, "expand"), r"delta must lie in \[0, 1\)"),
        (lambda: muon(0.1, oracle=inexact_oracle("spectral", 0.1, "sideways")), r"kind must be one of"),
    ],
)
def test_bad_hyperparameters_name_the_option(build, match):
    with pytest.raises(ValueError, match=match):
        build()


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: make_optimizer("adagrad", lr=0.1), r"optimizer must be one of"),
        (lambda: make_optimizer("muon", lr=0.1, betas=0.9), r"unknown option\(s\) \['betas'\]"),
        (lambda: make_optimizer("muon"), r"needs option\(s\) \['lr'\]"),
        (lambda: muon(0.1, momentum="heavy"), r"momentum must be one of \('ema', 'sum', 'alpha'\)"),
        (lambda: muon(0.1, shape_scale="sqrt"), r"shape_scale must be one of"),
        (lambda: muon(0.1, momentum_init="ones"), r"momentum_init must be one of"),
        (lambda: muon(0.1, oracle="polar-magic"), r"oracle\[0\]: spec"),
        (lambda: lion_k(0.1, K="log"), r"K must be one of"),
        (lambda: lion_k(0.1, K="schatten_p"), r"p must be a number in \(1, inf\)"),
        (lambda: lion_k(0.1, K="ky_fan_k", k=0), r"k must be an integer >= 1"),
        (lambda: lion_k(0.1, K="soft"), r"eps must be a number > 0"),
        (lambda: gluon(1.0, 0.0), r"norms: every block needs a norm"),
        (lambda: gluon(1.0, 0.0, norms="spectral", step_rule="fast"), r"step_rule must be one of"),
        (lambda: scion(0.1, 0.1), r"norms: every block needs a norm"),
        (lambda: scion(0.1, 0.1, norms=("spectral", "l7")), r"norms\[1\]: name must be one of"),
    ],
)
def test_unknown_names_are_rejected(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_flags_must_be_booleans():
    with pytest.raises(TypeError, match="nesterov must be True or False"):
        muon(0.1, nesterov="yes")


def test_every_registered_optimizer_is_buildable_by_name():
    needs = {"gluon": {"L0": 1.0, "L1": 0.0, "norms": "spectral"}, "scion": {"lr": 0.1, "norms": "spectral"}}
    for name in OPTIMIZERS:
        opt = make_optimizer(name, **needs.get(name, {"lr": 0.1}))
        assert opt.name == name
        assert opt.describe()["optimizer"] == name


def _fails_before_work(problem, optimizer, match, **kw):
    with pytest.raises(ValueError, match=match):
        run(problem, optimizer, kw.pop("steps", 50), kw.pop("seeds", [0, 1, 2]), **kw)
    assert problem.calls == 0


def test_blocks_without_a_norm_fail_before_any_work():
    problem = Counting(((6, 4), (3, 5), (2, 2)))
    _fails_before_work(
        problem, gluon((4.0, 3.0), 0.0, norms=("spectral", "linf")), r"norms: got 2 for 3 blocks"
    )
    _fails_before_work(problem, scion(0.1, 0.5, norms=("spectral", "linf")), r"norms: got 2 for 3 blocks")
    _fails_before_work(problem, muon(0.1, oracle=("exact", "ns")), r"oracle: got 2 for 3 blocks")
    _fails_before_work(problem, gluon((1.0, 2.0), 0.0, norms="spectral"), r"L0: got 2 values for 3 blocks")
    _fails_before_work(problem, scion(0.1, 0.5, norms="spectral", block_lr=(1.0, 2.0)), r"block_lr: got 2")
    _fails_before_work(problem, lion_k(0.1, K="ky_fan_k", k=3), r"k must be <= min\(m, n\) = 2")


def test_mvr2_needs_a_sample_interface():
    problem = NoSample(((6, 4),))
    problem.calls = 0
    with pytest.raises(
        ValueError, match=r"'muon_mvr2' evaluates one sample at two points.*no sample/stochastic_grad"
    ):
        run(problem, muon_mvr2(0.1, 0.5), 10, [0])
    # deterministic runs need no sample interface
    res = run(problem, muon_mvr2(0.1, 0.5), 10, [0], stochastic=False)
    assert res.success


def test_time_varying_schedules_are_checked_over_the_horizon():
    problem = Counting(((6, 4),))
    creeping = from_callable(lambda t: 0.5 + 0.01 * t, name="creeping")
    opt = muon(0.1, creeping)  # fine at t = 1 …
    _fails_before_work(
        problem, opt, r"beta must lie in \[0.0, 1.0\) at step t=", steps=100
    )  # … not at t = 50
    run(problem, opt, 40, [0])  # within the horizon it is valid
    problem.calls = 0
    shrinking = power(np.array([0.1, -0.1]), 0.5)
    _fails_before_work(problem, muon(shrinking), r"lr must lie in \(0.0, inf\)", seeds=[0, 1])


def test_hyperparameter_arrays_must_match_the_batch():
    problem = Counting(((6, 4),))
    _fails_before_work(
        problem, muon(np.full(4, 0.1)), re.escape("lr has shape (4,), which does not broadcast")
    )
    _fails_before_work(
        problem,
        muon(0.1, oracle=inexact_oracle("spectral", np.array([0.1, 0.2]), "random")),
        r"oracle\[0\].delta has shape \(2,\)",
    )


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"steps": 0}, r"steps must be an integer >= 1"),
        ({"checkpoints": [0, 99]}, r"checkpoints must lie in \[0, steps=50\]"),
        ({"checkpoints": "sparse"}, r"checkpoints must be 'log', 'all'"),
        ({"record": ("loss", "hessian")}, r"record must name groups among"),
        ({"diverge_threshold": float("nan")}, r"diverge_threshold must be a number"),
        ({"seeds": [0.5, 1.5]}, r"seeds must be integers"),
    ],
)
def test_bad_runner_options_fail_before_any_work(kw, match):
    _fails_before_work(Counting(((6, 4),)), muon(0.1), match, **kw)


def test_oracle_diagnostics_need_an_oracle():
    _fails_before_work(
        Counting(((6, 4),)),
        sgd(0.1),
        r"record: 'oracle' needs an optimizer with an oracle",
        record=("loss", "oracle"),
    )
