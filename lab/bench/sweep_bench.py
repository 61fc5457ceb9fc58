"""Section 3: a sweep of Muon runs, batched against a Python loop of the same runs.

Setup: a 64×32 Kronecker quadratic f(X) = ½⟨X − X*, P(X − X*)Q⟩ (``problems.quadratic``, L = 1,
μ = 0.01, exact gradients) and ``configs`` Muon configurations (a 16 × 16 grid of learning rates
10^-3…10^-1 and momenta β = 0.5…0.98 for 256), 5 Jordan Newton–Schulz steps, Nesterov, EMA,
one seed per configuration.

* **batched**: one call of ``lab.runner.run`` (default metrics at log-spaced checkpoints,
  divergence check every step, deterministic gradients) with one (configs, 64, 32) state; a
  progress callback reads the clock after every step, so best and median per-step costs over
  segments of ``steps/20`` steps come out of the one run.
* **loop**: the same ``run`` calls one configuration at a time (batch of one, scalar
  hyperparameters) for ``loop_runs`` evenly spaced configurations; a run's cost does not depend on
  its hyperparameters, so the loop's rate over all runs is the rate measured on these (stated in
  the note).  The looped runs' final iterates are compared with the batched members (they must
  agree: a batched run equals the runs done one by one).
* **cost decomposition** (round-robin, same load): one batched Muon step against the
  3·5 Newton–Schulz products alone (raw stacked matmul chain on the same shapes) and against
  those plus the gradient's two products P·D·Q; the share of a step spent outside matrix
  products is 1 − (NS matmuls + gradient matmuls)/step (target < 30 %).
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from lab.backend import backend_name, get_backend, to_numpy
from lab.bench.kernels import MatmulChain, device_sync, native_module
from lab.bench.report import Row, check_target
from lab.bench.timing import Timing, load1, measure_interleaved

SWEEP_TARGET_VS_LOOP = ">= 10"
OUTSIDE_MATMUL_TARGET = "< 0.30"
NS_ORACLE = "ns:jordan:5"


def sweep_grid(configs: int):
    """(lr, beta) host arrays of length ``configs``: a 16-wide grid, lr fastest (log-spaced)."""
    i = np.arange(configs)
    lr = 10.0 ** (-3.0 + 2.0 * (i % 16) / 15.0)
    beta = 0.5 + 0.48 * ((i // 16) % 16) / 15.0
    return lr, beta


def make_problem(backend: str, shape, dtype: str, noise_sigma: float = 0.0):
    from problems.quadratic import KroneckerQuadratic

    m, n = shape
    problem = KroneckerQuadratic(m=m, n=n, L=1.0, mu=0.01, seed=0, backend=backend, dtype=dtype)
    return problem.with_noise("gaussian", sigma=noise_sigma) if noise_sigma > 0 else problem


def _optimizer(lr, beta):
    from lab.optimizers import muon

    return muon(lr=lr, beta=beta, oracle=NS_ORACLE)


def _hyper(xp, values, dtype):
    """Per-run hyperparameters as backend arrays (one value per batch member)."""
    return xp.asarray(values, dtype=getattr(xp, dtype))


class MuonRun:
    """A batch of Muon runs advanced step by step (the optimizer's pure init/step interface)."""

    def __init__(self, problem, lr, beta, seeds, stochastic: bool):
        from lab.optimizers import gradient_fn

        self.problem, self.stochastic, self._gradient_fn = problem, stochastic, gradient_fn
        self.opt = _optimizer(lr, beta)
        self.rng = problem.make_rng(seeds, "bench-sweep")
        self.X = problem.x0(self.rng)
        self.state = self.opt.init(self.X)

    def step(self) -> None:
        t = self.state.count + 1
        grad = self._gradient_fn(self.problem, self.rng.at(t)) if self.stochastic else self.problem.grad
        self.X, self.state = self.opt.step(self.state, self.X, grad, None)

    def run(self, steps: int, sync) -> None:
        for _ in range(steps):
            self.step()
        sync()


def minor_faults() -> int:
    """Minor page faults of this process so far (0 where ``resource`` is unavailable).

    Fresh multi-MiB temporaries that the C allocator maps and unmaps each time fault in every
    4 KiB page on first touch; the count per step shows whether that cost is being paid.
    """
    try:
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_minflt)
    except (ImportError, OSError):  # pragma: no cover - non-POSIX
        return 0


