"""The outcome of :func:`lab.runner.run`: arrays per checkpoint, status per member, a long table.

:class:`RunResult` is scipy.optimize's ``OptimizeResult`` for a batch of runs.  Its metrics are
documented in :mod:`lab.runner`; its files (``.csv`` + ``.npz``) in :mod:`lab.run_files`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lab.cache import config_hash
from lab.run_files import load_run_fields, save_run

__all__ = ["STATUSES", "RunResult"]

#: The status of a member at the end of a run.
STATUSES = ("converged", "running", "diverged")


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
        either the previous file or the complete new one.  The layout is :mod:`lab.run_files`'.
        """
        return save_run(self, path)

    @classmethod
    def load(cls, path) -> RunResult:
        """Read a result written by :meth:`save` (without final params/state)."""
        return cls(**load_run_fields(path))


def _cell(value):
    """A CSV cell for a configuration value: scalars as they are, anything else as JSON."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return json.dumps(value, default=str)
