r"""Tightness: how close the lab gets to each inequality theorem, as a number.

A bound that is never approached hides bugs: a planted error that doubles a step can stay below a bound
that is 50× loose.  This module reports, for every inequality theorem of ``bounds.CATALOG``
(relation ``<=`` or ``>=``), the largest measured/bound ratio the lab has found and where.

Two sources feed the number:

* **the checks** — :func:`from_verdicts` aggregates the worst ratios the verdicts of ``lab check``
  already carry (:class:`lab.stats.Verdict`, ``worst_ratio``) per theorem, keeping the configuration
  where the maximum occurred;
* **the search** — :func:`search` looks for the worst case of one theorem's inequality over a
  parametrised family of instances (step sizes, error sizes δ, error kinds including the adversarial
  one chosen per step, problem instances from :mod:`problems`, starting points, horizons), the idea
  of performance-estimation (PEP) by search instead of a semidefinite program: random points of the
  box, then batched local refinement (random perturbations around the incumbent in a shrinking
  radius).  Runs use the lab's own optimizers, oracles and problems, so a code bug moves the searched
  ratio (``mutation``: a planted bug of :mod:`lab.claims.mutations`; the search must then exceed 1).

Every family measures a ratio that is <= 1 exactly when the theorem's inequality holds.  Descent-type
bounds ``m <= -P + Q`` (P, Q >= 0) are judged in *excess form* ``(m + P)/Q``, where ``-P`` is the
theorem evaluated with its positive constants set to zero (``Family.descent_zero``): the ratio is 1 on
an instance where every inequality of the proof is an equality, and a ratio of the plain form (a
negative number over a negative number) would not be.

Results are cached in the lab's result cache (:class:`lab.cache.Cache`, experiment name
``tightness``), keyed by theorem, budget, seed, mutation and the source of every ``lab``,
``problems`` and ``bounds`` module, so ``lab check --ledger`` shows them without recomputing
(:func:`cached`).  A theorem whose best ratio stays below :data:`GOAL` gets a reason: why the lab
believes its bound is loose (:data:`LOOSE_REASONS`), a finding reported in the ledger.
"""

from __future__ import annotations

import functools
import importlib
import json
import pkgutil
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import bounds
import lab
import lab.tight_families
import problems
from lab.cache import Cache, code_version
from lab.checks import load_all
from lab.claim_ids import canonical_claim
from lab.stats import _jsonable

__all__ = [
    "FAMILIES",
    "GOAL",
    "LOOSE_REASONS",
    "Family",
    "Tightness",
    "cached",
    "from_verdicts",
    "inequality_theorems",
    "records",
    "search",
]

#: Target: every inequality theorem exercised at a ratio at least this large on some instance.
GOAL = 0.5
#: Cache experiment name of the search results.
CACHE_NAME = "tightness"
#: Search budget (candidate instances evaluated per category) for the default and the quick search.
BUDGET = {"full": 512, "quick": 64}


def inequality_theorems() -> list[str]:
    """Ids of the catalog's inequality theorems (relation '<=' or '>='), in catalog order."""
    return [tid for tid, thm in bounds.CATALOG.items() if thm.relation in ("<=", ">=")]


# ------------------------------------------------------------------------------------------------
# aggregation of the checks' worst ratios
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tightness:
    """The largest measured/bound ratio found for one theorem.

    theorem : theorem id.
    ratio : the largest ratio (None when nothing measured it).
    where : the configuration: verdict claim, problem and worst point (checks) or the searched
        parameters (search).
    method : "checks" (aggregated verdicts) or "search" (``lab tight``).
    reason : why the bound is believed loose, when ``ratio < GOAL``; '' otherwise.
    """

    theorem: str
    ratio: float | None
    where: Mapping[str, Any] = field(default_factory=dict)
    method: str = "checks"
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return _jsonable(
            {
                "theorem": self.theorem,
                "ratio": self.ratio,
                "where": dict(self.where),
                "method": self.method,
                "reason": self.reason,
            }
        )


