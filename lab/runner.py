"""Run a batch of optimizations and record metrics at checkpoints (scipy.optimize-style result).

Batch
-----
The batch shape is the shape of ``seeds`` (an integer array, or a :class:`lab.random.RNG` whose keys
have that shape).  Every hyperparameter given to the optimizer as an array must broadcast to that
shape (it is applied as ``(*batch, 1, 1)``); the usual layout is a flat batch ``(B,)`` with one seed
and one value of each swept hyperparameter per run.  :func:`batch_grid` builds that layout from an
outer product::

    grid = batch_grid(seed=range(20), lr=[1e-2, 3e-2, 1e-1], beta=[0.9, 0.95])   # B = 120
    opt = muon(lr=grid["lr"], beta=grid["beta"])
    result = run(problem, opt, steps=2000, seeds=grid.seeds)

Random streams: each member's key comes from its seed and the problem name (``problem.make_rng``
when the problem has it), so members with equal seeds share x0 and the noise sequence (common random
numbers across hyperparameters).  Substreams: x0 = ``problem.x0(rng)``, the step-t sample =
``problem.sample(rng.fold("sample").at(t))``, the oracle's randomness at step t =
``rng.fold("oracle").at(t)`` (folded again per block by the optimizer).

Iterates and steps
------------------
X_0 = x0; step t = 1…T moves X_{t−1} to X_t (schedules see the 1-based t).  Checkpoint k records the
iterate metrics of X_k and the metrics of the step taken *from* X_k (its momentum estimator, oracle
diagnostics and step sizes); the last checkpoint (k = T) has no step metrics (NaN).

Divergence
----------
After every step each member's loss f(X_t) is checked: NaN, ±Inf, or f(X_t) > ``diverge_threshold``
marks it diverged at step t, and so does a NaN/Inf gradient during step t (such a gradient is
replaced by zero before it reaches the optimizer, so the oracle never sees it).  A diverged member is
frozen at its last accepted iterate and optimizer state (``xp.where`` masks; it keeps receiving
finite inputs and its candidate steps are discarded), its metrics from checkpoint t on are NaN, and
every other member continues bit for bit as if it were alone.  ``check_every = c > 1`` evaluates the
loss only every c steps (and at checkpoints): a member failing at check t is then frozen at the
previous check's iterate.  NumPy floating-point warnings are silenced inside the loop, since a
diverging member overflows by design.

Metrics (record groups; the names are the keys of ``RunResult.metrics`` and the table columns)
---------------------------------------------------------------------------------------------------
* ``loss``: ``f``, ``gap`` = f − f* (when f* is known).
* ``grad``: ``grad_dual`` = Σ_i ‖∇_i f‖_(i)* (the dual of the max-over-blocks norm), ``grad_fro`` =
  ‖∇f‖_F, per block ``grad_dual_b{i}``.  The block norms are the optimizer's oracle norms (e.g.
  spectral → nuclear dual), else the problem's ``constants.blocks[i].norm``.
* ``estimator``: ``est_err_fro`` = ‖M − ∇f(X_k)‖_F and ``est_err_dual`` = Σ_i ‖M_i − ∇_i f‖_* for the
  gradient estimator M of the step from X_k (EMA/MVR momentum; (1−β)M for the sum form).
* ``step``: ``lr`` (the unscaled η_t; column ``step_lr`` of the table, next to the member's ``lr``)
  and per block ``step_b{i}`` (the step size multiplying D_i).
* ``params``: ``x_op_b{i}`` = ‖X_i‖_op.
* ``oracle`` (asked for explicitly: it costs SVDs): per block ``oracle_delta_b{i}`` (measured δ),
  ``oracle_alignment_b{i}``, ``oracle_overshoot_b{i}`` from ``oracle.diagnostics``.
* ``lion``: ``stationarity`` S(X) = Σ_i ‖∇_i F‖_* + (1/R_i)⟨∇_i F, X_i⟩ with the ball radius
  R_i = step_i/(η λ) (= s/λ; S = ‖∇F‖_* when λ = 0) and ``lyapunov`` H = F + Σ_i η/(1−β)·
  (s_i‖M_i‖_* + λ⟨M_i, X_i⟩) with s_i = step_i/η and M the gradient-sign momentum.
  Convention: at checkpoint k the recorded M is the estimator of the step that *produced* X_k's
  successor (M_{k+1} paired with X_k), so H here is a diagnostic; the S3.L2 check pairs M_t with
  X_t itself (lab/claims/weight_decay/constraint.py).
* ``running`` (evaluated at **every** step, one full gradient and dual norm per step):
  ``grad_dual_min``, ``grad_fro_min`` (running minima over X_0…X_k) and ``grad_dual_avg`` =
  Σ_{t<k} η_t‖∇f(X_t)‖_* / Σ_{t<k} η_t (the η-weighted average of the bounds; NaN at k = 0).
  Two orders of "minimum over t" and "expectation over seeds" are different quantities:

  - ``grad_dual_min_over_t_per_seed`` (= ``grad_dual_min``, the old name, kept) and
    ``grad_fro_min_over_t_per_seed`` (= ``grad_fro_min``): min_{t<=k} ‖∇f(X_t)‖ of each member; its
    seed mean estimates **E[min_t ‖∇f(X_t)‖]**, which is <= min_t E‖∇f(X_t)‖ (min of a mean >= mean
    of mins).
  - ``grad_dual_min_over_t_of_mean`` and ``grad_fro_min_over_t_of_mean`` (only with ``seed_axis``):
    min_{t<=k} of the seed mean of ‖∇f(X_t)‖ over the batch axis ``seed_axis``, i.e. the estimate of
    **min_t E‖∇f(X_t)‖** that a rate statement such as S2's N1/N2 bounds.  The value is the same for
    every member along the seed axis (broadcast), so the array keeps the batch shape; a member with
    a non-finite gradient makes the mean NaN from that step on.
"""

