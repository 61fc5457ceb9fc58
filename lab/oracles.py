"""LMO oracles: exact, Newton–Schulz, and injected-error (δ-inexact) oracles.

The contract the optimisers use:

    oracle = make_oracle("ns:jordan:5")         # or exact_lmo(...), inexact_oracle(...), ...
    D = oracle(G, rng=None)                     # D ≈ lmo(G) = argmin_{‖D‖≤1} ⟨G, D⟩, like G
    diag = oracle.diagnostics(G, D)             # batch-shaped arrays: delta, alignment, overshoot

* ``oracle.norm`` is the primal norm of the ball (a :class:`lab.norms.Norm`);
* ``oracle.guaranteed`` is True when ‖D − lmo(G)‖ ≤ δ holds by construction (exact and injected-
  error oracles built on the exact LMO), False when δ is only measured (Newton–Schulz);
* diagnostics: ``delta`` = ‖D − lmo(G)‖ (primal norm), ``alignment`` = ⟨G, D⟩/(−‖G‖_*) (1 when
  G = 0), ``overshoot`` = ‖D‖.

**δ-inexact LMO (S1).**  If ‖D(G) − lmo(G)‖ ≤ δ < 1 then, for all G, H:

    (a) ⟨G, D(G)⟩ ≤ −(1 − δ)‖G‖_*                     (tight for ``shrink``)
    (b) ‖D(G)‖ ≤ 1 + δ                                (tight for ``expand``)
    (c) ⟨G, D(H)⟩ ≤ −(1 − δ)‖G‖_* + 2‖G − H‖_*.

Proof: (a) ⟨G, D⟩ = ⟨G, lmo(G)⟩ + ⟨G, E⟩ ≤ −‖G‖_* + ‖G‖_*‖E‖; (b) triangle inequality; (c) split
⟨G, D(H)⟩ = ⟨H, D(H)⟩ + ⟨G − H, D(H)⟩ ≤ −(1 − δ)‖H‖_* + (1 + δ)‖G − H‖_* and use
‖H‖_* ≥ ‖G‖_* − ‖G − H‖_*, giving the constant (1 − δ) + (1 + δ) = 2.

Injected-error kinds (``inexact_oracle``), E = D − lmo(G), ‖E‖ ≤ δ in the primal norm:

* ``expand``: D = (1 + δ)·lmo(G);  ``shrink``: D = (1 − δ)·lmo(G);
* ``random``: D = lmo(G) + δ·Z/‖Z‖ with Z a standard Gaussian matrix drawn from the ``rng``
  argument (a :class:`lab.random.RNG`, folded with the tag "inexact-oracle"): a uniformly random
  direction (isotropic in the Frobenius geometry) on the sphere ‖E‖ = δ.  At G = 0 this gives D = E;
* ``adversarial``: among the perturbations with ‖E‖ ≤ δ that make (b) tight (‖D‖ = 1 + δ), the one
  that maximises ⟨G, D⟩ (the worst descent): both terms of the descent bound
  −t(1 − δ)‖G‖_* + (L/2)t²(1 + δ)² are then (nearly) attained at once, which neither ``shrink`` nor
  ``expand`` does.  Closed forms (G ≠ 0; D = 0 at G = 0):

  - spectral: D = −(1 − δ)Σ_{i<r} u_i v_iᵀ − (1 + δ) u_r v_rᵀ (r = numerical rank, u_r v_rᵀ the
    smallest nonzero singular pair): ⟨G, D⟩ = −(1 − δ)‖G‖_* − 2δσ_r.  Optimal: writing
    M = UᵀEV, ‖M‖ ≤ δ and ‖D‖ = 1 + δ force M w = −δw for a unit w, then max tr(ΣM) =
    δ(tr Σ − 2wᵀΣw), attained at w = e_r;
  - linf / col_l2 / row_l2 (max-type norms, dual = a sum): shrink every entry / column / row by
    (1 − δ) except the nonzero one of smallest magnitude, expanded by (1 + δ):
    ⟨G, D⟩ = −(1 − δ)‖G‖_* − 2δ·(smallest nonzero component);
  - l1 / nuclear (sum-type norms, lmo = one component): add δ along the second-largest component
    with the wrong sign: D = lmo(G) + δ·sign(G_(2))e_(2) (l1), D = −u₁v₁ᵀ + δu₂v₂ᵀ (nuclear):
    ‖D‖ = 1 + δ and ⟨G, D⟩ = −‖G‖_* + δ·(second-largest component).  With a single component
    (1×1, or min(m, n) = 1 for nuclear) full length forces D = (1 + δ)lmo(G);
  - frobenius: ‖D‖_F = 1 + δ with ‖E‖_F ≤ δ forces E = δ·lmo(G) (equality in the triangle
    inequality of a strictly convex norm), so ``adversarial`` = ``expand``.

δ may be a scalar or an array broadcasting over the batch shape (one δ per run).

**Non-finite input.**  Every oracle raises ValueError("G contains NaN or Inf ...") instead of
returning NaN.  ``check_finite=False`` skips the check (for engines that mask diverged runs): a
non-finite batch member then gives NaN in that member only, and never disturbs the others, for the
elementwise oracles (frobenius, linf, l1, col_l2, row_l2) and Newton–Schulz with Frobenius or no
normalisation; the SVD-based ones (spectral, nuclear, "spectral" normalisation) may raise the
backend's LinAlgError instead.
"""

