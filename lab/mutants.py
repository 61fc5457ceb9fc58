"""Code-level mutants: realistic bugs planted in an isolated copy of the code under test.

A mutant is one textual edit of one module (an exact source snippet that occurs exactly once, and
its replacement), the kind of slip a person makes: a wrong coefficient, sign, index or constant.
:func:`run_mutant` copies the packages ``lab``, ``problems``, ``bounds`` and ``figures`` to a
temporary directory, applies the edit there, and runs a command (``lab check --quick`` or the
test suite) in a subprocess whose ``PYTHONPATH`` points at the copy and whose ``LAB_CACHE_DIR`` is
a fresh directory, so no cached result of the real code can hide the bug.

A mutant is *killed* by a check when the check's expectation breaks on the mutated code (some
verdict that must hold does not, :meth:`lab.checks.Check.problems`) while it is met on the
unmutated copy.  A check that raises is reported apart ("error" kills): the bug was noticed, but
by a crash, not by a verdict.

These are distinct from the prediction-side planted bugs of :data:`lab.checks.MUTATIONS`
(``understate_constant``, ``wrong_exponent``, ...), which edit the bound or the predicted trend
rather than the code; ``lab mutate`` reports those apart and does not count them in the score.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "MUTANTS",
    "PACKAGES",
    "Mutant",
    "MutantResult",
    "apply_mutant",
    "get_mutant",
    "make_copy",
    "run_mutant",
    "run_mutants",
    "score",
]

#: The packages copied (and patched) for each mutant run.
PACKAGES = ("lab", "problems", "bounds", "figures")

#: Repository root (the directory holding the packages).
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutant:
    """One code-level bug.

    name : short unique id (used by ``lab mutate --only``).
    path : module file, relative to the repository root (e.g. ``lab/norms.py``).
    old : the exact original snippet; it must occur exactly once in ``path``.
    new : its replacement.
    description : one line: what the bug is.
    category : what part of the lab it hits (ns, lmo, oracle, optimizer, runner, stats, problem).
    """

    name: str
    path: str
    old: str
    new: str
    description: str
    category: str

    def occurrences(self, root: Path = ROOT) -> int:
        """How often ``old`` occurs in the module under ``root`` (1 for a well-targeted mutant)."""
        return (Path(root) / self.path).read_text(encoding="utf-8").count(self.old)


def _m(name, path, old, new, description, category) -> Mutant:
    return Mutant(name, path, old, new, description, category)


_ORTH = "lab/orthogonalization.py"
_NORMS = "lab/norms.py"
_ORACLES = "lab/oracles.py"
_TRANSFORMS = "lab/optimizers/transforms.py"
_MOMENTUM = "lab/optimizers/momentum.py"
_LION = "lab/optimizers/lion_k.py"

#: The registry (name -> Mutant), in a stable order.
MUTANTS: dict[str, Mutant] = {
    m.name: m
    for m in (
        # ---- Newton–Schulz presets and normalisation -----------------------------------------
        _m(
            "ns-cubic-sign",
            _ORTH,
            '"cubic": _frozen([(1.5, -0.5, 0.0)])',
            '"cubic": _frozen([(1.5, 0.5, 0.0)])',
            "cubic NS preset with +1/2 instead of -1/2 on the X^3 term",
            "ns",
        ),
        _m(
            "ns-quintic-c",
            _ORTH,
            '"quintic": _frozen([(15 / 8, -10 / 8, 3 / 8)])',
            '"quintic": _frozen([(15 / 8, -10 / 8, 3 / 16)])',
            "quintic NS preset with c = 3/16 instead of 3/8",
            "ns",
        ),
        _m(
            "ns-jordan-typo",
            _ORTH,
            '"jordan": _frozen([(3.4445, -4.7750, 2.0315)])',
            '"jordan": _frozen([(3.4445, -4.7750, 2.3015)])',
            "Jordan's NS coefficients with a digit typo (c = 2.3015 instead of 2.0315)",
            "ns",
        ),
        _m(
            "ns-polar-express-steps",
            _ORTH,
            "polar_express_coefficients(1e-3, 8, 5, PAPER_CUSHION, 1.01, safety_in_recursion=False)",
            "polar_express_coefficients(1e-2, 8, 5, PAPER_CUSHION, 1.01, safety_in_recursion=False)",
            "Polar Express preset designed for l = 1e-2 instead of the published 1e-3",
            "ns",
        ),
        _m(
            "ns-modded-safety",
            _ORTH,
            "_frozen(polar_express_coefficients(1e-3, 5, 5, 0.02, 1.02))",
            "_frozen(polar_express_coefficients(1e-3, 5, 5, 0.02, 1.2))",
            "modded-nanogpt preset with safety factor 1.2 instead of 1.02",
            "ns",
        ),
        _m(
            "ns-normalise-squared",
            _ORTH,
            "fast = G * (1.0 / (xp.sqrt(xp.where(ok, n2, xp.ones_like(n2))) + eps))",
            "fast = G * (1.0 / (xp.where(ok, n2, xp.ones_like(n2)) + eps))",
            "NS input divided by the squared Frobenius norm (the square root forgotten)",
            "ns",
        ),
        _m(
            "ns-oracle-sign",
            _ORACLES,
            "                self.check_finite,\n                negate=True,",
            "                self.check_finite,\n                negate=False,",
            "Newton-Schulz oracle returns +NS(G) instead of -NS(G) (the LMO's sign lost)",
            "ns",
        ),
        # ---- LMOs: sign and scale per norm ---------------------------------------------------
        _m(
            "lmo-spectral-scale",
            _NORMS,
            "        D = self._lmo_base(G)\n        return D if self.scale == 1.0 else D / self.scale",
            "        D = self._lmo_base(G)\n        return D if self.scale == 1.0 else D * self.scale",
            "scaled norm's LMO multiplied by the scale instead of divided (all norms)",
            "lmo",
        ),
        _m(
            "lmo-exact-oracle-scale",
            _ORACLES,
            "        D = n._lmo(G)\n        return D if n.scale == 1.0 else D / n.scale",
            "        D = n._lmo(G)\n        return D if n.scale == 1.0 else D * n.scale",
            "exact-LMO oracle multiplies by the norm's scale instead of dividing",
            "lmo",
        ),
        _m(
            "lmo-nuclear-sign",
            _NORMS,
            "    return -(U[..., :, 0:1] @ Vh[..., 0:1, :]) * nonzero",
            "    return (U[..., :, 0:1] @ Vh[..., 0:1, :]) * nonzero",
            "nuclear-norm LMO without the minus sign",
            "lmo",
        ),
        _m(
            "lmo-nuclear-index",
            _NORMS,
            "    return -(U[..., :, 0:1] @ Vh[..., 0:1, :]) * nonzero",
            "    return -(U[..., :, 0:1] @ Vh[..., 1:2, :]) * nonzero",
            "nuclear-norm LMO pairs the first left with the second right singular vector",
            "lmo",
        ),
        _m(
            "lmo-frobenius-scale",
            _NORMS,
            "    nf = _safe_divisor(xp, xp.sqrt(xp.sum(Y * Y, axis=(-2, -1))))\n"
            "    return -Y / nf[..., None, None]",
            "    nf = _safe_divisor(xp, xp.sum(Y * Y, axis=(-2, -1)))\n    return -Y / nf[..., None, None]",
            "Frobenius LMO divides by the squared norm",
            "lmo",
        ),
        _m(
            "lmo-linf-sign",
            _NORMS,
            "    return -namespace(G).sign(G)",
            "    return namespace(G).sign(G)",
            "l-inf LMO returns +sign(G) (ascent direction)",
            "lmo",
        ),
        _m(
            "lmo-l1-argmin",
            _NORMS,
            "    idx = xp.argmax(flat, axis=-1)",
            "    idx = xp.argmin(flat, axis=-1)",
            "l1 LMO picks the smallest entry instead of the largest",
            "lmo",
        ),
        _m(
            "lmo-group-axis",
            _NORMS,
            "        return -Y / xp.expand_dims(v, axis=axis)",
            "        return -Y / xp.expand_dims(v, axis=axis) / Y.shape[axis] ** 0.5",
            "column/row-l2 LMO shrunk by the square root of the group length",
            "lmo",
        ),
        # ---- injected-error oracles: size and norm per kind ----------------------------------
        _m(
            "oracle-expand-size",
            _ORACLES,
            "            return (1.0 + delta) * self.base._apply(G, None)",
            "            return (1.0 + 2.0 * delta) * self.base._apply(G, None)",
            "expand oracle injects an error of size 2 delta",
            "oracle",
        ),
        _m(
            "oracle-shrink-size",
            _ORACLES,
            "            return (1.0 - delta) * self.base._apply(G, None)",
            "            return (1.0 - delta * delta) * self.base._apply(G, None)",
            "shrink oracle injects an error of size delta^2 instead of delta",
            "oracle",
        ),
        _m(
            "oracle-random-norm",
            _ORACLES,
            "            nz = self.norm.norm(Z)\n            nz = xp.where(nz > 0, nz, xp.ones_like(nz))",
            "            nz = xp.sqrt(xp.sum(Z * Z, axis=(-2, -1)))\n"
            "            nz = xp.where(nz > 0, nz, xp.ones_like(nz))",
            "random oracle normalises the error in the Frobenius norm, not the ball's norm",
            "oracle",
        ),
        _m(
            "oracle-adversarial-spectral",
            _ORACLES,
            "        w = -((1.0 - d) + (2.0 * d) * last) * xp.astype(keep, G.dtype)",
            "        w = -((1.0 - d) + (3.0 * d) * last) * xp.astype(keep, G.dtype)",
            "adversarial spectral oracle's error exceeds delta on the last singular pair",
            "oracle",
        ),
        _m(
            "oracle-adversarial-linf",
            _ORACLES,
            "        D = -xp.sign(G) * ((1.0 - delta) + (2.0 * delta) * mask)",
            "        D = -xp.sign(G) * ((1.0 - delta) + (1.0 * delta) * mask)",
            "adversarial l-inf oracle shrinks everything but does not push the smallest entry out",
            "oracle",
        ),
        _m(
            "oracle-adversarial-nuclear",
            _ORACLES,
            "+ delta * (U[..., :, 1:2] @ Vh[..., 1:2, :])) * nonzero",
            "+ 2.0 * delta * (U[..., :, 1:2] @ Vh[..., 1:2, :])) * nonzero",
            "adversarial nuclear oracle adds 2 delta along the second pair (error above delta)",
            "oracle",
        ),
        # ---- optimizers ------------------------------------------------------------------------
        _m(
            "muon-ema-weight",
            _MOMENTUM,
            "            M = _axpy_owned(1.0 - beta, gi - Mi, Mi)  # Mi + (1 − β)(gi − Mi)",
            "            M = _axpy_owned(beta, gi - Mi, Mi)  # Mi + (1 − β)(gi − Mi)",
            "EMA momentum with beta and 1 - beta swapped",
            "optimizer",
        ),
        _m(
            "muon-nesterov",
            _MOMENTUM,
            "out_in.append(_axpy_owned(beta, M - gi, gi) if self.nesterov else M)",
            "out_in.append(_axpy_owned(beta, M + gi, gi) if self.nesterov else M)",
            "Nesterov input gi + beta (M + gi) instead of gi + beta (M - gi)",
            "optimizer",
        ),
        _m(
            "weight-decay-lr",
            _TRANSFORMS,
            "shrink = 1.0 - batch_factor(step.lr * wd) if decay else None",
            "shrink = 1.0 - batch_factor(wd) if decay else None",
            "decoupled weight decay without the learning rate (X(1 - lambda))",
            "optimizer",
        ),
        _m(
            "shape-scale-inverted",
            "lab/optimizers/base.py",
            "        return max(1.0, A / B) ** 0.5",
            "        return max(1.0, B / A) ** 0.5",
            'shape scale sqrt(max(1, B/A)) instead of sqrt(max(1, A/B)) ("original")',
            "optimizer",
        ),
        _m(
            "shape-scale-adamw",
            "lab/optimizers/base.py",
            "        return 0.2 * max(A, B) ** 0.5",
            "        return 0.2 * min(A, B) ** 0.5",
            "match_rms_adamw shape scale with min(A, B) instead of max(A, B)",
            "optimizer",
        ),
        _m(
            "block-lr-first",
            _TRANSFORMS,
            "b = self.block_lr[i if len(self.block_lr) > 1 else 0]",
            "b = self.block_lr[0]",
            "the first block's lr multiplier used for every block",
            "optimizer",
        ),
        _m(
            "mvr1-mars-clip",
            _MOMENTUM,
            "c = gi + (self.gamma.factor(t, gi) * beta / (1.0 - beta)) * (gi - hi)",
            "c = gi + (self.gamma.factor(t, gi) / (1.0 - beta)) * (gi - hi)",
            "MVR1's MARS clip with gamma/(1 - beta) instead of gamma beta/(1 - beta)",
            "optimizer",
        ),
        _m(
            "mvr1-correction",
            _MOMENTUM,
            "M = M + (self.gamma.factor(t, gi) * beta) * (gi - hi)",
            "M = M + self.gamma.factor(t, gi) * (gi - hi)",
            "MVR1 correction gamma (g_t - g_{t-1}) without the beta factor",
            "optimizer",
        ),
        _m(
            "mvr2-correction",
            _MOMENTUM,
            "out.append(_axpy_owned(beta, Mi - hi, gi))  # gi + β(Mi − hi)",
            "out.append(_axpy_owned(beta, Mi + hi, gi))  # gi + β(Mi − hi)",
            "MVR2 correction beta (M + h) instead of beta (M - h)",
            "optimizer",
        ),
        _m(
            "mvr2-mars-clip",
            _MOMENTUM,
            "c = _clip_frobenius(gi + (beta / (1.0 - beta)) * (gi - hi))",
            "c = _clip_frobenius(gi + (1.0 / (1.0 - beta)) * (gi - hi))",
            "MVR2's MARS clip with 1/(1 - beta) instead of beta/(1 - beta)",
            "optimizer",
        ),
        _m(
            "lion-momentum",
            _LION,
            "            Mt = bn * M - (1.0 - bn) * gi",
            "            Mt = bp * M - (1.0 - bn) * gi",
            "Lion-K's look-ahead momentum uses beta_p instead of beta_n",
            "optimizer",
        ),
        _m(
            "lion-nuclear-input",
            _LION,
            "            inp = -Mt\n",
            "            inp = Mt\n",
            "nuclear Lion-K feeds +M to the oracle (sign lost)",
            "optimizer",
        ),
        _m(
            "lion-frobenius",
            _LION,
            '        if self.K == "frobenius":\n            return Mt, None',
            '        if self.K == "frobenius":\n            return 2.0 * Mt, None',
            "Frobenius Lion-K: gradient of ||M||_F^2 (2M) instead of ||M||_F^2/2 (M)",
            "optimizer",
        ),
        _m(
            "lion-schatten-p",
            _LION,
            "                return r ** (p - 1.0) / norm_p ** (p - 1.0)",
            "                return r ** (p - 1.0) / norm_p**p",
            "Schatten-p Lion-K's gradient divided by ||sigma||_p^p instead of ||sigma||_p^(p-1)",
            "optimizer",
        ),
        _m(
            "lion-ky-fan",
            _LION,
            "                keep = xp.arange(S.shape[-1]) < k",
            "                keep = xp.arange(S.shape[-1]) <= k",
            "Ky Fan Lion-K keeps k + 1 singular values",
            "optimizer",
        ),
        _m(
            "lion-soft",
            _LION,
            "lambda S: S / xp.sqrt(S * S + eps * eps)",
            "lambda S: S / xp.sqrt(S * S + eps)",
            "soft Lion-K with eps instead of eps^2 under the square root",
            "optimizer",
        ),
        _m(
            "gluon-delta-square",
            "lab/optimizers/gluon.py",
            "ratio = ratio * ((1.0 - d) / ((1.0 + d) * (1.0 + d)))",
            "ratio = ratio * ((1.0 - d) / (1.0 + d))",
            "Gluon's delta-aware step with (1 + delta) instead of (1 + delta)^2",
            "optimizer",
        ),
        _m(
            "gluon-l1",
            "lab/optimizers/gluon.py",
            "        den = L0 + L1 * a\n",
            "        den = L0 + L1\n",
            "Gluon's adaptive step with L1 instead of L1 a in the denominator",
            "optimizer",
        ),
        # ---- runner: sampling, seeding, running metrics ----------------------------------------
        _m(
            "runner-same-sample",
            "lab/runner.py",
            "gradient_fn(problem, self.sample_rng.at(t), stochastic=stochastic)",
            "gradient_fn(problem, self.sample_rng.at(1), stochastic=stochastic)",
            "every step draws the sample of step 1 (noise frozen)",
            "runner",
        ),
        _m(
            "runner-seed-ignored",
            "lab/random.py",
            "vals = [_mix_int(base ^ _mix_int(int(s) * _GOLDEN + 1)) for s in np.asarray(seeds).ravel()]",
            "vals = [_mix_int(base ^ _mix_int(int(0) * _GOLDEN + 1)) for s in np.asarray(seeds).ravel()]",
            "every seed gets the same key (all members share x0 and noise)",
            "runner",
        ),
        _m(
            "runner-running-min",
            "lab/runner.py",
            '        running["dual_min"] = xp.minimum(running["dual_min"], dual)',
            '        running["dual_min"] = dual',
            "running minimum of the dual gradient norm replaced by the last value",
            "runner",
        ),
        _m(
            "runner-running-avg",
            "lab/runner.py",
            '        running["num"] = running["num"] + lr * dual',
            '        running["num"] = running["num"] + dual',
            "eta-weighted average of the dual gradient norm computed without the weights",
            "runner",
        ),
        # ---- stats ------------------------------------------------------------------------------
        _m(
            "stats-ols-slope",
            "lab/stats.py",
            "    return (logY - logY.mean(axis=-1, keepdims=True)) @ x / (x @ x)",
            "    return (logY - logY.mean(axis=-1, keepdims=True)) @ x / (x @ x) * 0.9",
            "log-log slope shrunk by 10% (a stray factor)",
            "stats",
        ),
        _m(
            "stats-slope-ci",
            "lab/stats.py",
            "    lo, hi = np.quantile(slopes, [alpha, 1.0 - alpha])\n    return SlopeCI(",
            "    lo, hi = np.quantile(slopes, [0.25, 0.75])\n    return SlopeCI(",
            "slope CI from the 25-75% quantiles (interquartile range) instead of the level",
            "stats",
        ),
        _m(
            "stats-argmin-vertex",
            "lab/stats.py",
            "        vertex = 0.5 * (u0 + u1) - d01 / (2.0 * curv)",
            "        vertex = 0.5 * (u0 + u2) - d01 / (2.0 * curv)",
            "parabola-refined argmin with the wrong midpoint (u0 + u2 instead of u0 + u1)",
            "stats",
        ),
        # ---- problems: certified constants and gradients --------------------------------------
        _m(
            "problem-kron-L",
            "problems/_util.py",
            "    return float(np.sum(p[:k] * q[:k]))",
            "    return float(p[0] * q[0])",
            "spectral smoothness of a Kronecker quadratic as lambda_max(P) lambda_max(Q) (not the sum)",
            "problem",
        ),
        _m(
            "problem-kron-mu",
            "problems/quadratic.py",
            "        mu = smallest_positive(self.P_eigs) * smallest_positive(self.Q_eigs)",
            "        mu = smallest_positive(self.P_eigs) * self.Q_eigs[0]",
            "PL constant of a Kronecker quadratic with lambda_max(Q) instead of lambda_min(Q)",
            "problem",
        ),
        _m(
            "problem-kron-grad",
            "problems/quadratic.py",
            "        return (self.hessian_apply(X[0] - self.X_star),)",
            "        return (0.5 * self.hessian_apply(X[0] - self.X_star),)",
            "Kronecker quadratic's gradient halved",
            "problem",
        ),
        _m(
            "problem-quartic-grad",
            "problems/smooth.py",
            "        return ((self.c * s2 + self.d) * D,)",
            "        return ((self.c * s2 + self.d) * D * 0.9,)",
            "quartic's gradient scaled by 0.9",
            "problem",
        ),
        _m(
            "problem-quartic-L0",
            "problems/smooth.py",
            "        return 3.0 * c * (s + radius) ** 2 + d - L1 * (c * s**3 + d * s)",
            "        return 3.0 * c * (s + radius) ** 2 + d - L1 * (c * s**3 + d * s) - d",
            "quartic's certified L0 misses the d term",
            "problem",
        ),
    )
}


def get_mutant(name: str) -> Mutant:
    if name not in MUTANTS:
        raise ValueError(f"mutant must be one of {sorted(MUTANTS)}, got {name!r}")
    return MUTANTS[name]


# ------------------------------------------------------------------------------------------ running


def make_copy(dest: Path, root: Path = ROOT) -> Path:
    """Copy :data:`PACKAGES` (and ``tests``, ``pyproject.toml``) from ``root`` into ``dest``."""
    dest = Path(dest)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".lab-cache")
    for pkg in (*PACKAGES, "tests"):
        if (root / pkg).is_dir():
            shutil.copytree(root / pkg, dest / pkg, ignore=ignore)
    for f in ("pyproject.toml",):
        if (root / f).is_file():
            shutil.copy2(root / f, dest / f)
    return dest


def apply_mutant(mutant: Mutant | None, dest: Path) -> None:
    """Apply ``mutant`` to the copy at ``dest`` (None: leave it unmutated).

    Raises
    ------
    ValueError
        When the snippet does not occur exactly once (the mutant must be re-targeted).
    """
    if mutant is None:
        return
    path = Path(dest) / mutant.path
    text = path.read_text(encoding="utf-8")
    n = text.count(mutant.old)
    if n != 1:
        raise ValueError(f"mutant {mutant.name!r}: snippet occurs {n} times in {mutant.path}, expected once")
    path.write_text(text.replace(mutant.old, mutant.new), encoding="utf-8")


@dataclass
class MutantResult:
    """The outcome of one run (a mutant, or the unmutated baseline when ``name`` is "baseline").

    failed : ids of the checks whose expectation broke (or the failing test ids, suite "pytest").
    errors : ids of the checks that raised (a subset of ``failed`` does not apply: kept apart).
    crashed : the whole command failed without a parsable result (import error, timeout, ...).
    """

    name: str
    suite: str
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    crashed: str | None = None
    seconds: float = 0.0
    returncode: int | None = None

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "suite": self.suite,
            "failed": list(self.failed),
            "errors": list(self.errors),
            "crashed": self.crashed,
            "seconds": round(self.seconds, 2),
            "returncode": self.returncode,
        }


# The child: runs the quick checks of the *copied* lab and prints one JSON line per check.  It is run
# with PYTHONPATH at the copy, so every import below resolves to the mutated code.
_CHILD = r"""
import json, sys, time, traceback
from lab.checks import load_all, select
load_all()
only, first = json.loads(sys.argv[1]), sys.argv[2] == "1"
for c in select(quick=True, only=only or None):
    t0 = time.perf_counter()
    try:
        vs = c.run(quick=True)
        bad = c.problems(vs)
        out = {"check": c.id, "status": "failed" if bad else "ok", "why": bad[:3]}
    except Exception as exc:
        out = {"check": c.id, "status": "error", "why": [f"{type(exc).__name__}: {exc}"[:300]]}
    out["seconds"] = round(time.perf_counter() - t0, 2)
    print("@@CHECK " + json.dumps(out), flush=True)
    if first and out["status"] != "ok":
        break