from __future__ import annotations

import math
import time
from typing import Any, NamedTuple

import numpy as np
from tqdm.auto import tqdm

import problems
from lab.backend import get_backend, namespace, to_numpy
from lab.norms import get_norm
from lab.optimizers.base import Optimizer, check_params, gradient_fn, has_sample_interface, tree_where
from lab.provenance import run_provenance as provenance
from lab.random import RNG
from lab.run_result import STATUSES, RunResult
from lab.sweeps.grid import Grid

__all__ = [
    "RECORD_GROUPS",
    "DEFAULT_RECORD",
    "RunResult",
    "batch_grid",
    "log_checkpoints",
    "run",
    "provenance",
]

RECORD_GROUPS = ("loss", "grad", "estimator", "step", "params", "oracle", "lion", "running")
DEFAULT_RECORD = ("loss", "grad", "estimator", "step", "params")


# ------------------------------------------------------------------------------------------ batch


def batch_grid(seed=(0,), **axes) -> Grid:
    """The outer product seed × axis₁ × axis₂ × … as a :class:`lab.sweeps.Grid` of numbers.

    The grid's flat-batch view is C order (last axis fastest): ``batch_grid(seed=range(3),
    lr=[0.1, 0.2])`` gives B = 6 runs with ``grid.seeds`` [0,0,1,1,2,2] and ``grid["lr"]``
    [0.1,0.2,0.1,0.2,0.1,0.2].  Seeds must be integers and every other axis numbers (stored as
    floats); an axis may not repeat a value.
    """
    seeds = np.asarray(list(seed) if not isinstance(seed, np.ndarray) else seed)
    if seeds.ndim != 1 or seeds.size == 0 or not np.issubdtype(seeds.dtype, np.integer):
        raise ValueError(f"seed must be a non-empty 1-D sequence of integers, got {seed!r}")
    vals = {}
    for name, v in axes.items():
        items = list(v) if not isinstance(v, np.ndarray) else v.tolist()
        bad = [x for x in items if isinstance(x, bool) or not isinstance(x, (int, float, np.number))]
        if bad and not all(isinstance(x, list) for x in items):
            raise ValueError(
                f"{name} must be a non-empty 1-D sequence of numbers, got {v!r} "
                f"({bad[0]!r} is a {type(bad[0]).__name__})"
            )
        arr = np.asarray(items, dtype=np.float64)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"{name} must be a non-empty 1-D sequence of numbers, got {v!r}")
        vals[name] = arr.tolist()
    return Grid(seed=seeds.astype(np.int64).tolist(), **vals)


def log_checkpoints(steps: int, per_decade: int = 10) -> np.ndarray:
    """0, steps and about ``per_decade`` log-spaced iterate indices per decade in between."""
    if steps <= 0:
        return np.array([0], dtype=np.int64)
    n = max(2, int(math.ceil(per_decade * math.log10(steps + 1))) + 1)
    pts = np.unique(np.round(np.geomspace(1, steps, n)).astype(np.int64))
    return np.unique(np.concatenate([[0], pts, [steps]])).astype(np.int64)


# ------------------------------------------------------------------------------------------ checks


def _check_steps(steps) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    return int(steps)


def _resolve_checkpoints(checkpoints, steps: int) -> np.ndarray:
    if isinstance(checkpoints, str):
        if checkpoints == "log":
            return log_checkpoints(steps)
        if checkpoints == "all":
            return np.arange(steps + 1, dtype=np.int64)
        raise ValueError(f"checkpoints must be 'log', 'all' or a list of step indices, got {checkpoints!r}")
    try:
        arr = np.asarray(list(checkpoints))
    except TypeError:
        raise ValueError(
            f"checkpoints must be 'log', 'all' or a list of step indices, got {checkpoints!r}"
        ) from None
    if arr.size == 0 or arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"checkpoints must be a non-empty list of integer step indices, got {checkpoints!r}")
    if arr.min() < 0 or arr.max() > steps:
        raise ValueError(f"checkpoints must lie in [0, steps={steps}], got {arr.tolist()}")
    return np.unique(arr).astype(np.int64)


