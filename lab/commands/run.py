"""``lab run``: run one configuration (a batch of seeds × swept hyperparameters) and save its table.

lab run --problem quadratic --optimizer muon --opt lr=0.02 --opt oracle=ns:jordan:5 --steps 500
lab run config.toml --out build/runs/muon_q     # a TOML file; options on the command line override it
lab run ... --resume                            # continue a killed run of the same configuration
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import tomllib
from pathlib import Path

import numpy as np

import problems
from lab.cache import Cache, atomic_write_bytes, config_hash
from lab.optimizers import OPTIMIZERS, make_optimizer
from lab.plugins import PluginError, add_plugin_option
from lab.runbatch import (
    check_memory,
    chunk_bounds,
    count_members,
    default_chunk_members,
    estimate,
    memory_limit,
    run_chunks,
)
from lab.runner import DEFAULT_RECORD, RECORD_GROUPS, _block_norms, _resolve_checkpoints, batch_grid

DESCRIPTION = """\
Run an optimizer on a problem for a batch of seeds (and, with --sweep, the outer product of
seeds and hyperparameter values), record metrics at log-spaced checkpoints, and write the long
table <out>.csv (one row per member x checkpoint, with configuration and provenance) and the
arrays <out>.npz (lab.runner.RunResult.load reads it back).

Values of --problem-param, --noise-param, --opt and --sweep are TOML literals (0.02, true,
"ns:jordan:5", [1, 2], {kind = "power", value = 0.1, exponent = 0.75}); a value that is not a
TOML literal is taken as a string (so --opt oracle=ns:jordan:5 works unquoted).

TOML configuration (every table optional except [problem] and [optimizer]):

  [problem]                 name = "kronecker_quadratic", plus the problem's parameters
  [noise]                   name = "gaussian", sigma = 0.1 (a noise model for the problem)
  [optimizer]               name = "muon", lr = 0.02, beta = 0.95, oracle = "ns:jordan:5", ...
                            (schedules as inline tables: lr = {kind = "power", value = 0.1,
                            exponent = 0.75}; kinds: constant, horizon, power, anytime_beta)
  [run]                     steps, seeds or num_seeds, record, checkpoints, stochastic,
                            diverge_threshold, check_every, gtol, backend, dtype, out
  [sweep]                   lr = [0.01, 0.02], beta = [0.9, 0.95]  (outer product with the seeds)