from __future__ import annotations

import math

import numpy as np

from lab.backend import check_finite, check_matrix, namespace
from lab.norms import NORMS, Norm, get_norm, inner
from lab.orthogonalization import NORMALIZATIONS, NS_PRESETS, _newton_schulz, resolve_coefficients

__all__ = [
    "KINDS",
    "Oracle",
    "exact_lmo",
    "newton_schulz_oracle",
    "inexact_oracle",
    "make_oracle",
]

#: Injected-error kinds of :func:`inexact_oracle`.
KINDS = ("expand", "shrink", "random", "adversarial")


class Oracle:
    """An approximate LMO for the unit ball of ``norm``: ``D = oracle(G, rng=None) ≈ lmo(G)``.

    Attributes
    ----------
    name : str
    norm : lab.norms.Norm (the primal norm of the ball)
    guaranteed : bool (‖D − lmo(G)‖ ≤ δ by construction)
    delta : None, float or array (the nominal δ for injected-error oracles; 0.0 for exact)
    needs_rng : bool (True for kind "random": call with ``rng=`` a lab.random.RNG of the batch shape)
    check_finite : bool (validate that G holds no NaN/Inf; default True)
    """

    name: str = "oracle"
    guaranteed: bool = False
    delta = None
    needs_rng: bool = False

    def __init__(self, norm: Norm, *, check_finite: bool = True):
        self.norm = norm
        self.check_finite = bool(check_finite)

    # subclasses implement this on validated input
    def _apply(self, G, rng):  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, G, rng=None):
        check_matrix(G, "G")
        if self.check_finite:
            check_finite(G, "G")
            return self._apply(G, rng)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # NaN is expected here
            return self._apply(G, rng)

    def diagnostics(self, G, D) -> dict:
        """``delta`` = ‖D − lmo(G)‖, ``alignment`` = ⟨G, D⟩/(−‖G‖_*) (1 at G = 0), ``overshoot`` = ‖D‖."""
        check_matrix(G, "G")
        check_matrix(D, "D")
        if tuple(G.shape) != tuple(D.shape):
            raise ValueError(f"D must have the shape of G {tuple(G.shape)}, got {tuple(D.shape)}")
        xp = namespace(G, D)
        exact = self.norm.lmo(G)
        dual = self.norm.dual(G)
        ones = xp.ones_like(dual)
        safe = xp.where(dual > 0, dual, ones)
        return {
            "delta": self.norm.norm(D - exact),
            "alignment": xp.where(dual > 0, -inner(G, D) / safe, ones),
            "overshoot": self.norm.norm(D),
        }

    def describe(self) -> dict:
        """Plain-Python description for result tables."""
        d = {"oracle": self.name, "guaranteed": self.guaranteed}
        d.update(self.norm.describe())
        return d

    def __repr__(self):
        return f"<Oracle {self.describe()}>"


# ----------------------------------------------------------------------------- exact


class ExactLMO(Oracle):
    """The exact LMO of ``norm`` (δ = 0)."""

    guaranteed = True
    delta = 0.0

    def __init__(self, norm, *, check_finite: bool = True):
        super().__init__(get_norm(norm), check_finite=check_finite)
        self.name = "exact"

    def _apply(self, G, rng):
        n = self.norm
        D = n._lmo(G)
        return D if n.scale == 1.0 else D / n.scale


