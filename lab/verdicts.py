"""The verdicts document: what ``lab check --json`` prints and ``build/check/verdicts.json`` holds.

One schema for both (``muon-lab.verdicts/2``)::

    {"schema": "muon-lab.verdicts/2",
     "provenance": {"git_revision", "git_dirty", "python", "numpy", ..., "date", "machine"},
     "summary": {"verdicts": n, "holds": n, "violated": n, "inconclusive": n, "error": n},
     "rows": [row, ...]}

Every row is typed: ``claim``, ``check``, ``source``, ``problem``, ``verdict`` (strings);
``bound`` and ``measured`` (numbers or null) with ``bound_text`` / ``measured_text`` (the
formula or description when the value is not a number, else null); ``worst_ratio``,
``slope``, ``ci_lo``, ``ci_hi`` (numbers or null; JSON has no infinity, so a non-finite value is
null here and named in ``nonfinite``, e.g. ``{"worst_ratio": "inf"}``); ``details`` (an object,
not JSON text).

:func:`load_verdicts` also reads the first schema (``muon-lab.verdicts/1``: ``bound`` and
``measured`` mixed strings and numbers, ``details`` as JSON text) and returns rows of the
second, so older files keep working; claims and checks named by old ids (``S1-I1[avg]``) are read
under the current ones (``S1.I1[avg]``, :mod:`lab.claim_ids`).
"""

from __future__ import annotations

import functools
import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.claim_ids import canonical_claim, check_id
from lab.provenance import results_provenance as provenance
from lab.results import long_table
from lab.serialize import jsonable

__all__ = [
    "Verdict", "VERDICTS", "vacuous",
    "SCHEMA", "OLD_SCHEMAS", "typed_row", "legacy_row", "document", "dumps", "write_verdicts",
    "load_verdicts", "export",
]

SCHEMA = "muon-lab.verdicts/2"
OLD_SCHEMAS = ("muon-lab.verdicts/1",)
OUTCOMES = ("holds", "violated", "inconclusive", "error")
#: The outcomes a :class:`Verdict` can have (the same tuple).
VERDICTS = OUTCOMES

#: Verdict rows name a non-finite number as text ("inf") and any other object by ``str``.
_cell_json = functools.partial(jsonable, fallback=str)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _text(value: Any) -> str | None:
    return None if value is None or _number(value) is not None else str(value)


def typed_row(verdict: Any) -> dict[str, Any]:
    """A verdict (:class:`Verdict`, or a row of either schema) as a typed row."""
    row = verdict.as_row() if hasattr(verdict, "as_row") else dict(verdict)
    details = row.get("details") or {}
    if isinstance(details, str):
        try:
            details = json.loads(details)
        except ValueError:
            details = {"text": details}
    bound, measured = row.get("bound"), row.get("measured")
    nonfinite = dict(row.get("nonfinite") or {})
    for name in ("worst_ratio", "slope", "ci_lo", "ci_hi"):
        value = row.get(name)
        if value is not None and _number(value) is None and str(value).lower() in ("inf", "-inf", "nan"):
            nonfinite[name] = str(value).lower()
        elif isinstance(value, float) and not math.isfinite(value):
            nonfinite[name] = str(value).lower()
    return {
        "claim": str(row["claim"]),
        "check": str(details.get("check", row.get("check", ""))) if isinstance(details, Mapping) else "",
        "source": row.get("source"),
        "problem": row.get("problem"),
        "verdict": row.get("verdict"),
        "bound": _number(bound),
        "bound_text": row.get("bound_text", _text(bound)),
        "measured": _number(measured),
        "measured_text": row.get("measured_text", _text(measured)),
        "worst_ratio": _number(row.get("worst_ratio")),
        "slope": _number(row.get("slope")),
        "ci_lo": _number(row.get("ci_lo")),
        "ci_hi": _number(row.get("ci_hi")),
        "nonfinite": nonfinite,
        "details": details,
    }


