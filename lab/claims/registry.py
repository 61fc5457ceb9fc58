"""The claims registry: every experiment and every check, registered under the claim's id.

A claim's id is the theorem's id (``S1.I1``, :mod:`lab.claim_ids`).  Its experiment measures and
pairs each measurement with its theoretical value (PEPit's ``(measured, theoretical)`` contract);
its check turns that result into :class:`lab.stats.Verdict` records ("holds" / "violated" /
"inconclusive"), comparing the measurement with a bound computed from the problem's *certified*
constants (``bounds/`` theorems) or with a predicted trend or exponent.

Contract
--------
::

    @experiment("S1.I1")
    def inexact_lmo_deterministic(*, quick: bool = True, cache=True, **options) -> Experiment: ...

    @check("S1.I1", source="S1", theorems=("S1.I1", "S1.I1.step"), experiment="S1.I1",
           mutations=("double_step", "understate_constant"))
    def check_inexact_lmo_deterministic(*, quick: bool, mutation: str | None = None) -> list[Verdict]: ...

    measured, theoretical = get_experiment("S1.I1")(quick=True)

``quick=True`` is the CI subset (seconds, run by ``pytest`` and ``lab check --quick``);
``quick=False`` the full configuration (``lab check``, ``make figures``).  ``mutation`` names a
deliberately wrong variant (:data:`MUTATIONS`): the check runs its experiment against it and must
then report "violated" (``tests/test_checks_conformance.py`` runs every declared mutation).

A check of theorems states no claim of its own: its text is rendered from the theorem objects of
``bounds.CATALOG`` (:func:`claim_text`).  Old spellings of ids (``S1-I1``, ``s1_i1``) are
aliases: the registries resolve them and registration translates them.  Claims live in the modules
of :mod:`lab.claims` and are found by :func:`load_all`.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from lab.claim_ids import (
    CHECK_IDS,
    EXPERIMENT_IDS,
    add_alias,
    aliases_of,
    canonical_claim,
    check_id,
    experiment_id,
)
from lab.results import record
from lab.stats import Verdict
from lab.sweeps import PROJECT_PACKAGES

__all__ = [
    "CHECKS",
    "EXPERIMENTS",
    "MUTATIONS",
    "SOURCES",
    "Check",
    "Experiment",
    "check",
    "check_options",
    "claim_text",
    "engine_code",
    "experiment",
    "get_check",
    "get_experiment",
    "ledger",
    "load_all",
    "load_experiments",
    "run_checks",
    "select",
]

#: The four source documents.
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

#: Packages whose modules register claims: the claims package, then the section modules of the
#: earlier layout while they exist.
CLAIM_PACKAGES = ("lab.claims", "lab.checks", "lab.experiments")
#: Modules of those packages that register nothing.
NOT_CLAIMS = frozenset({"lab.claims.registry", "lab.claim_ids"})

_ID_PATTERN = re.compile(r"[A-Za-z_]\w*(\.\w+)*")


class _Registry(dict):
    """A dict keyed by claim id that also answers to the old spellings of the ids (aliases).

    Keys are translated on every access, so ``CHECKS["S1-I1"]`` is ``CHECKS["S1.I1"]``; iteration
    yields the current ids only.
    """

    def __init__(self, resolve: Callable[[str], str]):
        super().__init__()
        self._resolve = resolve

    def _key(self, key: Any) -> Any:
        return self._resolve(key) if isinstance(key, str) else key

    def __getitem__(self, key):
        return super().__getitem__(self._key(key))

    def __setitem__(self, key, value):
        super().__setitem__(self._key(key), value)

    def __delitem__(self, key):
        super().__delitem__(self._key(key))

    def __contains__(self, key):
        return super().__contains__(self._key(key))

    def get(self, key, default=None):
        return super().get(self._key(key), default)

    def pop(self, key, *default):
        return super().pop(self._key(key), *default)


# ------------------------------------------------------------------------------------------------
# experiments
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Experiment:
    """The result of an experiment.

    Attributes
    ----------
    name : the id of the experiment (an old name given here is translated to it).
    measured : dict of measured quantities (NumPy arrays or floats).
    theoretical : dict of the matching predictions (bound values, exponents, optima).
    meta : configuration, problem description, grid axes, seeds and provenance.

    Unpacks as ``measured, theoretical = result``.
    """

    name: str
    measured: Mapping[str, Any]
    theoretical: Mapping[str, Any]
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        # the exported data joins results to their claims by this id
        object.__setattr__(self, "name", experiment_id(self.name))
        # figures and `lab check --export` collect the data behind what they show
        record(self)

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        yield self.measured
        yield self.theoretical


#: experiment id -> experiment function (old names resolve too)
EXPERIMENTS: dict[str, Callable[..., Experiment]] = _Registry(experiment_id)


def experiment(
    name: str, *, aliases: Sequence[str] = ()
) -> Callable[[Callable[..., Experiment]], Callable[..., Experiment]]:
    """Register an experiment function under the claim id ``name`` (unique; an old name is translated).

    ``aliases`` are further names it answers to in :func:`get_experiment`.
    """
    if not isinstance(name, str) or not _ID_PATTERN.fullmatch(name):
        raise ValueError(f"experiment name must be an identifier or a dotted id, got {name!r}")
    eid = experiment_id(name)

    def register(fn: Callable[..., Experiment]) -> Callable[..., Experiment]:
        if eid in EXPERIMENTS and EXPERIMENTS[eid] is not fn:
            raise ValueError(f"experiment {eid!r} is already registered")
        for old in aliases:
            add_alias(old, eid, EXPERIMENT_IDS)
        EXPERIMENTS[eid] = fn
        fn.experiment_name = eid
        return fn

    return register


def get_experiment(name: str) -> Callable[..., Experiment]:
    """The experiment registered as ``name`` (id or old name); ValueError listing the ids otherwise."""
    load_all()
    if name not in EXPERIMENTS:
        raise ValueError(f"experiment must be one of {sorted(EXPERIMENTS)}, got {name!r}")
    return EXPERIMENTS[name]


def engine_code() -> tuple:
    """The code every sweep's cache key covers: the project packages (``lab``, ``problems``, ``bounds``).

    Kept for callers that pass it as ``run_sweep(code=...)``; :func:`lab.sweeps.run_sweep` hashes
    these packages itself (:func:`lab.sweeps.default_code`), so no experiment lists the modules its
    runs depend on by hand.
    """
    return PROJECT_PACKAGES


def check_options(quick, mutation=None, allowed=(None,), *, options=None, name="this experiment"):
    """Validate an experiment's common options before any work (ValueError naming the option).

    ``quick`` must be a bool, ``mutation`` one of ``allowed`` (None = the unmutated run), and
    ``options`` (the ``**options`` an experiment received) empty.
    """
    if options:
        raise ValueError(f"unknown options {sorted(options)} for {name}; it takes quick, cache, mutation")
    if not isinstance(quick, bool):
        raise ValueError(f"quick must be True or False, got {quick!r}")
    if mutation not in allowed:
        raise ValueError(f"mutation must be one of {tuple(allowed)}, got {mutation!r}")


# ------------------------------------------------------------------------------------------------
# checks
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Check:
    """One registered check.

    id : the claim id, e.g. "S1.I1" (:mod:`lab.claim_ids`; old spellings are its :attr:`aliases`).
    claim : what is claimed, in plain text: rendered from the theorems when it checks theorems
        (:func:`claim_text`), else the check's own sentence.
    source : "S1" … "S4" (a key of :data:`SOURCES`).
    theorems : ids of the ``bounds.CATALOG`` theorems it checks.
    experiment : id of the experiment behind it.
    quick : whether the check is part of the CI subset (``lab check --quick``).
    mutations : names of :data:`MUTATIONS` the check must fail on.
    fn : ``fn(*, quick, mutation=None) -> Verdict | list[Verdict]``.
    report_only : verdict claims (e.g. "S1.I3.trend[alpha]") that report a measured direction where
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

    @property
    def aliases(self) -> tuple[str, ...]:
        """The old spellings of this check's id (``lab check --only`` and :func:`get_check` take them)."""
        return aliases_of(self.id, CHECK_IDS)

    def run(self, *, quick: bool = True, mutation: str | None = None) -> list[Verdict]:
        """Run the check; always a list of verdicts, their claims named by the current ids."""
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
        return [_renamed(v) for v in verdicts]

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


