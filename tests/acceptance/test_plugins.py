"""Acceptance: a user's own problem through the installed ``lab`` command — README's module with
``--plugin``, a module named in ``LAB_PLUGINS``, an installed package's entry point — and the
errors a broken plug-in gives (named, exit status 2, no traceback)."""

from __future__ import annotations

import os

from tests._plugin_files import readme_commands, readme_problem_source, write_dist_info
from tests.acceptance._lab_run import read_csv

#: A plug-in that registers a factory returning a built-in problem: its runs must give the numbers
#: of the built-in one, bit for bit.
ALIAS = """\
import problems


@problems.register("iso_alias")
def iso_alias(m=6, n=4, L=1.0):
    return problems.make("isotropic_quadratic", m=m, n=n, L=L)
"""
RUN = ["--optimizer", "muon", "--opt", "lr=0.05", "--steps", "30", "--num-seeds", "3", "--no-progress"]
METRICS = ("step", "f", "gap", "grad_fro", "grad_dual", "status")


def _env(ws, **extra):
    env = ws.env(**extra)
    env.pop("LAB_PLUGINS", None)
    env.update(extra)
    return env


def test_readme_problem_runs_through_lab_run(ws):
    (ws.cwd / "mine.py").write_text(readme_problem_source())
    listing, run = readme_commands()
    shown = ws.lab(*listing, env=_env(ws))
    assert shown.returncode == 0, shown
    assert shown.stdout.splitlines()[2].split()[0] == "mine"
    out = ws.lab(*run, "--num-seeds", "2", "--no-progress", env=_env(ws))
    assert out.returncode == 0, out
    rows = read_csv(ws.cwd / (run[run.index("--out") + 1] + ".csv"))
    a = float(run[run.index("--problem-param") + 1].split("=")[1])
    steps = int(run[run.index("--steps") + 1])
    assert {r["problem"] for r in rows} == {"mine"} and {float(r["problem_a"]) for r in rows} == {a}
    assert {(r["problem_m"], r["problem_n"]) for r in rows} == {("8", "4")}
    for member in ("0", "1"):
        mine = sorted((r for r in rows if r["member"] == member), key=lambda r: int(r["step"]))
        assert int(mine[0]["step"]) == 0 and int(mine[-1]["step"]) == steps
        assert all(float(r["gap"]) == float(r["f"]) for r in mine)  # f* = 0
        assert float(mine[-1]["f"]) < 1e-2 * float(mine[0]["f"])  # Muon converges on the quadratic


def test_lab_plugins_module_gives_the_numbers_of_the_problem_it_builds(ws):
    (ws.cwd / "alias.py").write_text(ALIAS)
    env = _env(ws, LAB_PLUGINS="alias", PYTHONPATH=str(ws.cwd))
    plugin = ws.lab("run", "--problem", "iso_alias", *RUN, "--out", "alias", env=env)
    assert plugin.returncode == 0, plugin
    same = ["--problem", "isotropic_quadratic", "--problem-param", "m=6", "--problem-param", "n=4"]
    built_in = ws.lab("run", *same, *RUN, "--out", "builtin", env=_env(ws))
    assert built_in.returncode == 0, built_in
    ours, theirs = read_csv(ws.cwd / "alias.csv"), read_csv(ws.cwd / "builtin.csv")
    assert len(ours) == len(theirs) > 3
    assert [[r[k] for k in METRICS] for r in ours] == [[r[k] for k in METRICS] for r in theirs]


def test_installed_entry_point_needs_no_option(ws, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "mine_package.py").write_text(readme_problem_source())
    write_dist_info(site, "mine_package", {"muon_lab.problems": {"ep_mine": "mine_package:Mine"}})
    env = _env(ws, PYTHONPATH=str(site))
    out = ws.lab("run", "--problem", "ep_mine", *RUN, "--out", "ep", env=env)
    assert out.returncode == 0, out
    assert {r["problem"] for r in read_csv(ws.cwd / "ep.csv")} == {"mine"}  # the class's own name
    listed = ws.lab("run", "--list", env=env)
    assert "ep_mine" in listed.stdout and "mine" in listed.stdout.split()


def test_broken_plugins_are_named_errors(ws, tmp_path):
    (ws.cwd / "broken.py").write_text("import problems\nraise RuntimeError('half-written plug-in')\n")
    site = tmp_path / "site"
    write_dist_info(site, "gone_package", {"muon_lab.problems": {"gone": "gone_module:Gone"}})
    cases = [
        (("run", "--plugin", "broken.py", "--problem", "quadratic", *RUN), {}, "'broken.py' (from --plugin)"),
        (("problems",), {"LAB_PLUGINS": "broken", "PYTHONPATH": str(ws.cwd)}, "'broken' (from LAB_PLUGINS)"),
        (("run", "--problem", "gone", *RUN), {"PYTHONPATH": str(site)}, "'gone' (entry point 'gone_module:"),
        (("run", "--plugin", "absent.py", "--list"), {}, "no such file"),
    ]
    for argv, extra, named in cases:
        out = ws.lab(*argv, env=_env(ws, **extra))
        assert out.returncode == 2, out
        assert named in out.stderr and "Traceback" not in out.stderr, out
        assert not [p for p in os.listdir(ws.cwd) if p.endswith(".csv")]
