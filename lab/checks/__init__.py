"""Checks: every claim of the four sources, run as an experiment and judged against its bound.

A check turns one :mod:`lab.experiments` result into one or more :class:`lab.stats.Verdict`
records ("holds" / "violated" / "inconclusive"), comparing the measurement with a bound
computed from the problem's *certified* constants (``bounds/`` theorems) or with a predicted
trend or exponent (slope fits with bootstrap confidence intervals).

Contract
--------
::

    @check("S1-I1", claim="...", source="S1", theorems=("S1.I1",),
           experiment="s1_i1_deterministic", mutations=("double_step", "understate_constant"))
    def s1_i1(*, quick: bool, mutation: str | None = None) -> Verdict | list[Verdict]: ...

``quick=True`` is the CI subset (seconds, run by ``pytest`` and ``lab check --quick``);
``quick=False`` the full configuration (``lab check``, ``pytest -m slow``).  ``mutation`` names a
deliberately wrong variant (:data:`MUTATIONS`): the check runs its experiment against it and must
then report "violated" — ``tests/test_checks_mutations.py`` runs every declared mutation.
Checks live in the section modules ``lab/checks/s1.py`` … and are found by :func:`load_all`.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lab.claims._legacy_load import import_claim_modules
from lab.stats import Verdict

__all__ = [
    "Check",
    "CHECKS",
    "MUTATIONS",
    "SOURCES",
    "check",
    "load_all",
    "get_check",
    "run_checks",
    "ledger",
]

#: The four source documents .
SOURCES = {
    "S1": "Shulgin, AlRashed, Orabona, Richtárik, Beyond the Ideal: Analyzing the Inexact Muon Update, "
    "arXiv 2510.19933",
    "S2": "Chang, Liu, Yuan, On the Convergence of Muon and Beyond, arXiv 2509.15816",
    "S3": "Chen, Li, Liu, Muon Optimizes Under Spectral Norm Constraints, arXiv 2506.15054",
    "S4": "Nguyen et al., Spectral Flattening Is All Muon Needs, arXiv 2605.13079",
}

#: Deliberately wrong variants a check can be run against (it must then fail).
MUTATIONS = {
    "double_step": "the step size doubled inside the optimizer (the bound is evaluated at the nominal step)",
    "understate_constant": "a certified constant (L, sigma, L0/L1, ...) understated by 20% in the bound",
    "flip_momentum": "a wrong sign in the momentum recursion (M_t = -beta M_{t-1} + (1 - beta) g_t)",
    "wrong_exponent": "the predicted exponent or trend direction replaced by a wrong one",
    "wrong_sample": "a variant that breaks an assumption the claim needs "
    "(e.g. MVR2 with the previous sample)",
    "coupled_weight_decay": "weight decay added to the gradient before the oracle (L2) instead of decoupled",
}


@dataclass(frozen=True)
class Check:
    """One registered check.

    id : claim id, e.g. "S1-I1" (matched to ``bounds`` theorem ids up to punctuation).
    claim : one sentence: what is claimed.
    source : "S1" … "S4" (a key of :data:`SOURCES`).
    theorems : ids of the ``bounds.CATALOG`` theorems it checks.
    experiment : name of the :mod:`lab.experiments` function behind it.
    quick : whether the check is part of the CI subset (``lab check --quick``).
    mutations : names of :data:`MUTATIONS` the check must fail on.
    fn : ``fn(*, quick, mutation=None) -> Verdict | list[Verdict]``.
    report_only : verdict claims (e.g. "S1-I3-trend[alpha]") that report a measured direction where
        no prediction applies: they may be "inconclusive", never "violated".
    empirical : the check measures a paper's *empirical* claim on the lab's analogue (e.g. S1's
        NanoGPT learning-rate shift), which may come out either way: it must be decisive somewhere;
        a declared mutation must flip every decisive verdict.

    Every other verdict must be "holds"; :meth:`problems` says which are not.
    """

    id: str
    claim: str
    source: str
    theorems: tuple[str, ...]
    experiment: str | None
    quick: bool
    mutations: tuple[str, ...]
    fn: Callable[..., Any]
    report_only: tuple[str, ...] = ()
    empirical: bool = False

    def run(self, *, quick: bool = True, mutation: str | None = None) -> list[Verdict]:
        """Run the check; always a list of verdicts."""
        if mutation is not None and mutation not in self.mutations:
            raise ValueError(
                f"mutation for check {self.id!r} must be one of {self.mutations}, got {mutation!r}"
            )
        out = self.fn(quick=quick, mutation=mutation)
        verdicts = (
            [out] if isinstance(out, Verdict) else list(out) if isinstance(out, (list, tuple)) else None
        )
        if not verdicts or not all(isinstance(v, Verdict) for v in verdicts):
            raise TypeError(f"check {self.id!r} must return a Verdict or a non-empty list of Verdicts")
        return verdicts

    def problems(self, verdicts: Sequence[Verdict]) -> list[str]:
        """The verdicts that break this check's expectation (empty when it is met)."""
        if self.empirical:
            errors = [str(v) for v in verdicts if v.verdict == "error"]
            decisive = [v for v in verdicts if v.verdict in ("holds", "violated")]
            return errors or ([] if decisive else [f"{self.id}: no decisive verdict"])
        bad = []
        for v in verdicts:
            allowed = ("holds", "inconclusive") if v.claim in self.report_only else ("holds",)
            if v.verdict not in allowed:
                bad.append(str(v))
        return bad

    def caught(self, verdicts: Sequence[Verdict], mutated: Sequence[Verdict]) -> bool:
        """Whether a planted bug is caught: some verdict violated (empirical: every decisive one flips)."""
        if not self.empirical:
            return any(v.verdict == "violated" for v in mutated)
        flip = {"holds": "violated", "violated": "holds"}
        after = {v.claim: v.verdict for v in mutated}
        decisive = [v for v in verdicts if v.verdict in flip]
        return bool(decisive) and all(after.get(v.claim) == flip[v.verdict] for v in decisive)