def _check_record(record) -> tuple[str, ...]:
    if isinstance(record, str):
        record = (record,)
    record = tuple(record)
    unknown = [r for r in record if r not in RECORD_GROUPS]
    if unknown:
        raise ValueError(f"record must name groups among {RECORD_GROUPS}, got unknown {unknown}")
    return record


def _block_norms(optimizer: Optimizer, problem, num_blocks: int):
    norms = optimizer.dual_norms(num_blocks)
    if norms is not None:
        return tuple(norms)
    blocks = getattr(getattr(problem, "constants", None), "blocks", None) or ()
    out = []
    for i in range(num_blocks):
        name = blocks[i].norm if i < len(blocks) and getattr(blocks[i], "norm", None) else "spectral"
        out.append(get_norm(name))
    return tuple(out)


# ------------------------------------------------------------------------------------------ metrics


class _Recorder:
    """Collects per-checkpoint metrics (arrays of the batch shape, in the run's namespace)."""

    def __init__(self, xp, dtype, batch_shape, num_checkpoints):
        self.xp, self.dtype, self.batch = xp, dtype, tuple(batch_shape)
        self.K = num_checkpoints
        self.rows: list[dict] = [dict() for _ in range(num_checkpoints)]

    def full(self, v):
        """A float or array as an array of the batch shape (run dtype)."""
        xp = self.xp
        if isinstance(v, (int, float)):
            return xp.full(self.batch, float(v), dtype=self.dtype)
        return xp.broadcast_to(xp.astype(v, self.dtype), self.batch)

    def put(self, c: int, name: str, v):
        self.rows[c][name] = self.full(v)

    def invalidate(self, c: int, mask, keep=lambda name: False):
        """NaN for the members in ``mask`` in row c (metrics for which ``keep(name)`` is False)."""
        xp = self.xp
        for n, v in self.rows[c].items():
            if not keep(n):
                self.rows[c][n] = xp.where(mask, xp.full_like(v, math.nan), v)

    def to_host(self, valid_mask_fn) -> dict:
        names: list[str] = []
        for r in self.rows:
            names.extend(n for n in r if n not in names)
        out = {}
        for n in names:
            stack = np.full((self.K,) + self.batch, np.nan, dtype=np.float64)
            for c, r in enumerate(self.rows):
                if n in r:
                    stack[c] = np.asarray(to_numpy(r[n]), dtype=np.float64)
            out[n] = valid_mask_fn(stack)
        return out


def _out_of_bounds(xp, f, threshold: float):
    """Members whose loss is NaN, ±Inf, or above the threshold."""
    bad = ~xp.isfinite(f)
    return bad if math.isinf(threshold) else bad | (f > threshold)


def _sanitize(xp, G):
    """(G with non-finite members zeroed, batch mask of those members or None when all are finite).

    One reduction per block decides; the ``where`` runs only when some member is non-finite.
    """
    bad = None
    out = []
    for Gi in G:
        ok = xp.isfinite(xp.sum(Gi, axis=(-2, -1)))
        if not bool(xp.all(ok)):
            bad = ~ok if bad is None else (bad | ~ok)
            Gi = xp.where(ok[..., None, None], Gi, xp.zeros_like(Gi))
        out.append(Gi)
    return tuple(out), bad


class _GradientGuard:
    """Wraps the step's gradient: non-finite members get a zero gradient and are flagged in ``bad``.

    Keeps a NaN/Inf gradient of one member (e.g. from a problem evaluated far out) from reaching the
    oracle, whose check would stop the whole batch; the flagged members are marked diverged.
    """

    def __init__(self, gradient, xp):
        self.gradient, self.xp, self.bad = gradient, xp, None

    def __call__(self, X):
        G, bad = _sanitize(self.xp, tuple(self.gradient(X)))
        if bad is not None:
            self.bad = bad if self.bad is None else (self.bad | bad)
        return G


def _sum_blocks(xp, values):
    total = values[0]
    for v in values[1:]:
        total = total + v
    return total


def _inner(xp, A, B):
    return xp.sum(A * B, axis=(-2, -1))


# ------------------------------------------------------------------------------------------ run