def _mentions(text: str, tid: str) -> bool:
    """``text`` names theorem ``tid`` exactly (not a longer id such as 'S1.I1.step' for 'S1.I1')."""
    return re.search(re.escape(tid) + r"(?![\w.])", text) is not None


def _field(v: Any, name: str) -> Any:
    if isinstance(v, Mapping):
        value = v.get(name)
        if name == "details" and isinstance(value, str):  # a row of the verdicts file
            try:
                return json.loads(value)
            except ValueError:
                return {}
        return value
    return getattr(v, name)


def _as_float(x: Any) -> float | None:
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if not np.isnan(value) else None


def _variant(problem: str) -> str:
    """'.MVR1', '.MVR2' or '' (Muon) from a verdict's problem text."""
    found = re.search(r"\bMVR([12])\b", problem)
    return f".MVR{found.group(1)}" if found else ""


def _explicit(claim: str, bound: str, problem: str) -> list[str] | None:
    """Rows whose bound text does not name their theorem: the theorem each measures (None: no rule).

    An empty list means the row's ratio is not a measured/bound ratio of an inequality theorem
    (an identity's rounding allowance, a feasibility residual, a trend or a degradation).
    """
    if claim == "S2.E":
        found = re.search(r"E-(Muon|MVR1|MVR2)", bound)
        return [f"S2.E.{found.group(1)}"] if found else []
    if claim in ("S2.N1", "S2.N2"):
        if bound.startswith("(*)"):
            return ["S2.star"]
        return [("S2.N1" + _variant(problem)) if claim == "S2.N1" else "S2.N2"]
    if claim in ("S2.P1", "S2.P2"):
        return [claim + _variant(problem)]
    table = {
        "S2.D": ["S2.D"],
        "S3.L3[step]": ["S3.L3.step"],
        "S3.L3[rate]": ["S3.L3"],
        "S3.L2[one-step]": ["S3.L2"],
        "S3.S.constrained_optimum[sandwich]": ["S3.S"],
        "S3.S.constrained_optimum[feasibility]": [],
        "S3.L2.sharp[identity]": [],
        "S4.gd.stability[muon bounded]": ["S4.muon.level"],
    }
    return table.get(claim)


def attribute(verdict: Any, checks: Mapping[str, Any] | None = None) -> list[str]:
    """The inequality theorems a verdict's worst ratio measures.

    In order: ``details["theorem"]`` when a check states it; the rules of :func:`_explicit` for rows
    whose bound text does not name their theorem; the theorems of the row's check that its ``bound``
    text names; the single theorem of a check whose row claim is the check id itself.  Trend, slope
    and degradation rows (claims such as "S1.I1.trend[degradation]"), whose ratio is not
    measured/bound of an inequality theorem, match none of these and are left out.
    """
    checks = load_all() if checks is None else checks
    inequality = set(inequality_theorems())
    details = _field(verdict, "details") or {}
    named = details.get("theorem") if isinstance(details, Mapping) else None
    if isinstance(named, str):
        return [named] if named in inequality else []
    claim = canonical_claim(str(_field(verdict, "claim")))  # rows of older files name old ids
    bound_text = str(_field(verdict, "bound"))
    rule = _explicit(claim, bound_text, str(_field(verdict, "problem")))
    if rule is not None:
        return [t for t in rule if t in inequality]
    cid = details.get("check") if isinstance(details, Mapping) else None
    base = claim.split("[", 1)[0].strip()
    check = checks.get(cid) or checks.get(base)
    if check is None:
        return []
    hits = [t for t in check.theorems if t in inequality and _mentions(bound_text, t)]
    if hits:
        return hits
    single = len(check.theorems) == 1 and check.theorems[0] in inequality
    if single and (claim == check.id or "trend" not in check.id):
        return [check.theorems[0]]
    return []


_PROVENANCE = frozenset(
    {
        "backend",
        "code_version",
        "dtype",
        "git_revision",
        "host",
        "key",
        "muon_lab",
        "numpy",
        "python",
        "scipy",
    }
)


