"""``lab run``: run one configuration (a batch of seeds × swept hyperparameters) and save its table.

lab run --problem quadratic --optimizer muon --opt lr=0.02 --opt oracle=ns:jordan:5 --steps 500
lab run config.toml --out build/runs/muon_q     # a TOML file; options on the command line override it
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

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

For gluon and scion, missing per-block norms (and, for gluon, L0/L1) are taken from the problem's
certified block constants.  Problems: python -c "import problems; print(sorted(problems.REGISTRY))";
optimizers: lab.optimizers.OPTIMIZERS; see --list.
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
    from lab.runner import DEFAULT_RECORD, RECORD_GROUPS

    p = subparsers.add_parser(
        "run",
        help="run one optimizer configuration over a batch of seeds; write CSV + npz",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
    p.add_argument(
        "--backend", choices=("numpy", "cupy", "array_api_strict"), help="array backend (default numpy)"
    )
    p.add_argument("--dtype", choices=("float64", "float32"), help="floating dtype (default float64)")
    p.add_argument(
        "--out",
        type=Path,
        metavar="PATH",
        help="output stem: writes PATH.csv and PATH.npz (default build/runs/<optimizer>_<problem>)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--list", action="store_true", help="list the registered problems and optimizers, then exit"
    )
    p.set_defaults(func=main)


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
    """(problem, optimizer, run keyword arguments, seeds) from a merged configuration."""
    import numpy as np

    import problems
    from lab.optimizers import make_optimizer
    from lab.runner import batch_grid

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
    return problem, optimizer, steps, seed_arr, kwargs, out


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
    import problems
    from lab.optimizers import OPTIMIZERS

    print("problems:  " + " ".join(sorted(problems.REGISTRY)))
    print("noise:     " + " ".join(sorted(problems.NOISE_REGISTRY)))
    print("optimizers: " + " ".join(OPTIMIZERS))
    return 0


def main(args) -> int:
    if args.list:
        return _list()
    from lab.runner import run

    try:
        cfg = load_config(args)
        problem, optimizer, steps, seeds, kwargs, out = build(cfg)
        out = Path(out) if out else Path("build") / "runs" / f"{optimizer.name}_{problem.name}"
        result = run(problem, optimizer, steps, seeds, progress=not args.no_progress, **kwargs)
    except (ValueError, TypeError) as exc:
        print(f"lab run: error: {exc}", file=sys.stderr)
        return 2
    csv_path, npz_path = result.save(out)
    print(result.message)
    print(
        f"wrote {csv_path} and {npz_path} ({len(result.checkpoints)} checkpoints, {result.wall_time:.2f} s)"
    )
    return 0