Output: the target is checked before any work (its directory must be writable); existing results
are never overwritten unless --force.  The members run in chunks (--chunk-size members at a time),
each stored in the lab's cache ($LAB_CACHE_DIR) when done and locked while it is computed: a
killed run continues with --resume (finished chunks are loaded, the results are identical), and a
second identical run at the same time waits for the chunks the first computes and loads them.
Until the run finishes, <out>.partial.json records it.  Before any work, the memory the run needs is
estimated (problem data, members' iterates and optimizer state, recorded metrics); above
--max-memory (default: half of this machine's memory) the run stops with an error.

For gluon and scion, missing per-block norms (and, for gluon, L0/L1) are taken from the problem's
certified block constants.  Problems: python -c "import problems; print(sorted(problems.REGISTRY))";
optimizers: lab.optimizers.OPTIMIZERS; see --list.  A problem of your own: --plugin MODULE (or
LAB_PLUGINS=MODULE,...) imports a module that registers it with problems.register; installed
packages register theirs through the entry-point group muon_lab.problems.
"""

RUN_KEYS = (
    "steps",
    "seeds",
    "num_seeds",
    "record",
    "checkpoints",
    "stochastic",
    "diverge_threshold",
    "check_every",
    "gtol",
    "backend",
    "dtype",
    "out",
)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "run",
        help="run one optimizer configuration over a batch of seeds; write CSV + npz",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_problem_options(p)
    _add_optimizer_options(p)
    _add_run_options(p)
    _add_array_options(p)
    _add_output_options(p)
    p.set_defaults(func=main)


def _add_problem_options(p: argparse.ArgumentParser) -> None:
    """The configuration file, the problem and its noise model."""
    p.add_argument(
        "config",
        nargs="?",
        type=Path,
        default=None,
        help="a TOML configuration file (tables [problem], [noise], [optimizer], [run], [sweep])",
    )
    p.add_argument("--problem", metavar="NAME", help="registered problem name (problems.REGISTRY)")
    p.add_argument(
        "--problem-param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a problem constructor parameter (repeatable), e.g. m=16",
    )
    p.add_argument("--noise", metavar="NAME", help="noise model for stochastic gradients, e.g. gaussian")
    p.add_argument(
        "--noise-param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a noise-model parameter (repeatable), e.g. sigma=0.1",
    )


def _add_optimizer_options(p: argparse.ArgumentParser) -> None:
    """The optimizer, its options and the swept hyperparameters."""
    p.add_argument(
        "--optimizer", metavar="NAME", help="registered optimizer name (lab.optimizers.OPTIMIZERS)"
    )
    p.add_argument(
        "--opt",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an optimizer option (repeatable), e.g. lr=0.02, beta=0.95, oracle=ns:jordan:5",
    )
    p.add_argument(
        "--sweep",
        action="append",
        default=[],
        metavar="KEY=[V1,V2,...]",
        help="sweep a hyperparameter: the batch is the outer product seeds x values (repeatable)",
    )


def _add_run_options(p: argparse.ArgumentParser) -> None:
    """Steps, seeds, what is recorded, and when members stop."""
    p.add_argument("--steps", type=int, help="number of steps T (default 1000)")
    p.add_argument("--seeds", metavar="LIST", help="seeds, e.g. 0,1,2 or 0-9 (default 0)")
    p.add_argument("--num-seeds", type=int, metavar="N", help="seeds 0..N-1 (instead of --seeds)")
    p.add_argument(
        "--record",
        nargs="+",
        choices=RECORD_GROUPS,
        metavar="GROUP",
        help=f"metric groups among {' '.join(RECORD_GROUPS)} (default {' '.join(DEFAULT_RECORD)})",
    )
    p.add_argument(
        "--checkpoints",
        metavar="SPEC",
        help="'log' (default: ~10 per decade), 'all', or a comma-separated list of step indices",
    )
    p.add_argument(
        "--deterministic", action="store_true", help="exact gradients (problem.grad) instead of sampled ones"
    )
    p.add_argument(
        "--diverge-threshold",
        type=float,
        metavar="X",
        help="members with loss > X (or NaN/Inf) are frozen and marked diverged (default: NaN/Inf only)",
    )
    p.add_argument("--check-every", type=int, metavar="N", help="divergence check every N steps (default 1)")
    p.add_argument(
        "--gtol", type=float, metavar="X", help="members whose final ||grad f||_F <= X get status 'converged'"
    )


def _add_array_options(p: argparse.ArgumentParser) -> None:
    """The array backend and the floating dtype."""
    p.add_argument(
        "--backend", choices=("numpy", "cupy", "array_api_strict"), help="array backend (default numpy)"
    )
    p.add_argument("--dtype", choices=("float64", "float32"), help="floating dtype (default float64)")


def _add_output_options(p: argparse.ArgumentParser) -> None:
    """Where results go, resuming, memory limits and --list."""
    p.add_argument(
        "--out",
        type=Path,
        metavar="PATH",
        help="output stem: writes PATH.csv and PATH.npz (default build/runs/<optimizer>_<problem>)",
    )
    p.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bar (there is none either when stderr is not a terminal)",
    )
    p.add_argument("--force", action="store_true", help="overwrite existing results at --out")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the interrupted run recorded in <out>.partial.json (same configuration)",
    )
    p.add_argument(
        "--max-memory",
        metavar="SIZE",
        help="refuse runs estimated to need more memory, e.g. 2G or 512M (default: half of RAM)",
    )
    p.add_argument(
        "--chunk-size",
        type=int,
        metavar="N",
        help="members per chunk (stored and resumable one chunk at a time; default: by memory)",
    )
    p.add_argument(
        "--list", action="store_true", help="list the registered problems and optimizers, then exit"
    )
    add_plugin_option(p)


# ------------------------------------------------------------------------------------------- parsing


def _literal(text: str):
    """A TOML literal, or the text itself when it is not one."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _pairs(items, option: str) -> dict:
    out = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"{option} expects KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        key = key.strip().replace("-", "_")
        if not key:
            raise ValueError(f"{option} expects KEY=VALUE, got {item!r}")
        if key in out:
            raise ValueError(f"{option} {key}: given twice ({key}={out[key]!r}, then {item!r}); give it once")
        out[key] = _literal(value.strip())
    return out


def _seeds(text) -> list[int]:
    if isinstance(text, list):
        if not all(isinstance(s, int) and not isinstance(s, bool) for s in text):
            raise ValueError(f"seeds must list integers, e.g. [0, 1, 2]; got {text!r}")
        return list(text)
    out = []
    try:
        for part in str(text).split(","):
            part = part.strip()
            if "-" in part[1:]:
                lo, hi = part.split("-", 1)
                out.extend(range(int(lo), int(hi) + 1))
            elif part:
                out.append(int(part))
    except ValueError:
        out = []
    if not out:
        raise ValueError(f"seeds must list integers, e.g. 0,1,2 or 0-9; got {text!r}")
    return out


def load_config(args) -> dict:
    """The merged configuration: the TOML file (if any) overridden by the command-line options."""
    cfg: dict = {"problem": {}, "noise": None, "optimizer": {}, "run": {}, "sweep": {}}
    if args.config is not None:
        if not args.config.is_file():
            raise ValueError(f"config: no such file {str(args.config)!r}")
        try:
            data = tomllib.loads(args.config.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"config {str(args.config)!r}: not a TOML file ({exc})") from None
        unknown = sorted(set(data) - set(cfg))
        if unknown:
            raise ValueError(f"config: unknown table(s) {unknown}; allowed: {sorted(cfg)}")
        for key in cfg:
            if key in data:
                cfg[key] = dict(data[key]) if isinstance(data[key], dict) else data[key]
    if args.problem:
        cfg["problem"]["name"] = args.problem
    cfg["problem"].update(_pairs(args.problem_param, "--problem-param"))
    if args.noise or args.noise_param:
        noise = dict(cfg["noise"] or {})
        if args.noise:
            noise["name"] = args.noise
        noise.update(_pairs(args.noise_param, "--noise-param"))
        cfg["noise"] = noise
    if args.optimizer:
        cfg["optimizer"]["name"] = args.optimizer
    cfg["optimizer"].update(_pairs(args.opt, "--opt"))
    cfg["sweep"].update(_pairs(args.sweep, "--sweep"))
    run = cfg["run"]
    unknown = sorted(set(run) - set(RUN_KEYS))
    if unknown:
        raise ValueError(f"[run]: unknown key(s) {unknown}; allowed: {list(RUN_KEYS)}")
    for key in (
        "steps",
        "record",
        "checkpoints",
        "diverge_threshold",
        "check_every",
        "gtol",
        "backend",
        "dtype",
        "out",
    ):
        value = getattr(args, key)
        if value is not None:
            run[key] = value
    if args.seeds is not None:
        run["seeds"] = args.seeds
        run.pop("num_seeds", None)
    if args.num_seeds is not None:
        run["num_seeds"] = args.num_seeds
        run.pop("seeds", None)
    if args.deterministic:
        run["stochastic"] = False
    if "name" not in cfg["problem"]:
        raise ValueError("problem: name the problem with --problem NAME or [problem] name = ...")
    if "name" not in cfg["optimizer"]:
        raise ValueError("optimizer: name the optimizer with --optimizer NAME or [optimizer] name = ...")
    return cfg


# ------------------------------------------------------------------------------------------- building


def build(cfg: dict):
    """(problem, optimizer, steps, seeds, run keyword arguments, out) from a merged configuration."""
    plan = _plan(cfg)
    return plan["problem"], plan["optimizer"], plan["steps"], plan["seeds"], plan["kwargs"], plan["out"]


def _plan(cfg: dict) -> dict:
    """The pieces of a run: problem, optimizer (all members), ``make_chunk(slice)`` (the optimizer
    of a slice of the members), steps, the flat seed array, the runner's keyword arguments, out."""


    run = dict(cfg["run"])
    pcfg = dict(cfg["problem"])
    name = pcfg.pop("name")
    allowed = problems.parameters(name) if name in problems.REGISTRY else {}
    for key in ("backend", "dtype"):
        if key in run:
            if key not in allowed:
                raise ValueError(f"{key}: problem {name!r} has no {key!r} parameter")
            pcfg[key] = run.pop(key)
    problem = problems.make(name, noise=cfg["noise"], **pcfg)

    ocfg = dict(cfg["optimizer"])
    oname = ocfg.pop("name")
    _problem_defaults(oname, ocfg, problem)
    if "seeds" in run and "num_seeds" in run:
        raise ValueError("seeds and num_seeds: give one of them")
    if "seeds" in run:
        seeds = _seeds(run.pop("seeds"))
    else:
        num = run.pop("num_seeds", 1)
        if isinstance(num, bool) or not isinstance(num, int) or num < 1:
            raise ValueError(f"num_seeds must be an integer >= 1, got {num!r}")
        seeds = list(range(num))
    sweep = cfg["sweep"]
    if sweep:
        for key, values in sweep.items():
            if not isinstance(values, list) or not values:
                raise ValueError(f"sweep {key}: give a non-empty list of values, e.g. {key}=[0.01, 0.02]")
            if key in ocfg:
                raise ValueError(f"sweep {key}: also given as a fixed optimizer option; give one of them")
        grid = batch_grid(seed=seeds, **sweep)
        seed_arr = grid.seeds
        ocfg.update({k: grid[k] for k in sweep})
    else:
        seed_arr = np.asarray(seeds, dtype=np.int64)
    optimizer = make_optimizer(oname, **ocfg)

    def make_chunk(members: slice):
        return make_optimizer(oname, **{k: (v[members] if k in sweep else v) for k, v in ocfg.items()})

    kwargs = {
        "record": tuple(run.pop("record")) if "record" in run else None,
        "checkpoints": _checkpoints(run.pop("checkpoints", "log")),
        "stochastic": bool(run.pop("stochastic", True)),
        "diverge_threshold": run.pop("diverge_threshold", None),
        "check_every": int(run.pop("check_every", 1)),
        "gtol": run.pop("gtol", None),
    }
    if kwargs["record"] is None:
        del kwargs["record"]
    steps = int(run.pop("steps", 1000))
    out = run.pop("out", None)
    return {
        "problem": problem,
        "optimizer": optimizer,
        "make_chunk": make_chunk,
        "steps": steps,
        "seeds": seed_arr,
        "kwargs": kwargs,
        "out": out,
    }


def _checkpoints(spec):
    if isinstance(spec, list):
        return [int(v) for v in spec]
    if isinstance(spec, str) and spec not in ("log", "all"):
        try:
            return [int(v) for v in spec.split(",") if v.strip()]
        except ValueError:
            raise ValueError(
                f"checkpoints must be 'log', 'all' or a comma-separated list of steps, got {spec!r}"
            ) from None
    return spec


def _problem_defaults(name: str, ocfg: dict, problem) -> None:
    """Per-block norms (gluon, scion) and (L0, L1) (gluon) from the problem's certified constants."""
    if name not in ("gluon", "scion"):
        return
    blocks = problem.constants.blocks
    if "norms" not in ocfg and "oracles" not in ocfg:
        ocfg["norms"] = [b.norm for b in blocks]
    if name == "gluon":
        for key in ("L0", "L1"):
            if key not in ocfg:
                values = [
                    getattr(b, key) if getattr(b, key) is not None else (b.L if key == "L0" else 0.0)
                    for b in blocks
                ]
                if any(v is None for v in values):
                    raise ValueError(
                        f"{key}: the problem does not state it for every block; pass --opt {key}=[...]"
                    )
                ocfg[key] = values


# ------------------------------------------------------------------------------------------- main


def _list() -> int:

    print("problems:  " + " ".join(sorted(problems.REGISTRY)))
    print("noise:     " + " ".join(sorted(problems.NOISE_REGISTRY)))
    print("optimizers: " + " ".join(OPTIMIZERS))
    return 0


class _UsageError(ValueError):
    """An error in the command's use, found before any work (exit 2)."""


def _run_id(cfg: dict) -> str:

    body = {k: v for k, v in cfg.items() if k != "run"}
    body["run"] = {k: v for k, v in cfg["run"].items() if k != "out"}
    return config_hash(body)[:16]


def _paths(out: Path) -> tuple[Path, Path, Path]:
    stem = out.with_suffix("") if out.suffix in (".csv", ".npz") else out
    return (
        stem.with_name(stem.name + ".csv"),
        stem.with_name(stem.name + ".npz"),
        stem.with_name(stem.name + ".partial.json"),
    )


def _check_writable(directory: Path, what: str) -> None:
    """Create ``directory`` and write (then delete) a file in it; a named error otherwise."""
    for parent in (directory, *directory.parents):
        if parent.exists():
            if not parent.is_dir():
                raise _UsageError(f"{what}: {str(parent)!r} is not a directory")
            break
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".lab-run-write-test.")
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise _UsageError(f"{what}: cannot write to {str(directory)!r} ({exc.strerror or exc})") from None


def _check_output(out: Path, run_id: str, args) -> dict | None:
    """Validate --out before any work; the interrupted run's record when resuming."""
    csv_path, npz_path, partial = _paths(out)
    _check_writable(csv_path.parent, "--out")
    for path in (csv_path, npz_path, partial):
        if path.is_dir():
            raise _UsageError(f"--out: {str(path)!r} is a directory")
    if args.force:
        return None
    if args.resume:
        if partial.is_file():
            record = json.loads(partial.read_text())
            if record.get("run_id") != run_id:
                raise _UsageError(
                    f"--resume: {str(partial)!r} records run {record.get('run_id')}, but this "
                    f"configuration is run {run_id}; give the same options, or --force to start over"
                )
            return record
    elif partial.is_file():
        raise _UsageError(
            f"--out: an interrupted run left {str(partial)!r}; pass --resume to continue it "
            "or --force to start over"
        )
    for path in (csv_path, npz_path):
        if path.exists():
            raise _UsageError(f"--out: {str(path)!r} exists; pass --force to overwrite it")
    return None


def _estimate_before_build(cfg: dict, max_memory) -> None:
    """The memory guard before anything is allocated (the problem is not built yet)."""

    name = cfg["problem"].get("name")
    params = dict(problems.parameters(name)) if name in problems.REGISTRY else {}
    params.update({k: v for k, v in cfg["problem"].items() if k != "name"})
    run_cfg = cfg["run"]
    try:
        members = count_members(cfg)
        steps = int(run_cfg.get("steps", 1000))
        checkpoints = _checkpoints(run_cfg.get("checkpoints", "log"))
    except (ValueError, TypeError):
        return  # a malformed option: build() names it
    if steps < 1 or members < 1:
        return
    record = tuple(run_cfg.get("record") or DEFAULT_RECORD)
    check_memory(
        estimate(
            problem_params=params,
            members=members,
            steps=steps,
            checkpoints=checkpoints,
            record=record,
        ),
        max_memory,
    )


def main(args) -> int:
    try:
        problems.load_plugins(args.plugin)  # before the registry is read, --list included
    except PluginError as exc:
        print(f"lab run: error: {exc}", file=sys.stderr)
        return 2
    if args.list:
        return _list()

    try:
        if args.force and args.resume:
            raise _UsageError("--force and --resume: give one of them")
        if args.chunk_size is not None and args.chunk_size < 1:
            raise _UsageError(f"--chunk-size must be an integer >= 1, got {args.chunk_size}")
        if args.max_memory is not None:
            memory_limit(args.max_memory)  # a malformed size is an error before any work
        cfg = load_config(args)
        run_id = _run_id(cfg)
        out = cfg["run"].get("out")
        out = (
            Path(out)
            if out
            else Path("build") / "runs" / f"{cfg['optimizer']['name']}_{cfg['problem']['name']}"
        )
        resume = _check_output(out, run_id, args)
        cache = Cache()
        _check_writable(cache.root, "cache (LAB_CACHE_DIR)")
        _estimate_before_build(cfg, args.max_memory)
        plan = _plan(cfg)
        problem, seeds, steps, kwargs = plan["problem"], plan["seeds"], plan["steps"], plan["kwargs"]
        block_shapes = [tuple(s) for s in problem.block_shapes]
        B = int(seeds.shape[0])
        if resume is not None:
            chunk = int(resume["chunk_members"])
        elif args.chunk_size is not None:
            chunk = min(args.chunk_size, B)
        else:
            chunk = default_chunk_members(block_shapes, B)
        check_memory(
            estimate(
                problem_params=dict(getattr(problem, "params", {}) or {}),
                members=B,
                steps=steps,
                checkpoints=kwargs["checkpoints"],
                record=kwargs.get("record", DEFAULT_RECORD),
                block_shapes=block_shapes,
                chunk_members=chunk,
                itemsize=_itemsize(problem),
            ),
            args.max_memory,
        )
        # Every member's hyperparameters over the horizon, before the first chunk starts (the runner
        # checks each chunk's members again; this finds a bad value in the last chunk up front).
        plan["optimizer"].validate(steps, tuple(block_shapes))
        # The full run's description, as lab.runner.run gives it for one batch of all members.
        probe = run_config(problem, plan["optimizer"], steps, kwargs, B)
    except (ValueError, TypeError) as exc:
        print(f"lab run: error: {exc}", file=sys.stderr)
        return 2
    try:
        return _execute(args, plan, out, run_id, chunk, cache, probe, resume, atomic_write_bytes)
    except (ValueError, TypeError) as exc:  # the runner's own checks, raised before its loop
        print(f"lab run: error: {exc}", file=sys.stderr)
        return 2


def _execute(args, plan, out, run_id, chunk, cache, config, resume, atomic_write_bytes) -> int:

    csv_path, npz_path, partial = _paths(out)
    problem, seeds, steps = plan["problem"], plan["seeds"], plan["steps"]
    n_chunks = len(chunk_bounds(int(seeds.shape[0]), chunk))
    atomic_write_bytes(
        partial,
        json.dumps(
            {"run_id": run_id, "chunk_members": chunk, "chunks": n_chunks, "cache": str(cache.root)}
        ).encode(),
    )
    if resume is not None:
        print(f"resuming run {run_id} ({n_chunks} chunk(s); finished ones are loaded from {cache.root})")
    bar = None
    done: list[int] = []
    if not args.no_progress and sys.stderr.isatty():
        from tqdm.auto import tqdm

        bar = tqdm(total=steps * n_chunks, desc=f"run {run_id[:8]}", unit="step", file=sys.stderr)
    try:
        result, stats = run_chunks(
            problem,
            plan["make_chunk"],
            steps,
            seeds,
            plan["kwargs"],
            run_id=run_id,
            chunk_members=chunk,
            cache=cache,
            config=config,
            progress=bar.update if bar is not None else None,
            on_chunk=lambda i, computed: done.append(i),
        )
    except (ValueError, TypeError):
        if resume is None and not done:
            partial.unlink(missing_ok=True)  # refused before any work: nothing to resume
        raise
    finally:
        if bar is not None:
            bar.close()
    result.save(out)
    partial.unlink(missing_ok=True)
    print(result.message)
    print(
        f"run {run_id}: {stats.chunks} chunk(s) of up to {chunk} member(s): "
        f"{stats.computed} computed, {stats.loaded} loaded from the cache"
    )
    print(
        f"wrote {csv_path} and {npz_path} ({len(result.checkpoints)} checkpoints, {result.wall_time:.2f} s)"
    )
    return 0


def _itemsize(problem) -> int:

    try:
        return int(np.dtype(problem.dtype).itemsize)
    except TypeError:  # a dtype of another array library: its name says the width
        return 4 if "32" in str(problem.dtype) else 8


def run_config(problem, optimizer, steps: int, kwargs: dict, members: int) -> dict:
    """``RunResult.config`` of a one-batch run of all members, without running it."""

    checkpoints = kwargs["checkpoints"]
    ckpts = _resolve_checkpoints(checkpoints, steps)
    norms = _block_norms(optimizer, problem, len(problem.block_shapes))
    return {
        "problem": problem.describe() if hasattr(problem, "describe") else {"name": problem.name},
        "optimizer": optimizer.describe(),
        "runner": {
            "steps": steps,
            "record": list(kwargs.get("record", DEFAULT_RECORD)),
            "checkpoints": checkpoints if isinstance(checkpoints, str) else ckpts.tolist(),
            "diverge_threshold": kwargs["diverge_threshold"],
            "stochastic": kwargs["stochastic"],
            "gtol": kwargs["gtol"],
            "check_every": kwargs["check_every"],
            "rng_axes": [],
            "seed_axis": None,
            "dual_norms": [n.describe() for n in norms],
            "batch_shape": [members],
        },
    }
