r"""Real-data experiments through the PyTorch adapter (:mod:`lab.torch`; optional extra ``[torch]``).

Data that ships with installed packages (scikit-learn's digits, the standard library's source text),
nothing downloaded.  Each training run is one cache entry (:class:`lab.cache.Cache`, keyed by the run's
configuration and the source of the modules it runs), so an interrupted grid resumes where it stopped;
the runs of a grid that are missing go to two worker processes (joblib), one torch thread each.

* ``real_s1_coupling`` — S1's empirical coupling: the final loss over a (lr, β) grid, ≥ 5 seeds, for
  Newton–Schulz with k ∈ {1, 2, 3, 5, 8} steps of each preset and for the exact polar factor (MLP on
  digits);
* ``real_delta`` — δ along real training: the oracle's inputs recorded along a run (Jordan NS5,
  torch's default) and, for every preset and k, the measured δ_op = ‖NS_k(M) − polar(M)‖_op against
  the uniform bound ``ns_delta`` at the measured normalised spectrum [x_min, 1];
* ``real_s2`` — S2 per iteration: the evaluation loss against step of Muon, MVR1 and MVR2, each at its
  best learning rate on a grid, over seeds.

``quick=True`` is a CI-sized version of each (seconds).  All need torch and scikit-learn; they are
imported inside the functions, so the lab imports without them.

Checks
------
Checks on real data through the PyTorch adapter (:mod:`lab.claims.real_data`).

* ``S1-real-coupling`` (empirical): S1's NanoGPT observation that lower orthogonalisation precision
  (fewer Newton–Schulz steps k) needs a smaller learning rate and a larger momentum β, per preset, from
  the optimal lr and β (bootstrap intervals over seeds) at the smallest and the largest k;
* ``S1-real-delta-bound``: every δ_op measured on a real oracle input is at most the uniform bound
  ``ns_delta(x_min, k)`` at that input's normalised spectrum [x_min, 1] (a theorem: it must hold);
* ``S1-real-delta-assumption`` (empirical): S1's error model ‖E‖_op ≤ δ < 1 holds along real training,
  per preset at k = 5 (the fraction of recorded steps and layers with δ < 1);
* ``S2-real-mvr`` (empirical): S2's experiments show MVR1 and MVR2 below Muon; per task and method,
  the paired (by seed) difference of the final loss at each method's best lr, with a bootstrap interval."""

from __future__ import annotations

import os

import numpy as np
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits

from lab.cache import Cache
from lab.claims._common import interval_direction
from lab.claims.registry import Experiment, check, check_options, experiment, get_experiment
from lab.orthogonalization import newton_schulz, ns_delta, polar
from lab.stats import Verdict, argmin_with_uncertainty
from lab.sweeps import PROJECT_PACKAGES, _resolve_cache, code_version

PRESETS = ("cubic", "quintic", "jordan", "polar_express")
K_STEPS = (1, 2, 3, 5, 8)


def _torch_modules():
    """The code a training run can reach: the whole project (as every sweep's key; no hand-written list)."""
    return PROJECT_PACKAGES


def _one_run(config: dict) -> dict:
    """One training run in a worker: eval curve only (arrays)."""
    import torch  # lazy: optional heavy dependency (the [torch] extra)

    from lab.torch.real import train  # lazy: imports torch

    torch.set_num_threads(1)
    out = train(**config)
    return {"eval_steps": out["eval_steps"], "eval_loss": out["eval_loss"]}


def run_grid(name: str, configs: list[dict], *, cache=True, n_jobs: int | None = None) -> list[dict]:
    """Every config's run, from the cache when present; missing runs computed (in parallel) and stored."""
    store = _resolve_cache(cache)  # True, False/None, a directory or a Cache, as run_sweep takes
    salt = code_version(*_torch_modules())
    keys = [Cache.key(name, c, salt) for c in configs]
    results: list = [None] * len(configs)
    if store is not None:
        for i, k in enumerate(keys):
            entry = store.load(name, k)
            if entry is not None:
                results[i] = dict(entry.arrays)
    todo = [i for i, r in enumerate(results) if r is None]
    if todo:
        jobs = n_jobs or int(os.environ.get("LAB_REAL_JOBS", "2"))
        # each worker returns as soon as it finishes, so a store after every run keeps the grid resumable
        batch = max(jobs * 4, 1)
        for s in range(0, len(todo), batch):
            chunk = todo[s : s + batch]
            outs = (
                Parallel(n_jobs=jobs)(delayed(_one_run)(configs[i]) for i in chunk)
                if jobs > 1
                else [_one_run(configs[i]) for i in chunk]
            )
            for i, out in zip(chunk, outs, strict=True):
                results[i] = out
                if store is not None:
                    store.store(name, keys[i], out, config=configs[i], salt=salt)
    return results