def run(
    problem,
    optimizer: Optimizer,
    steps: int,
    seeds=0,
    *,
    record=DEFAULT_RECORD,
    checkpoints="log",
    diverge_threshold: float | None = None,
    stochastic: bool = True,
    x0=None,
    gtol: float | None = None,
    rng_axes: tuple = (),
    progress: bool | Any = False,
    check_every: int = 1,
    seed_axis: int | None = None,
) -> RunResult:
    """Run ``optimizer`` on ``problem`` for ``steps`` steps, one batch member per seed.

    Parameters
    ----------
    problem : a :class:`problems.base.Problem` (batched f, grad, sample, stochastic_grad, x0), or
        the name of a registered problem (``problems.REGISTRY``), built with its default parameters.
    optimizer : a :class:`lab.optimizers.Optimizer` (hyperparameter arrays broadcast over the batch).
    steps : int ≥ 1, the number of steps T.
    seeds : int, integer array (the batch shape is its shape) or a :class:`lab.random.RNG`.
    record : record groups (module docstring); default ("loss", "grad", "estimator", "step", "params").
    checkpoints : "log" (0, T and ~10 log-spaced indices per decade), "all" (every iterate) or a list.
    diverge_threshold : members with f(X_t) > threshold (or NaN/Inf) are frozen and marked diverged;
        None: only NaN/Inf.
    stochastic : draw a sample per step (``problem.sample``) and use ``stochastic_grad``; False uses
        ``problem.grad`` (deterministic runs).
    x0 : Params to start from (batch shape must match the seeds), default ``problem.x0(rng)``.
    gtol : members whose final ‖∇f‖_F ≤ gtol get status "converged" (None: never).
    rng_axes : extra labels folded into every member's key (e.g. an experiment name).
    progress : True for a tqdm bar, or a callable ``progress(t)`` called after each step.
    check_every : evaluate the divergence check (one loss evaluation) every this many steps, and at
        every checkpoint and the last step.  1 (default) is exact; with c > 1 a member that fails at
        check step t is frozen at the iterate of the previous check and marked diverged at t.
    seed_axis : the batch axis that indexes seeds (None: no such axis).  With "running" recorded it
        adds the running minimum of the seed mean, ``grad_*_min_over_t_of_mean`` (module docstring).

    Returns
    -------
    RunResult

    Raises
    ------
    ValueError / TypeError
        For a bad option, before any work: steps, checkpoints, record, diverge_threshold, gtol, an
        optimizer hyperparameter or schedule out of range over the horizon, per-block settings that do
        not match the problem's blocks, hyperparameter arrays that do not broadcast over the batch,
        a method needing one sample at two points (MVR2) on a problem without ``sample`` /
        ``stochastic_grad``, or record="oracle" for a method without an oracle.
    """
    plan = _validate(problem, optimizer, steps, seeds, record=record, checkpoints=checkpoints,
                     diverge_threshold=diverge_threshold, stochastic=stochastic, x0=x0, gtol=gtol,
                     rng_axes=rng_axes, check_every=check_every, seed_axis=seed_axis)
    loop = _Loop(plan, optimizer)
    bar = None
    if progress is True:
        label = f"{optimizer.name} on {getattr(plan.problem, 'name', 'problem')}"
        bar = tqdm(total=plan.steps, desc=label, unit="step")
    callback = progress if callable(progress) else None

    t0 = time.perf_counter()
    loop.run(bar, callback)
    wall = time.perf_counter() - t0
    if bar is not None:
        bar.close()
    return _assemble(plan, optimizer, loop, wall)


# ------------------------------------------------------------------------------------------ validation


class _Plan(NamedTuple):
    """The validated inputs of a run (nothing is computed before they are all checked)."""

    problem: Any
    steps: int
    ckpts: np.ndarray
    checkpoints: Any  # as given ("log", "all" or the list), for the configuration record
    record: tuple[str, ...]
    diverge_threshold: float | None
    stochastic: bool
    gtol: float | None
    check_every: int
    rng_axes: tuple
    seed_axis: int | None
    oracles: Any
    rng: RNG
    seed_arr: np.ndarray | None
    batch_shape: tuple
    params: tuple
    norms: tuple


