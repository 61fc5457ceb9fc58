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
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from lab.backend import backend_name, get_backend, to_numpy
from lab.bench.kernels import MatmulChain, device_sync, native_module
from lab.bench.report import Row, check_target
from lab.bench.timing import Timing, load1, measure_interleaved
from lab.optimizers import gradient_fn, muon
from lab.runner import run
from problems.quadratic import KroneckerQuadratic

try:
    import resource
except ImportError:  # pragma: no cover - non-POSIX: no page-fault counts
    resource = None

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
    """The benchmark's Kronecker quadratic (L = 1, μ = 0.01), with Gaussian noise when ``noise_sigma`` > 0."""
    m, n = shape
    problem = KroneckerQuadratic(m=m, n=n, L=1.0, mu=0.01, seed=0, backend=backend, dtype=dtype)
    return problem.with_noise("gaussian", sigma=noise_sigma) if noise_sigma > 0 else problem


def _optimizer(lr, beta):
    return muon(lr=lr, beta=beta, oracle=NS_ORACLE)


def _hyper(xp, values, dtype):
    """Per-run hyperparameters as backend arrays (one value per batch member)."""
    return xp.asarray(values, dtype=getattr(xp, dtype))


class MuonRun:
    """A batch of Muon runs advanced step by step (the optimizer's pure init/step interface)."""

    def __init__(self, problem, lr, beta, seeds, stochastic: bool):
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
    if resource is None:  # pragma: no cover - non-POSIX
        return 0
    try:
        return int(resource.getrusage(resource.RUSAGE_SELF).ru_minflt)
    except OSError:  # pragma: no cover
        return 0


def _timed_run(problem, optimizer, steps, seeds, stochastic, segment, sync):
    """``lab.runner.run`` with the clock read after every step.

    Returns (result, seconds per step of each segment, minor page faults per step).
    """
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
    stochastic = noise_sigma > 0
    m, n = shape
    noisy = " (noisy)" if stochastic else ""
    sweep = _Sweep(
        xp=xp,
        sync=device_sync(xp),
        problem=make_problem(backend, shape, dtype, noise_sigma),
        stochastic=stochastic,
        grid=sweep_grid(configs),
        seeds=np.arange(configs),
        steps=steps,
        shape=shape,
        dtype=dtype,
        case=f"Muon {configs} configs x {steps} steps, {m}x{n} quadratic" + noisy,
    )
    if progress:
        progress(f"sweep batched {configs} x {steps} steps")
    result, t_batched, batched_row = _batched(sweep)
    loop_row = _loop(sweep, result, loop_runs, progress)
    rows = [batched_row, loop_row, _speed_up(sweep, t_batched, loop_row, batched_row.load1)]
    if progress:
        progress("sweep cost decomposition")
    lr, beta = sweep.grid
    bare = MuonRun(sweep.problem, _hyper(xp, lr, dtype), _hyper(xp, beta, dtype), sweep.seeds, stochastic)
    bare.run(3, sweep.sync)  # past the first steps (momentum starts at zero)
    decomposition = _decomposition(
        xp, sweep.problem, bare, sweep.case, configs, shape, dtype, repeats, sweep.sync
    )
    rows += decomposition
    rows.append(_runner_overhead(sweep, t_batched, decomposition[0], batched_row.load1))
    return rows


@dataclass
class _Sweep:
    """What every part of the sweep section measures on: the problem, the grid and the row labels."""

    xp: Any
    sync: Callable[[], None]
    problem: Any
    stochastic: bool
    grid: tuple[np.ndarray, np.ndarray]  # (lr, beta), one value per configuration
    seeds: np.ndarray
    steps: int
    shape: tuple[int, int]
    dtype: str
    case: str

    @property
    def configs(self) -> int:
        return len(self.seeds)

    @property
    def name(self) -> str:
        return backend_name(self.xp)

    @property
    def batch_shape(self) -> str:
        return f"{self.configs}x{self.shape[0]}x{self.shape[1]}"