#: id -> Check
CHECKS: dict[str, Check] = {}


def check(
    id: str,
    *,
    claim: str,
    source: str,
    theorems: Sequence[str] = (),
    experiment: str | None = None,
    quick: bool = True,
    mutations: Sequence[str] = (),
    report_only: Sequence[str] = (),
    empirical: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a check (decorator); arguments as in :class:`Check`."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {tuple(SOURCES)}, got {source!r}")
    bad = [m for m in mutations if m not in MUTATIONS]
    if bad:
        raise ValueError(f"mutations must be among {tuple(MUTATIONS)}, got {bad}")

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        if id in CHECKS and CHECKS[id].fn is not fn:
            raise ValueError(f"check {id!r} is already registered")
        CHECKS[id] = Check(
            id,
            claim,
            source,
            tuple(theorems),
            experiment,
            bool(quick),
            tuple(mutations),
            fn,
            tuple(report_only),
            bool(empirical),
        )
        return fn

    return register


def load_all() -> dict[str, Check]:
    """Import every section module of this package (registering its checks)."""
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_") and info.name not in ("mutations",):
            importlib.import_module(f"{__name__}.{info.name}")
    import_claim_modules()
    return CHECKS


def get_check(id: str) -> Check:
    load_all()
    if id not in CHECKS:
        raise ValueError(f"check id must be one of {sorted(CHECKS)}, got {id!r}")
    return CHECKS[id]


def select(*, quick: bool = False, only: Iterable[str] | None = None) -> list[Check]:
    """The checks ``lab check`` runs: all (or those in ``only``), the CI subset with ``quick``.

    ``only`` entries are check ids or prefixes ("S2" selects every S2 check); an entry that
    matches nothing raises ValueError before anything runs.
    """
    checks = load_all()
    if only:
        chosen: dict[str, Check] = {}
        for token in only:
            hits = [c for cid, c in checks.items() if cid == token or cid.startswith(token)]
            if not hits:
                raise ValueError(f"--only {token!r} matches no check; known ids: {sorted(checks)}")
            chosen.update({c.id: c for c in hits})
        return [chosen[k] for k in checks if k in chosen]
    return [c for c in checks.values() if c.quick or not quick]


