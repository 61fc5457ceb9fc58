"""problems.register, plug-in modules (--plugin, LAB_PLUGINS) and entry points, in this process.

The same paths through the installed ``lab`` command: tests/acceptance/test_plugins.py.
"""

from __future__ import annotations

import inspect
import re
import sys

import pytest

import problems
from lab import plugins
from problems.base import ProblemBase
from tests._plugin_files import readme_problem_source, write_dist_info
from tests.test_problems_certify import (
    test_default_instance_constants_hold_at_sampled_points as certify_constants,
)


@pytest.fixture(autouse=True)
def clean_registry(monkeypatch):
    """Every test starts from the built-in registry and fresh plug-in caches, and leaves them so."""
    saved = dict(problems.REGISTRY)
    monkeypatch.setattr(plugins, "_entry_points", {})
    monkeypatch.setattr(plugins, "_imported", set())
    monkeypatch.delenv(plugins.ENV_VAR, raising=False)
    modules = set(sys.modules)
    yield
    problems.REGISTRY.clear()
    problems.REGISTRY.update(saved)
    for name in set(sys.modules) - modules:
        if name.startswith("plugin_"):
            del sys.modules[name]


def _module(tmp_path, name: str, source: str):
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    return path


def test_readme_problem_registers_and_is_built_by_name(tmp_path):
    path = _module(tmp_path, "plugin_mine", readme_problem_source())
    problems.load_plugins([str(path)])
    assert "mine" in problems.REGISTRY
    placement = {"backend": None, "xp": None, "dtype": None}
    assert problems.parameters("mine") == {"m": 8, "n": 4, "a": 2.0, **placement}
    p = problems.make("mine", a=3)
    assert isinstance(p, problems.Problem) and p.describe()["params"] == {"m": 8, "n": 4, "a": 3}
    q = problems.from_config({"name": "mine", "m": 5, "noise": {"name": "gaussian", "sigma": 0.1}})
    assert q.block_shapes == ((5, 4),) and q.constants.sigma2 == pytest.approx(0.01)
    with pytest.raises(ValueError, match="bogus"):
        problems.make("mine", bogus=1)
    certify_constants("mine")  # the conformance check of every registered problem holds for it


def test_factory_and_decorator_forms():
    def iso(m=4, n=3, L=2.0):
        return problems.make("isotropic_quadratic", m=m, n=n, L=L)

    assert problems.register("iso_alias", iso) is iso
    assert problems.parameters("iso_alias") == {"m": 4, "n": 3, "L": 2.0}
    built, direct = problems.make("iso_alias", m=5), problems.make("isotropic_quadratic", m=5, n=3, L=2.0)
    assert built.describe() == direct.describe()

    @problems.register("anything")
    def anything(**params):  # **kwargs: no parameter is unknown
        return iso(**params)

    assert problems.make("anything", m=2).block_shapes == ((2, 3),)

    @problems.register("unnamed")
    class Unnamed(ProblemBase):  # no `name` of its own: it takes the registered one
        pass

    assert Unnamed.name == "unnamed" and problems.REGISTRY["unnamed"] is Unnamed


def test_name_clashes_and_bad_registrations():
    class Other(ProblemBase):
        name = "quadratic"

    with pytest.raises(ValueError, match="'quadratic' is already registered"):
        problems.register(Other)
    assert problems.register(Other, replace=True) is Other and problems.REGISTRY["quadratic"] is Other
    with pytest.raises(ValueError, match="letters"):
        problems.register("has space", Other)
    with pytest.raises(TypeError, match="callable"):
        problems.register("three", 3)
    with pytest.raises(TypeError, match="register"):
        problems.register(object())
    problems.register("not_a_problem", lambda: 42)
    with pytest.raises(TypeError, match="does not implement problems.Problem"):
        problems.make("not_a_problem")


def test_a_redefinition_replaces_the_old_one(tmp_path):
    """A module run again (a notebook cell, a reload) defines a new class of the same qualified name."""
    source = "import problems\n\n@problems.register('again')\ndef again(m=2):\n    return m\n"
    namespace_1, namespace_2 = {"__name__": "plugin_again"}, {"__name__": "plugin_again"}
    exec(compile(source, "plugin_again.py", "exec"), namespace_1)
    exec(compile(source, "plugin_again.py", "exec"), namespace_2)
    assert problems.REGISTRY["again"] is namespace_2["again"]


