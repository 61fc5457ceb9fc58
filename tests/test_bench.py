"""Smoke tests of the benchmark suite (``lab bench``).

They run every benchmark function at toy sizes with one repeat and check the report's
structure and the accounting behind it (flop counts, target logic, the reference kernels'
agreement with the lab's Newton–Schulz).  They never assert on wall-clock times: the
benchmarks themselves run with ``lab bench``, not with the tests.
"""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from lab.bench import BenchConfig, Report, Row, check_target, run_benchmarks
from lab.bench.flops import matmul_flops, newton_schulz_flops, newton_schulz_matmul_flops
from lab.bench.kernels import InPlaceNewtonSchulz, MatmulChain
from lab.bench.report import csv_columns
from lab.bench.timing import measure, measure_interleaved

# ---------------------------------------------------------------- flop accounting


class _Tally:
    """Counts flops of the NS iteration by executing it on real arrays, operation by operation."""

    def __init__(self):
        self.flops = 0

    def matmul(self, P, Q):
        self.flops += 2 * P.shape[-2] * P.shape[-1] * Q.shape[-1]
        return P @ Q

    def elementwise(self, out, n_ops=1):
        self.flops += n_ops * out.size
        return out


def _tallied_newton_schulz_flops(m, n, steps, transpose_tall=True):
    t = _Tally()
    G = np.random.default_rng(0).standard_normal((m, n))
    t.flops += 2 * G.size  # the squares and their sum (the norm's square root and + eps are scalar)
    X = t.elementwise(G / (np.sqrt(np.sum(G * G)) + 1e-7), 1)
    if transpose_tall and m > n:
        X = X.T
    a, b, c = 3.4445, -4.7750, 2.0315
    for _ in range(steps):
        A = t.matmul(X, X.T)
        A2 = t.matmul(A, A)
        B = t.elementwise(b * A + c * A2, 3)
        X = t.elementwise(a * X + t.matmul(B, X), 2)
    return t.flops


@pytest.mark.parametrize("shape", [(4, 4), (6, 3), (3, 6), (64, 32), (1, 5)])
@pytest.mark.parametrize("steps", [0, 1, 5])
def test_newton_schulz_flop_count_matches_an_operation_tally(shape, steps):
    assert newton_schulz_flops(*shape, steps) == _tallied_newton_schulz_flops(*shape, steps)
    elementwise = steps * (3 * min(shape) ** 2 + 2 * shape[0] * shape[1]) + 3 * shape[0] * shape[1]
    assert newton_schulz_matmul_flops(*shape, steps) == newton_schulz_flops(*shape, steps) - elementwise


def test_flop_tally_detects_a_missing_transposition():
    # Without transposing a tall input the Gram matrix is the big one: the count must differ.
    assert newton_schulz_flops(64, 32, 5) != _tallied_newton_schulz_flops(64, 32, 5, transpose_tall=False)


def test_flop_counts_reject_bad_shapes():
    assert matmul_flops(2, 3, 4) == 48
    with pytest.raises(ValueError, match="steps"):
        newton_schulz_flops(4, 4, -1)
    with pytest.raises(ValueError, match="m, n >= 1"):
        newton_schulz_flops(0, 4)


# ---------------------------------------------------------------- timing and targets


def test_measure_interleaved_structure_and_call_counts():
    calls = {"a": 0, "b": 0}

    def make(name):
        def fn():
            calls[name] += 1

        return fn

    timings = measure_interleaved({"a": make("a"), "b": make("b")}, repeats=4, warmup=2, min_sample_s=0.0)
    for name, timing in timings.items():
        assert timing.repeats == 4 and timing.number == 1
        assert timing.best <= timing.median
        assert all(t >= 0 for t in timing.per_call)
        assert calls[name] == 2 + 1 + 4  # warm-up, probe, samples
    with pytest.raises(ValueError, match="repeats"):
        measure(lambda: None, repeats=0)
    with pytest.raises(ValueError, match="warmup"):
        measure(lambda: None, warmup=-1)


@pytest.mark.parametrize(
    ("value", "target", "met"),
    [
        (0.9, ">= 0.85", "yes"),
        (0.85, ">= 0.85", "yes"),
        (0.84, ">= 0.85", "no"),
        (0.2, "< 0.30", "yes"),
        (0.3, "< 0.30", "no"),
        (3.0, "<= 3", "yes"),
        (11.0, ">= 10", "yes"),
        (float("nan"), ">= 10", ""),
        (1.0, "", ""),
    ],
)
def test_check_target(value, target, met):
    assert check_target(value, target) == met


def test_check_target_rejects_unknown_operator():
    with pytest.raises(ValueError, match="target"):
        check_target(1.0, "== 1")