def legacy_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A typed row in the first schema's shape (``bound``/``measured`` number or text, ``details``
    as JSON text), for readers written against it."""
    out = dict(row)
    out["bound"] = row["bound"] if row.get("bound") is not None else row.get("bound_text")
    out["measured"] = row["measured"] if row.get("measured") is not None else row.get("measured_text")
    out["details"] = json.dumps(row.get("details") or {}, sort_keys=True, default=str)
    out.update(row.get("nonfinite") or {})
    return out


def document(
    verdicts: Iterable[Any], *, meta: Mapping[str, str] | None = None, tightness: Any = None
) -> dict[str, Any]:
    """The verdicts document (module docstring) for ``verdicts``; ``tightness``: the per-theorem
    records of :func:`lab.tightness.records`, stored under the key "tightness"."""
    rows = [typed_row(v) for v in verdicts]
    for i, row in enumerate(rows):
        if row["verdict"] not in OUTCOMES:
            raise ValueError(f"verdicts: rows[{i}] ({row['claim']}) has verdict {row['verdict']!r}, "
                             f"not one of {OUTCOMES}")
    summary = {"verdicts": len(rows), **{k: sum(r["verdict"] == k for r in rows) for k in OUTCOMES}}
    doc = {"schema": SCHEMA, "provenance": dict(provenance() if meta is None else meta),
           "summary": summary, "rows": rows}
    if tightness is not None:
        doc["tightness"] = tightness
    return doc


def dumps(doc: Mapping[str, Any]) -> str:
    """JSON text of a document (no NaN: non-finite numbers are already null)."""
    return json.dumps(doc, indent=1, allow_nan=False, default=str) + "\n"


def write_verdicts(verdicts: Iterable[Any], path: str | os.PathLike, *,
                   meta: Mapping[str, str] | None = None, tightness: Any = None) -> Path:
    """Write the document atomically (temporary file, then rename); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(dumps(document(verdicts, meta=meta, tightness=tightness)))
    os.replace(tmp, path)
    return path