def _validate(problem, optimizer, steps, seeds, *, record, checkpoints, diverge_threshold, stochastic, x0,
              gtol, rng_axes, check_every, seed_axis) -> _Plan:
    """Check every option of :func:`run` (in the order its docstring lists) and build x0."""
    if isinstance(problem, str):
        if problem not in problems.REGISTRY:
            raise ValueError(
                f"problem must be a Problem or one of {sorted(problems.REGISTRY)}, got {problem!r}"
            )
        problem = problems.make(problem)
    steps = _check_steps(steps)
    ckpts = _resolve_checkpoints(checkpoints, steps)
    record = _check_record(record)
    if diverge_threshold is not None:
        diverge_threshold = float(diverge_threshold)
        if math.isnan(diverge_threshold):
            raise ValueError("diverge_threshold must be a number or None, got nan")
    if gtol is not None and not (float(gtol) >= 0):
        raise ValueError(f"gtol must be >= 0 or None, got {gtol!r}")
    if isinstance(check_every, bool) or not isinstance(check_every, (int, np.integer)) or check_every < 1:
        raise ValueError(f"check_every must be an integer >= 1, got {check_every!r}")
    if not isinstance(stochastic, bool):
        raise TypeError(f"stochastic must be True or False, got {stochastic!r}")
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a lab.optimizers.Optimizer, got {type(optimizer).__name__}")
    block_shapes = tuple(tuple(s) for s in problem.block_shapes)
    oracles = _check_pairing(problem, optimizer, steps, block_shapes, stochastic, record)
    rng, seed_arr = _member_rng(problem, seeds, rng_axes)
    batch_shape = tuple(rng.batch_shape)
    optimizer.check_batch(batch_shape)
    seed_axis = _check_seed_axis(seed_axis, batch_shape)
    params = _initial_params(problem, x0, rng, block_shapes, batch_shape)
    return _Plan(
        problem=problem, steps=steps, ckpts=ckpts, checkpoints=checkpoints, record=record,
        diverge_threshold=diverge_threshold, stochastic=stochastic, gtol=gtol, check_every=int(check_every),
        rng_axes=rng_axes, seed_axis=seed_axis, oracles=oracles, rng=rng, seed_arr=seed_arr,
        batch_shape=batch_shape, params=params, norms=_block_norms(optimizer, problem, len(block_shapes)),
    )  # fmt: skip


def _check_pairing(problem, optimizer, steps, block_shapes, stochastic, record):
    """The optimizer against the problem's blocks and interface; returns its block oracles."""
    optimizer.validate(steps, block_shapes)
    if stochastic and optimizer.needs_same_sample and not has_sample_interface(problem):
        raise ValueError(
            f"optimizer {optimizer.name!r} evaluates one sample at two points, but problem "
            f"{getattr(problem, 'name', problem)!r} has no sample/stochastic_grad interface "
            "(use stochastic=False or a problem with a noise model)"
        )
    if stochastic and not has_sample_interface(problem):
        raise ValueError(
            f"stochastic=True needs problem.sample and problem.stochastic_grad; problem "
            f"{getattr(problem, 'name', problem)!r} has none (use stochastic=False)"
        )
    oracles = optimizer.block_oracles(len(block_shapes))
    if "oracle" in record and oracles is None:
        raise ValueError(f"record: 'oracle' needs an optimizer with an oracle; {optimizer.name!r} has none")
    return oracles


def _member_rng(problem, seeds, rng_axes) -> tuple[RNG, np.ndarray | None]:
    """``(the members' RNG, the seed array or None when an RNG was given)``."""
    if isinstance(seeds, RNG):
        return seeds, None
    seed_arr = np.asarray(seeds)
    if not np.issubdtype(seed_arr.dtype, np.integer):
        raise ValueError(f"seeds must be integers (or a lab.random.RNG), got {seeds!r}")
    if hasattr(problem, "make_rng"):
        return problem.make_rng(seed_arr, *rng_axes), seed_arr
    xp_problem = getattr(problem, "xp", None)
    name = getattr(problem, "name", "problem")
    return RNG.from_seeds(seed_arr, name, *rng_axes, xp=xp_problem or get_backend()), seed_arr


def _check_seed_axis(seed_axis, batch_shape) -> int | None:
    if seed_axis is None:
        return None
    if isinstance(seed_axis, bool) or not isinstance(seed_axis, (int, np.integer)):
        raise ValueError(f"seed_axis must be an integer or None, got {seed_axis!r}")
    if not -len(batch_shape) <= seed_axis < len(batch_shape):
        raise ValueError(f"seed_axis {seed_axis} is out of range for the batch shape {batch_shape}")
    return int(seed_axis) % len(batch_shape)


def _initial_params(problem, x0, rng, block_shapes, batch_shape) -> tuple:
    params = check_params(problem.x0(rng) if x0 is None else x0, "x0")
    for i, (X, shape) in enumerate(zip(params, block_shapes, strict=True)):
        if tuple(X.shape) != batch_shape + shape:
            raise ValueError(f"x0[{i}] must have shape {batch_shape + shape}, got {tuple(X.shape)}")
    return params


# ------------------------------------------------------------------------------------------ state and step


