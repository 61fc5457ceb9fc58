"""Bad input: every case exits 2 within 5 s, names the parameter, and does no work.

"No work" is checked on what a user would see: the cache directory and the working directory stay
empty (no cache entry, no results file, no ``build/``).  Placeholders in a case: ``{file}`` is an
existing regular file (not a directory), ``{out}`` a path inside the working directory.
"""

from __future__ import annotations

import pytest

from .conftest import files_under, within

RUN = ("run", "--problem", "quadratic", "--optimizer", "muon", "--steps", "5", "--no-progress")
RUN_LR = (*RUN, "--opt", "lr=0.02", "--out", "{out}/r")
CHECK = ("check", "--quick", "--only", "S1-I1", "--out", "{out}/v.json")
FIG = ("figures", "--quick", "--no-progress", "--out", "{out}/figs", "fig01")

# (id, argv, extra environment, text the message must contain)
CASES = [
    # lab itself
    ("lab-no-command", (), {}, "COMMAND"),
    ("lab-unknown-command", ("nope",), {}, "nope"),
    ("lab-unknown-option", ("--bogus",), {}, "--bogus"),
    # lab check
    ("check-only-unknown", ("check", "--only", "NOPE-1", "--out", "{out}/v.json"), {}, "--only"),
    ("check-n-jobs-zero", (*CHECK, "--n-jobs", "0"), {}, "--n-jobs"),
    ("check-n-jobs-text", (*CHECK, "--n-jobs", "abc"), {}, "--n-jobs"),
    ("check-scheduler-bogus", (*CHECK, "--scheduler", "bogus"), {}, "scheduler"),
    ("check-scheduler-empty-address", (*CHECK, "--scheduler", "tcp://"), {}, "scheduler"),
    ("check-scheduler-http", (*CHECK, "--scheduler", "http://127.0.0.1:1"), {}, "scheduler"),
    ("check-mutation-unknown", (*CHECK, "--mutation", "nope"), {}, "--mutation"),
    ("check-json-and-ledger", (*CHECK, "--json", "--ledger"), {}, "--ledger"),
    ("check-unknown-option", (*CHECK, "--bogus"), {}, "--bogus"),
    ("check-env-n-jobs-text", CHECK, {"LAB_N_JOBS": "abc"}, "LAB_N_JOBS"),
    ("check-env-n-jobs-zero", CHECK, {"LAB_N_JOBS": "0"}, "LAB_N_JOBS"),
    ("check-env-n-jobs-float", CHECK, {"LAB_N_JOBS": "1.5"}, "LAB_N_JOBS"),
    ("check-env-scheduler-bogus", CHECK, {"LAB_SCHEDULER": "bogus"}, "LAB_SCHEDULER"),
    ("check-env-scheduler-http", CHECK, {"LAB_SCHEDULER": "http://127.0.0.1:1"}, "LAB_SCHEDULER"),
    ("check-env-cache-is-a-file", CHECK, {"LAB_CACHE_DIR": "{file}"}, "LAB_CACHE_DIR"),
    ("check-env-cache-under-a-file", CHECK, {"LAB_CACHE_DIR": "{file}/cache"}, "LAB_CACHE_DIR"),
    (
        "check-out-under-a-file",
        ("check", "--quick", "--only", "S1-I1", "--out", "{file}/v.json"),
        {},
        "--out",
    ),
    # lab run
    ("run-nothing", ("run", "--out", "{out}/r"), {}, "problem"),
    ("run-no-optimizer", ("run", "--problem", "quadratic", "--out", "{out}/r"), {}, "optimizer"),
    (
        "run-problem-unknown",
        ("run", "--problem", "nope", "--optimizer", "muon", "--out", "{out}/r"),
        {},
        "nope",
    ),
    (
        "run-optimizer-unknown",
        ("run", "--problem", "quadratic", "--optimizer", "nope", "--out", "{out}/r"),
        {},
        "nope",
    ),
    ("run-missing-lr", (*RUN, "--out", "{out}/r"), {}, "lr"),
    ("run-steps-zero", (*RUN_LR, "--steps", "0"), {}, "steps"),
    ("run-steps-negative", (*RUN_LR, "--steps", "-3"), {}, "steps"),
    ("run-steps-text", (*RUN_LR, "--steps", "abc"), {}, "--steps"),
    ("run-num-seeds-zero", (*RUN_LR, "--num-seeds", "0"), {}, "num_seeds"),
    ("run-num-seeds-negative", (*RUN_LR, "--num-seeds", "-2"), {}, "num_seeds"),
    ("run-num-seeds-text", (*RUN_LR, "--num-seeds", "many"), {}, "--num-seeds"),
    ("run-seeds-text", (*RUN_LR, "--seeds", "a,b"), {}, "seeds"),
    ("run-seeds-empty", (*RUN_LR, "--seeds", ","), {}, "seeds"),
    ("run-opt-no-equals", (*RUN_LR, "--opt", "beta"), {}, "--opt"),
    ("run-opt-repeated", (*RUN_LR, "--opt", "lr=0.05"), {}, "lr"),
    ("run-opt-lr-negative", (*RUN, "--opt", "lr=-1", "--out", "{out}/r"), {}, "lr"),
    ("run-opt-lr-text", (*RUN, "--opt", "lr=fast", "--out", "{out}/r"), {}, "lr"),
    ("run-opt-beta-above-one", (*RUN_LR, "--opt", "beta=2"), {}, "beta"),
    ("run-opt-unknown", (*RUN_LR, "--opt", "bogus=1"), {}, "bogus"),
    ("run-opt-oracle-unknown", (*RUN_LR, "--opt", "oracle=nope"), {}, "oracle"),
    ("run-sweep-not-a-list", (*RUN, "--sweep", "lr=0.1", "--out", "{out}/r"), {}, "lr"),
    ("run-sweep-empty", (*RUN, "--sweep", "lr=[]", "--out", "{out}/r"), {}, "lr"),
    ("run-sweep-text-values", (*RUN, "--sweep", 'lr=["a","b"]', "--out", "{out}/r"), {}, "lr"),
    ("run-sweep-bool-values", (*RUN, "--sweep", "lr=[true,false]", "--out", "{out}/r"), {}, "lr"),
    (
        "run-sweep-repeated",
        (*RUN, "--sweep", "lr=[0.1]", "--sweep", "lr=[0.2]", "--out", "{out}/r"),
        {},
        "lr",
    ),
    ("run-sweep-and-opt", (*RUN_LR, "--sweep", "lr=[0.1,0.2]"), {}, "lr"),
    ("run-sweep-no-equals", (*RUN_LR, "--sweep", "beta"), {}, "--sweep"),
    ("run-problem-param-text", (*RUN_LR, "--problem-param", "m=abc"), {}, "m"),
    ("run-problem-param-unknown", (*RUN_LR, "--problem-param", "bogus=1"), {}, "bogus"),
    ("run-problem-param-repeated", (*RUN_LR, "--problem-param", "m=4", "--problem-param", "m=5"), {}, "m"),
    ("run-noise-unknown", (*RUN_LR, "--noise", "nope"), {}, "nope"),
    ("run-noise-sigma-negative", (*RUN_LR, "--noise", "gaussian", "--noise-param", "sigma=-1"), {}, "sigma"),
    ("run-record-unknown", (*RUN_LR, "--record", "bogus"), {}, "--record"),
    ("run-checkpoints-text", (*RUN_LR, "--checkpoints", "abc"), {}, "checkpoints"),
    ("run-backend-unknown", (*RUN_LR, "--backend", "torch"), {}, "--backend"),
    ("run-dtype-unknown", (*RUN_LR, "--dtype", "float16"), {}, "--dtype"),
    ("run-diverge-threshold-text", (*RUN_LR, "--diverge-threshold", "abc"), {}, "--diverge-threshold"),
    ("run-check-every-zero", (*RUN_LR, "--check-every", "0"), {}, "check_every"),
    ("run-gtol-negative", (*RUN_LR, "--gtol", "-1"), {}, "gtol"),
    ("run-config-missing", ("run", "{out}/nope.toml"), {}, "config"),
    ("run-config-not-toml", ("run", "{file}"), {}, "config"),
    # lab bounds
    ("bounds-unknown-theorem", ("bounds", "S9.Z9"), {}, "S9.Z9"),
    ("bounds-latex-and-json", ("bounds", "--latex", "--json"), {}, "--json"),
    ("bounds-unknown-option", ("bounds", "--bogus"), {}, "--bogus"),
    # lab problems
    ("problems-unknown", ("problems", "nope"), {}, "nope"),
    ("problems-set-no-equals", ("problems", "quadratic", "--set", "m"), {}, "--set"),
    ("problems-set-text", ("problems", "quadratic", "--set", "m=abc"), {}, "m"),
    ("problems-noise-unknown", ("problems", "quadratic", "--noise", "nope"), {}, "nope"),
    # lab figures
    ("figures-unknown", ("figures", "--out", "{out}/figs", "nope"), {}, "nope"),
    ("figures-n-jobs-zero", (*FIG, "--n-jobs", "0"), {}, "--n-jobs"),
    ("figures-scheduler-bogus", (*FIG, "--scheduler", "bogus"), {}, "scheduler"),
    ("figures-env-n-jobs-text", FIG, {"LAB_N_JOBS": "abc"}, "LAB_N_JOBS"),
    ("figures-env-scheduler-bogus", FIG, {"LAB_SCHEDULER": "bogus"}, "LAB_SCHEDULER"),
    (
        "figures-out-under-a-file",
        ("figures", "--quick", "--no-progress", "--out", "{file}/f", "fig01"),
        {},
        "--out",
    ),
    ("figures-env-cache-is-a-file", FIG, {"LAB_CACHE_DIR": "{file}"}, "LAB_CACHE_DIR"),
    # lab appendix
    (
        "appendix-verdicts-missing",
        ("appendix", "--no-pdf", "--out", "{out}/app", "--verdicts", "{out}/nope.json"),
        {},
        "--verdicts",
    ),
    (
        "appendix-verdicts-not-json",
        ("appendix", "--no-pdf", "--out", "{out}/app", "--verdicts", "{file}"),
        {},
        "--verdicts",
    ),
    ("appendix-pdf-and-no-pdf", ("appendix", "--pdf", "--no-pdf"), {}, "--no-pdf"),
    ("appendix-out-under-a-file", ("appendix", "--no-pdf", "--out", "{file}/app"), {}, "--out"),
    # lab bench
    ("bench-backend-unknown", ("bench", "--backend", "torch"), {}, "--backend"),
    ("bench-dtype-unknown", ("bench", "--dtypes", "float16"), {}, "--dtypes"),
    ("bench-sizes-text", ("bench", "--sizes", "big"), {}, "--sizes"),
    ("bench-section-unknown", ("bench", "--out", "{out}/b", "--sections", "nope"), {}, "nope"),
    ("bench-repeats-zero", ("bench", "--out", "{out}/b", "--repeats", "0"), {}, "repeats"),
]


def test_the_table_is_large_enough():
    assert len(CASES) >= 60
    assert len({c[0] for c in CASES}) == len(CASES)
    assert {argv[0] for _, argv, _, _ in CASES if argv} >= {
        "check",
        "run",
        "bounds",
        "problems",
        "figures",
        "appendix",
        "bench",
    }


@pytest.mark.parametrize(("argv", "env", "names"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_a_named_error_before_any_work(ws, argv, env, names):
    file = ws.cwd.parent / "a-file"
    file.write_text("not a directory, not TOML, not JSON: [\n")
    out = ws.cwd / "out"

    def fill(text: str) -> str:
        return text.replace("{file}", str(file)).replace("{out}", str(out))

    res = ws.lab(*map(fill, argv), env=ws.env(**{k: fill(v) for k, v in env.items()}), timeout=60)
    assert res.returncode == 2, res
    assert names in res.stderr, res
    assert "Traceback" not in res.output, res
    assert within(res, 5), res
    assert files_under(ws.cache) == [], res
    assert files_under(ws.cwd) == [], res
