"""lab.serialize.jsonable: the project's one JSON normaliser and its two formats."""

from __future__ import annotations

import json
import math

import numpy as np

from lab.serialize import jsonable


def test_numbers_arrays_and_containers_become_json_values():
    value = {1: (np.float32(0.5), np.int64(3), np.bool_(True)), "a": np.arange(3.0).reshape(1, 3), "b": None}
    out = jsonable(value)
    assert out == {"1": [0.5, 3, True], "a": [[0.0, 1.0, 2.0]], "b": None}
    assert type(out["1"][1]) is int and type(out["1"][2]) is bool  # bool is not turned into 1
    json.dumps(out, allow_nan=False)


def test_nonfinite_numbers_are_text_unless_kept():
    values = [math.nan, np.float64(math.inf), -math.inf]
    assert jsonable(values) == ["nan", "inf", "-inf"]
    kept = jsonable(np.asarray(values), keep_nonfinite=True)
    assert math.isnan(kept[0]) and kept[1:] == [math.inf, -math.inf]


def test_other_objects_go_through_the_fallback():
    class Thing:
        def __repr__(self):
            return "Thing()"

        def __str__(self):
            return "a thing"

    assert jsonable([Thing()]) == ["Thing()"]
    assert jsonable([Thing()], fallback=str) == ["a thing"]
    assert jsonable(1 + 2j) == "(1+2j)"