class _Loop:
    """The state of a run between iterations, and the iteration itself.

    Holds the iterate X_k, the optimizer state, f(X_k), the frozen (diverged) members, the last
    checked iterate they return to, and the metrics recorded so far.
    """

    def __init__(self, plan: _Plan, optimizer: Optimizer):
        problem, xp = plan.problem, namespace(plan.params[0])
        self.plan, self.problem, self.optimizer, self.xp = plan, problem, optimizer, xp
        self.dtype = plan.params[0].dtype
        self.params = plan.params
        self.state = optimizer.init(plan.params)
        self.f_star = getattr(getattr(problem, "constants", None), "f_star", None)
        self.rec = _Recorder(xp, self.dtype, plan.batch_shape, len(plan.ckpts))
        self.ck_index = {int(k): c for c, k in enumerate(plan.ckpts)}
        self.threshold = math.inf if plan.diverge_threshold is None else plan.diverge_threshold
        self.frozen = xp.zeros(plan.batch_shape, dtype=xp.bool)
        self.any_frozen = False
        self.diverged_at = xp.full(plan.batch_shape, -1, dtype=xp.int64)
        self.f_cur = problem.f(self.params)
        if bool(xp.any(_out_of_bounds(xp, self.f_cur, self.threshold))):
            raise ValueError(
                "x0: the loss at the start is NaN/Inf or above diverge_threshold for some members"
            )
        self.sample_rng = plan.rng.fold("sample")
        self.oracle_rng = plan.rng.fold("oracle")
        self.want_running = "running" in plan.record
        every = plan.check_every
        self.check_at = set(range(every, plan.steps + 1, every)) | {int(k) for k in plan.ckpts if k > 0}
        self.check_at.add(plan.steps)
        self.snapshot = (self.params, self.state, self.f_cur)
        self.pending_bad = None
        self.running = {
            "dual_min": None, "fro_min": None, "num": None, "den": 0.0, "seed_axis": plan.seed_axis
        }  # fmt: skip

    def run(self, bar, callback) -> None:
        """Iterations 0…T; after each step ``bar.update(1)`` and ``callback(t)`` (either may be None)."""
        # Diverging members overflow by design; they are detected and frozen, so NumPy's floating-point
        # warnings are silenced inside the loop (they would otherwise stop the whole batch under -W error).
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for k in range(self.plan.steps + 1):
                self.iterate(k)
                if k == self.plan.steps:
                    break
                if bar is not None:
                    bar.update(1)
                if callback is not None:
                    callback(k + 1)

    def iterate(self, k: int) -> None:
        """Iteration k: the step from X_k (k < T), checkpoint k's metrics, then X_{k+1} accepted."""
        problem, stochastic = self.problem, self.plan.stochastic
        c = self.ck_index.get(k)
        info = step_bad = None
        if k < self.plan.steps:
            t = k + 1
            gradient = gradient_fn(problem, self.sample_rng.at(t), stochastic=stochastic)
            guard = _GradientGuard(gradient, self.xp)
            oracle_rng = self.oracle_rng.at(t)
            new_params, new_state, info = self.optimizer.update(self.state, self.params, guard, oracle_rng)
            step_bad = guard.bad
        if c is not None or self.want_running:
            self._measure(c, info, step_bad)
        if k < self.plan.steps:
            self._accept(t, new_params, new_state, step_bad)

    def _measure(self, c, info, step_bad) -> None:
        """Checkpoint c's metrics of X_k (c None: only the running metrics)."""
        xp, plan = self.xp, self.plan
        if info is not None and not plan.stochastic and step_bad is None:
            # deterministic runs: the step's own gradient at X_k is ∇f(X_k); no second evaluation
            grad, grad_bad = info.gradient, None
        else:
            grad, grad_bad = _sanitize(xp, tuple(self.problem.grad(self.params)))
        if c is not None:
            _record_checkpoint(
                self.rec, c, plan.record, self.problem, self.params, grad, self.f_cur, self.f_star,
                plan.norms, info, plan.oracles, xp,
            )  # fmt: skip
            if grad_bad is not None:
                self.rec.invalidate(c, grad_bad, keep=lambda n: n in ("f", "gap") or n.startswith("x_op"))
        if self.want_running:
            _update_running(self.running, grad, plan.norms, info, xp, self.rec, c, grad_bad)

    def _accept(self, t, new_params, new_state, step_bad) -> None:
        """X_t becomes the iterate; at a check step, members that failed go back and freeze."""
        xp = self.xp
        if step_bad is not None:
            self.pending_bad = step_bad if self.pending_bad is None else (self.pending_bad | step_bad)
        if self.any_frozen:  # frozen members keep their iterate and state bit for bit
            keep = ~self.frozen
            new_params = tree_where(keep, new_params, self.params)
            new_state = tree_where(keep, new_state, self.state)
        self.params, self.state = new_params, new_state
        if t not in self.check_at:
            return
        f_new = self.problem.f(self.params)
        bad = _out_of_bounds(xp, f_new, self.threshold)
        if self.pending_bad is not None:
            bad = bad | self.pending_bad
        if self.any_frozen or bool(xp.any(bad)):
            newly = bad & ~self.frozen
            self.diverged_at = xp.where(newly, xp.full_like(self.diverged_at, t), self.diverged_at)
            self.frozen = self.frozen | newly
            # back to the last checked iterate (the previous step when check_every = 1)
            ok = ~newly  # (the step count, a Python int, stays the current one)
            self.params = tree_where(ok, self.params, self.snapshot[0])
            self.state = tree_where(ok, self.state, self.snapshot[1])
            f_new = xp.where(ok, f_new, self.snapshot[2])
            self.any_frozen = self.any_frozen or bool(xp.any(newly))
        self.f_cur = f_new
        self.snapshot = (self.params, self.state, self.f_cur)
        self.pending_bad = None