# ---------------------------------------------------------------- reference kernels


@pytest.mark.parametrize("shape", [(5, 7, 3), (2, 3, 7), (6, 6)])
def test_in_place_reference_equals_lab_newton_schulz(shape):
    from lab.orthogonalization import newton_schulz

    G = np.random.default_rng(1).standard_normal(shape)
    reference = InPlaceNewtonSchulz(G, steps=5)()
    np.testing.assert_allclose(
        reference, newton_schulz(G, steps=5, coefficients="jordan"), rtol=1e-10, atol=1e-12
    )
    wrong = InPlaceNewtonSchulz(G, steps=4)()  # a deliberately different iteration must not pass
    assert not np.allclose(wrong, newton_schulz(G, steps=5, coefficients="jordan"), rtol=1e-10, atol=1e-12)


def test_matmul_chain_runs_the_ns_products():
    G = np.random.default_rng(2).standard_normal((3, 8, 4))
    chain = MatmulChain(G, steps=2)
    Y = chain()
    assert Y.shape == (3, 4, 8)  # the (r, c) orientation: tall inputs are transposed
    X = chain.X
    np.testing.assert_allclose(Y, (X @ np.swapaxes(X, -1, -2)) @ (X @ np.swapaxes(X, -1, -2)) @ X, rtol=1e-12)


# ---------------------------------------------------------------- sections and report


def _finite_positive(x):
    return isinstance(x, float) and math.isfinite(x) and x > 0


def test_orthogonalization_section_structure():
    from lab.bench.kernel_bench import bench_orthogonalization

    rows = bench_orthogonalization(
        sizes=(8,), dtypes=("float32", "float64"), repeats=1, warmup=0, polar_repeats=1
    )
    variants = {"matmul", "lab.newton_schulz", "in-place NS (reference)", "lab.polar"}
    assert len(rows) == 2 * 2 * len(variants)  # dtypes x shapes (8x8, 8x4) x variants
    assert {r.variant for r in rows} == variants
    for r in rows:
        assert r.section == "orthogonalization" and r.backend == "numpy" and r.unit == "GFLOP/s"
        assert _finite_positive(r.time_best_s) and r.time_best_s <= r.time_median_s
        assert _finite_positive(r.rate_best)
        if r.variant != "matmul":
            assert r.reference and _finite_positive(r.ratio_best)
        assert r.met == ""  # n = 8 < 512: no target
    ns_rows = [r for r in rows if r.variant == "lab.newton_schulz"]
    assert sorted(r.work for r in ns_rows) == sorted(
        float(newton_schulz_flops(*s, 5)) for s in [(8, 8), (8, 4)] * 2
    )


def test_orthogonalization_target_applies_from_n_512():
    from lab.bench.kernel_bench import NS_TARGET_MIN_N, NS_TARGET_VS_MATMUL

    assert NS_TARGET_MIN_N == 512 and NS_TARGET_VS_MATMUL == ">= 0.85"


def test_batched_section_structure():
    from lab.bench.kernel_bench import bench_batched

    rows = bench_batched(
        batches=(3,), small_shape=(6, 4), dtypes=("float64",), repeats=1, warmup=0, loop_repeats=1
    )
    assert [r.variant for r in rows] == [
        "stacked matmul chain",
        "lab.newton_schulz",
        "in-place NS (reference)",
        "python loop of lab.newton_schulz",
        "lab.newton_schulz",
    ]
    speedup = rows[-1]
    assert speedup.reference == "python loop" and speedup.target == ">= 10" and speedup.met in ("yes", "no")
    assert speedup.ratio_best == pytest.approx(rows[3].time_best_s / rows[1].time_best_s)
    assert all(r.shape == "3x6x4" for r in rows)


def test_report_writes_csv_and_markdown(tmp_path):
    report = Report(
        machine={
            "date": "d",
            "git_revision": "r",
            "cpu": "c",
            "cores": "2",
            "numpy": "n",
            "blas": "b",
            "backend": "numpy",
        }
    )
    report.add(
        [
            Row("batched", "case", "v", rate_best=2.0, ratio_best=12.0, target=">= 10", met="yes"),
            Row("sweep", "case2", "w", time_best_s=1e-4),
        ]
    )
    csv_path, md_path = report.write(tmp_path / "out")
    with open(csv_path) as fh:
        records = list(csv.DictReader(fh))
    assert list(records[0]) == csv_columns()
    assert [r["variant"] for r in records] == ["v", "w"] and records[0]["git_revision"] == "r"
    md = md_path.read_text()
    assert "## Machine" in md and "## Targets: 1 of 1 met" in md and "| cpu | c |" in md
    assert "## Batched small matrices" in md and "## Sweep: batched Muon runs" in md