def _coupling_config(quick: bool) -> dict:
    if quick:
        return {
            "task": "digits",
            "presets": ("cubic",),
            "k": (1, 8),
            "lr": (0.02, 0.08, 0.32, 1.28),
            "beta": (0.5, 0.8, 0.95),
            "seeds": (0, 1, 2),
            "steps": 20,
        }
    return {
        "task": "digits",
        "presets": PRESETS,
        "k": K_STEPS,
        "lr": (0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28),
        "beta": (0.5, 0.8, 0.95),
        "seeds": (0, 1, 2, 3, 4),
        "steps": 30,
    }


@experiment("S1.real.coupling")
def real_s1_coupling(*, quick: bool = True, cache=True, mutation=None, **options) -> Experiment:
    """Final evaluation loss over (oracle, lr, β, seed) on real data (S1's coupling claim).

    measured: ``loss`` (n_oracles, n_lr, n_beta, n_seed), the last evaluation loss (NaN if diverged);
    oracles are every (preset, k) and then ``exact``.  theoretical: S1's predicted directions as k
    decreases (lower precision): the optimal lr decreases (``lr_trend`` = +1 in k) and the optimal β
    increases (``beta_trend`` = −1 in k).
    """
    check_options(quick, mutation, options=options, name="real_s1_coupling")
    cfg = _coupling_config(quick)
    oracles = [(p, k) for p in cfg["presets"] for k in cfg["k"]] + [("exact", 0)]
    specs = [f"ns:{p}:{k}" if p != "exact" else "exact" for p, k in oracles]
    configs = [
        {
            "task": cfg["task"],
            "method": "muon",
            "oracle": s,
            "lr": lr,
            "beta": b,
            "seed": sd,
            "steps": cfg["steps"],
        }
        for s in specs
        for lr in cfg["lr"]
        for b in cfg["beta"]
        for sd in cfg["seeds"]
    ]
    runs = run_grid("real_s1_coupling", configs, cache=cache)
    loss = np.array([r["eval_loss"][-1] for r in runs]).reshape(
        len(specs), len(cfg["lr"]), len(cfg["beta"]), len(cfg["seeds"])
    )
    return Experiment(
        "real_s1_coupling",
        measured={"loss": loss},
        theoretical={"lr_trend": 1, "beta_trend": -1},
        meta={**cfg, "oracles": specs, "preset_of": [p for p, _ in oracles], "k_of": [k for _, k in oracles]},
    )


def _delta_config(quick: bool) -> dict:
    if quick:
        return {"tasks": ("digits",), "steps": {"digits": 20}, "every": 5, "lr": 0.04, "seed": 0}
    return {
        "tasks": ("digits", "text"),
        "steps": {"digits": 60, "text": 150},
        "every": 10,
        "lr": 0.02,
        "seed": 0,
    }


def _delta_rows(M: np.ndarray, presets, ks, eps: float = 1e-7):
    """δ_op of every (preset, k) on one input, and the uniform bound at its normalised x_min."""
    s = np.linalg.svd(M, compute_uv=False)
    x_min = s[-1] / (np.linalg.norm(M) + eps)  # the oracle's own normalisation (G/(‖G‖_F + eps))
    P = polar(M)
    measured = np.empty((len(presets), len(ks)))
    bound = np.empty_like(measured)
    for i, p in enumerate(presets):
        for j, k in enumerate(ks):
            measured[i, j] = np.linalg.norm(newton_schulz(M, k, p, eps=eps) - P, ord=2)
            bound[i, j] = ns_delta(float(min(max(x_min, 0.0), 1.0)), k, p)
    return measured, bound, x_min, s[0] / (np.linalg.norm(M) + eps)