def from_verdicts(verdicts: Iterable[Any]) -> dict[str, Tightness]:
    """Per inequality theorem: the largest worst ratio among the verdicts that measure it.

    ``verdicts`` are :class:`lab.stats.Verdict` records or rows of the verdicts file.  A verdict with
    a non-finite ratio (a NaN measurement) still counts: +inf is the largest ratio, never hidden.
    Theorems no verdict measures get ``ratio=None``.
    """
    checks = load_all()
    out = {tid: Tightness(tid, None) for tid in inequality_theorems()}
    for v in verdicts:
        r = _as_float(_field(v, "worst_ratio"))
        if r is None:
            continue
        details = _field(v, "details") or {}
        for tid in attribute(v, checks):
            cur = out[tid].ratio
            if cur is None or r > cur:
                where = {"claim": str(_field(v, "claim")), "problem": str(_field(v, "problem"))}
                for key in ("where", "worst_point", "worst_index"):
                    if isinstance(details, Mapping) and key in details:
                        point = details[key]
                        if isinstance(point, Mapping):  # run provenance says nothing about the instance
                            point = {k: x for k, x in point.items() if k not in _PROVENANCE}
                        where[key] = point
                        break
                out[tid] = Tightness(tid, r, where, "checks")
    return out


# ------------------------------------------------------------------------------------------------
# search families
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Family:
    """A parametrised family of instances of one theorem and the ratio to maximise over it.

    theorem : theorem id.
    form : the ratio in words (what <= 1 means).
    instance : the problem family and algorithm, in words.
    space : {name: (lo, hi, scale)}, scale "log" or "lin": the continuous search box.
    categories : the discrete choices (oracle kind, shape ...), each a dict; searched exhaustively.
    ratio : ``ratio(params, category, mutation) -> (ratios (N,), extras {name: (N,)})`` for arrays of
        N candidates; a non-finite measurement gives +inf.
    mutations : planted bugs (``lab.claims.mutations``) the family can run.
    """

    theorem: str
    form: str
    instance: str
    space: Mapping[str, tuple[float, float, str]]
    categories: tuple[Mapping[str, Any], ...]
    ratio: Callable[..., tuple[np.ndarray, dict[str, np.ndarray]]]
    mutations: tuple[str, ...] = ()


#: theorem id -> Family (filled by the family modules, see :func:`_families`).
FAMILIES: dict[str, Family] = {}


def family(theorem: str, **kw) -> Callable:
    """Register the decorated ratio function as the search family of ``theorem``."""

    def register(fn: Callable) -> Callable:
        if theorem not in bounds.CATALOG:
            raise ValueError(f"unknown theorem {theorem!r}")
        FAMILIES[theorem] = Family(theorem=theorem, ratio=fn, **kw)
        return fn

    return register


def _families() -> dict[str, Family]:
    """Every registered family; the family modules (which import this one to register) load here."""
    for info in pkgutil.iter_modules(lab.tight_families.__path__):
        importlib.import_module(f"lab.tight_families.{info.name}")
    return FAMILIES


def _decode(U: np.ndarray, space: Mapping[str, tuple]) -> dict[str, np.ndarray]:
    out = {}
    for j, (name, (lo, hi, scale)) in enumerate(space.items()):
        u = np.clip(U[:, j], 0.0, 1.0)
        out[name] = (
            np.exp(np.log(lo) + u * (np.log(hi) - np.log(lo))) if scale == "log" else lo + u * (hi - lo)
        )
    return out


def _evaluate(fam: Family, U: np.ndarray, cat: Mapping[str, Any], mutation: str | None):
    with np.errstate(all="ignore"):
        r, extra = fam.ratio(_decode(U, fam.space), cat, mutation)
    r = np.asarray(r, dtype=float)
    return np.where(np.isnan(r), np.inf, r), extra


