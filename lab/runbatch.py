"""Chunked, cached and memory-guarded execution of one ``lab run`` configuration.

A run of B members (seeds × swept hyperparameters) is cut into chunks of consecutive members.
Each chunk is an ordinary :func:`lab.runner.run` on its members, stored in the lab's cache
(:class:`lab.cache.Cache`, experiment name ``run``) as soon as it is done.  Members of a batch do not
interact (each one's random streams derive from its own seed, and every batched operation acts on
each member's matrices separately), so the concatenated chunks equal one run of the whole batch,
number for number; a killed run therefore resumes from its finished chunks with identical results.
Each chunk's cache entry is locked while it is computed, so a second identical run waits for it and
loads it instead of computing it again.

Memory: :func:`estimate` counts the bytes a run needs before anything is allocated (the problem's
data from its size parameters, the members' iterates and optimizer state, the recorded metrics), and
:func:`check_memory` refuses a run above the limit (default: half of this machine's memory).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import lab
import problems as problems_pkg
from lab.cache import Cache, code_version
from lab.runner import STATUSES, RunResult, log_checkpoints, provenance, run

__all__ = [
    "CACHE_NAME",
    "MemoryEstimate",
    "parse_bytes",
    "format_bytes",
    "memory_limit",
    "estimate",
    "check_memory",
    "chunk_bounds",
    "run_chunks",
]

CACHE_NAME = "run"
#: Working memory a chunk may take by default; it sets the default chunk size (members per chunk).
CHUNK_BYTES = 256 * 2**20
MAX_CHUNK_MEMBERS = 1024
#: Copies of the parameters a member holds at once: iterate, candidate, gradient, the divergence
#: snapshot, optimizer state (momentum, buffers) and its candidate, the oracle's input and output,
#: plus temporaries; a generous count so that the guard errs on the side of refusing.
STATE_COPIES = 16
#: Dense matrices over the largest size parameter that a problem builds at once (random
#: orthogonal factors, their QR workspace, the curvature factors); measured for quadratic
#: (m = 1000: 15, m = 3000: 9 matrices of m × m at peak).
PROBLEM_MATRICES = 12
#: Bytes one recorded metric value costs until the result is written: the chunk's rows, the
#: assembled (K, B) arrays, and the npz buffer.
METRIC_COPIES = 3

_SIZE_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([kKmMgGtT]?)(i?[bB])?\s*$")
_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
_NOT_SIZES = {"seed", "N"}


def parse_bytes(text, option: str = "--max-memory") -> int:
    """Bytes from ``2G``, ``512M``, ``1.5GiB``, ``300000`` (K, M, G, T are powers of 1024)."""
    if isinstance(text, (int, np.integer)) and not isinstance(text, bool) and text > 0:
        return int(text)
    m = _SIZE_RE.match(str(text))
    if not m:
        raise ValueError(f"{option} must be a size such as 2G, 512M or 1.5GiB, got {text!r}")
    value = float(m.group(1)) * _UNITS[m.group(2).lower()]
    if not value >= 1:
        raise ValueError(f"{option} must be at least one byte, got {text!r}")
    return int(value)


def format_bytes(n: float) -> str:
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def _physical_memory() -> int:
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    # A container's limit is lower than the host's memory that sysconf reports.
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = open(path).read().strip()
        except OSError:
            continue
        if text.isdigit() and 0 < int(text) < total:
            total = int(text)
    return total


def memory_limit(max_memory=None) -> tuple[int, str]:
    """(limit in bytes, how it was set): ``max_memory`` if given, else half of this machine's memory."""
    if max_memory is not None:
        return parse_bytes(max_memory), "--max-memory"
    return _physical_memory() // 2, "half of this machine's memory; raise it with --max-memory"


@dataclass
class MemoryEstimate:
    """Bytes a run needs, by part; ``total`` is what the guard compares with the limit."""

    problem: int
    members: int
    metrics: int
    detail: str

    @property
    def total(self) -> int:
        return self.problem + self.members + self.metrics

    def describe(self) -> str:
        return (
            f"about {format_bytes(self.total)} (problem data {format_bytes(self.problem)}, "
            f"members {format_bytes(self.members)}, recorded metrics {format_bytes(self.metrics)}; "
            f"{self.detail})"
        )