@experiment("S1.real.delta_bound")
def real_delta(*, quick: bool = True, cache=True, mutation=None, **options) -> Experiment:
    """δ_op of every preset and k on the oracle inputs of real training runs (Jordan NS5, torch's).

    measured: ``delta`` (n_records, n_preset, n_k), ``x_min``/``x_max`` (n_records,) the normalised
    spectrum's ends, ``step``, ``layer``, ``task`` (index into meta["tasks"]).  theoretical: ``bound``
    (n_records, n_preset, n_k) = ns_delta(x_min, k, preset), which every measurement must respect.
    """
    check_options(quick, mutation, options=options, name="real_delta")
    cfg = _delta_config(quick)
    store = _resolve_cache(cache)  # True, False/None, a directory or a Cache, as run_sweep takes
    salt = code_version(*_torch_modules(), _delta_rows, _delta_run)
    cols: dict[str, list] = {k: [] for k in ("delta", "bound", "x_min", "x_max", "step", "layer", "task")}
    for ti, task in enumerate(cfg["tasks"]):
        key_cfg = {
            "task": task,
            **{k: v for k, v in cfg.items() if k != "tasks"},
            "presets": PRESETS,
            "k": K_STEPS,
        }
        key = Cache.key("real_delta", key_cfg, salt)
        entry = store.load("real_delta", key) if store is not None else None
        if entry is None:
            import torch  # lazy: optional heavy dependency (the [torch] extra)

            from lab.torch.real import train  # lazy: imports torch

            torch.set_num_threads(1)
            with threadpool_limits(1):  # small SVDs: BLAS threads only contend on a shared machine
                run, rows = _delta_run(train, task, cfg)
            arrays = {k: np.asarray(v) for k, v in rows.items()}
            if store is not None:
                store.store("real_delta", key, arrays, config=key_cfg, salt=salt)
        else:
            arrays = dict(entry.arrays)
        for k, v in arrays.items():
            cols[k].append(v)
        cols["task"].append(np.full(len(arrays["step"]), ti))
    out = {k: np.concatenate(v) for k, v in cols.items()}
    bound = out.pop("bound")
    return Experiment(
        "real_delta",
        measured=out,
        theoretical={"bound": bound},
        meta={**cfg, "presets": PRESETS, "k": K_STEPS},
    )


def _delta_run(train, task, cfg):
    """One recorded run and the δ rows of every recorded input."""
    run = train(
        task,
        method="muon",
        oracle="ns:jordan:5",
        lr=cfg["lr"],
        beta=0.95,
        seed=cfg["seed"],
        steps=cfg["steps"][task],
        record_inputs_every=cfg["every"],
    )
    rows = {k: [] for k in ("delta", "bound", "x_min", "x_max", "step", "layer")}
    for (step, layer), M in sorted(run["inputs"].items()):
        d, b, lo, hi = _delta_rows(M, PRESETS, K_STEPS)
        for name, v in zip(rows, (d, b, lo, hi, step, layer), strict=True):
            rows[name].append(v)
    return run, rows


def _s2_config(quick: bool) -> dict:
    if quick:
        return {
            "grids": {"digits": {"lr": (0.02, 0.08, 0.32), "steps": 20}},
            "seeds": (0, 1, 2, 3),
            "beta": 0.9,
            "gamma": 0.025,
            "every": 5,
        }
    return {
        "grids": {
            "digits": {"lr": (0.02, 0.04, 0.08, 0.16, 0.32, 0.64), "steps": 60},
            "text": {"lr": (0.02,), "steps": 100},
        },
        "seeds": (0, 1, 2, 3, 4),
        "beta": 0.9,
        "gamma": 0.025,
        "every": 10,
    }


S2_METHODS = ("muon", "mvr1", "mvr2")