def _refine(fam, cat, mutation, u0, r0, rng, rounds: int, batch: int):
    """Batched local search around ``u0``: perturb in a radius that shrinks when nothing improves."""
    best_u, best_r = u0, r0
    radius = 0.25
    for _ in range(rounds):
        U = np.clip(best_u + radius * rng.standard_normal((batch, u0.size)), 0.0, 1.0)
        r, _ = _evaluate(fam, U, cat, mutation)
        i = int(np.argmax(r))
        if r[i] > best_r:
            best_u, best_r = U[i], float(r[i])
        else:
            radius *= 0.5
        if radius < 1e-4 or not np.isfinite(best_r):
            break
    return best_u, best_r


def search(theorem: str, *, budget: int = BUDGET["full"], seed: int = 0, mutation: str | None = None) -> dict:
    """Search one theorem's family for its largest ratio.

    Parameters
    ----------
    theorem : a theorem id with a search family (:data:`FAMILIES`).
    budget : random candidates per category (the local refinement adds about as many again).
    seed : the search's random seed (same seed, same result).
    mutation : a planted bug of :mod:`lab.claims.mutations` the family supports, or None.

    Returns
    -------
    dict with theorem, ratio (the best), where (its parameters and category), per_category (the best
    ratio of each category), form, instance, method "search", budget, seed, mutation.
    """
    fams = _families()
    if theorem not in fams:
        raise KeyError(f"no search family for {theorem!r}; searchable: {', '.join(sorted(fams))}")
    fam = fams[theorem]
    if mutation is not None and mutation not in fam.mutations:
        raise ValueError(f"{theorem}: mutation must be one of {fam.mutations}, got {mutation!r}")
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 8:
        raise ValueError(f"budget must be an integer >= 8, got {budget!r}")
    rng = np.random.default_rng([seed, 20261204])
    best: dict[str, Any] = {"ratio": -np.inf}
    per_category = []
    dim = len(fam.space)
    for cat in fam.categories:
        U = rng.random((budget, dim))
        r, _ = _evaluate(fam, U, cat, mutation)
        order = np.argsort(-r)[:2]
        cat_best_u, cat_best_r = U[order[0]], float(r[order[0]])
        for i in order:
            u, rr = _refine(fam, cat, mutation, U[i], float(r[i]), rng, rounds=20, batch=max(8, budget // 8))
            if rr > cat_best_r:
                cat_best_u, cat_best_r = u, rr
        per_category.append({**cat, "ratio": cat_best_r})
        if cat_best_r > best["ratio"]:
            params = {k: float(v[0]) for k, v in _decode(cat_best_u[None], fam.space).items()}
            _, extra = _evaluate(fam, cat_best_u[None], cat, mutation)
            params.update({k: float(np.asarray(v).ravel()[0]) for k, v in extra.items()})
            best = {"ratio": cat_best_r, "where": {**cat, **params}}
    return {
        "theorem": theorem,
        "ratio": best["ratio"],
        "where": best["where"],
        "per_category": per_category,
        "form": fam.form,
        "instance": fam.instance,
        "method": "search",
        "budget": budget,
        "seed": seed,
        "mutation": mutation,
    }


@functools.cache
def _salt() -> str:
    mods = [lab, problems, bounds]
    for pkg in (lab, problems, bounds):
        for info in pkgutil.walk_packages(pkg.__path__, prefix=pkg.__name__ + "."):
            if info.name.startswith(("lab.commands", "lab.bench")) or info.name.endswith("__main__"):
                continue  # the CLI prints results; it computes none of them (and __main__ runs it)
            try:
                mods.append(importlib.import_module(info.name))
            except ImportError:  # an optional backend (torch, dask) that is not installed
                continue
    return code_version(*mods)


def _key_config(theorem, budget, seed, mutation) -> dict:
    return {"theorem": theorem, "budget": budget, "seed": seed, "mutation": mutation or "none"}


def cached(
    theorem: str,
    *,
    budget: int = BUDGET["full"],
    seed: int = 0,
    mutation: str | None = None,
    compute: bool = True,
    cache: Cache | None = None,
) -> dict | None:
    """:func:`search` through the lab's result cache; ``compute=False``: only a cached result (or None)."""
    cache = Cache() if cache is None else cache
    config = _key_config(theorem, budget, seed, mutation)
    salt = _salt()
    key = Cache.key(CACHE_NAME, config, salt)
    entry = cache.load(CACHE_NAME, key)
    if entry is not None:
        return json.loads(str(entry.arrays["result"]))
    if not compute:
        return None
    result = _jsonable(search(theorem, budget=budget, seed=seed, mutation=mutation))
    cache.store(
        CACHE_NAME, key, {"result": np.asarray(json.dumps(result, sort_keys=True))}, config=config, salt=salt
    )
    return result


def cached_any(theorem: str, cache: Cache | None = None) -> dict | None:
    """The cached unmutated search result of ``theorem`` with the largest budget, if any."""
    for budget in (BUDGET["full"], BUDGET["quick"]):
        got = cached(theorem, budget=budget, compute=False, cache=cache)
        if got is not None:
            return got
    return None


# ------------------------------------------------------------------------------------------------
# the ledger's tightness records
# ------------------------------------------------------------------------------------------------
#: Why a bound is believed loose where neither the checks nor the search reach :data:`GOAL`.
LOOSE_REASONS: dict[str, str] = {}


NOT_MEASURED = (
    "not measured: no check that ran reports its ratio and no search result is cached (lab tight THEOREM)"
)


def reason_for(theorem: str) -> str:
    _families()  # the family modules also state the reasons
    return LOOSE_REASONS.get(
        theorem, "no instance found at the goal; no search family yet, so no reason has been established"
    )


def records(verdicts: Iterable[Any] = (), *, searched: bool = True, cache: Cache | None = None) -> dict:
    """One tightness record per inequality theorem: the best of the checks and the cached search.

    Returns {theorem: {ratio, where, method, reason, checks_ratio, search_ratio}}; ``reason`` is set
    when the best ratio is below :data:`GOAL` (or nothing measured the theorem).
    """
    agg = from_verdicts(verdicts)
    out = {}
    for tid in inequality_theorems():
        from_checks = agg[tid]
        found = cached_any(tid, cache=cache) if searched and tid in _families() else None
        s_ratio = _as_float(found["ratio"]) if found else None
        best = from_checks
        if s_ratio is not None and (best.ratio is None or s_ratio > best.ratio):
            best = Tightness(tid, s_ratio, found["where"], "search")
        if best.ratio is None:
            _families()  # the family modules state the reasons
            known = LOOSE_REASONS.get(tid)
            reason = f"{NOT_MEASURED}; {known}" if known else NOT_MEASURED
        else:
            reason = "" if best.ratio >= GOAL else reason_for(tid)
        out[tid] = {
            **Tightness(tid, best.ratio, best.where, best.method, reason).as_dict(),
            # non-finite ratios as text ('inf'), so the verdicts file stays strict JSON
            "checks_ratio": _jsonable(from_checks.ratio),
            "search_ratio": _jsonable(s_ratio),
        }
    return out


def summary(recs: Mapping[str, Mapping[str, Any]]) -> str:
    """A plain-text table of tightness records: theorem, best ratio, method, where, reason when loose."""
    lines = [f"\ntightness (largest measured/bound ratio per inequality theorem; goal >= {GOAL}):"]
    missing = [tid for tid, r in recs.items() if r["ratio"] is None]
    for tid, r in recs.items():
        if r["ratio"] is None:
            continue
        ratio = "-" if r["ratio"] is None else f"{float(r['ratio']):.3g}"
        where = r["where"].get("claim") if isinstance(r["where"], Mapping) else None
        if where is None and isinstance(r["where"], Mapping):
            where = ", ".join(
                f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in r["where"].items()
            )
        line = f"  {tid:24s} {ratio:>8s}  {r['method']:7s} {where or '-'}"
        if r["reason"]:
            line += f"\n  {'':24s} below the goal: {r['reason']}"
        lines.append(line)
    if missing:
        lines.append(f"  not measured by the checks run and not searched: {', '.join(missing)}")
    return "\n".join(lines)