def _problem_sizes(params: dict) -> tuple[list[int], int]:
    """(the size parameters, the sample count N) among a problem's constructor parameters."""
    dims, n_samples = [], 0
    for key, value in params.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        ints = [int(v) for v in values if isinstance(v, (int, np.integer)) and not isinstance(v, bool)]
        if key == "N":
            n_samples = max(ints, default=0)
        elif key not in _NOT_SIZES:
            dims.extend(v for v in ints if v > 0)
    return dims, n_samples


def num_checkpoints(steps: int, checkpoints) -> int:
    if checkpoints == "all":
        return steps + 1
    if checkpoints == "log" or checkpoints is None:
        return len(log_checkpoints(steps))
    return len(set(checkpoints))


def num_metrics(record, num_blocks: int) -> int:
    per_group = {
        "loss": 2,
        "grad": 2 + num_blocks,
        "estimator": 2,
        "step": 1 + num_blocks,
        "params": num_blocks,
        "oracle": 3 * num_blocks,
        "lion": 2,
        "running": 3,
    }
    return sum(per_group.get(g, 4) for g in record)


def estimate(
    *,
    problem_params: dict,
    members: int,
    steps: int,
    checkpoints,
    record,
    block_shapes=None,
    chunk_members: int | None = None,
    itemsize: int = 8,
) -> MemoryEstimate:
    """The bytes a run needs, from its configuration alone (nothing is allocated).

    Parameters
    ----------
    problem_params : the problem's constructor parameters (defaults filled in); integer parameters
        other than ``seed`` and ``N`` are read as matrix dimensions, ``N`` as a sample count.
    members : B, the number of batch members.
    steps, checkpoints, record : as for :func:`lab.runner.run`.
    block_shapes : the problem's block shapes when known (after construction); None before: the
        members' part is then left out (it is counted again, exactly, once the shapes are known).
    chunk_members : members computed at once (default: all).
    itemsize : bytes per number (8 for float64).
    """
    dims, n_samples = _problem_sizes(problem_params)
    big = max(dims, default=1)
    problem = itemsize * PROBLEM_MATRICES * (big * big + n_samples * big)
    blocks = [tuple(int(d) for d in s) for s in block_shapes] if block_shapes is not None else []
    K = num_checkpoints(steps, checkpoints)
    n_metrics = num_metrics(record, max(1, len(blocks)))
    chunk = members if chunk_members is None else min(members, chunk_members)
    per_member = itemsize * sum(STATE_COPIES * r * c + 10 * min(r, c) ** 2 for r, c in blocks)
    member_bytes = chunk * per_member + members * 16  # + the seed and hyperparameter arrays
    metric_bytes = METRIC_COPIES * K * members * n_metrics * 8
    size_text = ", ".join(f"{k}={v}" for k, v in problem_params.items() if isinstance(v, int) and k != "seed")
    detail = (
        f"{members} member(s)"
        + (f", {chunk} at a time" if chunk_members is not None else "")
        + f", {K} checkpoints × {n_metrics} metrics"
        + (f"; problem sizes {size_text}" if size_text else "")
    )
    return MemoryEstimate(problem, member_bytes, metric_bytes, detail)


def check_memory(est: MemoryEstimate, max_memory=None) -> None:
    """ValueError naming the memory limit when ``est`` exceeds it."""
    limit, how = memory_limit(max_memory)
    if est.total > limit:
        raise ValueError(
            f"memory: this run needs {est.describe()}, above the limit of {format_bytes(limit)} "
            f"({how}); reduce the problem size, the members or the checkpoints"
        )


