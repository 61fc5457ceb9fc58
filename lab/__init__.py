"""muon-lab: a theory-verification laboratory for Muon-type (LMO-based) optimizers.

The numerical core exported here:

* norms, duals and LMOs: :func:`get_norm` (lab.norms);
* the polar factor and the Newton–Schulz family: :func:`polar`, :func:`newton_schulz`,
  :func:`ns_polynomial`, :func:`ns_delta`, :data:`NS_PRESETS` (lab.orthogonalization);
* Polar Express schedules: :func:`polar_express_coefficients` (lab.polar_express);
* the oracle layer used by the optimisers: :func:`exact_lmo`, :func:`newton_schulz_oracle`,
  :func:`inexact_oracle`, :func:`make_oracle` (lab.oracles).
"""

from lab.norms import NORMS, get_norm
from lab.oracles import exact_lmo, inexact_oracle, make_oracle, newton_schulz_oracle
from lab.orthogonalization import NS_PRESETS, newton_schulz, ns_delta, ns_polynomial, polar
from lab.polar_express import polar_express_coefficients

try:
    from importlib.metadata import PackageNotFoundError, version

    __version__ = version("muon-lab")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.1.0"

__all__ = [
    "__version__",
    "NORMS",
    "NS_PRESETS",
    "get_norm",
    "polar",
    "newton_schulz",
    "ns_polynomial",
    "ns_delta",
    "polar_express_coefficients",
    "exact_lmo",
    "newton_schulz_oracle",
    "inexact_oracle",
    "make_oracle",
]
