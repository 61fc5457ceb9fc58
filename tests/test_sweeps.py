"""Grid, chunking, seeds from axes, the results table, and local (joblib) execution."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from lab.random import RNG, derive_key
from lab.sweeps import KEY, PROVENANCE, Grid, SweepResult, point_key, run_sweep

STEPS = 12


def noisy_descent(points):
    """A batched toy run: noisy gradient descent on ||x||^2/2 in R^n, one member per point.

    The noise of member i is drawn from its own key, so the batched call equals the
    one-by-one calls.  All points of a chunk must share the structural axis ``n``.
    """
    sizes = {p["n"] for p in points}
    assert len(sizes) == 1, f"a chunk mixed structural values n={sizes}"
    n = sizes.pop()
    keys = np.array([p[KEY] for p in points], dtype=np.uint64)
    lr = np.array([p["lr"] for p in points])[:, None]
    rng = RNG(keys)
    x = np.ones((len(points), n))
    curve = []
    for t in range(STEPS):
        x = x - lr * (x + 0.1 * rng.at(t).normal((n,)))
        curve.append(np.sum(x * x, axis=1))
    curve = np.stack(curve, axis=1)
    return {"loss": curve, "final": curve[:, -1]}


def seeded_by_position(points):
    """A deliberately wrong variant: the noise stream is chosen by the point's position in the
    grid (as a loop counter would), not by its coordinates."""
    out = noisy_descent([dict(p, key=derive_key(i)) for i, p in enumerate(points)])
    return out


def rows_by_coords(result: SweepResult, axes):
    return {tuple(r[a] for a in axes): i for i, r in enumerate(result.rows)}


# --------------------------------------------------------------------------- grid


def test_points_are_the_cartesian_product_in_axis_order():
    g = Grid(n=[2, 3], lr=[0.1, 0.2], seed=[0, 1, 2])
    pts = g.points()
    assert len(g) == len(pts) == 12
    assert [(p["n"], p["lr"], p["seed"]) for p in pts[:4]] == [
        (2, 0.1, 0),
        (2, 0.1, 1),
        (2, 0.1, 2),
        (2, 0.2, 0),
    ]
    assert all(p[KEY] == point_key({k: v for k, v in p.items() if k != KEY}) for p in pts)


def test_numpy_values_give_the_same_keys_as_python_values():
    a = Grid(lr=np.array([0.1, 0.2]), seed=np.arange(3)).points()
    b = Grid(lr=[0.1, 0.2], seed=[0, 1, 2]).points()
    assert [p[KEY] for p in a] == [p[KEY] for p in b]


def test_key_does_not_depend_on_axis_order_or_other_points():
    a = {(p["lr"], p["seed"]): p[KEY] for p in Grid(lr=[0.1, 0.2], seed=[0, 1]).points()}
    b = {(p["lr"], p["seed"]): p[KEY] for p in Grid(seed=[5, 1, 0], lr=[0.3, 0.1]).points()}
    assert a[(0.1, 0)] == b[(0.1, 0)] and a[(0.1, 1)] == b[(0.1, 1)]
    assert len(set(a.values())) == 4


def test_key_axes_give_common_random_numbers_across_other_axes():
    pts = Grid(lr=[0.1, 0.2], seed=[0, 1]).points(key_axes=("seed",))
    by = {(p["lr"], p["seed"]): p[KEY] for p in pts}
    assert by[(0.1, 0)] == by[(0.2, 0)] != by[(0.1, 1)] == by[(0.2, 1)]


def test_default_structural_axes_split_ints_and_strings_not_floats_or_seeds():
    g = Grid(optimizer=["muon", "mvr2"], n=[4, 8], lr=[0.1, 0.2], delta=[0.0, 0.5], seed=[0, 1, 2])
    assert g.structural_axes() == ("optimizer", "n")
    chunks = g.chunks(5)
    for c in chunks:
        assert len({(p["optimizer"], p["n"]) for p in c}) == 1
        assert 1 <= len(c) <= 5
    # 4 structural groups of 12 points -> 3 chunks each (5, 5, 2)
    assert [len(c) for c in chunks] == [5, 5, 2] * 4
    assert sorted(p[KEY] for c in chunks for p in c) == sorted(p[KEY] for p in g.points())


def test_explicit_by_overrides_the_rule():
    g = Grid(n=[4, 8], lr=[0.1, 0.2], seed=[0, 1])
    assert len(g.chunks(100, by=())) == 1
    assert len(g.chunks(100, by=("n", "lr"))) == 4


@pytest.mark.parametrize(
    ("build", "param"),
    [
        (lambda: Grid(lr=[], seed=[0]), "lr"),
        (lambda: Grid(), "axis"),
        (lambda: Grid(lr=[0.1, 0.1]), "lr"),
        (lambda: Grid(key=[1, 2]), "key"),
        (lambda: Grid(seed=[0]).chunks(0), "chunk_size"),
        (lambda: Grid(seed=[0]).chunks(-3), "chunk_size"),
        (lambda: Grid(seed=[0]).chunks(2, by=("n",)), "by"),
        (lambda: Grid(seed=[0]).points(key_axes=("lr",)), "key_axes"),
    ],
)
def test_bad_grid_inputs_name_the_parameter(build, param):
    with pytest.raises(ValueError, match=param):
        build()


def test_axis_must_be_a_list():
    with pytest.raises(TypeError, match="lr"):
        Grid(lr=0.1)
    with pytest.raises(TypeError, match="lr"):
        Grid(lr="abc")


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"chunk_size": 0}, "chunk_size"),
        ({"chunk_size": 2.5}, "chunk_size"),
        ({"scheduler": "dask"}, "scheduler"),
        ({"scheduler": "localhost:8786"}, "scheduler"),
        ({"n_jobs": 0}, "n_jobs"),
        ({"name": "a b/c"}, "name"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_sweep_inputs_are_rejected_before_any_work(kwargs, param, tmp_path):
    calls = []

    def compute(points):
        calls.append(len(points))
        return noisy_descent(points)

    args = {"name": "bad", "cache": tmp_path, "progress": False, **kwargs}
    with pytest.raises(ValueError, match=param):
        run_sweep(compute, Grid(n=[2], lr=[0.1], seed=[0]), **args)
    assert calls == []
    assert not (tmp_path / "bad").exists()


def test_compute_output_must_have_one_entry_per_point(tmp_path):
    def short(points):
        return {"final": np.zeros(len(points) + 1)}

    with pytest.raises(ValueError, match="leading axis"):
        run_sweep(short, Grid(lr=[0.1, 0.2]), name="short", cache=False, progress=False)


# --------------------------------------------------------------------------- seeds from axes


def test_adding_grid_points_leaves_every_other_result_bitwise_unchanged():
    small = Grid(n=[3], lr=[0.1, 0.3], seed=[0, 1, 2])
    large = Grid(n=[3, 5], lr=[0.1, 0.2, 0.3], seed=[0, 1, 2, 3])
    a = run_sweep(noisy_descent, small, name="grow", cache=False, chunk_size=4, progress=False)
    b = run_sweep(noisy_descent, large, name="grow", cache=False, chunk_size=4, progress=False)
    axes = ("n", "lr", "seed")
    ia, ib = rows_by_coords(a, axes), rows_by_coords(b, axes)
    assert set(ia) <= set(ib)
    la, lb = a.array("loss"), b.array("loss")
    for coords, i in ia.items():
        j = ib[coords]
        assert a.rows[i][KEY] == b.rows[j][KEY]
        assert la[i].tobytes() == lb[j].tobytes()
        assert a.rows[i]["final"] == b.rows[j]["final"]


def test_position_based_seeding_would_fail_the_same_check():
    # The check above can fail: with seeds from the position in the grid, adding points changes
    # the numbers of points that were already there.
    small = Grid(n=[3], lr=[0.1, 0.3], seed=[0, 1, 2])
    large = Grid(n=[3], lr=[0.1, 0.2, 0.3], seed=[0, 1, 2, 3])
    a = run_sweep(seeded_by_position, small, name="pos", cache=False, chunk_size=100, progress=False)
    b = run_sweep(seeded_by_position, large, name="pos", cache=False, chunk_size=100, progress=False)
    ia, ib = rows_by_coords(a, ("n", "lr", "seed")), rows_by_coords(b, ("n", "lr", "seed"))
    changed = [c for c in ia if a.array("loss")[ia[c]].tobytes() != b.array("loss")[ib[c]].tobytes()]
    assert len(changed) > 0


def test_chunking_does_not_change_results():
    g = Grid(n=[2, 4], lr=[0.05, 0.1, 0.2], seed=[0, 1, 2])
    one = run_sweep(noisy_descent, g, name="chunks", cache=False, chunk_size=1, progress=False)
    big = run_sweep(noisy_descent, g, name="chunks", cache=False, chunk_size=64, progress=False)
    assert one.stats.chunks == 18 and big.stats.chunks == 2
    assert one.rows == big.rows
    assert one.array("loss").tobytes() == big.array("loss").tobytes()


def test_same_configuration_gives_the_same_numbers():
    g = Grid(n=[3], lr=[0.1, 0.2], seed=[0, 1])
    a = run_sweep(noisy_descent, g, name="again", cache=False, progress=False)
    b = run_sweep(noisy_descent, g, name="again", cache=False, progress=False)
    assert a.array("loss").tobytes() == b.array("loss").tobytes()


# --------------------------------------------------------------------------- results table


@pytest.fixture
def result(tmp_path):
    g = Grid(n=[2, 3], lr=[0.1, 0.2, 0.4], seed=[0, 1, 2, 3])
    return run_sweep(noisy_descent, g, name="table", cache=tmp_path, chunk_size=5, progress=False)


def test_table_has_one_row_per_point_in_grid_order_with_provenance(result):
    assert len(result) == 24 and result.axes == ("n", "lr", "seed")
    assert [(r["n"], r["lr"], r["seed"]) for r in result.rows] == [
        (p["n"], p["lr"], p["seed"]) for p in Grid(n=[2, 3], lr=[0.1, 0.2, 0.4], seed=[0, 1, 2, 3]).points()
    ]
    for r in result.rows:
        for col in PROVENANCE:
            assert r[col] not in (None, "")
        assert r["backend"] == "numpy" and r["dtype"] == "float64"
        assert len(r["code_version"]) == 16
    assert result.scalars == ("final",)
    assert result.array("loss").shape == (24, STEPS)
    assert np.array_equal(result.array("final"), result.array("loss")[:, -1])


def test_select_array_and_pivot(result):
    sub = result.select(n=3, lr=[0.1, 0.4])
    assert len(sub) == 8
    assert {r["lr"] for r in sub.rows} == {0.1, 0.4}
    assert sub.array("loss").shape == (8, STEPS)
    seeds, lrs, M = result.select(n=2).pivot("final", index="seed", columns="lr")
    assert seeds == [0, 1, 2, 3] and lrs == [0.1, 0.2, 0.4] and M.shape == (4, 3)
    r = result.select(n=2, seed=1, lr=0.2).rows[0]
    assert M[1, 1] == r["final"]
    _, _, curves = result.select(n=2).pivot("loss", index="seed", columns="lr")
    assert curves.shape == (4, 3, STEPS)
    with pytest.raises(ValueError, match="exactly one row"):
        result.pivot("final", index="seed", columns="lr")
    with pytest.raises(ValueError, match="unknown column"):
        result.select(momentum=0.9)
    with pytest.raises(ValueError, match="unknown output"):
        result.array("nope")


def test_to_csv_and_records_round_trip(result, tmp_path):
    path = result.to_csv(tmp_path / "table.csv")
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(result)
    assert list(rows[0]) == ["n", "lr", "seed", KEY, "final", *PROVENANCE]
    for got, want in zip(rows, result.to_records(), strict=True):
        assert float(got["final"]) == want["final"]
        assert int(got[KEY]) == want[KEY]
        assert got["git_revision"] == want["git_revision"]
    recs = result.to_records()
    recs[0]["final"] = -1.0
    assert result.rows[0]["final"] != -1.0


def test_parallel_joblib_matches_sequential():
    g = Grid(n=[2, 3], lr=[0.1, 0.2], seed=[0, 1, 2])
    seq = run_sweep(noisy_descent, g, name="par", cache=False, chunk_size=2, progress=False)
    par = run_sweep(noisy_descent, g, name="par", cache=False, chunk_size=2, n_jobs=2, progress=False)
    assert par.stats.chunks_computed == seq.stats.chunks_computed == 6
    assert par.rows == seq.rows
    assert par.array("loss").tobytes() == seq.array("loss").tobytes()


def xp_descent(points, xp_name):
    """``noisy_descent`` written against the array API, run in the namespace ``xp_name``."""
    from lab.backend import get_backend

    xp = get_backend(xp_name)
    n = points[0]["n"]
    keys = xp.asarray(np.array([p[KEY] for p in points], dtype=np.uint64))
    lr = xp.reshape(xp.asarray([p["lr"] for p in points], dtype=xp.float64), (len(points), 1))
    rng = RNG(keys)
    x = xp.ones((len(points), n), dtype=xp.float64)
    curve = []
    for t in range(STEPS):
        x = x - lr * (x + 0.1 * rng.at(t).normal((n,)))
        curve.append(xp.sum(x * x, axis=1))
    curve = xp.stack(curve, axis=1)
    return {"loss": curve, "final": curve[:, -1]}


def test_outputs_in_any_array_namespace_are_stored_as_host_arrays(xp):
    import functools

    from lab.backend import backend_name

    g = Grid(n=[2, 3], lr=[0.1, 0.2], seed=[0, 1])
    compute = functools.partial(xp_descent, xp_name=backend_name(xp))
    res = run_sweep(compute, g, name="xp", cache=False, chunk_size=3, progress=False)
    ref = run_sweep(noisy_descent, g, name="xp", cache=False, chunk_size=3, progress=False)
    assert isinstance(res.array("loss"), np.ndarray)
    assert res.array("loss").tobytes() == ref.array("loss").tobytes()