def exact_lmo(norm="spectral", *, scale: float = 1.0, check_finite: bool = True) -> Oracle:
    """The exact LMO of ``scale·‖·‖_norm`` (``norm`` a name from lab.norms.NORMS or a Norm)."""
    return ExactLMO(get_norm(norm, scale), check_finite=check_finite)


# ----------------------------------------------------------------------------- Newton–Schulz


class NewtonSchulzOracle(Oracle):
    """D = −NS_k(G)/s for the spectral ball of radius 1/s (measured δ only: not guaranteed)."""

    guaranteed = False

    def __init__(self, steps, coefficients, scale, ns_kwargs, *, check_finite: bool = True):
        super().__init__(get_norm("spectral", scale), check_finite=check_finite)
        # validate now so that a bad configuration fails at construction, not at step 1
        self._table = resolve_coefficients(coefficients, steps)
        allowed = {"normalization", "eps", "transpose"}
        unknown = set(ns_kwargs) - allowed
        if unknown:
            raise ValueError(f"ns_kwargs must be among {sorted(allowed)}, got {sorted(unknown)}")
        self._normalization = ns_kwargs.get("normalization", "frobenius")
        if self._normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {self._normalization!r}")
        self._eps = float(ns_kwargs.get("eps", 1e-7))
        if not (math.isfinite(self._eps) and self._eps >= 0):
            raise ValueError(f"eps must be a finite number >= 0, got {ns_kwargs.get('eps')!r}")
        self._transpose = bool(ns_kwargs.get("transpose", True))
        self.steps = int(steps)
        self.coefficients = coefficients
        self.ns_kwargs = dict(ns_kwargs)
        label = coefficients if isinstance(coefficients, str) else "custom"
        self.name = f"ns:{label}:{self.steps}"

    def __call__(self, G, rng=None):
        check_matrix(G, "G")
        # the finiteness check is folded into the normalisation pass (lab.orthogonalization)
        if self.check_finite:
            return self._apply(G, rng)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            return self._apply(G, rng)

    def _apply(self, G, rng):
        s = self.norm.scale
        if s == 1.0:
            # the sign is folded into the last Newton–Schulz step (exact, no extra pass over D)
            return _newton_schulz(
                G,
                self._table,
                self._normalization,
                self._eps,
                self._transpose,
                self.check_finite,
                negate=True,
            )
        D = _newton_schulz(G, self._table, self._normalization, self._eps, self._transpose, self.check_finite)
        return D * (-1.0 / s)

    def describe(self) -> dict:
        d = super().describe()
        d.update(
            steps=self.steps,
            coefficients=self.coefficients
            if isinstance(self.coefficients, str)
            else np.asarray(self.coefficients).tolist(),
            **self.ns_kwargs,
        )
        return d


def newton_schulz_oracle(
    steps: int = 5, coefficients="jordan", *, scale: float = 1.0, check_finite: bool = True, **ns_kwargs
) -> Oracle:
    """Muon's oracle D = −newton_schulz(G, steps, coefficients, **ns_kwargs) (spectral ball).

    ``ns_kwargs``: ``normalization``, ``eps``, ``transpose`` of :func:`lab.orthogonalization.newton_schulz`.
    ``scale`` s gives the ball of s·‖·‖_op (D divided by s).  ``guaranteed`` is False: the error
    ‖D − lmo(G)‖_op = max_i |1 − p^(k)(x_i)| is reported by :meth:`Oracle.diagnostics`.
    """
    return NewtonSchulzOracle(steps, coefficients, scale, ns_kwargs, check_finite=check_finite)


# ----------------------------------------------------------------------------- injected errors


def _validate_delta(delta):
    """δ as a float or a float64 NumPy array, every entry in [0, 1) (host-side hyperparameter)."""
    try:
        arr = np.asarray(delta, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"delta must be a number or array in [0, 1), got {delta!r}") from exc
    if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr >= 1):
        raise ValueError(f"delta must lie in [0, 1) (every entry), got {delta!r}")
    return float(arr) if arr.ndim == 0 else arr


