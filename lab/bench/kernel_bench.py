"""Sections 1 and 2: Newton–Schulz and polar on large matrices, and on stacks of small ones.

Section "orthogonalization": for n in ``sizes`` and shapes n×n and n×n/2 (tall, so the
transposition path runs), time ``lab.newton_schulz`` (5 Jordan steps), ``lab.polar`` and a plain
matmul of the same operand shapes, round-robin, and report NS GFLOP/s ÷ matmul GFLOP/s
(target ≥ 0.85 for n ≥ 512).  The matmul reference for G of shape (m, n), r = min, c = max, is
the general product (r×c)@(c×r) of two distinct arrays: n×n@n×n for a square G, and the shape
of the Gram product that dominates NS for a rectangular one.

Section "batched": for B in ``batches`` matrices of ``small_shape``, time the batched call, the
in-place reference iteration and the raw stacked-matmul chain of the same matmul flop count
(the best the backend can do for those products), and a Python loop calling
``lab.newton_schulz`` on one matrix at a time (target: batched ≥ 10× the loop).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from lab import orthogonalization
from lab.backend import asarray, backend_name, get_backend, to_numpy
from lab.bench.flops import matmul_flops, newton_schulz_flops, newton_schulz_matmul_flops, svd_polar_flops
from lab.bench.kernels import InPlaceNewtonSchulz, MatmulChain, device_sync
from lab.bench.report import Row, check_target
from lab.bench.timing import Timing, measure, measure_interleaved

NS_STEPS = 5
NS_TARGET_VS_MATMUL = ">= 0.85"
NS_TARGET_MIN_N = 512
BATCH_TARGET_VS_LOOP = ">= 10"


def lab_newton_schulz() -> Callable:
    """``lab.newton_schulz``, the default implementation under test."""
    return orthogonalization.newton_schulz


def lab_polar() -> Callable:
    """``lab.polar``, the default polar factor under test."""
    return orthogonalization.polar


def random_matrix(xp, shape, dtype, seed: int = 0):
    """Standard normal test input, drawn on the host and placed on the backend once."""
    host = np.random.default_rng(seed).standard_normal(shape)
    return asarray(host, xp=xp, dtype=dtype)


def _rate(work: float, t: float) -> float:
    return work / t / 1e9 if t > 0 else float("nan")


def _row(
    section,
    case,
    variant,
    xp,
    dtype,
    shape,
    work,
    timing: Timing,
    *,
    unit="GFLOP/s",
    note="",
    reference="",
    ref_timing: Timing | None = None,
    ref_work=None,
    target="",
) -> Row:
    row = Row(
        section=section,
        case=case,
        variant=variant,
        backend=backend_name(xp),
        dtype=dtype,
        shape="x".join(str(s) for s in shape),
        work=float(work),
        work_unit="flop",
        time_best_s=timing.best,
        time_median_s=timing.median,
        rate_best=_rate(work, timing.best),
        rate_median=_rate(work, timing.median),
        unit=unit,
        repeats=timing.repeats,
        number=timing.number,
        load1=round(timing.load, 2),
        note=note,
    )
    if ref_timing is not None:
        ref_work = work if ref_work is None else ref_work
        row.reference = reference
        row.ratio_best = row.rate_best / _rate(ref_work, ref_timing.best)
        row.ratio_median = row.rate_median / _rate(ref_work, ref_timing.median)
        row.target = target
        row.met = check_target(row.ratio_best, target)
    return row


def _max_rel_diff(xp, a, b) -> float:
    a, b = to_numpy(a).astype(np.float64), to_numpy(b).astype(np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def bench_orthogonalization(
    backend: str = "numpy",
    sizes=(256, 512, 1024, 2048),
    dtypes=("float32", "float64"),
    *,
    repeats: int = 5,
    warmup: int = 1,
    polar_repeats: int = 3,
    budget_s: float | None = 30.0,
    with_polar: bool = True,
    newton_schulz: Callable | None = None,
    polar: Callable | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Row]:
    """Newton–Schulz (5 Jordan steps) and polar against plain matmul; see the module docstring.

    ``budget_s`` caps the sampling time of one case (fewer repeats, at least 3, for long calls).
    """
    xp = get_backend(backend)
    ns = newton_schulz or lab_newton_schulz()
    pol = (polar or lab_polar()) if with_polar else None
    timing = dict(repeats=repeats, warmup=warmup, sync=device_sync(xp), budget_s=budget_s)
    rows: list[Row] = []
    for dtype in dtypes:
        for n in sizes:
            for m in (n, n // 2) if n >= 2 else (n,):
                shape = (n, m)  # n×n and n×n/2 (tall: exercises the transposition)
                if progress:
                    progress(f"orthogonalization {dtype} {shape[0]}x{shape[1]}")
                rows += _orthogonalization_case(xp, ns, pol, dtype, shape, polar_repeats, **timing)
    return rows


def _orthogonalization_case(xp, ns, pol, dtype, shape, polar_repeats, *, repeats, warmup, sync, budget_s):
    """The rows of one shape: matmul, lab.newton_schulz, the in-place iteration and (with ``pol``) polar."""
    n, m = shape
    r, c = min(shape), max(shape)
    G = random_matrix(xp, shape, dtype, seed=n + m)
    P = random_matrix(xp, (r, c), dtype, seed=1)
    Q = random_matrix(xp, (c, r), dtype, seed=2)
    inplace = InPlaceNewtonSchulz(G, NS_STEPS)
    case = f"NS{NS_STEPS} jordan {shape[0]}x{shape[1]}"
    timings = measure_interleaved(
        {
            "matmul": lambda: xp.matmul(P, Q),
            "lab": lambda: ns(G, steps=NS_STEPS, coefficients="jordan"),
            "inplace": inplace,
        },
        repeats=repeats,
        warmup=warmup,
        sync=sync,
        budget_s=budget_s,
    )
    f_ns = newton_schulz_flops(*shape, NS_STEPS)
    f_mm = matmul_flops(r, c, r)
    target = NS_TARGET_VS_MATMUL if n >= NS_TARGET_MIN_N else ""
    diff = _max_rel_diff(xp, ns(G, steps=NS_STEPS, coefficients="jordan"), inplace())
    overhead = timings["lab"].best / timings["inplace"].best
    versus_matmul = dict(reference="matmul", ref_timing=timings["matmul"], ref_work=f_mm)
    rows = [
        _row(
            "orthogonalization", case, "matmul", xp, dtype, (r, c, r), f_mm, timings["matmul"],
            note=f"({r}x{c})@({c}x{r}), flops 2*{r}*{c}*{r}",
        ),
        _row(
            "orthogonalization", case, "lab.newton_schulz", xp, dtype, shape, f_ns, timings["lab"],
            target=target, note=f"exact flop count; time = {overhead:.2f}x the in-place iteration",
            **versus_matmul,
        ),
        _row(
            "orthogonalization", case, "in-place NS (reference)", xp, dtype, shape, f_ns, timings["inplace"],
            note=f"same iteration, no allocations; max rel. diff to lab {diff:.1e}", **versus_matmul,
        ),
    ]  # fmt: skip
    if pol is not None:
        rows.append(_polar_row(xp, pol, G, dtype, shape, timings["lab"], f_ns, polar_repeats, sync))
    return rows


def _polar_row(xp, pol, G, dtype, shape, t_ns: Timing, f_ns, polar_repeats, sync) -> Row:
    """``lab.polar`` on ``G`` against the Newton–Schulz timing ``t_ns`` of the same matrix."""
    t_pol = measure(lambda: pol(G), repeats=polar_repeats, warmup=1, sync=sync, min_sample_s=0.0)
    return _row(
        "orthogonalization",
        f"polar {shape[0]}x{shape[1]}",
        "lab.polar",
        xp,
        dtype,
        shape,
        svd_polar_flops(*shape),
        t_pol,
        reference="lab.newton_schulz",
        ref_timing=t_ns,
        ref_work=f_ns,
        note="nominal SVD flop count (GVL); ratio = polar rate / NS rate; "
        f"time = {t_pol.best / t_ns.best:.2f}x NS",
    )


def bench_batched(
    backend: str = "numpy",
    batches=(64, 1024, 8192),
    small_shape=(64, 32),
    dtypes=("float32", "float64"),
    *,
    repeats: int = 5,
    warmup: int = 1,
    loop_repeats: int = 3,
    budget_s: float | None = 30.0,
    newton_schulz: Callable | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Row]:
    """Batched Newton–Schulz on B stacked small matrices; see the module docstring."""
    xp = get_backend(backend)
    ns = newton_schulz or lab_newton_schulz()
    sync = device_sync(xp)
    m, n = small_shape
    rows: list[Row] = []
    for dtype in dtypes:
        for B in batches:
            if progress:
                progress(f"batched {dtype} {B}x{m}x{n}")
            timings, t_loop, diff = _time_batched(
                xp, ns, dtype, (B, m, n), repeats=repeats, warmup=warmup, loop_repeats=loop_repeats,
                budget_s=budget_s, sync=sync,
            )  # fmt: skip
            rows += _batched_rows(xp, dtype, (B, m, n), timings, t_loop, diff)
    return rows


def _time_batched(xp, ns, dtype, shape, *, repeats, warmup, loop_repeats, budget_s, sync):
    """Timings of the stacked chain, the batched and in-place calls, and the Python loop over the
    members: (timings by name, loop timing, max relative difference of lab to the in-place iteration)."""
    B = shape[0]
    G = random_matrix(xp, shape, dtype, seed=B)
    members = [G[i, ...] for i in range(B)]
    inplace, chain = InPlaceNewtonSchulz(G, NS_STEPS), MatmulChain(G, NS_STEPS)

    def loop():
        for Gi in members:
            ns(Gi, steps=NS_STEPS, coefficients="jordan")

    timings = measure_interleaved(
        {
            "chain": chain,
            "lab": lambda: ns(G, steps=NS_STEPS, coefficients="jordan"),
            "inplace": inplace,
        },
        repeats=repeats,
        warmup=warmup,
        sync=sync,
        budget_s=budget_s,
    )
    t_loop = measure(loop, repeats=loop_repeats, warmup=1, sync=sync, min_sample_s=0.0)
    diff = _max_rel_diff(xp, ns(G, steps=NS_STEPS, coefficients="jordan"), inplace())
    return timings, t_loop, diff


def _batched_rows(xp, dtype, shape, timings, t_loop: Timing, diff: float) -> list[Row]:
    """The five rows of one batch: the chain, lab against it, the in-place iteration, the loop,
    and the batched call's speed-up over the loop."""
    B, m, n = shape
    f_ns = B * newton_schulz_flops(m, n, NS_STEPS)
    f_mm = B * newton_schulz_matmul_flops(m, n, NS_STEPS)
    case = f"NS{NS_STEPS} jordan B={B} of {m}x{n}"
    versus_chain = dict(reference="stacked matmul chain", ref_timing=timings["chain"], ref_work=f_mm)
    return [
        _row(
            "batched", case, "stacked matmul chain", xp, dtype, shape, f_mm, timings["chain"],
            note=f"the {3 * NS_STEPS} NS products alone, out= buffers",
        ),
        _row(
            "batched", case, "lab.newton_schulz", xp, dtype, shape, f_ns, timings["lab"],
            note=f"time = {timings['lab'].best / timings['chain'].best:.2f}x the chain", **versus_chain,
        ),
        _row(
            "batched", case, "in-place NS (reference)", xp, dtype, shape, f_ns, timings["inplace"],
            note=f"max rel. diff to lab {diff:.1e}", **versus_chain,
        ),
        _row(
            "batched", case, "python loop of lab.newton_schulz", xp, dtype, shape, f_ns, t_loop,
            note=f"{B} calls on {m}x{n}; {t_loop.best / B * 1e6:.1f} µs per call",
        ),
        _row(
            "batched", case, "lab.newton_schulz", xp, dtype, shape, f_ns, timings["lab"],
            reference="python loop", ref_timing=t_loop, target=BATCH_TARGET_VS_LOOP,
            note="speed-up of one batched call over the loop",
        ),
    ]  # fmt: skip
