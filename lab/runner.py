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
  X_t itself (lab/experiments/s3.py).
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

import io
import json
import math
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

import problems
from lab.backend import namespace, to_numpy
from lab.cache import atomic_write_bytes, config_hash
from lab.optimizers.base import Optimizer, check_params, gradient_fn, has_sample_interface, tree_where
from lab.provenance import run_provenance as provenance
from lab.random import RNG

__all__ = [
    "RECORD_GROUPS",
    "DEFAULT_RECORD",
    "RunResult",
    "BatchGrid",
    "batch_grid",
    "log_checkpoints",
    "run",
    "provenance",
]

RECORD_GROUPS = ("loss", "grad", "estimator", "step", "params", "oracle", "lion", "running")
DEFAULT_RECORD = ("loss", "grad", "estimator", "step", "params")
STATUSES = ("converged", "running", "diverged")


# ------------------------------------------------------------------------------------------ batch


class BatchGrid(NamedTuple):
    """An outer product of seeds and hyperparameter values flattened to a batch (B,).

    seeds : int64 array (B,); values : dict name -> float64 array (B,); axes : dict name -> the
    distinct values of that axis, in order; shape : the grid shape (len of each axis).
    """

    seeds: np.ndarray
    values: dict
    axes: dict
    shape: tuple

    def __getitem__(self, name):  # grid["lr"] -> the (B,) array of lr values
        if isinstance(name, str):
            return self.seeds if name == "seed" else self.values[name]
        return tuple.__getitem__(self, name)