class InexactOracle(Oracle):
    """D = base(G) + E with an injected error of kind ``kind`` and size δ (see module docstring)."""

    def __init__(self, base: Oracle, delta, kind: str, *, check_finite: bool = True):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        delta = _validate_delta(delta)
        super().__init__(base.norm, check_finite=check_finite)
        if kind == "adversarial" and not isinstance(base, ExactLMO):
            raise ValueError("kind='adversarial' needs an exact base oracle (it is built from the exact LMO)")
        self.base = base
        self.kind = kind
        self.delta = delta
        self.guaranteed = bool(base.guaranteed)
        self.needs_rng = kind == "random"
        self.name = f"{kind}:{base.name}"

    def _delta_array(self, G):
        """δ in G's namespace and dtype, shaped to broadcast against (..., m, n)."""
        xp = namespace(G)
        if isinstance(self.delta, float):
            return self.delta
        d = self.delta
        batch = tuple(G.shape[:-2])
        try:
            joint = np.broadcast_shapes(d.shape, batch)
        except ValueError:
            joint = None
        if joint != batch:
            raise ValueError(f"delta of shape {d.shape} does not broadcast over the batch shape {batch}")
        # an explicit host->device placement of a small hyperparameter array
        return xp.reshape(xp.asarray(d, dtype=G.dtype), d.shape + (1, 1))

    def _apply(self, G, rng):
        xp = namespace(G)
        delta = self._delta_array(G)
        if self.kind == "expand":
            return (1.0 + delta) * self.base._apply(G, None)
        if self.kind == "shrink":
            return (1.0 - delta) * self.base._apply(G, None)
        if self.kind == "random":
            if rng is None:
                raise ValueError(
                    "rng is required for kind='random': pass a lab.random.RNG of the batch shape"
                )
            batch = tuple(G.shape[:-2])
            if tuple(rng.batch_shape) != batch:
                raise ValueError(f"rng must have the batch shape {batch}, got {tuple(rng.batch_shape)}")
            Z = rng.fold("inexact-oracle").normal(tuple(G.shape[-2:]), dtype=G.dtype)
            nz = self.norm.norm(Z)
            nz = xp.where(nz > 0, nz, xp.ones_like(nz))
            return self.base._apply(G, None) + (delta / nz[..., None, None]) * Z
        return _adversarial(self.norm, G, delta)

    def describe(self) -> dict:
        d = super().describe()
        d.update(kind=self.kind, base=self.base.name, delta=np.asarray(self.delta).tolist())
        return d


def inexact_oracle(base, delta, kind, *, check_finite: bool = True) -> Oracle:
    """A δ-inexact oracle D = lmo(G) + E with ‖E‖ ≤ δ of the given kind.

    Parameters
    ----------
    base : Oracle, Norm or norm name
        The oracle to perturb (usually ``exact_lmo(norm)``; a name or Norm means the exact LMO).
        With a non-exact base (e.g. Newton–Schulz) ``expand``/``shrink``/``random`` perturb its
        output and ``guaranteed`` is False; ``adversarial`` needs the exact base.
    delta : float or array in [0, 1)
        The error size; an array broadcasts over the batch shape (one δ per run).
    kind : "expand" | "shrink" | "random" | "adversarial"
        See the module docstring.  ``random`` needs ``rng`` at call time (ValueError otherwise).

    Raises
    ------
    ValueError
        delta outside [0, 1) (naming ``delta``), unknown kind, or adversarial with a non-exact base.
    """
    if not isinstance(base, Oracle):
        base = exact_lmo(base)
    return InexactOracle(base, delta, kind, check_finite=check_finite)


# ----------------------------------------------------------------------------- adversarial forms