# ------------------------------------------------------------------------------------------ assembly


def _assemble(plan: _Plan, optimizer: Optimizer, loop: _Loop, wall: float) -> RunResult:
    """The :class:`RunResult` of a finished loop (host arrays, status, message, configuration)."""
    div_host = np.asarray(to_numpy(loop.diverged_at), dtype=np.int64)
    batch_shape = plan.batch_shape

    def mask_after_divergence(stack):
        # checkpoint k is NaN for members whose iterate k was never reached (k >= diverged_at)
        d = np.where(div_host >= 0, div_host, np.iinfo(np.int64).max)
        invalid = plan.ckpts.reshape((-1,) + (1,) * len(batch_shape)) >= d[None, ...]
        return np.where(invalid, np.nan, stack)

    metrics = loop.rec.to_host(mask_after_divergence)
    status, msg = _status(plan, loop, div_host)
    members = {}
    if plan.seed_arr is not None:
        members["seed"] = np.broadcast_to(plan.seed_arr, batch_shape)
    members.update(optimizer.member_values(batch_shape))
    return RunResult(
        checkpoints=plan.ckpts,
        metrics=metrics,
        status=status,
        diverged_at=div_host,
        message=msg,
        steps=plan.steps,
        batch_shape=batch_shape,
        seeds=None if plan.seed_arr is None else np.broadcast_to(plan.seed_arr, batch_shape),
        members=members,
        config=_config(plan, optimizer),
        provenance=provenance(loop.xp, loop.dtype),
        wall_time=wall,
        final_params=loop.params,
        final_state=loop.state,
    )


def _status(plan: _Plan, loop: _Loop, div_host: np.ndarray) -> tuple[np.ndarray, str]:
    """Each member's status (converged / running / diverged) and the one-line message."""
    xp = loop.xp
    with np.errstate(over="ignore", invalid="ignore"):  # a frozen member may sit far out: inf is honest
        grad_final = plan.problem.grad(loop.params)
        gfro = xp.sqrt(_sum_blocks(xp, [_inner(xp, G, G) for G in grad_final]))
    gfro_host = np.asarray(to_numpy(gfro), dtype=np.float64)
    status = np.full(plan.batch_shape, "running", dtype="<U9")
    if plan.gtol is not None:
        status[gfro_host <= float(plan.gtol)] = "converged"
    status[div_host >= 0] = "diverged"
    n_div = int(np.sum(div_host >= 0))
    B = int(np.prod(plan.batch_shape, dtype=np.int64)) if plan.batch_shape else 1
    counts = {s: int(np.sum(status == s)) for s in STATUSES}
    msg = f"{B} member(s) after {plan.steps} steps: " + ", ".join(f"{v} {s}" for s, v in counts.items() if v)
    if n_div:
        msg += f" (first divergence at step {int(div_host[div_host >= 0].min())})"
    return status, msg


def _config(plan: _Plan, optimizer: Optimizer) -> dict:
    """The run's configuration: problem, optimizer and the runner's options."""
    problem = plan.problem
    return {
        "problem": (
            problem.describe() if hasattr(problem, "describe") else {"name": getattr(problem, "name", "")}
        ),
        "optimizer": optimizer.describe(),
        "runner": {
            "steps": plan.steps,
            "record": list(plan.record),
            "checkpoints": plan.checkpoints if isinstance(plan.checkpoints, str) else plan.ckpts.tolist(),
            "diverge_threshold": plan.diverge_threshold,
            "stochastic": plan.stochastic,
            "gtol": plan.gtol,
            "check_every": plan.check_every,
            "rng_axes": list(plan.rng_axes),
            "seed_axis": plan.seed_axis,
            "dual_norms": [n.describe() for n in plan.norms],
            "batch_shape": list(plan.batch_shape),
        },
    }


# ------------------------------------------------------------------------------------------ metrics of a step