@experiment("S2.real.mvr")
def real_s2(*, quick: bool = True, cache=True, mutation=None, **options) -> Experiment:
    """Evaluation loss against step for Muon, MVR1 and MVR2 (exact polar), each at its best lr.

    measured: for each task, ``<task>:curves`` (n_method, n_seed, n_eval) at the best lr of each method
    (smallest mean final loss; diverged runs count as +inf), ``<task>:steps``, ``<task>:best_lr``,
    ``<task>:final`` (n_method, n_lr, n_seed).  theoretical: S2's empirical ordering, MVR2 and MVR1
    below Muon (``order`` = +1: loss(Muon) − loss(MVR) > 0).
    """
    check_options(quick, mutation, options=options, name="real_s2")
    cfg = _s2_config(quick)
    measured = {}
    for task, grid in cfg["grids"].items():
        configs = [
            {
                "task": task,
                "method": m,
                "oracle": "exact",
                "lr": lr,
                "beta": cfg["beta"],
                "gamma": cfg["gamma"],
                "seed": sd,
                "steps": grid["steps"],
                "eval_every": cfg["every"],
            }
            for m in S2_METHODS
            for lr in grid["lr"]
            for sd in cfg["seeds"]
        ]
        runs = run_grid("real_s2", configs, cache=cache)
        n_m, n_lr, n_s = len(S2_METHODS), len(grid["lr"]), len(cfg["seeds"])
        curves = np.array([r["eval_loss"] for r in runs]).reshape(n_m, n_lr, n_s, -1)
        final = curves[..., -1]
        score = np.where(np.isfinite(final), final, np.inf).mean(axis=-1)
        best = np.argmin(score, axis=1)
        measured[f"{task}:curves"] = np.stack([curves[m, best[m]] for m in range(n_m)])
        measured[f"{task}:steps"] = np.asarray(runs[0]["eval_steps"])
        measured[f"{task}:best_lr"] = np.asarray([grid["lr"][b] for b in best])
        measured[f"{task}:final"] = final
    return Experiment(
        "real_s2",
        measured=measured,
        theoretical={"order": 1},
        meta={**cfg, "methods": S2_METHODS, "tasks": tuple(cfg["grids"])},
    )


SOURCE_S1 = "S1 empirical (NanoGPT), here on real data: MLP on scikit-learn digits"
N_BOOT = 2000


def coupling_optima(exp) -> list[dict]:
    """Per oracle: the optimal lr (at the best β) and β (at the best lr), each with its interval."""
    lr, beta = np.asarray(exp.meta["lr"]), np.asarray(exp.meta["beta"])
    alpha = 1.0 - beta[::-1]  # increasing grid of α = 1 − β
    out = []
    for o, spec in enumerate(exp.meta["oracles"]):
        Y = np.where(np.isfinite(exp.measured["loss"][o]), exp.measured["loss"][o], np.inf)  # (lr, β, seed)
        i, j = np.unravel_index(np.argmin(Y.mean(axis=-1)), Y.shape[:2])
        a_lr = argmin_with_uncertainty(lr, Y[:, j, :].T, rng=0, n_boot=N_BOOT)
        a_al = argmin_with_uncertainty(alpha, Y[i, ::-1, :].T, rng=0, n_boot=N_BOOT)
        out.append({"oracle": spec, "lr": a_lr, "alpha": a_al})
    return out