def _adversarial(norm: Norm, G, delta):
    """The worst-descent full-length perturbation of lmo(G) (module docstring), divided by the scale."""
    xp = namespace(G)
    name = norm.name
    if name == "frobenius":
        D = (1.0 + delta) * norm._lmo(G)
    elif name == "spectral":
        U, S, Vh = xp.linalg.svd(G, full_matrices=False)
        keep = _numerical_support(S, G.shape)
        r = xp.sum(xp.astype(keep, xp.int64), axis=-1)  # numerical rank
        last = xp.astype(xp.arange(S.shape[-1]) == (r - 1)[..., None], G.dtype)  # smallest nonzero pair
        d = delta if isinstance(delta, float) else delta[..., 0]  # broadcasts against (..., r)
        w = -((1.0 - d) + (2.0 * d) * last) * xp.astype(keep, G.dtype)
        D = (U * w[..., None, :]) @ Vh
    elif name == "linf":
        A = xp.abs(G)
        mask = xp.astype(_argmin_nonzero(A), G.dtype)
        D = -xp.sign(G) * ((1.0 - delta) + (2.0 * delta) * mask)
    elif name in ("col_l2", "row_l2"):
        axis = -2 if name == "col_l2" else -1  # the axis reduced to get one value per column / row
        comp = xp.sum(G * G, axis=axis)  # squared component norms (only compared)
        mask = xp.astype(xp.expand_dims(_argmin_nonzero_vec(comp), axis=axis), G.dtype)
        D = norm._lmo(G) * ((1.0 - delta) + (2.0 * delta) * mask)
    elif name == "l1":
        A = xp.abs(G)
        if G.shape[-2] * G.shape[-1] == 1:
            D = (1.0 + delta) * norm._lmo(G)
        else:
            # +δ·sign(G_(2)) at the second-largest entry (any sign if G_(2) = 0); D = 0 at G = 0
            up = xp.where(G >= 0, xp.ones_like(G), -xp.ones_like(G))
            nonzero = xp.astype(xp.max(A, axis=(-2, -1)) > 0, G.dtype)[..., None, None]
            second = xp.astype(_second_largest_onehot(A), G.dtype)
            D = norm._lmo(G) + (delta * up * second) * nonzero
    elif name == "nuclear":
        if min(G.shape[-2], G.shape[-1]) == 1:
            D = (1.0 + delta) * norm._lmo(G)
        else:
            U, S, Vh = xp.linalg.svd(G, full_matrices=False)
            nonzero = xp.astype(S[..., 0] > 0, G.dtype)[..., None, None]
            D = (-(U[..., :, 0:1] @ Vh[..., 0:1, :]) + delta * (U[..., :, 1:2] @ Vh[..., 1:2, :])) * nonzero
    else:  # pragma: no cover - NORMS is closed
        raise NotImplementedError(f"no adversarial perturbation for norm {name!r}")
    return D if norm.scale == 1.0 else D / norm.scale


def _numerical_support(S, shape):
    """σ_i > max(m, n)·eps·σ_max (the rank cut of lab.orthogonalization.polar), as booleans."""
    xp = namespace(S)
    smax = S[..., 0:1]
    ratio = S / xp.where(smax > 0, smax, xp.ones_like(smax))
    return ratio > max(shape[-2], shape[-1]) * xp.finfo(S.dtype).eps


def _argmin_nonzero_vec(v):
    """One-hot (last axis) of the smallest positive entry of v ≥ 0 (all False if v = 0)."""
    xp = namespace(v)
    big = xp.max(v, axis=-1, keepdims=True) + 1.0
    vv = xp.where(v > 0, v, big)
    idx = xp.argmin(vv, axis=-1)
    hit = xp.arange(v.shape[-1], dtype=idx.dtype) == idx[..., None]
    return hit & (v > 0)


def _argmin_nonzero(A):
    """One-hot over the last two axes of the smallest positive entry of A ≥ 0."""
    xp = namespace(A)
    m, n = A.shape[-2], A.shape[-1]
    flat = xp.reshape(A, tuple(A.shape[:-2]) + (m * n,))
    return xp.reshape(_argmin_nonzero_vec(flat), A.shape)


def _second_largest_onehot(A):
    """One-hot of the entry with the second-largest value of A ≥ 0 (ties: next index); False if m·n = 1."""
    xp = namespace(A)
    m, n = A.shape[-2], A.shape[-1]
    flat = xp.reshape(A, tuple(A.shape[:-2]) + (m * n,))
    if m * n == 1:
        return xp.zeros(A.shape, dtype=xp.bool)
    i1 = xp.argmax(flat, axis=-1)
    pos = xp.arange(m * n, dtype=i1.dtype)
    first = pos == i1[..., None]
    masked = xp.where(first, -xp.ones_like(flat), flat)
    i2 = xp.argmax(masked, axis=-1)
    return xp.reshape(pos == i2[..., None], A.shape)


# ----------------------------------------------------------------------------- factory