def _timed_run(problem, optimizer, steps, seeds, stochastic, segment, sync):
    """``lab.runner.run`` with the clock read after every step.

    Returns (result, seconds per step of each segment, minor page faults per step).
    """
    from lab.runner import run

    stamps = []

    def tick(t):
        if t % segment == 0 or t == steps:
            sync()
            stamps.append((t, time.perf_counter()))

    sync()
    stamps.append((0, time.perf_counter()))
    faults = minor_faults()
    result = run(problem, optimizer, steps, seeds, stochastic=stochastic, progress=tick)
    faults_per_step = (minor_faults() - faults) / steps
    per_step = [
        (b - a) / (tb - ta) for (ta, a), (tb, b) in zip(stamps[:-1], stamps[1:], strict=True) if tb > ta
    ]
    return result, per_step, faults_per_step


def _timing(per_call, load_before) -> Timing:
    return Timing(tuple(per_call), 1, load_before, load1())


def bench_sweep(
    backend: str = "numpy",
    *,
    configs: int = 256,
    steps: int = 2000,
    shape=(64, 32),
    dtype: str = "float64",
    loop_runs: int = 16,
    repeats: int = 3,
    noise_sigma: float = 0.0,
    progress: Callable[[str], None] | None = None,
) -> list[Row]:
    """Batched Muon sweep against a Python loop of the same runs; see the module docstring."""
    xp = get_backend(backend)
    sync = device_sync(xp)
    problem = make_problem(backend, shape, dtype, noise_sigma)
    stochastic = noise_sigma > 0
    lr, beta = sweep_grid(configs)
    seeds = np.arange(configs)
    m, n = shape
    name = backend_name(xp)
    case = f"Muon {configs} configs x {steps} steps, {m}x{n} quadratic" + (" (noisy)" if stochastic else "")
    rows: list[Row] = []

    # -- batched run ---------------------------------------------------------------------------
    if progress:
        progress(f"sweep batched {configs} x {steps} steps")
    segment = max(1, steps // 20)
    load0 = load1()
    result, seg, faults_per_step = _timed_run(
        problem,
        _optimizer(_hyper(xp, lr, dtype), _hyper(xp, beta, dtype)),
        steps,
        seeds,
        stochastic,
        segment,
        sync,
    )
    t_batched = _timing(seg, load0)
    rows.append(
        Row(
            "sweep",
            case,
            "batched lab.runner.run",
            name,
            dtype,
            f"{configs}x{m}x{n}",
            work=configs,
            work_unit="member-steps per step",
            time_best_s=t_batched.best,
            time_median_s=t_batched.median,
            rate_best=configs / t_batched.best,
            rate_median=configs / t_batched.median,
            unit="member-steps/s",
            repeats=len(seg),
            number=segment,
            load1=round(t_batched.load, 2),
            note=f"time per step (segments of {segment} steps); whole run {result.wall_time:.1f} s; "
            f"{faults_per_step:.0f} minor page faults per step",
        )
    )

    # -- loop of the same runs -----------------------------------------------------------------
    idx = np.unique(np.linspace(0, configs - 1, min(loop_runs, configs)).round().astype(int))
    if progress:
        progress(f"sweep loop {len(idx)} runs x {steps} steps")
    per_step, max_diff, load0 = [], 0.0, load1()
    final = to_numpy(result.final_params[0])
    for i in idx:
        one, _, _ = _timed_run(
            problem,
            _optimizer(float(lr[i]), float(beta[i])),
            steps,
            seeds[i : i + 1],
            stochastic,
            steps,
            sync,
        )
        per_step.append(one.wall_time / steps)
        max_diff = max(max_diff, float(np.max(np.abs(to_numpy(one.final_params[0])[0] - final[i]))))
    t_loop = _timing(per_step, load0)
    loop_row = Row(
        "sweep",
        case,
        "python loop of single runs",
        name,
        dtype,
        f"1x{m}x{n}",
        work=1,
        work_unit="member-steps per step",
        time_best_s=t_loop.best,
        time_median_s=t_loop.median,
        rate_best=1 / t_loop.best,
        rate_median=1 / t_loop.median,
        unit="member-steps/s",
        repeats=len(per_step),
        number=steps,
        load1=round(t_loop.load, 2),
        note=f"{len(idx)} of {configs} runs timed (cost independent of the hyperparameters); "
        f"loop of all runs ~{configs * steps * t_loop.median:.0f} s; max |X_loop - X_batched| "
        f"= {max_diff:.1e}",
    )
    rows.append(loop_row)
    speed = Row(
        "sweep",
        case,
        "batched lab.runner.run",
        name,
        dtype,
        f"{configs}x{m}x{n}",
        work=configs,
        work_unit="member-steps per step",
        time_best_s=t_batched.best,
        time_median_s=t_batched.median,
        rate_best=configs / t_batched.best,
        rate_median=configs / t_batched.median,
        unit="member-steps/s",
        reference="python loop of single runs",
        target=SWEEP_TARGET_VS_LOOP,
        load1=rows[0].load1,
        note="optimizer steps per second, batched / loop",
    )
    speed.ratio_best = speed.rate_best / loop_row.rate_best
    speed.ratio_median = speed.rate_median / loop_row.rate_median
    speed.met = check_target(speed.ratio_best, speed.target)
    rows.append(speed)

    # -- cost decomposition ----------------------------------------------------------------------
    if progress:
        progress("sweep cost decomposition")
    bare = MuonRun(problem, _hyper(xp, lr, dtype), _hyper(xp, beta, dtype), seeds, stochastic)
    bare.run(3, sync)  # past the first steps (momentum starts at zero)
    decomposition = _decomposition(xp, problem, bare, case, configs, shape, dtype, repeats, sync)
    step_row = decomposition[0]
    rows += decomposition
    overhead = Row(
        "sweep",
        case,
        "runner step / bare optimizer step",
        name,
        dtype,
        f"{configs}x{m}x{n}",
        time_best_s=t_batched.best,
        time_median_s=t_batched.median,
        reference="batched Muon step",
        ratio_best=t_batched.best / step_row.time_best_s,
        ratio_median=t_batched.median / step_row.time_median_s,
        load1=rows[0].load1,
        note="what lab.runner.run adds per step (loss for the divergence check, checkpoint "
        "metrics); measured in different rounds",
    )
    rows.append(overhead)
    return rows


def _decomposition(xp, problem, run: MuonRun, case, configs, shape, dtype, repeats, sync) -> list[Row]:
    mod = native_module(xp)
    m, n = shape
    M = next(s for s in run.state.transforms if hasattr(s, "momentum")).momentum[0]
    chain = MatmulChain(M, steps=5)
    P, Q = problem.P, problem.Q
    D = run.X[0] - problem.X_star
    T1 = mod.empty_like(D)
    T2 = mod.empty_like(D)

    def grad_matmuls():
        mod.matmul(P, D, out=T1)
        mod.matmul(T1, Q, out=T2)

    faults, count = minor_faults(), run.state.count
    timings = measure_interleaved(
        {"step": run.step, "ns": chain, "grad": grad_matmuls},
        repeats=repeats,
        warmup=1,
        min_sample_s=0.2,
        sync=sync,
    )
    # the NS chain and the gradient products write into preallocated buffers: the faults are the steps'
    faults_per_step = (minor_faults() - faults) / max(1, run.state.count - count)
    t_step, t_ns, t_grad = timings["step"], timings["ns"], timings["grad"]
    name, shp = backend_name(xp), f"{configs}x{m}x{n}"
    rows = []
    for key, variant, note in (
        (
            "step",
            "batched Muon step",
            f"one optimizer step of all runs; {faults_per_step:.0f} minor page faults per step",
        ),
        ("ns", "NS matmuls alone", "the 15 NS products, raw stacked chain"),
        ("grad", "gradient matmuls alone", "P(X - X*)Q: two stacked products"),
    ):
        t = timings[key]
        row = Row(
            "sweep",
            case,
            variant,
            name,
            dtype,
            shp,
            time_best_s=t.best,
            time_median_s=t.median,
            repeats=t.repeats,
            number=t.number,
            load1=round(t.load, 2),
            note=note,
        )
        if key == "step":
            row.reference = "NS matmuls alone"
            row.ratio_best = t.best / t_ns.best
            row.ratio_median = t.median / t_ns.median
            row.note += "; ratio = step time / NS-matmul time"
        rows.append(row)
    outside_best = 1.0 - (t_ns.best + t_grad.best) / t_step.best
    outside_median = 1.0 - (t_ns.median + t_grad.median) / t_step.median
    rows.append(
        Row(
            "sweep",
            case,
            "share of step outside matmuls",
            name,
            dtype,
            shp,
            time_best_s=t_step.best - t_ns.best - t_grad.best,
            time_median_s=t_step.median - t_ns.median - t_grad.median,
            reference="batched Muon step",
            ratio_best=outside_best,
            ratio_median=outside_median,
            target=OUTSIDE_MATMUL_TARGET,
            met=check_target(outside_best, OUTSIDE_MATMUL_TARGET),
            load1=round(t_step.load, 2),
            note="1 - (NS matmuls + gradient matmuls) / step",
        )
    )
    rows.append(
        Row(
            "sweep",
            case,
            "page faults per batched step",
            name,
            dtype,
            shp,
            rate_best=faults_per_step,
            rate_median=faults_per_step,
            unit="faults/step",
            load1=round(t_step.load, 2),
            note="minor page faults while the steps were timed (fresh multi-MiB temporaries touched "
            "for the first time); the NS and gradient references allocate nothing",
        )
    )
    return rows