@check(
    "S1.real.coupling",
    claim="real data: fewer Newton-Schulz steps (lower precision) need a smaller optimal lr and a larger "
    "optimal beta (S1's NanoGPT observation), per preset",
    source="S1",
    experiment="S1.real.coupling",
    quick=False,
    mutations=("wrong_exponent",),
    empirical=True,
)
def s1_real_coupling(*, quick: bool, mutation: str | None = None):
    """Per preset, lr* and α* = 1 − β* at the smallest and largest k: 'holds' when the intervals are
    disjoint in S1's direction (lr* and α* both grow with k), 'violated' when disjoint the other way."""
    exp = get_experiment("S1.real.coupling")(quick=quick)
    opt = coupling_optima(exp)
    k_of, preset_of = exp.meta["k_of"], exp.meta["preset_of"]
    ks = exp.meta["k"]
    predicted = "down" if mutation == "wrong_exponent" else "up"
    verdicts = []
    exact = opt[-1]
    for preset in exp.meta["presets"]:
        idx = {k_of[o]: o for o in range(len(opt)) if preset_of[o] == preset}
        first, last = opt[idx[ks[0]]], opt[idx[ks[-1]]]
        for name, label in (("lr", "lr"), ("alpha", "beta")):
            direction = interval_direction(first[name].lo, first[name].hi, last[name].lo, last[name].hi)
            trend = "increasing" if (predicted == "up") == (label == "lr") else "decreasing"
            verdict = (
                "inconclusive" if direction is None else ("holds" if direction == predicted else "violated")
            )

            def show(a, name=name):
                if name == "lr":
                    return f"{a.x_refined:.3g} [{a.lo:.3g}, {a.hi:.3g}]"
                return f"{1 - a.x_refined:.3g} [{1 - a.hi:.3g}, {1 - a.lo:.3g}]"

            row = ", ".join(f"k={k}: {show(opt[idx[k]][name])}" for k in ks)
            verdicts.append(
                Verdict(
                    claim=f"S1-real-coupling[{preset}:{label}]",
                    source=SOURCE_S1,
                    problem=f"digits MLP 64-64-64-10, {exp.meta['steps']} steps, "
                    f"{len(exp.meta['seeds'])} seeds, ns:{preset}:k",
                    bound=(
                        f"optimal {label} {trend} in k{' (planted)' if mutation else ''}"
                    ),
                    measured=f"optimal {label}: {row}; exact polar {show(exact[name])}",
                    verdict=verdict,
                    details={
                        "preset": preset,
                        "k": list(ks),
                        f"{label}_hat": [
                            opt[idx[k]][name].x_refined if name == "lr" else 1 - opt[idx[k]][name].x_refined
                            for k in ks
                        ],
                        "at_boundary": [bool(opt[idx[k]][name].at_boundary) for k in ks],
                        "exact": exact[name].x_refined if name == "lr" else 1 - exact[name].x_refined,
                        "mutation": mutation,
                    },
                )
            )
    return verdicts


@check(
    "S1.real.delta_bound",
    claim="real training: each measured delta_op of Newton-Schulz is at most the uniform bound "
    "ns_delta(x_min, k) at the input's normalised smallest singular value",
    source="S1",
    experiment="S1.real.delta_bound",
    quick=False,
    mutations=("understate_constant",),
)
def s1_real_delta_bound(*, quick: bool, mutation: str | None = None):
    """One verdict per preset over every recorded (task, step, layer) and k."""
    exp = get_experiment("S1.real.delta_bound")(quick=quick)
    d = exp.measured["delta"]
    b = exp.theoretical["bound"] * (0.8 if mutation == "understate_constant" else 1.0)
    verdicts = []
    for i, preset in enumerate(exp.meta["presets"]):
        slack = d[:, i, :] - b[:, i, :]
        worst = float(np.max(slack))
        verdicts.append(
            Verdict(
                claim=f"S1-real-delta-bound[{preset}]",
                source="lab derivation (S1 error model): delta_op <= max_{x in [x_min,1]} |1 - p^(k)(x)|",
                problem=f"oracle inputs of {', '.join(exp.meta['tasks'])} training (Jordan NS5), "
                f"{d.shape[0]} (step, layer) records, k in {list(exp.meta['k'])}",
                bound="ns_delta(x_min, k)" + (" x 0.8 (planted)" if mutation else ""),
                measured=f"max(delta_op - bound) = {worst:.3g}; delta_op range "
                f"[{d[:, i, :].min():.4g}, {d[:, i, :].max():.4g}]",
                verdict="holds" if worst <= 1e-9 else "violated",
                details={"preset": preset, "max_excess": worst, "mutation": mutation},
            )
        )
    return verdicts