def make_oracle(spec) -> Oracle:
    """Build an oracle from a string or dict (an Oracle is returned unchanged).

    Strings
        ``"exact"``, ``"exact:<norm>"``, ``"ns"``, ``"ns:<preset>"``, ``"ns:<preset>:<steps>"``,
        ``"ns:<preset>:<steps>:eps=1e-7:normalization=frobenius_max"`` (options ``eps``,
        ``normalization``, ``transpose``; ``frobenius_max`` is torch.optim.Muon's input scaling),
        ``"<kind>:<delta>"`` or ``"<kind>:<delta>:<norm>"`` for kind in expand/shrink/random/adversarial.
    Dicts
        ``{"kind": "exact", "norm": "frobenius", "scale": 1.0}``;
        ``{"ns": "cubic", "steps": 3, ...ns kwargs}`` or
        ``{"kind": "ns", "coefficients": ..., "steps": ...}``;
        ``{"kind": "expand", "delta": 0.2, "norm": "spectral"}`` (optionally ``"base": <spec>``).

    Raises ValueError for anything else (naming ``spec``).
    """
    if isinstance(spec, Oracle):
        return spec
    if isinstance(spec, str):
        return _from_string(spec)
    if isinstance(spec, dict):
        return _from_dict(dict(spec))
    raise ValueError(f"spec must be a string, dict or Oracle, got {type(spec).__name__}")


def _from_string(spec: str) -> Oracle:
    parts = spec.strip().split(":")
    head, rest = parts[0], parts[1:]
    try:
        if head == "exact" and len(rest) <= 1:
            return exact_lmo(rest[0] if rest else "spectral")
        if head == "ns" and (len(rest) <= 2 or all("=" in r for r in rest[2:])):
            coefficients = rest[0] if rest and rest[0] else "jordan"
            steps = int(rest[1]) if len(rest) >= 2 else 5
            return newton_schulz_oracle(steps, coefficients, **_ns_options(rest[2:]))
        if head in KINDS and 1 <= len(rest) <= 2:
            return inexact_oracle(rest[1] if len(rest) == 2 else "spectral", float(rest[0]), head)
    except ValueError as exc:
        raise ValueError(f"spec {spec!r}: {exc}") from exc
    raise ValueError(
        f"spec must look like 'exact[:norm]', 'ns[:preset[:steps[:key=value...]]]' or "
        f"'<kind>:<delta>[:norm]' "
        f"with norm in {NORMS}, preset in {tuple(NS_PRESETS)}, kind in {KINDS}; got {spec!r}"
    )


def _ns_options(items) -> dict:
    """``key=value`` options after ``ns:<preset>:<steps>``: eps (float), normalization, transpose (bool)."""
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        if key == "eps":
            out["eps"] = float(value)
        elif key == "normalization":
            out["normalization"] = value
        elif key == "transpose" and value in ("true", "false", "1", "0"):
            out["transpose"] = value in ("true", "1")
        else:
            raise ValueError(
                f"ns option must be eps=<float>, normalization=<name> or transpose=<bool>, got {item!r}"
            )
    return out


def _from_dict(d: dict) -> Oracle:
    check = d.pop("check_finite", True)
    if "ns" in d:
        d.setdefault("kind", "ns")
        d["coefficients"] = d.pop("ns")
    kind = d.pop("kind", "exact")
    if kind == "exact":
        norm, scale = d.pop("norm", "spectral"), d.pop("scale", 1.0)
        _no_extra(d)
        return exact_lmo(norm, scale=scale, check_finite=check)
    if kind == "ns":
        steps = d.pop("steps", 5)
        coefficients = d.pop("coefficients", "jordan")
        scale = d.pop("scale", 1.0)
        norm = d.pop("norm", "spectral")
        if norm != "spectral":
            raise ValueError(f"spec: Newton–Schulz oracles use norm='spectral', got {norm!r}")
        return newton_schulz_oracle(steps, coefficients, scale=scale, check_finite=check, **d)
    if kind in KINDS:
        if "delta" not in d:
            raise ValueError(f"spec: kind {kind!r} needs 'delta'")
        delta = d.pop("delta")
        if "base" in d:
            base = make_oracle(d.pop("base"))
        else:
            base = exact_lmo(d.pop("norm", "spectral"), scale=d.pop("scale", 1.0))
        _no_extra(d)
        return inexact_oracle(base, delta, kind, check_finite=check)
    raise ValueError(f"spec kind must be 'exact', 'ns' or one of {KINDS}, got {kind!r}")


def _no_extra(d):
    if d:
        raise ValueError(f"spec has unknown keys {sorted(d)}")