def test_config_validation():
    with pytest.raises(ValueError, match="sections"):
        run_benchmarks(BenchConfig(sections=("nope",)))
    with pytest.raises(ValueError, match="backend"):
        run_benchmarks(BenchConfig(backend="torch"))
    with pytest.raises(ValueError, match="repeats"):
        run_benchmarks(BenchConfig(repeats=0))
    with pytest.raises(ValueError, match="dtype"):
        run_benchmarks(BenchConfig(dtypes=("float16",)))


def test_cli_quick_run_writes_the_report(tmp_path):
    from lab.cli import main

    code = main(
        [
            "bench",
            "--quick",
            "--quiet",
            "--sections",
            "orthogonalization",
            "batched",
            "--sizes",
            "8",
            "--batches",
            "2",
            "--dtypes",
            "float64",
            "--repeats",
            "1",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    assert (tmp_path / "bench.csv").exists() and (tmp_path / "bench.md").exists()
    text = (tmp_path / "bench.md").read_text()
    assert "| isolated sections | True |" in text  # each section ran in a fresh interpreter
    for key in ("cpu", "cores", "numpy", "blas", "backend", "dtypes", "date", "git_revision"):
        assert f"| {key} |" in text


def test_cli_help_documents_the_options(capsys):
    from lab.cli import main

    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    out = capsys.readouterr().out
    for option in ("--backend", "--quick", "--out", "--sections", "--strict"):
        assert option in out


@pytest.mark.gpu
def test_cupy_backend_smoke():
    from lab.bench.kernel_bench import bench_batched, bench_orthogonalization

    rows = bench_orthogonalization(
        "cupy", sizes=(16,), dtypes=("float32",), repeats=1, warmup=1, polar_repeats=1
    )
    rows += bench_batched(
        "cupy", batches=(4,), small_shape=(8, 4), dtypes=("float32",), repeats=1, loop_repeats=1
    )
    assert all(r.backend == "cupy" and _finite_positive(r.time_best_s) for r in rows)


def test_sweep_section_structure_and_batched_equals_loop():
    from lab.bench.sweep_bench import OUTSIDE_MATMUL_TARGET, SWEEP_TARGET_VS_LOOP, bench_sweep

    rows = bench_sweep(configs=4, steps=3, shape=(6, 4), loop_runs=2, repeats=1)
    by_variant = {}
    for r in rows:
        by_variant.setdefault(r.variant, []).append(r)
    assert set(by_variant) == {
        "batched lab.runner.run",
        "python loop of single runs",
        "batched Muon step",
        "NS matmuls alone",
        "gradient matmuls alone",
        "share of step outside matmuls",
        "runner step / bare optimizer step",
        "page faults per batched step",
    }
    speed = [r for r in by_variant["batched lab.runner.run"] if r.reference]
    assert len(speed) == 1 and speed[0].target == SWEEP_TARGET_VS_LOOP and speed[0].met in ("yes", "no")
    share = by_variant["share of step outside matmuls"][0]
    assert share.target == OUTSIDE_MATMUL_TARGET and share.ratio_best < 1.0
    loop = by_variant["python loop of single runs"][0]
    # the looped runs end where the batched members end (max |X_loop - X_batched| in the note)
    assert float(loop.note.rsplit("= ", 1)[1]) <= 1e-12
    assert all(r.section == "sweep" for r in rows)


def test_memory_section_counts_state_copies_and_no_growth():
    from lab.bench.memory_bench import bench_memory, measure_memory, tree_nbytes

    muon = measure_memory("muon", 2, batch=3, shape=(6, 4))
    mvr2 = measure_memory("muon_mvr2", 2, batch=3, shape=(6, 4))
    copy = 6 * 4 * 8
    # exact array bytes: params + momentum (Muon), params + momentum + X_{t-1} (MVR2)
    assert muon["params_arrays"] == copy and muon["state_arrays"] == copy
    assert mvr2["state_arrays"] == 2 * copy
    assert muon["peak_transient"] > 0 and mvr2["peak_transient"] > 0
    shared = np.zeros((2, 3))
    assert tree_nbytes((shared, (shared, np.zeros(4)))) == shared.nbytes + 32  # shared arrays count once
    rows = bench_memory(steps=2, batch=3, shape=(6, 4))
    assert len(rows) == 8 and {r.section for r in rows} == {"memory"}
    resident = [r for r in rows if r.target == "<= 3"]
    assert [r.ratio_best for r in resident] == [2.0, 3.0]
    with pytest.raises(ValueError, match="optimizer"):
        measure_memory("adam", 1)


def test_run_benchmarks_all_sections_tiny(tmp_path):
    config = BenchConfig(
        sizes=(4,),
        batches=(2,),
        small_shape=(6, 4),
        dtypes=("float64",),
        repeats=1,
        warmup=0,
        polar_repeats=1,
        loop_repeats=1,
        sweep_configs=2,
        sweep_steps=2,
        sweep_loop_runs=1,
        memory_steps=1,
        memory_batch=2,
    )
    report = run_benchmarks(config)
    assert {r.section for r in report.rows} == {"orthogonalization", "batched", "sweep", "memory"}
    for key in (
        "date",
        "git_revision",
        "cpu",
        "cores",
        "numpy",
        "blas",
        "backend",
        "dtypes",
        "loadavg_at_end",
    ):
        assert report.machine[key]
    csv_path, md_path = report.write(tmp_path)
    with open(csv_path) as fh:
        assert len(list(csv.DictReader(fh))) == len(report.rows)
    # the pictures: throughput against n and batched speed-up against B, linked from the report
    for name in ("bench_orthogonalization.png", "bench_batched.png"):
        png = (tmp_path / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
        assert f"]({name})" in md_path.read_text()


def _ortho_rows(lab_ratio, ref_ratio):
    case, dtype = "NS5 jordan 512x512", "float64"
    return [
        Row(
            "orthogonalization",
            case,
            "lab.newton_schulz",
            dtype=dtype,
            time_best_s=2.0,
            ratio_best=lab_ratio,
            target=">= 0.85",
            met=check_target(lab_ratio, ">= 0.85"),
        ),
        Row(
            "orthogonalization",
            case,
            "in-place NS (reference)",
            dtype=dtype,
            time_best_s=1.0,
            ratio_best=ref_ratio,
        ),
    ]


def test_diagnose_tells_lab_overhead_from_machine_limits():
    from lab.bench import diagnose

    overhead = diagnose(Report(machine={}, rows=_ortho_rows(0.5, 0.95)))
    assert overhead[0].startswith("lab overhead") and "2.00x" in overhead[0]
    machine = diagnose(Report(machine={}, rows=_ortho_rows(0.5, 0.6)))
    assert machine[0].startswith("machine-bound")
    assert not any(
        f.startswith(("lab overhead", "machine-bound"))
        for f in diagnose(Report(machine={}, rows=_ortho_rows(0.9, 0.95)))
    )
    case = "NS5 jordan B=64 of 64x32"
    batched = [
        Row("batched", case, "stacked matmul chain", dtype="float64", time_best_s=1.0),
        Row("batched", case, "python loop of lab.newton_schulz", dtype="float64", time_best_s=3.0),
        Row(
            "batched",
            case,
            "lab.newton_schulz",
            dtype="float64",
            time_best_s=2.0,
            reference="python loop",
            ratio_best=1.5,
            target=">= 10",
            met="no",
        ),
    ]
    found = diagnose(Report(machine={}, rows=batched))
    assert found[0].startswith("machine-bound") and "ceiling" in found[0] and "3.00x" in found[0]


def test_failed_section_is_recorded_and_others_still_run(monkeypatch, tmp_path):
    import lab.bench.memory_bench as memory_bench
    from lab.cli import main

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(memory_bench, "bench_memory", broken)
    config = BenchConfig(
        sections=("batched", "memory"),
        batches=(2,),
        small_shape=(6, 4),
        dtypes=("float64",),
        repeats=1,
        warmup=0,
        loop_repeats=1,
    )
    with pytest.raises(RuntimeError, match="boom"):
        run_benchmarks(config)
    written = []
    report = run_benchmarks(config, raise_errors=False, on_section=lambda r: written.append(len(r.rows)))
    assert report.failures == ["memory: RuntimeError: boom"] and {r.section for r in report.rows} == {
        "batched"
    }
    assert written == [5, 5]  # the report was handed out after each section
    code = main(["bench", "--quiet", "--in-process", "--sections", "memory", "--out", str(tmp_path)])
    assert code == 3 and "boom" in (tmp_path / "bench.md").read_text()


def test_machine_record_names_the_runtime_blas_kernel_and_threads():
    """The record says what runs (threadpoolctl), not only what NumPy was built against."""
    from threadpoolctl import threadpool_info

    from lab.bench.machine import machine_info

    info = machine_info()
    pools = [p for p in threadpool_info() if p["user_api"] == "blas"]
    assert pools, "NumPy loads a BLAS"
    for p in pools:
        assert f"runtime kernel {p.get('architecture') or 'unknown'}" in info["blas"]
    assert int(info["blas_threads"]) == max(p["num_threads"] for p in pools)
    assert "blas_build" in info