def _renamed(v: Verdict) -> Verdict:
    """``v`` with its claim in the current spelling (a check module may still name the old id)."""
    claim = canonical_claim(v.claim)
    return v if claim == v.claim else replace(v, claim=claim)


#: check id -> Check (old ids resolve too)
CHECKS: dict[str, Check] = _Registry(check_id)


def theorem_statement(theorem) -> str:
    """One theorem in plain text: ``id title: metric relation bound if conditions``."""
    conditions = ", ".join(str(c) for c in theorem.conditions)
    text = f"{theorem.id} {theorem.title}: {theorem.statement()}"
    return f"{text} if {conditions}" if conditions else text


def _states_theorems(cid: str, theorems: Sequence[str]) -> bool:
    """Whether a check is the check of these theorems themselves: its id is one of them, or every
    one lies in the family its id names (S1.I2 for S1.I2.step, S1.lemma for S1.lemma_a)."""
    in_family = (t.startswith(cid) and t[len(cid) : len(cid) + 1] in (".", "_") for t in theorems)
    return cid in theorems or all(in_family)


def claim_text(cid: str, text: str, theorems: Sequence[str]) -> str:
    """A check's claim in plain text, rendered from its theorems where it has some.

    The check of a theorem family (its id is the theorem's, or the family's) states the theorems:
    ``"; "``-joined :func:`theorem_statement` lines, and ``text`` is not used.  A check of a trend,
    rate or other property of theorems (``S1.I1.trend``) keeps ``text`` and names the theorems it is
    about by id and title.  A check without theorems (conformance, empirical trends) is ``text``.
    """
    import bounds  # lazy: bounds loads sympy (~1 s), which the CLI's start-up must not pay
    unknown = [t for t in theorems if t not in bounds.CATALOG]
    if unknown:
        raise ValueError(f"check {cid!r}: theorems {unknown} are not in bounds.CATALOG")
    if not theorems:
        if not text:
            raise ValueError(f"check {cid!r} has no theorems, so it must state its claim")
        return text
    stated = [bounds.CATALOG[t] for t in theorems]
    if _states_theorems(cid, theorems):
        return "; ".join(theorem_statement(t) for t in stated)
    about = "; ".join(f"{t.id} {t.title}" for t in stated)
    return f"{text} (about {about})" if text else about