def _record_checkpoint(rec, c, record, problem, params, grad, f_cur, f_star, norms, info, oracles, xp):
    """Metrics of iterate X_k (and of the step from it, when ``info`` is given) into row c."""
    p = len(params)
    if "loss" in record:
        rec.put(c, "f", f_cur)
        if f_star is not None:
            rec.put(c, "gap", f_cur - f_star)
    duals = None
    if "grad" in record or "lion" in record:
        duals = [norms[i].dual(grad[i]) for i in range(p)]
    if "grad" in record:
        rec.put(c, "grad_dual", _sum_blocks(xp, duals))
        rec.put(c, "grad_fro", xp.sqrt(_sum_blocks(xp, [_inner(xp, G, G) for G in grad])))
        for i in range(p):
            rec.put(c, f"grad_dual_b{i}", duals[i])
    if "params" in record:
        op = get_norm("spectral")
        for i in range(p):
            rec.put(c, f"x_op_b{i}", op.norm(params[i]))
    if info is None:
        return
    if "estimator" in record and info.estimate is not None:
        E = [info.estimate[i] - grad[i] for i in range(p)]
        rec.put(c, "est_err_fro", xp.sqrt(_sum_blocks(xp, [_inner(xp, e, e) for e in E])))
        rec.put(c, "est_err_dual", _sum_blocks(xp, [norms[i].dual(E[i]) for i in range(p)]))
    if "step" in record:
        rec.put(c, "lr", info.lr)
        for i in range(p):
            rec.put(c, f"step_b{i}", info.step_sizes[i])
    if "oracle" in record and info.oracle_input is not None:
        for i in range(p):
            d = oracles[i].diagnostics(info.oracle_input[i], info.direction[i])
            for key in ("delta", "alignment", "overshoot"):
                rec.put(c, f"oracle_{key}_b{i}", d[key])
    if "lion" in record:
        lr = rec.full(info.lr)
        lam = rec.full(info.weight_decay)
        S = None
        H = rec.full(0.0) + f_cur
        for i in range(p):
            step_i = rec.full(info.step_sizes[i])
            inv_radius = lr * lam / step_i
            term = duals[i] + inv_radius * _inner(xp, grad[i], params[i])
            S = term if S is None else S + term
            if info.estimate is not None and info.beta is not None:
                M = info.estimate[i]
                beta = rec.full(info.beta)
                s_i = step_i / lr
                H = H + lr / (1.0 - beta) * (s_i * norms[i].dual(M) + lam * _inner(xp, M, params[i]))
        rec.put(c, "stationarity", S)
        if info.estimate is not None and info.beta is not None:
            rec.put(c, "lyapunov", H)


def _update_running(running, grad, norms, info, xp, rec, c, grad_bad=None):
    """Running minima of ‖∇f‖_* and ‖∇f‖_F and the η-weighted average, over every iterate so far."""
    p = len(grad)
    dual = _sum_blocks(xp, [norms[i].dual(grad[i]) for i in range(p)])
    fro = xp.sqrt(_sum_blocks(xp, [_inner(xp, G, G) for G in grad]))
    if grad_bad is not None:
        dual = xp.where(grad_bad, xp.full_like(dual, math.nan), dual)
        fro = xp.where(grad_bad, xp.full_like(fro, math.nan), fro)
    ax = running.get("seed_axis")
    if ax is not None:  # min over t of the seed mean (the other order; module docstring)
        mean_dual = xp.mean(dual, axis=ax, keepdims=True)
        mean_fro = xp.mean(fro, axis=ax, keepdims=True)
    if running["dual_min"] is None:
        running["dual_min"], running["fro_min"] = dual, fro
        running["num"] = rec.full(0.0)
        running["den"] = rec.full(0.0)
        if ax is not None:
            running["dual_mean_min"], running["fro_mean_min"] = mean_dual, mean_fro
    else:
        running["dual_min"] = xp.minimum(running["dual_min"], dual)
        running["fro_min"] = xp.minimum(running["fro_min"], fro)
        if ax is not None:
            running["dual_mean_min"] = xp.minimum(running["dual_mean_min"], mean_dual)
            running["fro_mean_min"] = xp.minimum(running["fro_mean_min"], mean_fro)
    if c is not None:
        rec.put(c, "grad_dual_min", running["dual_min"])
        rec.put(c, "grad_fro_min", running["fro_min"])
        rec.put(c, "grad_dual_min_over_t_per_seed", running["dual_min"])
        rec.put(c, "grad_fro_min_over_t_per_seed", running["fro_min"])
        if ax is not None:
            rec.put(c, "grad_dual_min_over_t_of_mean", running["dual_mean_min"])
            rec.put(c, "grad_fro_min_over_t_of_mean", running["fro_mean_min"])
        den = running["den"]
        safe = xp.where(den > 0, den, xp.ones_like(den))
        rec.put(c, "grad_dual_avg", xp.where(den > 0, running["num"] / safe, xp.full_like(den, math.nan)))
    if info is not None:
        lr = rec.full(info.lr)
        running["num"] = running["num"] + lr * dual
        running["den"] = running["den"] + lr