def _batched(sweep: _Sweep):
    """One batched ``lab.runner.run`` of every configuration: (result, per-step timing, row)."""
    lr, beta = sweep.grid
    segment = max(1, sweep.steps // 20)
    load0 = load1()
    result, seg, faults_per_step = _timed_run(
        sweep.problem,
        _optimizer(_hyper(sweep.xp, lr, sweep.dtype), _hyper(sweep.xp, beta, sweep.dtype)),
        sweep.steps,
        sweep.seeds,
        sweep.stochastic,
        segment,
        sweep.sync,
    )
    t_batched = _timing(seg, load0)
    row = _batched_row(
        sweep,
        t_batched,
        repeats=len(seg),
        number=segment,
        load1=round(t_batched.load, 2),
        note=f"time per step (segments of {segment} steps); whole run {result.wall_time:.1f} s; "
        f"{faults_per_step:.0f} minor page faults per step",
    )
    return result, t_batched, row


def _loop(sweep: _Sweep, result, loop_runs: int, progress) -> Row:
    """``loop_runs`` evenly spaced configurations run one at a time, their final iterates compared
    with the batched members of ``result``."""
    configs, steps = sweep.configs, sweep.steps
    lr, beta = sweep.grid
    idx = np.unique(np.linspace(0, configs - 1, min(loop_runs, configs)).round().astype(int))
    if progress:
        progress(f"sweep loop {len(idx)} runs x {steps} steps")
    per_step, max_diff, load0 = [], 0.0, load1()
    final = to_numpy(result.final_params[0])
    for i in idx:
        one, _, _ = _timed_run(
            sweep.problem,
            _optimizer(float(lr[i]), float(beta[i])),
            steps,
            sweep.seeds[i : i + 1],
            sweep.stochastic,
            steps,
            sweep.sync,
        )
        per_step.append(one.wall_time / steps)
        max_diff = max(max_diff, float(np.max(np.abs(to_numpy(one.final_params[0])[0] - final[i]))))
    t_loop = _timing(per_step, load0)
    m, n = sweep.shape
    return Row(
        "sweep",
        sweep.case,
        "python loop of single runs",
        sweep.name,
        sweep.dtype,
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


def _batched_row(sweep: _Sweep, t_batched: Timing, **fields) -> Row:
    """The batched run's row: member-steps per second of one ``lab.runner.run`` step, plus ``fields``."""
    return Row(
        "sweep",
        sweep.case,
        "batched lab.runner.run",
        sweep.name,
        sweep.dtype,
        sweep.batch_shape,
        work=sweep.configs,
        work_unit="member-steps per step",
        time_best_s=t_batched.best,
        time_median_s=t_batched.median,
        rate_best=sweep.configs / t_batched.best,
        rate_median=sweep.configs / t_batched.median,
        unit="member-steps/s",
        **fields,
    )


def _speed_up(sweep: _Sweep, t_batched: Timing, loop_row: Row, load: float) -> Row:
    """Optimizer steps per second of the batched run over those of the loop (the target)."""
    speed = _batched_row(
        sweep,
        t_batched,
        reference="python loop of single runs",
        target=SWEEP_TARGET_VS_LOOP,
        load1=load,
        note="optimizer steps per second, batched / loop",
    )
    speed.ratio_best = speed.rate_best / loop_row.rate_best
    speed.ratio_median = speed.rate_median / loop_row.rate_median
    speed.met = check_target(speed.ratio_best, speed.target)
    return speed


def _runner_overhead(sweep: _Sweep, t_batched: Timing, step_row: Row, load: float) -> Row:
    """A runner step over a bare optimizer step (what ``lab.runner.run`` adds)."""
    return Row(
        "sweep",
        sweep.case,
        "runner step / bare optimizer step",
        sweep.name,
        sweep.dtype,
        sweep.batch_shape,
        time_best_s=t_batched.best,
        time_median_s=t_batched.median,
        reference="batched Muon step",
        ratio_best=t_batched.best / step_row.time_best_s,
        ratio_median=t_batched.median / step_row.time_median_s,
        load1=load,
        note="what lab.runner.run adds per step (loss for the divergence check, checkpoint "
        "metrics); measured in different rounds",
    )


def _decomposition(xp, problem, run: MuonRun, case, configs, shape, dtype, repeats, sync) -> list[Row]:
    """One batched Muon step against its NS products alone and its gradient products alone
    (round-robin), the share of the step outside them, and the page faults per step."""
    timings, faults_per_step = _time_step_parts(xp, problem, run, repeats, sync)
    t_step, t_ns, t_grad = timings["step"], timings["ns"], timings["grad"]
    m, n = shape
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
    rows.append(_outside_matmuls(case, name, dtype, shp, t_step, t_ns, t_grad))
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


def _time_step_parts(xp, problem, run: MuonRun, repeats, sync) -> tuple[dict[str, Timing], float]:
    """Round-robin timings of a Muon step ("step"), its 3·5 NS products ("ns") and the gradient's
    two products ("grad") on preallocated buffers; and the minor page faults per timed step."""
    mod = native_module(xp)
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
    return timings, faults_per_step


def _outside_matmuls(case, name, dtype, shp, t_step: Timing, t_ns: Timing, t_grad: Timing) -> Row:
    """The share of a step outside its NS and gradient products (the target)."""
    outside_best = 1.0 - (t_ns.best + t_grad.best) / t_step.best
    outside_median = 1.0 - (t_ns.median + t_grad.median) / t_step.median
    return Row(
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