def check(
    id: str,
    *,
    claim: str = "",
    source: str,
    theorems: Sequence[str] = (),
    experiment: str | None = None,
    quick: bool = True,
    mutations: Sequence[str] = (),
    report_only: Sequence[str] = (),
    empirical: bool = False,
    aliases: Sequence[str] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a check (decorator); arguments as in :class:`Check`.

    ``id``, ``experiment`` and ``report_only`` may use the old spellings (translated here);
    ``claim`` is needed only for a check that is not the check of its theorems (:func:`claim_text`);
    ``aliases`` are further old ids the check answers to.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {tuple(SOURCES)}, got {source!r}")
    bad = [m for m in mutations if m not in MUTATIONS]
    if bad:
        raise ValueError(f"mutations must be among {tuple(MUTATIONS)}, got {bad}")
    cid = check_id(id)
    text = claim_text(cid, claim, tuple(theorems))

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        if cid in CHECKS and CHECKS[cid].fn is not fn:
            raise ValueError(f"check {cid!r} is already registered")
        for old in aliases:
            add_alias(old, cid, CHECK_IDS)
        CHECKS[cid] = Check(
            cid,
            text,
            source,
            tuple(theorems),
            None if experiment is None else experiment_id(experiment),
            bool(quick),
            tuple(mutations),
            fn,
            tuple(canonical_claim(r) for r in report_only),
            bool(empirical),
        )
        return fn

    return register


# ------------------------------------------------------------------------------------------------
# loading and running
# ------------------------------------------------------------------------------------------------
def _import_tree(package_name: str) -> None:
    """Import every public module under a package, depth first, in name order."""
    package = importlib.import_module(package_name)
    modules = pkgutil.iter_modules(package.__path__, prefix=f"{package_name}.")
    for info in sorted(modules, key=lambda m: m.name):
        if info.name.rsplit(".", 1)[-1].startswith("_") or info.name in NOT_CLAIMS:
            continue
        importlib.import_module(info.name)
        if info.ispkg:
            _import_tree(info.name)


def load_all() -> dict[str, Check]:
    """Import every claim module (registering its experiments and checks); the checks by id."""
    for package in CLAIM_PACKAGES:
        if importlib.util.find_spec(package) is not None:
            _import_tree(package)
    return CHECKS


def load_experiments() -> dict[str, Callable[..., Experiment]]:
    """Import every claim module (as :func:`load_all`); the experiments by id."""
    load_all()
    return EXPERIMENTS


def get_check(id: str) -> Check:
    """The check registered as ``id`` (id or old id); ValueError listing the ids otherwise."""
    load_all()
    if id not in CHECKS:
        raise ValueError(f"check id must be one of {sorted(CHECKS)}, got {id!r}")
    return CHECKS[id]


def _named_by(c: Check, token: str) -> bool:
    """Whether ``--only token`` selects ``c``: the token is its id or an old id, or a prefix of one."""
    return any(name.startswith(token) for name in (c.id, *c.aliases))


def select(*, quick: bool = False, only: Iterable[str] | None = None) -> list[Check]:
    """The checks ``lab check`` runs: all (or those in ``only``), the CI subset with ``quick``.

    ``only`` entries are check ids, old ids or prefixes of either ("S2" selects every S2 check,
    "S1-I1" and "S1.I1" both select S1.I1 and S1.I1.trend); an entry that matches nothing raises
    ValueError before anything runs.
    """
    checks = load_all()
    if only:
        chosen: dict[str, Check] = {}
        for token in only:
            hits = [c for c in checks.values() if _named_by(c, token)]
            if not hits:
                raise ValueError(f"--only {token!r} matches no check; known ids: {sorted(checks)}")
            chosen.update({c.id: c for c in hits})
        return [chosen[k] for k in checks if k in chosen]
    return [c for c in checks.values() if c.quick or not quick]


def _error_rows(c: Check, exc: Exception) -> list[Verdict]:
    return [
        Verdict(
            claim=c.id,
            source=c.source,
            problem="-",
            bound="-",
            measured=f"error: {type(exc).__name__}: {exc}",
            verdict="error",
        )
    ]


def run_checks(
    *,
    quick: bool = False,
    only: Iterable[str] | None = None,
    progress: Callable[[Check], None] | None = None,
    checks: Iterable[Check] | None = None,
) -> list[Verdict]:
    """Run the selected checks (``checks``, else :func:`select` of ``quick`` and ``only``).

    A check that raises becomes an "error" verdict naming the exception.  An error is never a
    judgement of the claim: it is neither "holds" nor "inconclusive", and ``lab check`` exits 3
    when one occurs.
    """
    verdicts: list[Verdict] = []
    for c in select(quick=quick, only=only) if checks is None else checks:
        if progress is not None:
            progress(c)
        t0 = time.perf_counter()
        try:
            got = c.run(quick=quick)
        except Exception as exc:  # noqa: BLE001 - reported, never hidden
            got = _error_rows(c, exc)
        seconds = time.perf_counter() - t0
        for v in got:
            details = dict(v.details)
            details.setdefault("check", c.id)
            details.setdefault("experiment", c.experiment)
            details.setdefault("seconds", round(seconds, 3))
            details.setdefault("quick", quick)
            verdicts.append(replace(v, details=details))
    return verdicts


# ------------------------------------------------------------------------------------------------
# the ledger
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Row:
    check: str
    verdict: str


def _as_row(v: Verdict | Mapping[str, Any]) -> _Row:
    """The check a verdict (or a row of the verdicts file) belongs to, by current id, and its verdict.

    The check is the one the row records (``details["check"]``, the file's ``check``), else the
    name of its claim: a check may name rows after parts of its claim (``X.MVR2.inexact.rate``).
    """
    if isinstance(v, Mapping):
        claim, verdict, details, named = str(v["claim"]), str(v["verdict"]), v.get("details"), v.get("check")
    else:
        claim, verdict, details, named = v.claim, v.verdict, v.details, None
    if isinstance(details, Mapping) and details.get("check"):
        named = details["check"]
    return _Row(check_id(str(named or canonical_claim(claim).split("[", 1)[0].strip())), verdict)


def _worst(rows: list[_Row]) -> str:
    names = {r.verdict for r in rows}
    return next((name for name in ("error", "violated", "inconclusive", "holds") if name in names), "not run")


def _summary(rows: list[_Row]) -> str:
    counts = {k: sum(r.verdict == k for r in rows) for k in ("holds", "violated", "inconclusive", "error")}
    return ", ".join(f"{n} {k}" for k, n in counts.items() if n) or "not run"


def ledger(verdicts: Iterable[Verdict | Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
    """Every claim of the four sources with its verdict and the experiment behind it.

    One row per ``bounds.CATALOG`` theorem and per registered check without theorems: the theorems
    a check covers get its verdict(s) (``verdict`` the worst one: error > violated > inconclusive >
    holds; ``verdicts`` the counts, since one check returns several verdicts); a theorem no check
    covers says "not checked".  Checks of trends and rates without a theorem have rows of their own.
    """
    import bounds  # lazy: bounds loads sympy (~1 s), which the CLI's start-up must not pay
    checks = load_all()
    by_check: dict[str, list[_Row]] = {}
    for v in verdicts:
        row = _as_row(v)
        by_check.setdefault(row.check, []).append(row)
    covered: dict[str, list[Check]] = {}
    for c in checks.values():
        for t in c.theorems:
            covered.setdefault(t, []).append(c)
    rows = []
    for tid, thm in bounds.CATALOG.items():
        cs = covered.get(tid, [])
        found = [r for c in cs for r in by_check.get(c.id, [])]
        rows.append(
            {
                "claim": tid,
                "source": tid.split(".", 1)[0],
                "statement": getattr(thm, "title", ""),
                "checks": [c.id for c in cs],
                "experiments": sorted({c.experiment for c in cs if c.experiment}),
                "verdict": _worst(found) if cs else "not checked",
                "verdicts": _summary(found) if cs else "",
            }
        )
    for c in checks.values():
        if not c.theorems:
            found = by_check.get(c.id, [])
            rows.append(
                {
                    "claim": c.id,
                    "source": c.source,
                    "statement": c.claim,
                    "checks": [c.id],
                    "experiments": [c.experiment] if c.experiment else [],
                    "verdict": _worst(found),
                    "verdicts": _summary(found),
                }
            )
    return rows