def test_lab_plugins_is_imported_before_a_name_is_looked_up(tmp_path, monkeypatch):
    _module(tmp_path, "plugin_env", readme_problem_source().replace('"mine"', '"env_mine"'))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(plugins.ENV_VAR, " plugin_env , ")
    assert plugins.env_plugins() == ["plugin_env"]
    assert "env_mine" not in problems.REGISTRY
    assert problems.make("env_mine").name == "env_mine"  # the miss imported LAB_PLUGINS


def test_a_broken_module_is_named(tmp_path, monkeypatch):
    _module(tmp_path, "plugin_broken", "raise RuntimeError('half-written plug-in')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(plugins.PluginError, match="'plugin_broken' \\(from --plugin\\).*half-written"):
        problems.load_plugins(["plugin_broken"])
    monkeypatch.setenv(plugins.ENV_VAR, "plugin_missing")
    with pytest.raises(plugins.PluginError, match="'plugin_missing' \\(from LAB_PLUGINS\\).*No module"):
        problems.make("quadratic_or_not")
    with pytest.raises(plugins.PluginError, match="no such file"):
        plugins.import_plugins([str(tmp_path / "absent.py")])


def test_entry_points_register_once(tmp_path, monkeypatch):
    _module(tmp_path, "plugin_ep", readme_problem_source().replace('"mine"', '"ep_class"'))
    write_dist_info(
        tmp_path,
        "plugin_ep_dist",
        {
            plugins.PROBLEM_GROUP: {"ep_mine": "plugin_ep:Mine", "ep_module": "plugin_ep"},
            plugins.OPTIMIZER_GROUP: {"ep_opt": "plugin_ep:Mine"},
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    calls = []
    real = plugins.metadata.entry_points
    monkeypatch.setattr(plugins.metadata, "entry_points", lambda **kw: calls.append(kw) or real(**kw))
    p = problems.make("ep_mine", a=4)  # a miss loads the group
    assert p.params["a"] == 4 and problems.REGISTRY["ep_mine"] is problems.REGISTRY["ep_class"]
    problems.load_plugins()
    problems.load_plugins()
    assert calls == [{"group": plugins.PROBLEM_GROUP}]  # read once per process
    loaded = plugins.load_entry_points(plugins.OPTIMIZER_GROUP)
    assert inspect.isclass(loaded["ep_opt"]) and list(loaded) == ["ep_opt"]


def test_a_broken_entry_point_is_named(tmp_path, monkeypatch):
    write_dist_info(tmp_path, "plugin_bad_dist", {plugins.PROBLEM_GROUP: {"bad": "plugin_nowhere:Thing"}})
    monkeypatch.syspath_prepend(str(tmp_path))
    for _ in range(2):  # not cached as loaded: asked again, it fails again
        with pytest.raises(plugins.PluginError, match="'bad'.*plugin_nowhere:Thing.*plugin_bad_dist"):
            problems.load_plugins()
    assert set(problems.REGISTRY) == set(problems.registry.REGISTRY)


def test_an_entry_point_may_not_take_a_built_in_name(tmp_path, monkeypatch):
    _module(tmp_path, "plugin_clash", "def quadratic(m=2):\n    return m\n")
    entry_points = {plugins.PROBLEM_GROUP: {"quadratic": "plugin_clash:quadratic"}}
    write_dist_info(tmp_path, "plugin_clash_dist", entry_points)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(plugins.PluginError, match="'quadratic'.*already registered"):
        problems.load_plugins()


def test_parameters_are_written_once():
    """params (hence describe() and the run tables) lists exactly the signature, in its order."""
    for name, factory in problems.REGISTRY.items():
        p = problems.make(name)
        signature = [k for k in problems.parameters(name) if k not in ("backend", "xp", "dtype")]
        assert list(p.params) == signature, name
        assert list(p.describe()["params"]) == signature, name
        doc = inspect.getdoc(factory)
        missing = [k for k in signature if not re.search(rf"(?<![\w]){re.escape(k)}(?![\w])", doc)]
        assert not missing, f"{name}: the docstring does not explain {missing}"
