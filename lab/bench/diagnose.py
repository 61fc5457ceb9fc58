"""Automatic findings: for every missed target, is it the machine or the lab's code?

The report carries, next to each lab variant, a reference that does the same arithmetic with no
library overhead (the in-place iteration, the raw stacked-matmul chain, the NS and gradient
products alone).  Hence:

* a target missed by the lab but met by the overhead-free reference is **lab overhead**, and the
  finding says how many times slower the lab's code is than the reference;
* a target the reference misses too is **machine-bound**; for the batched and sweep speed-ups the
  finding gives the ceiling: the loop's time divided by the time the batch would take at the raw
  matmul rate — no batched implementation on this backend can beat it.
"""

from __future__ import annotations

import math

from lab.bench.report import Report, check_target

#: Minor page faults per batched Muon step above which the allocator finding is reported.  A
#: thrashing glibc heap costs thousands per step (5,478 measured before lab.backend.tune_allocator);
#: with the tuning ~100-200 remain, the first touches of buffers that grow with the batch.
FAULTS_PER_STEP_ALARM = 1000

def _find(rows, **match):
    for r in rows:
        if all(getattr(r, k) == v for k, v in match.items()):
            return r
    return None


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _limit(ceiling: float, target: str) -> str:
    """'machine-bound' when even the overhead-free ceiling misses the target, else 'lab overhead'."""
    if check_target(ceiling, target) == "no":
        return "machine-bound (unreachable on this backend)"
    return "lab overhead (reachable)"


def diagnose(report: Report) -> list[str]:
    """Plain-language findings for the rows of ``report`` (missed targets first)."""
    rows = report.rows
    return [
        *_orthogonalization_findings(rows),
        *_batched_findings(rows),
        *_sweep_findings(rows),
        *_memory_findings(rows),
        *_load_findings(rows, report.machine),
    ]


def _orthogonalization_findings(rows) -> list[str]:
    out: list[str] = []
    for r in rows:
        if r.section != "orthogonalization" or r.variant != "lab.newton_schulz" or not r.target:
            continue
        ref = _find(rows, section=r.section, case=r.case, dtype=r.dtype, variant="in-place NS (reference)")
        if r.met == "yes" or ref is None:
            continue
        slow = r.time_best_s / ref.time_best_s
        if check_target(ref.ratio_best, r.target) == "yes":
            out.append(
                f"lab overhead — {r.case} {r.dtype}: lab.newton_schulz reaches {r.ratio_best:.2f} of the "
                f"matmul rate, the same iteration on preallocated buffers {ref.ratio_best:.2f}; the lab's "
                f"loop takes {slow:.2f}x its time (temporaries of the elementwise updates)."
            )
        else:
            out.append(
                f"machine-bound — {r.case} {r.dtype}: even the allocation-free iteration reaches only "
                f"{ref.ratio_best:.2f} of the matmul rate (lab {r.ratio_best:.2f}, {slow:.2f}x the "
                f"reference's time): the small r×r products and the elementwise passes run below the GEMM "
                f"rate here."
            )
    return out


def _batched_findings(rows) -> list[str]:
    out: list[str] = []
    for r in rows:
        if r.section != "batched" or r.reference != "python loop":
            continue
        chain = _find(rows, section="batched", case=r.case, dtype=r.dtype, variant="stacked matmul chain")
        loop = _find(
            rows, section="batched", case=r.case, dtype=r.dtype, variant="python loop of lab.newton_schulz"
        )
        if chain is None or loop is None:
            continue
        ceiling = loop.time_best_s / chain.time_best_s
        vs_chain = r.time_best_s / chain.time_best_s
        if r.met == "no":
            out.append(
                f"{_limit(ceiling, r.target)} — {r.case} {r.dtype}: batched speed-up over the loop "
                f"{r.ratio_best:.2f}x; ceiling (loop time / raw stacked-matmul time) {ceiling:.2f}x; the "
                f"batched call takes {vs_chain:.2f}x the raw chain (lab overhead factor)."
            )
    return out


def _sweep_findings(rows) -> list[str]:
    out: list[str] = []
    speed = next(
        (r for r in rows if r.section == "sweep" and r.reference == "python loop of single runs"), None
    )
    loop = next((r for r in rows if r.section == "sweep" and r.variant == "python loop of single runs"), None)
    ns = next((r for r in rows if r.section == "sweep" and r.variant == "NS matmuls alone"), None)
    grad = next((r for r in rows if r.section == "sweep" and r.variant == "gradient matmuls alone"), None)
    share = next(
        (r for r in rows if r.section == "sweep" and r.variant == "share of step outside matmuls"), None
    )
    if speed is not None and loop is not None and ns is not None and grad is not None and speed.met == "no":
        configs = speed.work
        ceiling = loop.time_best_s * configs / (ns.time_best_s + grad.time_best_s)
        out.append(
            f"{_limit(ceiling, speed.target)} — sweep: batched runs make {speed.ratio_best:.2f}x the loop's "
            f"steps per second; a batch that cost only its NS and gradient matmuls would make {ceiling:.2f}x."
        )
    if share is not None and share.met == "no":
        out.append(
            f"lab overhead — sweep: {_pct(share.ratio_best)} of a batched Muon step "
            f"({share.time_best_s * 1e3:.1f} ms of {(share.time_best_s / share.ratio_best) * 1e3:.1f} ms) is "
            "spent outside the NS and gradient matmuls (elementwise passes of the estimator, the oracle's "
            "normalisation and polynomial updates, the parameter update)."
        )
    faults = next(
        (r for r in rows if r.section == "sweep" and r.variant == "page faults per batched step"), None
    )
    if faults is not None and faults.rate_best > FAULTS_PER_STEP_ALARM:
        out.append(
            f"allocator — sweep: {faults.rate_best:.0f} minor page faults per batched Muon step: the C "
            "allocator returns each freed multi-MiB temporary to the OS and the next one faults its pages in "
            "again (glibc: raise M_MMAP_THRESHOLD and M_TRIM_THRESHOLD, or reuse buffers)."
        )
    return out


def _memory_findings(rows) -> list[str]:
    out: list[str] = []
    for r in rows:
        if r.section == "memory" and r.met == "no":
            out.append(f"memory — {r.case}: {r.variant} is {r.ratio_best:.3f} (target {r.target}).")
    return out


def _load_findings(rows, machine) -> list[str]:
    out: list[str] = []
    loads = [r.load1 for r in rows if isinstance(r.load1, float) and not math.isnan(r.load1)]
    if loads:
        out.append(
            f"machine load (1-min load average) during the measurements: {min(loads):.2f} to "
            f"{max(loads):.2f} on {machine.get('cores', '?')} cores; ratios come from round-robin "
            "samples of the same round."
        )
    return out
