"""Registry, configuration, describe() and the `lab problems` command."""

from __future__ import annotations

import json

import numpy as np
import pytest

import problems
from lab.cli import main

problems.load_plugins()  # installed and LAB_PLUGINS problems are registered problems too
NAMES = sorted(problems.REGISTRY)


@pytest.mark.parametrize("name", NAMES)
def test_registered_problem_follows_the_protocol(name):
    p = problems.make(name)
    assert isinstance(p, problems.Problem)
    assert isinstance(p.with_noise("gaussian", sigma=0.1), problems.Problem)
    d = p.describe()
    assert json.loads(json.dumps(d)) == d
    assert d["name"] == p.name and d["noise"] == {"name": "none"} and d["dtype"] == "float64"
    if isinstance(problems.REGISTRY[name], type):  # a factory may build a problem of another name
        assert p.name == name
    assert len(d["constants"]["blocks"]) == len(p.block_shapes)


def test_from_config_flat_nested_and_toml(tmp_path):
    flat = problems.from_config(
        {
            "name": "kronecker_quadratic",
            "m": 4,
            "n": 3,
            "mu": 0.1,
            "noise": {"name": "gaussian", "sigma": 0.2},
        }
    )
    assert flat.block_shapes == ((4, 3),) and flat.constants.mu == pytest.approx(0.1)
    assert flat.constants.sigma2 == pytest.approx(0.04)
    nested = problems.from_config(
        {
            "problem": {"name": "kronecker_quadratic", "m": 4, "n": 3, "mu": 0.1},
            "noise": {"name": "gaussian", "sigma": 0.2},
        }
    )
    assert np.array_equal(nested.P_host, flat.P_host)
    text = (
        '[problem]\nname = "kronecker_quadratic"\nm = 4\nn = 3\nmu = 0.1\n\n'
        '[noise]\nname = "gaussian"\nsigma = 0.2\n'
    )
    path = tmp_path / "p.toml"
    path.write_text(text)
    for src in (text, path, str(path)):
        q = problems.from_toml(src)
        assert np.array_equal(q.P_host, flat.P_host) and q.constants.sigma2 == pytest.approx(0.04)
    # describe() round-trips through from_config
    d = flat.describe()
    again = problems.from_config(
        {"name": d["name"], **{k: v for k, v in d["params"].items() if v is not None}, "noise": d["noise"]}
    )
    assert np.array_equal(again.P_host, flat.P_host) and again.constants.sigma2 == flat.constants.sigma2


def test_bad_names_and_parameters():
    with pytest.raises(ValueError, match="name"):
        problems.make("rosenbrock")
    with pytest.raises(ValueError, match="bogus"):
        problems.make("quadratic", bogus=3)
    with pytest.raises(ValueError, match="name"):
        problems.from_config({"m": 3})
    with pytest.raises(TypeError, match="dict"):
        problems.from_config([("name", "quadratic")])


def test_backend_argument():
    import array_api_strict

    p = problems.make("quadratic", m=4, n=3, backend="array_api_strict")
    assert p.xp is array_api_strict and p.describe()["backend"] == "array_api_strict"
    with pytest.raises(ValueError, match="backend"):
        problems.make("quadratic", backend="jax")
    with pytest.raises(ValueError, match="dtype"):
        problems.make("quadratic", dtype="float16")


def test_cli_table_and_json(capsys):
    assert main(["problems"]) == 0
    out = capsys.readouterr().out
    for name in NAMES:
        assert name in out
    assert main(["problems", "quadratic", "--set", "m=5", "--noise", "gaussian:sigma=0.5", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data[0]["block_shapes"] == [[5, 6]] and data[0]["constants"]["sigma2"] == pytest.approx(0.25)
    assert main(["problems", "--json"]) == 0
    assert {d["name"] for d in json.loads(capsys.readouterr().out)} == {problems.make(n).name for n in NAMES}
    assert main(["problems", "rosenbrock"]) == 2
    assert "rosenbrock" in capsys.readouterr().err
    assert main(["problems", "quartic", "--set", "c=-1"]) == 2
    assert "c must be" in capsys.readouterr().err


@pytest.mark.gpu
@pytest.mark.parametrize(
    "name, noise",
    [
        ("kronecker_quadratic", {"name": "gaussian", "sigma": 0.3}),
        ("quadratic", {"name": "minibatch", "batch_size": 2}),
        ("deep_linear", {"name": "student_t", "sigma": 0.3, "nu": 5}),
        ("softmax_regression", None),
    ],
)
def test_cupy_backend_matches_numpy(name, noise):
    """The same instance on CuPy gives the numbers NumPy gives (data built on the host, moved once)."""
    from lab.backend import to_numpy

    ref, gpu = problems.make(name, noise=noise), problems.make(name, noise=noise, backend="cupy")
    X_ref, X_gpu = ref.x0(ref.make_rng(range(4))), gpu.x0(gpu.make_rng(range(4)))
    for a, b in zip(X_ref, X_gpu, strict=True):
        assert np.allclose(a, to_numpy(b), rtol=1e-12, atol=1e-14)
    assert np.allclose(ref.f(X_ref), to_numpy(gpu.f(X_gpu)), rtol=1e-10)
    s_ref, s_gpu = ref.sample(ref.make_rng(range(4)).at(3)), gpu.sample(gpu.make_rng(range(4)).at(3))
    for a, b in zip(ref.stochastic_grad(X_ref, s_ref), gpu.stochastic_grad(X_gpu, s_gpu), strict=True):
        assert np.allclose(a, to_numpy(b), rtol=1e-9, atol=1e-12)
