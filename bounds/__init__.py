"""Symbolic bounds catalog: the theorems of S1–S4 as sympy objects with validity conditions.

Every explicit bound is a *lab derivation* (the papers' bodies were not available): each
:class:`Theorem` says so in ``source`` and carries its proof sketch.  Derived quantities (optimal
step and momentum, rate exponent, δ-degradation, trends in δ) are computed by sympy, and
:meth:`Theorem.evaluate` gives NumPy values with an explicit "not applicable" mask and reason.

>>> import bounds
>>> thm = bounds.get("S1.I1")
>>> thm.rate
-1/2
>>> round(float(thm.evaluate(L=1.0, t=0.1, Delta0=1.0, K=100, delta=0.0)), 12)
0.15
>>> thm.evaluate(L=1.0, t=0.1, Delta0=1.0, K=100, delta=1.2).reasons
['condition delta < 1 violated']
"""

from bounds.catalog import CATALOG, get
from bounds.core import METRICS, RELATIONS, BoundValue, Theorem
from bounds.s1 import ns_uniform_error
from bounds.s2 import anytime_bound, estimator_error_bound, horizon_free_schedule, star_bound
from bounds.s3 import (
    frank_wolfe_vertex,
    lyapunov_phi,
    lyapunov_value,
    muon_wd_direction_sq,
    stationarity_measure,
)
from bounds.s4 import kron_convergence_factor

__all__ = [
    "CATALOG",
    "METRICS",
    "RELATIONS",
    "BoundValue",
    "Theorem",
    "anytime_bound",
    "estimator_error_bound",
    "frank_wolfe_vertex",
    "get",
    "horizon_free_schedule",
    "kron_convergence_factor",
    "lyapunov_phi",
    "lyapunov_value",
    "muon_wd_direction_sq",
    "ns_uniform_error",
    "star_bound",
    "stationarity_measure",
]