def load_verdicts(path: str | os.PathLike) -> list[dict[str, Any]] | None:
    """Typed rows of a verdicts file of either schema; ``None`` when there is no file.

    Raises
    ------
    ValueError
        Not JSON, an unknown schema, or a row without ``claim`` or with an unknown ``verdict``.
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        raise ValueError(f"{path}: not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("schema") not in (SCHEMA, *OLD_SCHEMAS):
        raise ValueError(f"{path}: expected a JSON object with schema {SCHEMA!r}")
    rows = data.get("rows")
    if not isinstance(rows, list):
        raise ValueError(f"{path}: 'rows' must be a list")
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not isinstance(row.get("claim"), str) or not row["claim"]:
            raise ValueError(f"{path}: rows[{i}] must be an object with a non-empty string 'claim'")
        if row.get("verdict") not in OUTCOMES:
            raise ValueError(f"{path}: rows[{i}] has verdict {row.get('verdict')!r}, not one of {OUTCOMES}")
        out.append(_current_ids(typed_row(row)))
    return out


def _current_ids(row: dict[str, Any]) -> dict[str, Any]:
    """A typed row with its claim and check named by the current ids (older files use old spellings)."""
    row["claim"] = canonical_claim(row["claim"])
    row["check"] = check_id(row["check"]) if row["check"] else row["check"]
    return row


def export(
    out_dir: str | os.PathLike,
    verdicts: Iterable[Any],
    experiments: Iterable[Any],
    *,
    claims: Mapping[str, Iterable[str]] | None = None,
    meta: Mapping[str, str] | None = None,
) -> list[Path]:
    """``lab check --export DIR``: the long tables behind the verdicts, as parquet (needs pyarrow).

    ``measurements.parquet``: one row per measured number of every experiment the checks ran
    (:func:`lab.results.long_table`: experiment, claim, quantity, axes, measured, theoretical,
    provenance).  ``verdicts.parquet``: one row per verdict (the typed rows, ``details`` as JSON
    text), with the same provenance columns.  Returns the two paths.
    """
    import pandas as pd  # lazy: optional dependency (the "data" extra)

    meta = dict(provenance() if meta is None else meta)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    measurements = out / "measurements.parquet"
    long_table(experiments, claims=claims, meta=meta).to_parquet(measurements, index=False)
    rows = []
    for v in verdicts:
        row = typed_row(v)
        for name in ("details", "nonfinite"):  # nested objects as JSON text: one flat table
            row[name] = json.dumps(row[name], sort_keys=True, default=str)
        rows.append(row)
    frame = pd.DataFrame(rows)
    for key, value in meta.items():
        frame[key] = value
    table = out / "verdicts.parquet"
    frame.to_parquet(table, index=False)
    return [measurements, table]


# ------------------------------------------------------------------------------------------ the record


def vacuous(verdict: Verdict, reason: str) -> Verdict:
    """``verdict`` reported as vacuous: "inconclusive", ``details["vacuous"] = True`` and the reason.

    For a row that judged nothing (e.g. an inequality stated inside a ball no iterate entered):
    its worst ratio over an empty set would otherwise read as "holds".
    """
    fields = {f: getattr(verdict, f) for f in verdict.__dataclass_fields__}
    details = {**verdict.details, "vacuous": True, "reason": f"vacuous: {reason}"}
    return Verdict(**{**fields, "verdict": "inconclusive", "details": details})


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one claim.

    Attributes
    ----------
    claim : claim id (e.g. "S1-I1").
    source : where the claim comes from, e.g. "lab derivation consistent with S1 (claim ...)".
    problem : the test problem and its configuration.
    bound : the bound or the expected exponent (number or formula text).
    measured : the measured quantity (number or description).
    verdict : one of "holds", "violated", "inconclusive", or "error" (the experiment raised).
    worst_ratio : worst measured/bound ratio (ratio checks).
    slope, ci : fitted slope and its (lo, hi) interval (rate checks).
    details : anything else (grid, seeds, window, where the worst ratio occurred ...).
    """

    claim: str
    source: str
    problem: str
    bound: Any
    measured: Any
    verdict: str
    worst_ratio: float | None = None
    slope: float | None = None
    ci: tuple[float, float] | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")
        for name in ("claim", "source", "problem"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"{name} must be a non-empty string, got {getattr(self, name)!r}")
        if self.ci is not None:
            lo, hi = self.ci
            if not lo <= hi:
                raise ValueError(f"ci must be (lo, hi) with lo <= hi, got {self.ci!r}")

    @property
    def ok(self) -> bool:
        return self.verdict == "holds"

    @classmethod
    def from_ratio(
        cls, claim: str, source: str, problem: str, bound: Any, measured: Any, ratio: Any, **details
    ) -> Verdict:
        """'holds' if the worst ratio is <= 1 (+rtol), else 'violated'; records where.

        ``ratio`` is a :class:`lab.stats.BoundRatio` (what :func:`lab.stats.ratio_to_bound` returns).
        """
        info = {"worst_index": list(ratio.index), **details}
        if ratio.point is not None:
            info["worst_point"] = ratio.point
        return cls(
            claim=claim,
            source=source,
            problem=problem,
            bound=bound,
            measured=measured,
            verdict="holds" if ratio.holds else "violated",
            worst_ratio=ratio.worst,
            details=info,
        )

    @classmethod
    def from_slope(
        cls,
        claim: str,
        source: str,
        problem: str,
        expected: float,
        ci: Any,
        *,
        kind: str = "equal",
        max_width: float | None = None,
        **details,
    ) -> Verdict:
        """Verdict on a fitted exponent against ``expected`` (``ci``: a :class:`lab.stats.SlopeCI`).

        kind "equal": holds if ``lo <= expected <= hi``, violated otherwise.
        kind "at_most" (decays at least as fast): holds if ``hi <= expected``, violated if
        ``lo > expected``, else inconclusive.  kind "at_least": the mirror image.
        ``max_width``: an interval wider than this is "inconclusive" (too few seeds to decide).
        """
        if kind not in ("equal", "at_most", "at_least"):
            raise ValueError(f"kind must be 'equal', 'at_most' or 'at_least', got {kind!r}")
        slope, lo, hi = ci
        if kind == "equal":
            verdict = "holds" if lo <= expected <= hi else "violated"
        elif kind == "at_most":
            verdict = "holds" if hi <= expected else "violated" if lo > expected else "inconclusive"
        else:
            verdict = "holds" if lo >= expected else "violated" if hi < expected else "inconclusive"
        if max_width is not None and hi - lo > max_width and verdict != "violated":
            verdict = "inconclusive"
        return cls(
            claim=claim,
            source=source,
            problem=problem,
            bound=expected,
            measured=slope,
            verdict=verdict,
            slope=slope,
            ci=(lo, hi),
            details={"kind": kind, **({"max_width": max_width} if max_width is not None else {}), **details},
        )

    def as_row(self) -> dict[str, Any]:
        """Flat JSON-serialisable dict (details as compact JSON text) for tables and reports."""
        return {
            "claim": self.claim,
            "source": self.source,
            "problem": self.problem,
            "bound": _cell_json(self.bound),
            "measured": _cell_json(self.measured),
            "worst_ratio": _cell_json(self.worst_ratio),
            "slope": _cell_json(self.slope),
            "ci_lo": _cell_json(self.ci[0]) if self.ci else None,
            "ci_hi": _cell_json(self.ci[1]) if self.ci else None,
            "verdict": self.verdict,
            "details": json.dumps(_cell_json(dict(self.details)), sort_keys=True),
        }

    def __str__(self) -> str:
        if self.slope is not None and self.ci is not None:
            what = f"slope {self.slope:.4g} [{self.ci[0]:.4g}, {self.ci[1]:.4g}] vs {self.bound}"
        elif self.worst_ratio is not None:
            what = f"worst ratio {self.worst_ratio:.4g}"
        else:
            what = f"measured {self.measured} vs bound {self.bound}"
        return f"{self.verdict.upper():12s} {self.claim}: {what} ({self.problem}; {self.source})"