def batch_grid(seed=(0,), **axes) -> BatchGrid:
    """The outer product seed × axis₁ × axis₂ × …, flattened in C order (last axis fastest).

    ``batch_grid(seed=range(3), lr=[0.1, 0.2])`` gives B = 6 runs with seeds [0,0,1,1,2,2] and
    lr [0.1,0.2,0.1,0.2,0.1,0.2].
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
        vals[name] = arr
    shape = (seeds.size,) + tuple(a.size for a in vals.values())
    mesh = np.meshgrid(np.arange(seeds.size), *[np.arange(a.size) for a in vals.values()], indexing="ij")
    out_seeds = seeds[mesh[0].ravel()].astype(np.int64)
    out_vals = {name: a[m.ravel()] for (name, a), m in zip(vals.items(), mesh[1:], strict=True)}
    return BatchGrid(
        out_seeds, out_vals, {"seed": seeds.tolist(), **{k: a.tolist() for k, a in vals.items()}}, shape
    )


def log_checkpoints(steps: int, per_decade: int = 10) -> np.ndarray:
    """0, steps and about ``per_decade`` log-spaced iterate indices per decade in between."""
    if steps <= 0:
        return np.array([0], dtype=np.int64)
    n = max(2, int(math.ceil(per_decade * math.log10(steps + 1))) + 1)
    pts = np.unique(np.round(np.geomspace(1, steps, n)).astype(np.int64))
    return np.unique(np.concatenate([[0], pts, [steps]])).astype(np.int64)


# ------------------------------------------------------------------------------------------ result


@dataclass
class RunResult:
    """The outcome of :func:`run` (fields documented; arrays are host NumPy unless stated).

    Attributes
    ----------
    checkpoints : int64 array (K,) — iterate indices k of the recorded rows (0 = x0, T = last).
    metrics : dict name -> float64 array (K, *batch) — see the module docstring; NaN where not
        defined (e.g. step metrics at k = T, any metric at or after a member's divergence).
    status : str array (*batch) — "converged" (final ‖∇f‖_F ≤ gtol), "running" (budget used up),
        "diverged".
    diverged_at : int64 array (*batch) — the step t whose iterate X_t was rejected (−1: never).
    message : str — a one-line summary.
    steps : int — the number of steps T.
    batch_shape : tuple.
    seeds : int64 array (*batch) or None (when an RNG was passed).
    members : dict name -> array (*batch) — per-member configuration (seed, constant hyperparameters).
    config : dict — problem.describe(), optimizer.describe() and the runner's options.
    provenance : dict — versions, backend, dtype, git revision, host, time.
    wall_time : float — seconds spent in the loop.
    final_params : Params in the run's namespace (None after :meth:`load`).
    final_state : the optimizer state after the last step (None after :meth:`load`).
    """

    checkpoints: np.ndarray
    metrics: dict
    status: np.ndarray
    diverged_at: np.ndarray
    message: str
    steps: int
    batch_shape: tuple
    seeds: Any
    members: dict
    config: dict
    provenance: dict
    wall_time: float = 0.0
    final_params: Any = None
    final_state: Any = None
    extra: dict = field(default_factory=dict)

    @property
    def success(self) -> bool:
        """True when no member diverged."""
        return not bool(np.any(self.status == "diverged"))

    @property
    def num_members(self) -> int:
        return int(np.prod(self.batch_shape, dtype=np.int64)) if self.batch_shape else 1

    def __getitem__(self, name: str) -> np.ndarray:
        return self.metrics[name]

    def final(self, name: str) -> np.ndarray:
        """The metric at the last checkpoint, an array of the batch shape."""
        return self.metrics[name][-1]

    @property
    def run_id(self) -> str:
        """16 hex digits naming this run: a hash of its configuration and its members.

        The same configuration and seeds give the same id (``lab run`` sets it from the command's
        merged configuration; a result built by :func:`run` hashes ``config`` and ``members``).
        """
        rid = self.extra.get("run_id") if self.extra else None
        if rid:
            return str(rid)
        body = json.dumps(
            {"config": self.config, "members": {k: np.asarray(v).tolist() for k, v in self.members.items()}},
            sort_keys=True,
            default=str,
        )
        return config_hash(body)[:16]

    def iter_table(self):
        """The rows of :meth:`to_table`, one at a time (so that writing a large table stays small).

        Columns: ``run_id``, ``member``, the member's hyperparameters (``seed``, ``lr``, ``beta``,
        ... — the values this member ran with, constant over its rows), ``status``,
        ``diverged_at``, ``step`` (the checkpoint k), the metrics recorded at k, then the problem
        (``problem`` and one ``problem_<param>`` column per constructor parameter, ``noise`` and
        ``noise_<param>``), ``optimizer``, ``oracle`` and provenance.  A per-step metric whose
        name is also a member column gets the prefix ``step_``: the scheduled step size η_t of
        the ``step`` group is ``step_lr``, while ``lr`` stays the member's (swept) value.
        """
        B = self.num_members
        flat = {k: np.reshape(v, (len(self.checkpoints), B)) for k, v in self.metrics.items()}
        members = {k: np.reshape(np.asarray(v), (B,)) for k, v in self.members.items()}
        status = np.reshape(self.status, (B,))
        div = np.reshape(self.diverged_at, (B,))
        pcfg = self.config.get("problem", {})
        prob = pcfg.get("name", "")
        opt_cfg = self.config.get("optimizer", {})
        opt = opt_cfg.get("optimizer", "")
        oracles = "+".join(str(o.get("oracle", "")) for o in opt_cfg.get("oracles", []) or [])
        problem_cols = {"problem": prob}
        for k, v in (pcfg.get("params") or {}).items():
            problem_cols[f"problem_{k}"] = _cell(v)
        noise = pcfg.get("noise") or {}
        if noise:
            problem_cols["noise"] = noise.get("name", "")
            for k, v in noise.items():
                if k != "name":
                    problem_cols[f"noise_{k}"] = _cell(v)
        common = {**problem_cols, "optimizer": opt, "oracle": oracles, **self.provenance}
        taken = {"run_id", "member", "status", "diverged_at", "step", *members, *common}
        metric_cols = {k: (f"step_{k}" if k in taken else k) for k in flat}
        run_id = self.run_id
        for j in range(B):
            base = {"run_id": run_id, "member": j}
            for k, v in members.items():
                base[k] = v[j].item() if hasattr(v[j], "item") else v[j]
            base["status"] = str(status[j])
            base["diverged_at"] = int(div[j])
            for c, step in enumerate(self.checkpoints):
                row = dict(base)
                row["step"] = int(step)
                for k, v in flat.items():
                    row[metric_cols[k]] = float(v[c, j])
                row.update(common)
                yield row

    def to_table(self) -> list[dict]:
        """Rows member × checkpoint with configuration and provenance (a long table, benchopt style).

        See :meth:`iter_table` for the columns.
        """
        return list(self.iter_table())

    def save(self, path) -> tuple[Path, Path]:
        """Write ``<path>.csv`` (the table) and ``<path>.npz`` (the arrays, config and provenance).

        Each file is written to a temporary file and moved into place, so a killed process leaves
        either the previous file or the complete new one.

        The ``.npz`` layout (``np.load(..., allow_pickle=False)``; K checkpoints, batch shape S):

        * ``checkpoints`` — int64 (K,), the iterate indices k of the rows;
        * ``metric/<name>`` — float64 (K, *S), one per recorded metric (the keys of ``metrics``;
          the per-step step size is ``metric/lr``, written ``step_lr`` in the CSV);
        * ``member/<name>`` — (*S), per-member configuration: ``seed`` and each hyperparameter;
        * ``status`` — str (*S): "converged", "running" or "diverged";
        * ``diverged_at`` — int64 (*S), the rejected step (−1: never);
        * ``batch_shape`` — int64 (len(S),);
        * ``meta`` — a 0-d str array holding JSON: ``run_id``, ``message``, ``steps``, ``config``
          (problem, optimizer, runner), ``provenance`` and ``wall_time``.
        """
        import csv

        path = Path(path)
        stem = path.with_suffix("") if path.suffix in (".csv", ".npz") else path
        stem.parent.mkdir(parents=True, exist_ok=True)
        csv_path, npz_path = stem.with_name(stem.name + ".csv"), stem.with_name(stem.name + ".npz")
        rows = self.iter_table()
        first = next(rows, None)
        # Streamed to a temporary file (the table can be far larger than the arrays), then moved.
        fd, tmp = tempfile.mkstemp(dir=csv_path.parent, prefix=f".{csv_path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", newline="") as fh:
                if first is not None:
                    writer = csv.DictWriter(fh, fieldnames=list(first))
                    writer.writeheader()
                    writer.writerow(first)
                    writer.writerows(rows)
                fh.flush()
                os.fsync(fh.fileno())
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        arrays = {f"metric/{k}": v for k, v in self.metrics.items()}
        arrays.update({f"member/{k}": np.asarray(v) for k, v in self.members.items()})
        buf = io.BytesIO()
        np.savez(
            buf,
            checkpoints=self.checkpoints,
            status=self.status.astype("U"),
            diverged_at=self.diverged_at,
            batch_shape=np.asarray(self.batch_shape, dtype=np.int64),
            meta=np.asarray(
                json.dumps(
                    {
                        "run_id": self.run_id,
                        "message": self.message,
                        "steps": self.steps,
                        "config": self.config,
                        "provenance": self.provenance,
                        "wall_time": self.wall_time,
                    },
                    default=str,
                )
            ),
            **arrays,
        )
        try:
            atomic_write_bytes(npz_path, buf.getvalue())
            os.replace(tmp, csv_path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return csv_path, npz_path

    @classmethod
    def load(cls, path) -> RunResult:
        """Read a result written by :meth:`save` (without final params/state)."""
        path = Path(path)
        npz = path if path.suffix == ".npz" else path.with_name(path.name.removesuffix(".csv") + ".npz")
        with np.load(npz, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            metrics = {k[len("metric/") :]: z[k] for k in z.files if k.startswith("metric/")}
            members = {k[len("member/") :]: z[k] for k in z.files if k.startswith("member/")}
            return cls(
                checkpoints=z["checkpoints"],
                metrics=metrics,
                status=z["status"],
                diverged_at=z["diverged_at"],
                message=meta["message"],
                steps=meta["steps"],
                batch_shape=tuple(int(v) for v in z["batch_shape"]),
                seeds=members.get("seed"),
                members=members,
                config=meta["config"],
                provenance=meta["provenance"],
                wall_time=meta["wall_time"],
                extra={"run_id": meta["run_id"]} if meta.get("run_id") else {},
            )


def _cell(value):
    """A CSV cell for a configuration value: scalars as they are, anything else as JSON."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return json.dumps(value, default=str)


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
    from lab.norms import get_norm

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
    # ---- validation (no work before this block is through) ----------------------------------
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
    check_every = int(check_every)
    if not isinstance(stochastic, bool):
        raise TypeError(f"stochastic must be True or False, got {stochastic!r}")
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a lab.optimizers.Optimizer, got {type(optimizer).__name__}")
    block_shapes = tuple(tuple(s) for s in problem.block_shapes)
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
    num_blocks = len(block_shapes)
    oracles = optimizer.block_oracles(num_blocks)
    if "oracle" in record and oracles is None:
        raise ValueError(f"record: 'oracle' needs an optimizer with an oracle; {optimizer.name!r} has none")

    if isinstance(seeds, RNG):
        rng, seed_arr = seeds, None
    else:
        seed_arr = np.asarray(seeds)
        if not np.issubdtype(seed_arr.dtype, np.integer):
            raise ValueError(f"seeds must be integers (or a lab.random.RNG), got {seeds!r}")
        xp_problem = getattr(problem, "xp", None)
        if hasattr(problem, "make_rng"):
            rng = problem.make_rng(seed_arr, *rng_axes)
        else:
            from lab.backend import get_backend

            rng = RNG.from_seeds(
                seed_arr, getattr(problem, "name", "problem"), *rng_axes, xp=xp_problem or get_backend()
            )
    batch_shape = tuple(rng.batch_shape)
    optimizer.check_batch(batch_shape)
    if seed_axis is not None:
        if isinstance(seed_axis, bool) or not isinstance(seed_axis, (int, np.integer)):
            raise ValueError(f"seed_axis must be an integer or None, got {seed_axis!r}")
        if not -len(batch_shape) <= seed_axis < len(batch_shape):
            raise ValueError(f"seed_axis {seed_axis} is out of range for the batch shape {batch_shape}")
        seed_axis = int(seed_axis) % len(batch_shape)

    if x0 is None:
        params = check_params(problem.x0(rng), "x0")
    else:
        params = check_params(x0, "x0")
    for i, (X, shape) in enumerate(zip(params, block_shapes, strict=True)):
        if tuple(X.shape) != batch_shape + shape:
            raise ValueError(f"x0[{i}] must have shape {batch_shape + shape}, got {tuple(X.shape)}")
    xp = namespace(params[0])
    dtype = params[0].dtype
    norms = _block_norms(optimizer, problem, num_blocks)
    state = optimizer.init(params)

    # ---- the loop ------------------------------------------------------------------------------
    constants = getattr(problem, "constants", None)
    f_star = getattr(constants, "f_star", None)
    rec = _Recorder(xp, dtype, batch_shape, len(ckpts))
    ck_index = {int(k): c for c, k in enumerate(ckpts)}
    threshold = math.inf if diverge_threshold is None else diverge_threshold
    frozen = xp.zeros(batch_shape, dtype=xp.bool)
    any_frozen = False
    diverged_at = xp.full(batch_shape, -1, dtype=xp.int64)
    f_cur = problem.f(params)
    bad0 = _out_of_bounds(xp, f_cur, threshold)
    if bool(xp.any(bad0)):
        raise ValueError("x0: the loss at the start is NaN/Inf or above diverge_threshold for some members")
    sample_rng = rng.fold("sample")
    oracle_rng = rng.fold("oracle")
    want_running = "running" in record
    check_at = set(range(check_every, steps + 1, check_every)) | {int(k) for k in ckpts if k > 0} | {steps}
    snapshot = (params, state, f_cur)
    pending_bad = None
    running = {"dual_min": None, "fro_min": None, "num": None, "den": 0.0, "seed_axis": seed_axis}

    bar = None
    if progress is True:
        from tqdm.auto import tqdm

        bar = tqdm(
            total=steps, desc=f"{optimizer.name} on {getattr(problem, 'name', 'problem')}", unit="step"
        )
    callback = progress if callable(progress) else None

    t0 = time.perf_counter()
    # Diverging members overflow by design; they are detected and frozen below, so NumPy's floating-point
    # warnings are silenced inside the loop (they would otherwise stop the whole batch under -W error).
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for k in range(steps + 1):
            c = ck_index.get(k)
            need_full = c is not None or want_running
            info = None
            step_bad = None
            if k < steps:
                t = k + 1
                guard = _GradientGuard(gradient_fn(problem, sample_rng.at(t), stochastic=stochastic), xp)
                new_params, new_state, info = optimizer.update(state, params, guard, oracle_rng.at(t))
                step_bad = guard.bad
            if need_full:
                if info is not None and not stochastic and step_bad is None:
                    # deterministic runs: the step's own gradient at X_k is ∇f(X_k); no second evaluation
                    grad, grad_bad = info.gradient, None
                else:
                    grad, grad_bad = _sanitize(xp, tuple(problem.grad(params)))
            if c is not None:
                _record_checkpoint(
                    rec, c, record, problem, params, grad, f_cur, f_star, norms, info, oracles, xp
                )
                if grad_bad is not None:
                    rec.invalidate(c, grad_bad, keep=lambda n: n in ("f", "gap") or n.startswith("x_op"))
            if want_running:
                _update_running(running, grad, norms, info, xp, rec, c, grad_bad)
            if k == steps:
                break
            # ---- divergence check and freezing ------------------------------------------------------
            if step_bad is not None:
                pending_bad = step_bad if pending_bad is None else (pending_bad | step_bad)
            if any_frozen:  # frozen members keep their iterate and state bit for bit
                keep = ~frozen
                new_params = tree_where(keep, new_params, params)
                new_state = tree_where(keep, new_state, state)
            params, state = new_params, new_state
            if t in check_at:
                f_new = problem.f(params)
                bad = _out_of_bounds(xp, f_new, threshold)
                if pending_bad is not None:
                    bad = bad | pending_bad
                if any_frozen or bool(xp.any(bad)):
                    newly = bad & ~frozen
                    diverged_at = xp.where(newly, xp.full_like(diverged_at, t), diverged_at)
                    frozen = frozen | newly
                    # back to the last checked iterate (the previous step when check_every = 1)
                    ok = ~newly  # (the step count, a Python int, stays the current one)
                    params = tree_where(ok, params, snapshot[0])
                    state = tree_where(ok, state, snapshot[1])
                    f_new = xp.where(ok, f_new, snapshot[2])
                    any_frozen = any_frozen or bool(xp.any(newly))
                f_cur = f_new
                snapshot = (params, state, f_cur)
                pending_bad = None
            if bar is not None:
                bar.update(1)
            if callback is not None:
                callback(t)
    wall = time.perf_counter() - t0
    if bar is not None:
        bar.close()

    # ---- assemble ------------------------------------------------------------------------------
    div_host = np.asarray(to_numpy(diverged_at), dtype=np.int64)

    def mask_after_divergence(stack):
        # checkpoint k is NaN for members whose iterate k was never reached (k >= diverged_at)
        d = np.where(div_host >= 0, div_host, np.iinfo(np.int64).max)
        invalid = ckpts.reshape((-1,) + (1,) * len(batch_shape)) >= d[None, ...]
        return np.where(invalid, np.nan, stack)

    metrics = rec.to_host(mask_after_divergence)
    with np.errstate(over="ignore", invalid="ignore"):  # a frozen member may sit far out: inf is honest
        grad_final = problem.grad(params)
        gfro = xp.sqrt(_sum_blocks(xp, [_inner(xp, G, G) for G in grad_final]))
    gfro_host = np.asarray(to_numpy(gfro), dtype=np.float64)
    status = np.full(batch_shape, "running", dtype="<U9")
    if gtol is not None:
        status[gfro_host <= float(gtol)] = "converged"
    status[div_host >= 0] = "diverged"
    n_div = int(np.sum(div_host >= 0))
    B = int(np.prod(batch_shape, dtype=np.int64)) if batch_shape else 1
    counts = {s: int(np.sum(status == s)) for s in STATUSES}
    msg = f"{B} member(s) after {steps} steps: " + ", ".join(f"{v} {s}" for s, v in counts.items() if v)
    if n_div:
        msg += f" (first divergence at step {int(div_host[div_host >= 0].min())})"

    members = {}
    if seed_arr is not None:
        members["seed"] = np.broadcast_to(seed_arr, batch_shape)
    members.update(optimizer.member_values(batch_shape))
    config = {
        "problem": problem.describe()
        if hasattr(problem, "describe")
        else {"name": getattr(problem, "name", "")},
        "optimizer": optimizer.describe(),
        "runner": {
            "steps": steps,
            "record": list(record),
            "checkpoints": checkpoints if isinstance(checkpoints, str) else ckpts.tolist(),
            "diverge_threshold": diverge_threshold,
            "stochastic": stochastic,
            "gtol": gtol,
            "check_every": check_every,
            "rng_axes": list(rng_axes),
            "seed_axis": seed_axis,
            "dual_norms": [n.describe() for n in norms],
            "batch_shape": list(batch_shape),
        },
    }
    return RunResult(
        checkpoints=ckpts,
        metrics=metrics,
        status=status,
        diverged_at=div_host,
        message=msg,
        steps=steps,
        batch_shape=batch_shape,
        seeds=None if seed_arr is None else np.broadcast_to(seed_arr, batch_shape),
        members=members,
        config=config,
        provenance=provenance(xp, dtype),
        wall_time=wall,
        final_params=params,
        final_state=state,
    )


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
        from lab.norms import get_norm

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
