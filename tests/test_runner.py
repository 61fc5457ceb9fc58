"""The runner: batch layout, checkpoints, metrics, divergence handling, the result table and files."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from test_optimizers_problems import Quadratic

from lab.backend import to_numpy
from lab.optimizers import lion_k, lmo_step, muon, sgd
from lab.oracles import inexact_oracle, newton_schulz_oracle
from lab.runner import RunResult, batch_grid, log_checkpoints, run
from lab.sweeps import Grid


def test_batch_grid_is_an_outer_product_in_c_order():
    g = batch_grid(seed=range(3), lr=[0.1, 0.2], beta=[0.9, 0.95])
    assert g.shape == (3, 2, 2) and g.seeds.shape == (12,)
    assert g.seeds.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert g["lr"].tolist() == [0.1, 0.1, 0.2, 0.2] * 3
    assert g["beta"].tolist() == [0.9, 0.95] * 6
    assert g.axes["lr"] == (0.1, 0.2)
    assert isinstance(g, Grid)  # one grid type: the sweeps' grid, seen as a flat batch
    assert [p["lr"] for p in g.points()] == g["lr"].tolist()  # the batch is the points, in order
    assert g.seeds.dtype == np.int64 and set(g.values) == {"lr", "beta"}
    with pytest.raises(ValueError, match="lr must be a non-empty 1-D sequence"):
        batch_grid(seed=[0], lr=[])
    with pytest.raises(ValueError, match="seed must be a non-empty 1-D sequence of integers"):
        batch_grid(seed=[0.5])


def test_log_checkpoints():
    c = log_checkpoints(2000)
    assert c[0] == 0 and c[-1] == 2000 and np.all(np.diff(c) > 0)
    assert 25 <= c.size <= 45  # about 10 per decade
    assert log_checkpoints(1).tolist() == [0, 1]


def test_grid_run_gives_one_member_per_point_and_a_long_table(tmp_path):
    problem = Quadratic(((6, 4), (3, 5)), sigma=0.3)
    g = batch_grid(seed=[0, 1], lr=[0.02, 0.05])
    res = run(problem, muon(g["lr"], 0.9), 30, g.seeds)
    K = res.checkpoints.size
    assert res.batch_shape == (4,) and res["f"].shape == (K, 4)
    for name in (
        "f",
        "gap",
        "grad_dual",
        "grad_fro",
        "grad_dual_b1",
        "est_err_fro",
        "est_err_dual",
        "lr",
        "step_b0",
        "x_op_b1",
    ):
        assert res[name].shape == (K, 4), name
    np.testing.assert_array_equal(res.members["lr"], g["lr"])
    np.testing.assert_array_equal(res.members["seed"], g.seeds)
    # step sizes: η·√max(1, A/B) for the tall block (shape scale "original"), η for the wide one
    np.testing.assert_allclose(res["step_b0"][0], g["lr"] * math.sqrt(6 / 4), rtol=1e-15)
    np.testing.assert_allclose(res["step_b1"][0], g["lr"], rtol=1e-15)
    assert np.all(np.isnan(res["lr"][-1]))  # no step is taken from the last iterate
    rows = res.to_table()
    assert len(rows) == 4 * K
    row = rows[0]
    for key in (
        "member",
        "seed",
        "lr",
        "beta",
        "status",
        "diverged_at",
        "step",
        "f",
        "problem",
        "optimizer",
        "git_revision",
        "backend",
        "dtype",
        "numpy",
        "python",
    ):
        assert key in row, key
    assert row["backend"] == "numpy" and row["dtype"] == "float64" and row["optimizer"] == "muon"
    csv_path, npz_path = res.save(tmp_path / "out" / "run")
    with csv_path.open() as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 4 * K and float(table[1]["f"]) == pytest.approx(rows[1]["f"], rel=1e-15)
    back = RunResult.load(npz_path)
    assert back.message == res.message and back.batch_shape == (4,)
    for name, arr in res.metrics.items():
        np.testing.assert_array_equal(back[name], arr)
    np.testing.assert_array_equal(back.status, res.status)
    assert back.config["optimizer"]["optimizer"] == "muon"


def test_deterministic_metrics_match_direct_evaluation():
    problem = Quadratic(((6, 4),), sigma=0.0)
    res = run(
        problem,
        muon(0.05, 0.0, nesterov=False),
        10,
        [0, 1],
        stochastic=False,
        checkpoints="all",
        record=("loss", "grad", "estimator", "params"),
    )
    # rebuild X_3 from the start and the exact LMO: X_{k+1} = X_k − η·√(6/4)·polar(∇f(X_k))
    rng = problem.make_rng(np.array([0, 1]))
    X = np.asarray(problem.x0(rng)[0])
    for _ in range(3):
        G = X - np.asarray(problem.C[0])
        U, s, Vt = np.linalg.svd(G, full_matrices=False)
        X = X - 0.05 * math.sqrt(1.5) * (U @ Vt)
    G = X - np.asarray(problem.C[0])
    np.testing.assert_allclose(res["f"][3], 0.5 * np.sum(G * G, axis=(1, 2)), rtol=1e-13)
    np.testing.assert_allclose(res["grad_dual"][3], np.linalg.svd(G, compute_uv=False).sum(-1), rtol=1e-12)
    np.testing.assert_allclose(res["grad_fro"][3], np.sqrt(np.sum(G * G, axis=(1, 2))), rtol=1e-13)
    np.testing.assert_allclose(res["x_op_b0"][3], np.linalg.norm(X, 2, axis=(1, 2)), rtol=1e-12)
    assert np.all(res["est_err_fro"][:-1] == 0.0)  # β = 0, exact gradients: M_t = ∇f(X_t)


def test_running_minimum_and_weighted_average():
    problem = Quadratic(((6, 4),), sigma=0.5)
    res = run(
        problem,
        muon(np.array([0.05, 0.1]), 0.9),
        40,
        [0, 1],
        checkpoints="all",
        record=("grad", "step", "running"),
    )
    a, lr = res["grad_dual"], res["lr"]
    np.testing.assert_allclose(res["grad_dual_min"], np.minimum.accumulate(a, axis=0), rtol=1e-15)
    np.testing.assert_allclose(
        res["grad_fro_min"], np.minimum.accumulate(res["grad_fro"], axis=0), rtol=1e-15
    )
    num = np.cumsum(lr[:-1] * a[:-1], axis=0)
    den = np.cumsum(lr[:-1], axis=0)
    np.testing.assert_allclose(res["grad_dual_avg"][1:], num / den, rtol=1e-13)
    assert np.all(np.isnan(res["grad_dual_avg"][0]))


def test_running_metrics_use_every_step_even_with_sparse_checkpoints():
    problem = Quadratic(((6, 4),), sigma=0.5)
    dense = run(problem, muon(0.05, 0.9), 40, [0], checkpoints="all", record=("grad", "running"))
    sparse = run(problem, muon(0.05, 0.9), 40, [0], checkpoints=[0, 40], record=("running",))
    assert sparse["grad_dual_min"][-1, 0] == dense["grad_dual"][:, 0].min()


def test_oracle_diagnostics_measure_the_injected_delta_per_member():
    problem = Quadratic(((6, 4),), sigma=0.3)
    delta = np.array([0.0, 0.1, 0.4])
    res = run(
        problem,
        muon(0.05, 0.9, oracle=inexact_oracle("spectral", delta, "expand")),
        10,
        [0, 1, 2],
        record=("oracle",),
    )
    np.testing.assert_allclose(
        res["oracle_delta_b0"][:-1],
        np.broadcast_to(delta, (res.checkpoints.size - 1, 3)),
        rtol=1e-12,
        atol=1e-13,
    )
    np.testing.assert_allclose(
        res["oracle_overshoot_b0"][:-1], 1 + delta[None, :] + 0 * res["oracle_delta_b0"][:-1], rtol=1e-12
    )
    ns = run(problem, muon(0.05, 0.9, oracle=newton_schulz_oracle(5, "jordan")), 10, [0], record=("oracle",))
    assert np.all(ns["oracle_delta_b0"][:-1] > 0.05)  # the Jordan quintic never reaches 1


def test_divergence_above_the_threshold_is_detected_at_the_predicted_step():
    """SGD with η = 3 on ½‖X − C‖²: X_k − C = (−2)^k (X_0 − C), so f_k = 4^k f_0 exactly."""
    problem = Quadratic(((6, 4),), sigma=0.0)
    res = run(
        problem,
        sgd(np.array([0.5, 3.0])),
        30,
        [0, 0],
        stochastic=False,
        diverge_threshold=1e6,
        checkpoints="all",
    )
    f0 = res["f"][0, 1]
    expected = int(np.argmax(f0 * 4.0 ** np.arange(31) > 1e6))
    assert res.status.tolist() == ["running", "diverged"]
    assert res.diverged_at.tolist() == [-1, expected]
    assert np.all(np.isnan(res["f"][expected:, 1])) and np.all(res["f"][:expected, 1] <= 1e6)
    assert "1 diverged" in res.message and f"first divergence at step {expected}" in res.message
    assert not res.success
    # the frozen member stays at X_{expected-1}
    Xf = to_numpy(res.final_params[0])[1]
    assert 0.5 * np.sum((Xf - problem.C[0]) ** 2) == pytest.approx(f0 * 4.0 ** (expected - 1), rel=1e-12)


def test_check_every_catches_divergence_at_the_next_check_and_keeps_the_others():
    problem = Quadratic(((6, 4),), sigma=0.0)
    opt = sgd(np.array([0.5, 3.0]))
    exact = run(problem, opt, 30, [0, 0], stochastic=False, diverge_threshold=1e6, checkpoints=[0, 30])
    sparse = run(
        problem, opt, 30, [0, 0], stochastic=False, diverge_threshold=1e6, checkpoints=[0, 30], check_every=4
    )
    np.testing.assert_array_equal(to_numpy(exact.final_params[0])[0], to_numpy(sparse.final_params[0])[0])
    t = int(exact.diverged_at[1])
    assert sparse.diverged_at[1] == 4 * math.ceil(t / 4)
    assert np.all(np.isfinite(to_numpy(sparse.final_params[0])[1]))


def test_nan_and_inf_are_caught_without_a_threshold():
    problem = Quadratic(((6, 4),), sigma=0.0)
    res = run(problem, sgd(np.array([0.5, 3.0])), 700, [0, 0], stochastic=False, checkpoints=[0, 700])
    assert res.status.tolist() == ["running", "diverged"]  # 4^k overflows float64 before k = 700
    assert np.all(np.isfinite(to_numpy(res.final_params[0])))


def test_converged_status_with_gtol():
    problem = Quadratic(((6, 4),), sigma=0.0)
    res = run(problem, sgd(np.array([0.5, 0.001])), 80, [0, 0], stochastic=False, gtol=1e-6)
    assert res.status.tolist() == ["converged", "running"]


def test_lion_metrics_stationarity_vanishes_at_the_constrained_optimum():
    """Deterministic Muon + weight decay (Frank–Wolfe, THEORY §4): S(X_t) ≥ 0 in the ball, S → 0."""
    problem = Quadratic(((6, 4),), sigma=0.0, scale=3.0)  # the unconstrained optimum lies outside the ball
    lam = 0.5
    res = run(
        problem,
        lion_k(np.array([0.05, 0.01]), 0.0, weight_decay=lam),
        3000,
        [0, 0],
        stochastic=False,
        record=("lion", "params", "grad"),
    )
    inside = res["x_op_b0"] <= 1 / lam + 1e-12
    assert np.all(res["stationarity"][:-1][inside[:-1]] >= -1e-9)
    S = res["stationarity"]
    assert np.all(S[-2] < 1e-3 * S[0])
    assert np.all(np.isfinite(res["lyapunov"][:-1]))


def test_float32_and_array_api_strict_runs(xp):
    problem = Quadratic(((6, 4), (3, 5)), sigma=0.3, xp=xp, dtype="float32")
    res = run(
        problem,
        muon(np.array([0.02, 0.05]), 0.9, oracle="ns:jordan:5"),
        8,
        [0, 1],
        record=("loss", "grad", "estimator", "step", "params", "oracle", "running"),
    )
    assert res.final_params[0].dtype == xp.float32
    assert res.provenance["dtype"] == "float32"
    assert all(np.all(np.isfinite(v[:-1])) for k, v in res.metrics.items() if k != "grad_dual_avg")


def test_explicit_x0_and_progress_callback():
    problem = Quadratic(((6, 4),), sigma=0.0)
    x0 = (np.zeros((2, 6, 4)),)
    seen = []
    res = run(problem, lmo_step(0.1), 5, [0, 1], x0=x0, stochastic=False, progress=seen.append)
    assert seen == [1, 2, 3, 4, 5]
    assert res["f"][0].tolist() == [problem.f(x0)[0]] * 2
    with pytest.raises(ValueError, match=r"x0\[0\] must have shape \(2, 6, 4\)"):
        run(problem, lmo_step(0.1), 5, [0, 1], x0=(np.zeros((3, 6, 4)),))


def test_run_on_registered_problems():
    import problems

    p = problems.make("kronecker_quadratic", m=6, n=4, noise={"name": "gaussian", "sigma": 0.1})
    from lab.optimizers import muon_mvr2

    res = run(p, muon_mvr2(0.02, 0.9), 50, range(3), record=("loss", "grad", "estimator"))
    assert res.success and res["gap"].shape == (res.checkpoints.size, 3)
    assert res.config["problem"]["name"] == "kronecker_quadratic"


@pytest.mark.gpu
def test_cupy_run_matches_numpy():
    """The same batched run on CuPy and NumPy (float64): same numbers up to rounding, no host copies."""
    from lab.backend import get_backend

    cp = get_backend("cupy")
    kw = dict(record=("loss", "grad", "estimator", "step", "params", "oracle"), checkpoints="all")
    lr = np.array([0.02, 0.05])
    gpu = run(
        Quadratic(((64, 32), (16, 48)), sigma=0.3, xp=cp),
        muon(cp.asarray(lr), 0.9, oracle="ns:jordan:5"),
        50,
        [0, 1],
        **kw,
    )
    cpu = run(
        Quadratic(((64, 32), (16, 48)), sigma=0.3), muon(lr, 0.9, oracle="ns:jordan:5"), 50, [0, 1], **kw
    )
    assert gpu.provenance["backend"] == "cupy"
    for a, b in zip(gpu.final_params, cpu.final_params, strict=True):
        np.testing.assert_allclose(to_numpy(a), b, rtol=0, atol=1e-10)
    for name in cpu.metrics:
        np.testing.assert_allclose(gpu[name], cpu[name], rtol=1e-9, atol=1e-12, err_msg=name)