"""


def _child_env(copy: Path, cache: Path, threads: int) -> dict:
    env = dict(os.environ)
    # the copy first: it must shadow the installed (editable) packages; keep what else was on the path
    env["PYTHONPATH"] = os.pathsep.join([str(copy), *filter(None, [os.environ.get("PYTHONPATH")])])
    env["LAB_CACHE_DIR"] = str(cache)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # one BLAS thread per child: the children already run in parallel
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    return env


def run_mutant(
    mutant: Mutant | None,
    *,
    suite: str = "check",
    only: Sequence[str] = (),
    timeout: float = 1800.0,
    threads: int = 1,
    root: Path = ROOT,
    python: str | None = None,
    first: bool = False,
) -> MutantResult:
    """Run ``suite`` ("check": the quick checks; "pytest": ``pytest -x -q``) on a mutated copy.

    ``only`` restricts the checks (ids or prefixes, as ``lab check --only``) or, for "pytest",
    names test files/node ids.  ``mutant=None`` runs the unmutated copy (the baseline).
    ``first``: stop at the first check that breaks (the score is the same, the matrix row is
    partial; pytest always stops at its first failure, ``-x``).
    """
    if suite not in ("check", "pytest"):
        raise ValueError(f"suite must be 'check' or 'pytest', got {suite!r}")
    name = "baseline" if mutant is None else mutant.name
    result = MutantResult(name, suite)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"lab-mutant-{name}-") as tmp:
        copy = make_copy(Path(tmp) / "src", root)
        apply_mutant(mutant, copy)
        cache = Path(tmp) / "cache"
        cache.mkdir()
        env = _child_env(copy, cache, threads)
        py = python or sys.executable
        if suite == "check":
            cmd = [py, "-c", _CHILD, json.dumps(list(only)), "1" if first else "0"]
        else:
            # -p no:cacheprovider: the copy is thrown away; no .pytest_cache to write
            cmd = [
                py,
                "-m",
                "pytest",
                "-x",
                "-q",
                "-p",
                "no:cacheprovider",
                "-W",
                "ignore::DeprecationWarning",
            ]
            cmd += list(only) or ["tests"]
        try:
            proc = subprocess.run(cmd, cwd=copy, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            result.crashed = f"timeout after {timeout:.0f} s"
            result.seconds = time.perf_counter() - t0
            return result
    result.returncode = proc.returncode
    result.seconds = time.perf_counter() - t0
    if suite == "check":
        rows = [json.loads(line[8:]) for line in proc.stdout.splitlines() if line.startswith("@@CHECK ")]
        if not rows:
            result.crashed = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            result.crashed = result.crashed[0][:300]
        result.failed = [r["check"] for r in rows if r["status"] == "failed"]
        result.errors = [r["check"] for r in rows if r["status"] == "error"]
    else:
        if proc.returncode == 1:
            result.failed = [
                line.split(" ", 2)[1]
                for line in proc.stdout.splitlines()
                if line.startswith(("FAILED ", "ERROR "))
            ] or ["(pytest failed)"]
        elif proc.returncode != 0:
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-1:] or ["no output"]
            result.crashed = f"pytest exit {proc.returncode}: {tail[0][:300]}"
    return result


def run_mutants(
    mutants: Iterable[Mutant | None],
    *,
    suite: str = "check",
    only: Sequence[str] = (),
    n_jobs: int = 1,
    timeout: float = 1800.0,
    progress: Callable[[MutantResult], None] | None = None,
    first: bool = False,
) -> list[MutantResult]:
    """:func:`run_mutant` for each (None is the baseline), ``n_jobs`` subprocesses at a time."""
    items = list(mutants)

    def one(m):
        r = run_mutant(m, suite=suite, only=only, timeout=timeout, first=first)
        if progress is not None:
            progress(r)
        return r

    # Threads only wait on subprocesses; the work runs in the children.
    with ThreadPoolExecutor(max_workers=max(1, int(n_jobs))) as pool:
        return list(pool.map(one, items))


def score(baseline: MutantResult, results: Sequence[MutantResult]) -> dict:
    """The kill matrix and the score.

    A mutant is killed by a check that meets its expectation on the baseline and breaks it on the
    mutant ("failed"); a check that raises on the mutant counts as an "error" kill, reported apart;
    a run that crashes as a whole is a crash kill.  Checks that already fail on the baseline are
    left out of the matrix (they cannot show anything).
    """
    broken = set(baseline.failed) | set(baseline.errors)
    rows, killed = [], 0
    for r in results:
        by_verdict = [c for c in r.failed if c not in broken]
        by_error = [c for c in r.errors if c not in broken]
        kind = "verdict" if by_verdict else "error" if by_error else "crash" if r.crashed else "survived"
        killed += kind != "survived"
        m = MUTANTS.get(r.name)
        rows.append(
            {
                "mutant": r.name,
                "category": m.category if m else "-",
                "description": m.description if m else "-",
                "killed": kind != "survived",
                "how": kind,
                "checks_failed": by_verdict,
                "checks_error": by_error,
                "crashed": r.crashed,
                "seconds": round(r.seconds, 2),
            }
        )
    n = len(results)
    return {
        "suite": baseline.suite,
        "baseline_failing": sorted(broken),
        "baseline_crashed": baseline.crashed,
        "mutants": n,
        "killed": killed,
        "killed_by_verdict": sum(r["how"] == "verdict" for r in rows),
        "killed_by_error": sum(r["how"] == "error" for r in rows),
        "killed_by_crash": sum(r["how"] == "crash" for r in rows),
        "score": killed / n if n else float("nan"),
        "survivors": [r["mutant"] for r in rows if not r["killed"]],
        "matrix": rows,
    }
