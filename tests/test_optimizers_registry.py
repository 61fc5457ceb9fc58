"""The optimizer registry and plug-ins, chains of transforms, and NorMuon against its recursion.

* ``register`` makes a chain available to ``make_optimizer``, ``OPTIMIZERS`` and the conformance
  suites (their case list is read from the registry); bad registrations fail with a reason.
* The entry-point group ``muon_lab.optimizers`` is loaded once, on the registry's first read.
* NorMuon is Muon's direction, row-normalised by an EMA of the rows' mean square and rescaled to the
  direction's Frobenius norm: checked against a NumPy transcription of that recursion.
"""

from __future__ import annotations

import importlib
import inspect
from types import SimpleNamespace

import numpy as np
import pytest
from test_optimizers_problems import Quadratic

import lab.optimizers.registry as registry
from lab.optimizers import (
    OPTIMIZERS,
    Example,
    chain,
    examples,
    make_optimizer,
    muon,
    normuon,
    register,
)
from lab.optimizers.momentum import EMAMomentum
from lab.optimizers.transforms import LMO, DecoupledWeightDecay, LearningRate
from lab.orthogonalization import polar
from lab.runner import run


@pytest.fixture
def clean_registry(monkeypatch):
    """A registry of its own: registrations made by a test do not outlive it."""
    monkeypatch.setattr(registry, "_ENTRIES", dict(registry._ENTRIES))
    return registry


def _mine(lr, beta=0.9):
    """A user's optimizer: EMA momentum + the exact spectral LMO, no shape scale."""
    return chain(LearningRate(lr), EMAMomentum(beta), DecoupledWeightDecay(0.0), LMO("exact"), name="mine")


def test_a_registered_chain_is_made_by_name_and_discovered(clean_registry):
    register("mine", _mine, examples=(Example("lr", lambda v: _mine(v), (0.02, 0.05, 0.1), 0.05),))
    assert "mine" in OPTIMIZERS and list(OPTIMIZERS)[-1] == "mine"
    assert [e.label for e in examples("mine")] == ["lr"]
    opt = make_optimizer("mine", lr=0.1)
    assert opt.describe()["optimizer"] == "mine"
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['gamma'\]"):
        make_optimizer("mine", lr=0.1, gamma=1.0)
    res = run(Quadratic(((6, 4),), sigma=0.0, seed=1), opt, 50, [0, 1], stochastic=False, record=("loss",))
    assert np.all(res["f"][-1] < res["f"][0])


def test_bad_registrations_say_why(clean_registry):
    with pytest.raises(ValueError, match="already registered"):
        register("muon", muon, examples=examples("muon"))
    with pytest.raises(ValueError, match="at least one lab.optimizers.Example"):
        register("no_examples", _mine)
    with pytest.raises(TypeError, match="must be callable"):
        register("not_callable", 3, examples=examples("muon"))
    _mine.examples = (Example("lr", lambda v: _mine(v), (0.02, 0.05, 0.1), 0.05),)
    try:
        register("from_attribute", _mine)  # the factory's own ``examples`` attribute
    finally:
        del _mine.examples
    assert examples("from_attribute")[0].label == "lr"


def test_entry_points_are_loaded_once_on_first_read(clean_registry, monkeypatch):
    calls = []

    def fake_entry_points(group):
        calls.append(group)
        factory = SimpleNamespace(load=lambda: _with_examples)
        return [SimpleNamespace(name="plugged", value="pkg.mod:factory", load=factory.load)]

    monkeypatch.setattr(registry, "entry_points", fake_entry_points)
    monkeypatch.setitem(registry._PLUGINS, "loaded", False)
    assert "plugged" in OPTIMIZERS
    assert "plugged" in list(OPTIMIZERS)
    assert calls == [registry.ENTRY_POINT_GROUP]


def _with_examples(lr):
    return _mine(lr)


_with_examples.examples = (Example("lr", lambda v: _mine(v), (0.02, 0.05, 0.1), 0.05),)


def test_a_chain_refuses_a_hyperparameter_defined_twice():
    with pytest.raises(ValueError, match="two transforms define the hyperparameter 'lr'"):
        chain(LearningRate(0.1), LearningRate(0.2), name="twice")


def _normuon_reference(problem, steps, lr, beta, beta2, eps, seeds):
    """NumPy transcription: EMA + Nesterov, D = −polar, row-normalise, rescale, 0.2√max(m, n) η step."""
    rng = problem.make_rng(np.asarray(seeds))
    X = [np.array(x) for x in problem.x0(rng)]
    M = [np.zeros_like(x) for x in X]
    V = [np.zeros_like(x[..., :1]) for x in X]
    for _ in range(steps):
        G = problem.grad(tuple(X))
        for i, (x, g) in enumerate(zip(X, G, strict=True)):
            M[i] = M[i] + (1 - beta) * (g - M[i])
            O = -polar(g + beta * (M[i] - g))
            V[i] = beta2 * V[i] + (1 - beta2) * np.mean(O * O, axis=-1, keepdims=True)
            N = O / (np.sqrt(V[i]) + eps)
            N = N * (np.linalg.norm(O, axis=(-2, -1)) / np.linalg.norm(N, axis=(-2, -1)))[..., None, None]
            X[i] = x + lr * 0.2 * np.sqrt(max(x.shape[-2:])) * N
    return X


def test_normuon_follows_its_recursion():
    problem = Quadratic(((6, 4), (3, 5)), sigma=0.0, seed=2)
    lr, beta, beta2, eps = 0.05, 0.9, 0.8, 1e-8
    res = run(problem, normuon(lr, beta, beta2, eps=eps), 15, [0, 1], stochastic=False, record=("loss",))
    ref = _normuon_reference(problem, 15, lr, beta, beta2, eps, [0, 1])
    for got, want in zip(res.final_params, ref, strict=True):
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10, atol=1e-12)
    # the normalisation acts: NorMuon is not Muon with the same step
    plain = run(problem, muon(lr, beta, shape_scale="match_rms_adamw"), 15, [0, 1], stochastic=False)
    assert np.max(np.abs(np.asarray(plain.final_params[0]) - ref[0])) > 1e-6


def test_normuon_is_one_register_call_within_40_lines():
    """The proof of the transforms: NorMuon's transform and alias take at most 40 lines of code."""
    module = importlib.import_module("lab.optimizers.normuon")  # the attribute is the factory

    def code_lines(obj):
        lines = inspect.getsource(obj).splitlines()
        doc = obj.__doc__ or ""
        body = [ln for ln in lines if ln.strip() and not ln.strip().startswith("#")]
        return len(body) - len(doc.strip().splitlines())

    total = code_lines(module.RowMoments) + code_lines(module.RowNormalize) + code_lines(module.normuon)
    assert total <= 40, total
    assert inspect.getsource(module).count("register(") == 1