# --------------------------------------------------------------------------- the file's location

#: Where ``lab check`` writes the verdicts document and ``lab appendix`` reads it.
DEFAULT_VERDICTS = Path(__file__).resolve().parents[1] / "build" / "check" / "verdicts.json"


# --------------------------------------------------------------------------- the file for its readers


def validate_rows(rows: Any, where: str) -> None:
    """Raise ValueError naming the row and the field unless ``rows`` is a list of objects with a
    non-empty string ``claim`` and a ``verdict`` among :data:`OUTCOMES`."""
    if not isinstance(rows, list):
        raise ValueError(f"{where}: 'rows' must be a list")
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not isinstance(row.get("claim"), str) or not row["claim"]:
            raise ValueError(f"{where}: rows[{i}] must be an object with a non-empty string 'claim'")
        if row.get("verdict") not in OUTCOMES:
            got = row.get("verdict")
            raise ValueError(f"{where}: rows[{i}].verdict must be one of {OUTCOMES}, got {got!r}")


def save_verdicts(
    verdicts: Iterable[Any], path: str | os.PathLike = DEFAULT_VERDICTS, *, tightness: Any = None
) -> Path:
    """Write ``lab check`` results (verdicts or rows) as the verdicts document, after
    :func:`validate_rows`; returns the path.

    ``tightness``: the per-theorem records of :func:`lab.tightness.records` (key "tightness").
    """
    rows = [v.as_row() if hasattr(v, "as_row") else dict(v) for v in verdicts]
    validate_rows(rows, "verdicts")
    return write_verdicts(rows, path, tightness=tightness)


def load_legacy_rows(path: str | os.PathLike) -> list[dict[str, Any]] | None:
    """The rows of a verdicts file (either schema) in the first schema's shape, which the
    appendix tables read (:func:`legacy_row`); ``None`` if there is no file.

    Raises
    ------
    ValueError
        Not JSON, another schema, or a row without ``claim`` or with an unknown ``verdict``
        (the message names the row and the field).
    """
    rows = load_verdicts(path)
    return None if rows is None else [legacy_row(r) for r in rows]