@check(
    "S1.real.delta_assumption",
    claim="real training: S1's error model delta_op < 1 holds at every recorded step and layer (k = 5), "
    "per preset",
    source="S1",
    experiment="S1.real.delta_bound",
    quick=False,
    mutations=("wrong_exponent",),
    empirical=True,
)
def s1_real_delta_assumption(*, quick: bool, mutation: str | None = None):
    """'holds' when every recorded δ_op < 1 at k = 5, 'violated' otherwise (reversed when planted)."""
    exp = get_experiment("S1.real.delta_bound")(quick=quick)
    d = exp.measured["delta"]
    ks = list(exp.meta["k"])
    j = ks.index(5)
    x_min = exp.measured["x_min"]
    verdicts = []
    for i, preset in enumerate(exp.meta["presets"]):
        below = d[:, i, :] < 1
        frac = float(np.mean(below[:, j]))
        amplification = float(np.median(1 / np.maximum(1 - d[:, i, j], 1e-300)))  # S1's 1/(1 - δ)
        ok = frac == 1.0
        if mutation == "wrong_exponent":
            ok = not ok
        verdicts.append(
            Verdict(
                claim=f"S1-real-delta-assumption[{preset}]",
                source="S1 assumption: ||E||_op <= delta < 1",
                problem=f"oracle inputs of {', '.join(exp.meta['tasks'])} training (Jordan NS5), "
                f"{d.shape[0]} records",
                bound="delta_op < 1 everywhere" + (" (planted: somewhere >= 1)" if mutation else ""),
                measured=f"fraction delta<1 at k=5: {frac:.3f}; median delta {np.median(d[:, i, j]):.4g}, "
                f"max {d[:, i, j].max():.6g}; median 1/(1-delta) {amplification:.3g}; "
                f"x_min median {np.median(x_min):.2g}",
                verdict="holds" if ok else "violated",
                details={
                    "preset": preset,
                    "fraction_below_1": {str(k): float(np.mean(below[:, jj])) for jj, k in enumerate(ks)},
                    "median_delta": {str(k): float(np.median(d[:, i, jj])) for jj, k in enumerate(ks)},
                    "mutation": mutation,
                },
            )
        )
    return verdicts


def _boot_mean_ci(x, n_boot=N_BOOT, level=0.95, seed=0):
    """Percentile bootstrap interval of the mean of x over seeds."""
    x = np.asarray(x, dtype=float)
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, (n_boot, x.size))].mean(axis=1)
    a = (1 - level) / 2
    return float(np.quantile(means, a)), float(np.quantile(means, 1 - a))


@check(
    "S2.real.mvr",
    claim="real data: MVR1 and MVR2 reach a lower loss than Muon at the same number of steps "
    "(S2's experiments), each at its best lr",
    source="S2",
    experiment="S2.real.mvr",
    quick=False,
    mutations=("wrong_exponent",),
    empirical=True,
)
def s2_real_mvr(*, quick: bool, mutation: str | None = None):
    """Per task and MVR method: bootstrap interval of the mean paired gap loss(Muon) − loss(MVR)."""
    exp = get_experiment("S2.real.mvr")(quick=quick)
    methods = list(exp.meta["methods"])
    predicted = -1 if mutation == "wrong_exponent" else 1
    verdicts = []
    for task in exp.meta["tasks"]:
        final = exp.measured[f"{task}:curves"][..., -1]  # (method, seed) at each method's best lr
        final = np.where(np.isfinite(final), final, np.inf)
        lrs = exp.measured[f"{task}:best_lr"]
        for m in ("mvr1", "mvr2"):
            gap = final[methods.index("muon")] - final[methods.index(m)]
            lo, hi = _boot_mean_ci(gap) if np.all(np.isfinite(gap)) else (-np.inf, np.inf)
            sign = 1 if lo > 0 else -1 if hi < 0 else 0
            verdict = "inconclusive" if sign == 0 else ("holds" if sign == predicted else "violated")
            verdicts.append(
                Verdict(
                    claim=f"S2-real-mvr[{task}:{m}]",
                    source="S2 empirical (Figures: MVR below Muon), here on real data",
                    problem=f"{task}, exact polar, beta={exp.meta['beta']}, {len(exp.meta['seeds'])} seeds, "
                    f"best lr muon {lrs[0]:g} / {m} {lrs[methods.index(m)]:g}",
                    bound=("loss(Muon) - loss(MVR) > 0" if predicted == 1 else "< 0 (planted)"),
                    measured=f"final loss muon {np.mean(final[0]):.4g}, "
                    f"{m} {np.mean(final[methods.index(m)]):.4g}; "
                    f"gap {np.mean(gap):.3g} [{lo:.3g}, {hi:.3g}]",
                    verdict=verdict,
                    details={
                        "task": task,
                        "method": m,
                        "gap": float(np.mean(gap)),
                        "ci": [lo, hi],
                        "mutation": mutation,
                    },
                )
            )
    return verdicts