def default_chunk_members(block_shapes, members: int, itemsize: int = 8) -> int:
    """Members per chunk: as many as fit in ``CHUNK_BYTES`` of working memory (at most 1024)."""
    per_member = itemsize * sum(STATE_COPIES * r * c + 10 * min(r, c) ** 2 for r, c in block_shapes)
    return max(1, min(members, MAX_CHUNK_MEMBERS, CHUNK_BYTES // max(per_member, 1)))


def chunk_bounds(members: int, chunk_members: int) -> list[tuple[int, int]]:
    return [(lo, min(lo + chunk_members, members)) for lo in range(0, members, chunk_members)]


@dataclass
class ChunkStats:
    """How the chunks of a run were obtained."""

    chunks: int = 0
    computed: int = 0
    loaded: int = 0


def _arrays(result: RunResult) -> dict:
    out = {f"metric/{k}": np.asarray(v) for k, v in result.metrics.items()}
    out.update({f"member/{k}": np.ascontiguousarray(v) for k, v in result.members.items()})
    out["status"] = result.status.astype("U9")
    out["diverged_at"] = result.diverged_at
    out["checkpoints"] = result.checkpoints
    out["wall_time"] = np.asarray(result.wall_time)
    return out


def run_chunks(
    problem,
    make_chunk_optimizer: Callable[[slice], object],
    steps: int,
    seeds: np.ndarray,
    run_kwargs: dict,
    *,
    run_id: str,
    chunk_members: int,
    cache: Cache,
    config: dict,
    progress: Callable[[int], None] | None = None,
    on_chunk: Callable[[int, bool], None] | None = None,
) -> tuple[RunResult, ChunkStats]:
    """Run the members in chunks through the cache and assemble one :class:`RunResult`.

    Parameters
    ----------
    problem : the problem (shared by every chunk).
    make_chunk_optimizer : ``f(slice)`` -> the optimizer of the members in that slice.
    steps, seeds, run_kwargs : as for :func:`lab.runner.run` (``seeds`` is the flat (B,) array).
    run_id : the run's identity (a hash of its configuration); with the chunk's bounds, the
        cache salt (the source of ``lab`` and ``problems``) and the members' values, the key.
    chunk_members : members per chunk.
    cache : where the chunks live.
    config : the result's ``config`` (problem, optimizer and runner descriptions of the whole run).
    progress : called with the number of steps just taken (for a progress bar).
    on_chunk : called with (chunk index, computed?) after each chunk is obtained.
    """
    salt = code_version(lab, problems_pkg)
    bounds = chunk_bounds(int(seeds.shape[0]), chunk_members)
    chunks = _Chunks(problem, make_chunk_optimizer, steps, seeds, run_kwargs, run_id, bounds, cache, salt,
                     progress, on_chunk)
    waiting = []
    for i, (_, key) in enumerate(chunks.keys):
        entry = cache.load(CACHE_NAME, key)
        if entry is not None:
            chunks.take(i, entry)
            continue
        with cache.lock(CACHE_NAME, key, blocking=False) as held:
            if held:
                entry = cache.load(CACHE_NAME, key)  # committed by another run before we locked?
                if entry is not None:
                    chunks.take(i, entry)
                else:
                    chunks.compute(i)
                continue
        waiting.append(i)  # another process computes it: come back when our own chunks are done
    for i in waiting:
        with cache.lock(CACHE_NAME, chunks.keys[i][1]):
            entry = cache.load(CACHE_NAME, chunks.keys[i][1])
            if entry is not None:
                chunks.take(i, entry)
            else:  # its holder died before committing it
                chunks.compute(i)
    return _assemble(chunks.parts, len(bounds), steps, config, problem, run_id), chunks.stats


class _Chunks:
    """The chunks of one :func:`run_chunks` call: their cache keys, and each one run or loaded."""

    def __init__(self, problem, make_chunk_optimizer, steps, seeds, run_kwargs, run_id, bounds, cache, salt,
                 progress, on_chunk):
        self.problem, self.make_chunk_optimizer, self.steps = problem, make_chunk_optimizer, steps
        self.seeds, self.run_kwargs, self.run_id, self.bounds = seeds, run_kwargs, run_id, bounds
        self.cache, self.salt, self.progress, self.on_chunk = cache, salt, progress, on_chunk
        self.stats = ChunkStats(chunks=len(bounds))
        self.keys = []
        for lo, hi in bounds:
            key_config = {"run_id": run_id, "members": [lo, hi], "seeds": seeds[lo:hi], "steps": steps}
            self.keys.append((key_config, Cache.key(CACHE_NAME, key_config, salt)))
        self.parts: dict[int, dict] = {}

    def _step_done(self, t) -> None:
        if self.progress is not None:
            self.progress(1)

    def compute(self, i: int) -> None:
        """Run chunk i's members and store the chunk."""
        lo, hi = self.bounds[i]
        opt = self.make_chunk_optimizer(slice(lo, hi))
        seeds = self.seeds[lo:hi]
        res = run(self.problem, opt, self.steps, seeds, progress=self._step_done, **self.run_kwargs)
        arrays = _arrays(res)
        key_config, key = self.keys[i]
        extra = {"run_id": self.run_id}
        self.cache.store(CACHE_NAME, key, arrays, config=key_config, salt=self.salt, extra=extra)
        self.parts[i] = arrays
        self.stats.computed += 1
        if self.on_chunk is not None:
            self.on_chunk(i, True)

    def take(self, i: int, entry) -> None:
        """Chunk i from a cache entry."""
        self.parts[i] = entry.arrays
        self.stats.loaded += 1
        if self.progress is not None:
            self.progress(self.steps)
        if self.on_chunk is not None:
            self.on_chunk(i, False)


def _assemble(parts, n, steps, config, problem, run_id) -> RunResult:
    chunks = [parts[i] for i in range(n)]
    names = []
    for c in chunks:
        names.extend(k for k in c if k not in names)
    checkpoints = chunks[0]["checkpoints"]

    def cat(name):
        cols = []
        for c in chunks:
            b = c["status"].shape[0]
            if name in c:
                cols.append(c[name])
            else:  # a metric one chunk lacks (not defined for its members): NaN there
                cols.append(np.full((len(checkpoints), b), np.nan))
        return np.concatenate(cols, axis=-1)

    metrics = {k[len("metric/") :]: cat(k) for k in names if k.startswith("metric/")}
    members = {
        k[len("member/") :]: np.concatenate([c[k] for c in chunks]) for k in names if k.startswith("member/")
    }
    status = np.concatenate([c["status"] for c in chunks])
    diverged_at = np.concatenate([c["diverged_at"] for c in chunks]).astype(np.int64)
    B = int(status.shape[0])
    counts = {s: int(np.sum(status == s)) for s in STATUSES}
    msg = f"{B} member(s) after {steps} steps: " + ", ".join(f"{v} {s}" for s, v in counts.items() if v)
    if np.any(diverged_at >= 0):
        msg += f" (first divergence at step {int(diverged_at[diverged_at >= 0].min())})"
    return RunResult(
        checkpoints=checkpoints,
        metrics=metrics,
        status=status,
        diverged_at=diverged_at,
        message=msg,
        steps=steps,
        batch_shape=(B,),
        seeds=members.get("seed"),
        members=members,
        config=config,
        provenance=provenance(getattr(problem, "xp", None), getattr(problem, "dtype", None)),
        wall_time=float(sum(float(c["wall_time"]) for c in chunks)),
        extra={"run_id": run_id},
    )


def count_seeds(run_cfg: dict) -> int:
    """The number of seeds a ``[run]`` table asks for, without listing them (``0-99999999`` is cheap)."""
    if "seeds" in run_cfg:
        spec = run_cfg["seeds"]
        if isinstance(spec, list):
            return len(spec)
        total = 0
        for part in str(spec).split(","):
            part = part.strip()
            if "-" in part[1:]:
                lo, hi = part.split("-", 1)
                total += max(0, int(hi) - int(lo) + 1)
            elif part:
                total += 1
        return total
    return int(run_cfg.get("num_seeds", 1))


def count_members(cfg: dict) -> int:
    """B = seeds × the product of the sweep lengths."""
    n = count_seeds(cfg["run"])
    for values in (cfg.get("sweep") or {}).values():
        n *= len(values) if isinstance(values, list) else 1
    return n