def run_checks(
    *, quick: bool = False, only: Iterable[str] | None = None, progress: Callable[[Check], None] | None = None
) -> list[Verdict]:
    """Run the selected checks; a check that raises becomes an "error" verdict naming the exception.

    An error is never a judgement of the claim: it is neither "holds" nor "inconclusive", and
    ``lab check`` exits 3 when one occurs.
    """
    verdicts: list[Verdict] = []
    for c in select(quick=quick, only=only):
        if progress is not None:
            progress(c)
        t0 = time.perf_counter()
        try:
            got = c.run(quick=quick)
        except Exception as exc:  # noqa: BLE001 - reported, never hidden
            got = [
                Verdict(
                    claim=c.id,
                    source=c.source,
                    problem="-",
                    bound="-",
                    measured=f"error: {type(exc).__name__}: {exc}",
                    verdict="error",
                )
            ]
        seconds = time.perf_counter() - t0
        for v in got:
            details = dict(v.details)
            details.setdefault("check", c.id)
            details.setdefault("experiment", c.experiment)
            details.setdefault("seconds", round(seconds, 3))
            details.setdefault("quick", quick)
            verdicts.append(
                Verdict(**{**{f: getattr(v, f) for f in v.__dataclass_fields__}, "details": details})
            )
    return verdicts


@dataclass(frozen=True)
class _Row:
    claim: str
    verdict: str


def ledger(verdicts: Iterable[Verdict | Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
    """Every claim of the four sources with its verdict and the experiment behind it.

    One row per ``bounds.CATALOG`` theorem and per registered check: the theorems a check covers
    get its verdict(s) (``verdict`` the worst one: violated > inconclusive > holds; ``verdicts``
    the counts, since one check returns several verdicts); a theorem no check covers says
    "not checked".  Checks of trends and rates (no theorem) have rows of their own.
    """
    import bounds

    checks = load_all()
    by_claim: dict[str, list[Any]] = {}
    for v in verdicts:
        if isinstance(v, Mapping):  # a row of the verdicts file (lab.appendix.load_verdicts)
            v = _Row(str(v["claim"]), str(v["verdict"]))
        by_claim.setdefault(v.claim.split("[", 1)[0].strip(), []).append(v)

    def worst(vs: list[Verdict]) -> str:
        names = {v.verdict for v in vs}
        for name in ("error", "violated", "inconclusive", "holds"):
            if name in names:
                return name
        return "not run"

    def summary(vs: list[Verdict]) -> str:
        counts = {k: sum(v.verdict == k for v in vs) for k in ("holds", "violated", "inconclusive", "error")}
        return ", ".join(f"{n} {k}" for k, n in counts.items() if n) or "not run"

    covered: dict[str, list[Check]] = {}
    for c in checks.values():
        for t in c.theorems:
            covered.setdefault(t, []).append(c)
    rows = []
    for tid, thm in bounds.CATALOG.items():
        cs = covered.get(tid, [])
        vs = [v for c in cs for v in by_claim.get(c.id, [])]
        rows.append(
            {
                "claim": tid,
                "source": tid.split(".", 1)[0],
                "statement": getattr(thm, "title", ""),
                "checks": [c.id for c in cs],
                "experiments": sorted({c.experiment for c in cs if c.experiment}),
                "verdict": worst(vs) if cs else "not checked",
                "verdicts": summary(vs) if cs else "",
            }
        )
    for c in checks.values():
        if not c.theorems:
            rows.append(
                {
                    "claim": c.id,
                    "source": c.source,
                    "statement": c.claim,
                    "checks": [c.id],
                    "experiments": [c.experiment] if c.experiment else [],
                    "verdict": worst(by_claim.get(c.id, [])),
                    "verdicts": summary(by_claim.get(c.id, [])),
                }
            )
    return rows
