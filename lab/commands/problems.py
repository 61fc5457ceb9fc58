"""``lab problems``: list the registered test problems with their certified constants.

lab problems                         # a table of every problem at its default parameters
lab problems quadratic quartic       # only these
lab problems quadratic --set m=16 --set mu=0.001 --noise gaussian:sigma=0.1
lab problems --json                  # describe() of each, as JSON
lab problems --plugin mymodule       # with the problems the module registers (also: LAB_PLUGINS)
"""

from __future__ import annotations

import argparse
import json
import sys

import problems
from lab.plugins import PluginError, add_plugin_option


def _parse_value(text: str):
    """int, float, bool, list (comma-separated) or string."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    if "," in text:
        return [_parse_value(t) for t in text.split(",") if t]
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def _parse_assignments(items, what: str) -> dict:
    out = {}
    for item in items or ():
        if "=" not in item:
            raise ValueError(f"{what} must look like KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        out[key.strip()] = _parse_value(value.strip())
    return out


def _parse_noise(spec):
    """'gaussian:sigma=0.1,...' → {'name': 'gaussian', 'sigma': 0.1}; None stays None."""
    if spec is None:
        return None
    name, _, rest = spec.partition(":")
    return {"name": name, **_parse_assignments([p for p in rest.split(";") if p], "--noise parameter")}


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_fmt(x) for x in v) + "]"
    return str(v)


def _table(descriptions) -> str:
    cols = [
        "problem",
        "blocks",
        "L_frob",
        "L_spec",
        "L_op",
        "mu",
        "f*",
        "sigma2",
        "L_ms",
        "G",
        "layer-wise (norm: L0, L1 @ radius)",
    ]
    rows = []
    for d in descriptions:
        c = d["constants"]
        blocks = "; ".join(
            f"{b['norm']}: {_fmt(b['L0'])}, {_fmt(b['L1'])}"
            + (f" @ {_fmt(b['radius'])}" if b["radius"] else "")
            for b in c["blocks"]
        )
        noise = d["noise"]["name"]
        rows.append(
            [
                d["name"] + ("" if noise == "none" else f" +{noise}"),
                " ".join("x".join(str(s) for s in shape) for shape in d["block_shapes"]),
                *(
                    _fmt(c[k])
                    for k in ("L_frobenius", "L_spectral", "L_op", "mu", "f_star", "sigma2", "L_ms", "G")
                ),
                blocks,
            ]
        )
    widths = [max(len(str(r[i])) for r in [cols, *rows]) for i in range(len(cols))]
    line = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths, strict=True)).rstrip()  # noqa: E731
    return "\n".join([line(cols), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def run(args) -> int:
    try:
        problems.load_plugins(args.plugin)
    except PluginError as exc:
        print(f"lab problems: error: {exc}", file=sys.stderr)
        return 2
    names = args.names or sorted(problems.REGISTRY)
    try:
        params = _parse_assignments(args.set, "--set")
        noise = _parse_noise(args.noise)
        descriptions = []
        for name in names:
            allowed = problems.parameters(name) if name in problems.REGISTRY else {}
            kw = {k: v for k, v in params.items() if k in allowed} if len(names) > 1 else params
            descriptions.append(problems.make(name, noise=noise, **kw).describe())
    except (TypeError, ValueError) as exc:
        print(f"lab problems: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(descriptions, indent=2))
    else:
        print(_table(descriptions))
        print(
            "\nL_frob: ‖∇f(X)−∇f(Y)‖_F ≤ L‖X−Y‖_F;  L_spec: ‖·‖_nuc ≤ L‖·‖_op;  L_op: spectral upper model;"
            "  mu: PL;  sigma2: E‖g−∇f‖_F²;  '-': not known / not applicable."
        )
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "problems",
        help="list the test problems and their certified constants",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("names", nargs="*", help="problem names (default: all registered)")
    p.add_argument("--json", action="store_true", help="print describe() of each problem as JSON")
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="a constructor parameter (repeatable; lists comma-separated)",
    )
    p.add_argument("--noise", metavar="NAME[:K=V;K=V]", help="attach a noise model, e.g. gaussian:sigma=0.1")
    add_plugin_option(p)
    p.set_defaults(func=run)
