"""One JSON normaliser for the whole project: numbers, arrays of any backend, containers.

:func:`jsonable` turns a value into what :func:`json.dumps` writes: NumPy/CuPy scalars and arrays
become Python numbers and lists, mappings become dicts with string keys, tuples become lists.
The two knobs keep the callers' formats: verdict rows and problem descriptions name a non-finite
float as text (``"nan"``, ``"inf"``; JSON has no infinity), the results files keep it a float;
an object of any other type becomes ``fallback(value)`` (``repr`` or ``str``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from lab.backend import to_numpy

__all__ = ["jsonable"]


def jsonable(value: Any, *, keep_nonfinite: bool = False, fallback: Callable[[Any], Any] = repr) -> Any:
    """``value`` as JSON-serialisable Python values.

    Parameters
    ----------
    value : None, bool, str, int or float (NumPy scalars included), a mapping, a list or tuple,
        an array of any backend, or anything else.
    keep_nonfinite : keep NaN/±Inf as floats (``json.dumps`` writes ``NaN``); False gives their
        ``repr`` (``"nan"``, ``"inf"``, ``"-inf"``).
    fallback : how any other object is written (default ``repr``).

    Returns
    -------
    The converted value; containers are converted recursively.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return int(value)
    if isinstance(value, (float, np.floating)):
        x = float(value)
        return x if keep_nonfinite or math.isfinite(x) else repr(x)
    options = {"keep_nonfinite": keep_nonfinite, "fallback": fallback}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, **options) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, **options) for v in value]
    if isinstance(value, np.generic):  # bool_, complex, str_, ...: the Python scalar
        return jsonable(value.item(), **options)
    if hasattr(value, "shape") and hasattr(value, "dtype"):  # an array of any backend
        return jsonable(to_numpy(value).tolist(), **options)
    return fallback(value)
