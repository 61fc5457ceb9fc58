"""Theorem objects: a symbolic bound, its validity conditions, what sympy derives from it.

A :class:`Theorem` states ``metric  relation  expr`` (e.g. "(1/K) Σ_k ‖∇f(X^k)‖_* <= Δ₀/((1−δ)tK) + ...")
under named constants (sympy Symbols with domains) and validity conditions (sympy relations).
Everything quantitative that follows from the statement is *computed* by sympy, never typed in:

* ``optimum``: the stationary point of ``objective`` in the ``controls`` (step size, momentum),
  solved from the first-order conditions; the second-order condition is checked numerically
  (``check_second_order``);
* ``rate``: the exponent of the horizon, lim log(bound)/log(T) as T → ∞, with the controls at
  their optimum;
* ``degradation``: the value at the optimum divided by its δ = 0 value;
* ``derived_trends``: the sign of d(control*)/dδ.

What the sources (or the lab derivation in a builder's docstring) *claim* — the closed forms of
t*, α*, the value at the optimum, the rate, the δ = 0 statement — is stored separately in
``claims``; :meth:`Theorem.verify` compares claims with derivations and reports every mismatch,
so a mistyped constant is caught (tests/test_bounds_core.py shows a mutated claim is caught).

Numbers: :meth:`Theorem.evaluate` lambdifies the bound to NumPy and broadcasts over arrays of
constants (curves over T, grids over δ, batches of runs).  Where a constant is outside its domain
or a validity condition fails, the result is *not applicable* — ``BoundValue.applicable`` is
False there, ``value`` is NaN and ``reason`` names the violated condition — never a silently
wrong number.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import sympy as sp

from bounds import symbols as S

METRICS: dict[str, str] = {
    "min_grad_dual": "min_k E||∇f(X^k)||_* (dual norm of the theorem's geometry)",
    "avg_grad_dual": "(1/K) sum_{k<K} E||∇f(X^k)||_*",
    "weighted_avg_grad": "sum_t eta_t E||∇f(X_t)||_* / sum_t eta_t (step-size weighted average)",
    "layer_weighted_grad": "(1/K) sum_{k<K} sum_i t_i E||∇_i f(X^k)||_(i)*",
    "layer_avg_grad_over_L1": "(1/K) sum_{k<K} sum_i E||∇_i f(X^k)||_(i)* / L1_i",
    "sum_grad_ratio": "sum_k sum_i a_i^2 / (L0_i + L1_i a_i), a_i = ||∇_i f(X^k)||_(i)*",
    "one_step_change": "f(X^{k+1}) - f(X^k) (one step of the algorithm)",
    "sqrt_gap": "min_t E sqrt(f(X_t) - f*)",
    "gap_last": "E f(X_T) - f* (last iterate)",
    "op_excess": "(||X_k||_op - omega s/lam)_+ (distance outside the invariant spectral ball)",
    "op_norm": "||X_k||_op",
    "stationarity": "S(X) = s||∇F(X)||_* + lam <∇F(X), X> (= lam x Frank-Wolfe gap on the ball)",
    "min_stationarity": "min_{t<T} S(X_t)",
    "lyapunov_change": "H_{t+1} - H_t (discrete Lyapunov function of Muon + weight decay)",
    "one_step_threshold": "largest step eta with F(W - eta D) < F(W) (exact or guaranteed by a model)",
    "stability_threshold": "largest constant step for which the linear iteration is stable",
    "convergence_factor": "per-step contraction factor of the error under the best constant step",
    "estimator_error_dual": "E||M^k - ∇f(X^k)||_* (momentum error, dual norm)",
    "estimator_error_sq": "e_t = E||M_t - ∇f(X_t)||_F^2 (momentum error, squared Frobenius)",
    "estimator_state_sq": "u_t = E||eps_t - gamma_{t+1} xi_t||_F^2 (MVR1 recursion state)",
    "inner_product": "<G, D> (inner product of the gradient with the oracle's direction)",
    "primal_norm": "||D|| (primal norm of the oracle's direction)",
    "ns_error": "1 - p(x) after one odd-polynomial step, as a function of the error e = 1 - x",
}

RELATIONS = ("<=", ">=", "==")
_REL_LATEX = {"<=": r"\le", ">=": r"\ge", "==": "="}

METRICS_TEX: dict[str, str] = {
    "min_grad_dual": r"\min_k \mathbb{E}\|\nabla f(X^k)\|_*",
    "avg_grad_dual": r"\frac{1}{K}\sum_{k<K} \mathbb{E}\|\nabla f(X^k)\|_*",
    "weighted_avg_grad": r"\frac{\sum_t \eta_t \mathbb{E}\|\nabla f(X_t)\|_*}{\sum_t \eta_t}",
    "layer_weighted_grad": r"\frac{1}{K}\sum_{k<K}\sum_i t_i \mathbb{E}\|\nabla_i f(X^k)\|_{(i)*}",
    "layer_avg_grad_over_L1": (
        r"\frac{1}{K}\sum_{k<K}\sum_i \frac{\mathbb{E}\|\nabla_i f(X^k)\|_{(i)*}}{L_{1,i}}"
    ),
    "sum_grad_ratio": r"\sum_k\sum_i \frac{a_i^2}{L_{0,i} + L_{1,i} a_i}",
    "one_step_change": r"f(X^{k+1}) - f(X^k)",
    "sqrt_gap": r"\min_t \mathbb{E}\sqrt{f(X_t) - f^*}",
    "gap_last": r"\mathbb{E} f(X_T) - f^*",
    "op_excess": r"\left(\|X_k\|_{\mathrm{op}} - \omega s/\lambda\right)_+",
    "op_norm": r"\|X_k\|_{\mathrm{op}}",
    "stationarity": r"S(X)",
    "min_stationarity": r"\min_{t<T} S(X_t)",
    "lyapunov_change": r"H_{t+1} - H_t",
    "one_step_threshold": r"\eta_{\mathrm{thr}}",
    "stability_threshold": r"\eta_{\mathrm{stab}}",
    "convergence_factor": r"\varrho",
    "estimator_error_dual": r"\mathbb{E}\|M^k - \nabla f(X^k)\|_*",
    "estimator_error_sq": r"e_t",
    "estimator_state_sq": r"u_t",
    "inner_product": r"\langle G, D\rangle",
    "primal_norm": r"\|D\|",
    "ns_error": r"1 - p(x)",
}
"""The metrics of :data:`METRICS` as LaTeX (the left-hand side of a typeset statement)."""


# ------------------------------------------------------------------------------------------------
# numeric results
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BoundValue:
    """A bound evaluated on arrays of constants.

    value : float array; NaN where the bound does not apply.
    applicable : bool array of the same shape.
    reason : object array of str, '' where applicable, else the violated domains/conditions.
    """

    theorem_id: str
    value: np.ndarray
    applicable: np.ndarray
    reason: np.ndarray

    @property
    def all_applicable(self) -> bool:
        return bool(np.all(self.applicable))

    @property
    def reasons(self) -> list[str]:
        """The distinct reasons for 'not applicable' (empty when everything applies)."""
        return sorted({str(x) for x in np.ravel(self.reason) if x})

    def require(self) -> np.ndarray:
        """The values, or a ValueError naming every violated condition."""
        if not self.all_applicable:
            raise ValueError(f"{self.theorem_id} does not apply: " + " | ".join(self.reasons))
        return self.value

    def masked(self) -> np.ma.MaskedArray:
        return np.ma.masked_array(self.value, mask=~self.applicable)

    def __float__(self) -> float:
        if np.ndim(self.value) != 0 and np.size(self.value) != 1:
            raise TypeError("only a single bound value converts to float")
        return float(np.ravel(self.require())[0])

    def __repr__(self) -> str:
        if np.size(self.value) == 1:
            v = np.ravel(self.value)[0]
            if bool(np.ravel(self.applicable)[0]):
                return f"BoundValue({self.theorem_id}: {v:.6g})"
            return f"BoundValue({self.theorem_id}: not applicable — {np.ravel(self.reason)[0]})"
        n_bad = int(np.size(self.applicable) - np.count_nonzero(self.applicable))
        return f"BoundValue({self.theorem_id}: shape {np.shape(self.value)}, {n_bad} not applicable)"


def _add_reason(reason: np.ndarray, mask: np.ndarray, text: str) -> None:
    """Append ``text`` to the reasons where ``mask`` holds (vectorised over object arrays)."""
    mask = np.broadcast_to(np.asarray(mask, bool), reason.shape)
    if not np.any(mask):
        return
    if reason.ndim == 0:
        reason[()] = f"{reason[()]}; {text}" if reason[()] else text
        return
    sel = reason[mask]
    reason[mask] = np.where(sel == "", text, sel + ("; " + text))


# ------------------------------------------------------------------------------------------------
# cached sympy work (keyed by expressions, so a mutated theorem is re-derived, not looked up)
# ------------------------------------------------------------------------------------------------
def _rational(x: float) -> sp.Rational:
    return sp.nsimplify(x, rational=True) if not isinstance(x, sp.Basic) else x


def _point(items: tuple) -> dict:
    return {sym: _rational(v) for sym, v in items}


def _vanishes(expr: sp.Expr, solution: dict, point: dict, rtol: float = 1e-9) -> bool:
    """``expr`` is zero at ``solution`` (evaluated at ``point``), relative to the size of its terms."""
    at = {c: v.subs(point) for c, v in solution.items()}
    terms = sp.Add.make_args(sp.expand(expr.subs(point).subs(at)))
    scale = max(1.0, float(sum(abs(sp.N(t)) for t in terms)))
    return bool(abs(sp.N(expr.subs(solution).subs(point))) <= rtol * scale)


@functools.cache
def _solve_stationary(equations: tuple, controls: tuple, example: tuple) -> tuple:
    """Solve the first-order conditions; keep the root that is real and positive at ``example``."""
    point = _point(example)
    # delta in [0, 1) is not expressible as a sympy assumption; delta = u/(1+u) with u >= 0 makes
    # 1 - delta and 1 + delta visibly positive, which keeps the solver fast and the roots real.
    u = sp.Symbol("u_", nonnegative=True, real=True, finite=True)
    present = [d for d in (S.delta, S.delta_i) if any(d in e.free_symbols for e in equations)]
    if len(present) > 1:
        raise ValueError("an optimum may depend on delta or on delta_i, not on both")
    forward = {d: u / (1 + u) for d in present}
    back = {u: present[0] / (1 - present[0])} if present else {}
    eqs = [sp.numer(sp.together(e.subs(forward))) for e in equations]
    solutions = sp.solve(eqs, list(controls), dict=True, check=False)
    for sol in solutions:
        if set(sol) != set(controls):
            continue
        sol = {c: sp.simplify(v.subs(back)) for c, v in sol.items()}
        ok = True
        for c in controls:
            v = sp.N(sol[c].subs(point))
            if not (v.is_real and v > 0):
                ok = False
        if ok:  # discard spurious roots of the cleared numerators
            ok = all(_vanishes(e, sol, point) for e in equations)
        if ok:
            return tuple((c, sol[c]) for c in controls)
    raise ValueError(f"no positive stationary point in {controls}: {solutions}")


def _abstract(expr: sp.Expr, horizon: sp.Symbol, point: dict) -> sp.Expr:
    """Replace every maximal horizon-free part of ``expr`` by a fresh positive symbol (with the sign
    it has at ``point``).  The exponent in the horizon depends only on this structure, and the
    structural form is small (and shared between theorems), which keeps ``sympy.limit`` fast."""
    count = [0]

    def fresh(value: sp.Expr) -> sp.Expr:
        v = sp.N(value.subs(point))
        if v == 0:
            return sp.Integer(0)
        count[0] += 1
        c = sp.Symbol(f"c{count[0]}", positive=True)
        return c if v > 0 else -c

    def rec(x: sp.Expr) -> sp.Expr:
        if x.is_number:  # exponents and numeric factors are structure, not constants
            return x
        if horizon not in x.free_symbols:
            return fresh(x)
        if x.is_Atom:
            return x
        if isinstance(x, (sp.Add, sp.Mul)):
            free = [a for a in x.args if horizon not in a.free_symbols]
            rest = [rec(a) for a in x.args if horizon in a.free_symbols]
            if free:
                group = x.func(*free)
                rest.append(group if group.is_number else fresh(group))
            return x.func(*rest)
        return x.func(*[rec(a) for a in x.args])

    return rec(expr)


@functools.cache
def _limit_structural(structure: sp.Expr, horizon: sp.Symbol) -> sp.Expr:
    return sp.limit(sp.log(structure) / sp.log(horizon), horizon, sp.oo)


@functools.cache
def _limit_exponent(expr: sp.Expr, horizon: sp.Symbol, example: tuple) -> sp.Expr:
    """lim_{H→∞} log(expr)/log(H).  The exponent does not depend on the other (generic, valid)
    constants, so they are abstracted to positive symbols at a valid point first."""
    point = {k: v for k, v in _point(example).items() if k != horizon}
    try:
        exponent = _limit_structural(_abstract(expr, horizon, point), horizon)
        if exponent.is_number:
            return exponent
    except (NotImplementedError, ValueError, TypeError):
        pass  # the structure needs the constants' values (signs of differences): use them
    return sp.limit(sp.log(expr.subs(point)) / sp.log(horizon), horizon, sp.oo)


@functools.cache
def _simplify(expr: sp.Expr) -> sp.Expr:
    return sp.simplify(expr)


@functools.cache
def _lambdify(args: tuple, expr: sp.Basic) -> Callable:
    return sp.lambdify(args, expr, modules="numpy")


def _sign_in_delta(derivative: sp.Expr, d: sp.Symbol) -> str | None:
    """Sign of an expression for every d in [0, 1) from sympy's assumptions, or None if unknown.

    d = u/(1+u) with u >= 0 maps [0, ∞) onto [0, 1), so (1 - d) and (1 + d) become visibly
    positive and sympy can often decide the sign.
    """
    u = sp.Symbol("u_", nonnegative=True, real=True, finite=True)
    e = sp.simplify(sp.factor(derivative.subs(d, u / (1 + u))))
    if e.is_zero:
        return "constant"
    if e.is_positive:
        return "increasing"
    if e.is_negative:
        return "decreasing"
    return None


# ------------------------------------------------------------------------------------------------
# the theorem object
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Theorem:
    """One result of the catalog: ``metric  relation  expr`` under ``assumptions`` and ``conditions``.

    Parameters
    ----------
    id, title, source, reference : identification; ``source`` says whether it is a lab derivation.
    algorithm : the algorithm the statement is about (update rule, oracle).
    parametrisation : conventions, e.g. {"momentum": "EMA, alpha = 1 - beta", "norm": "spectral"}.
    assumptions : every symbol the statement uses, with its domain as sympy assumptions.
    conditions : validity conditions (sympy relations); the bound is asserted only where all hold.
    metric : the bounded quantity, a key of :data:`METRICS`.
    expr : the bound (sympy).  With ``per_layer`` set, the bound is ``expr + Σ_i per_layer``.
    relation : '<=' (upper bound), '>=' (lower bound) or '==' (identity / exact threshold).
    proof_sketch : the derivation (the builder's docstring).
    horizon : the iteration-count symbol (K or T) for the rate, or None.
    controls : hyperparameters the statement is optimised over (t, alpha, eta, ...).
    objective : what the controls minimise (default ``expr``, or ``per_layer`` when expr is 0);
        e.g. the noise-dominated part of I3.
    optimality_equations : equations defining the optimum when it is not a smooth stationary
        point (S4's min-max step); default: the gradient of ``objective``.
    optimum_conditions : conditions on the optimal controls (e.g. alpha* <= 1), with the control
        symbols standing for their optimal values.
    dependent : hyperparameters tied to the controls, {symbol: expression in the controls} (I4: each
        t_i at its cap (1-delta) alpha / (4 L1_i (1+delta))); they join ``optimum`` at the solution.
    claims : typed-in closed forms (from the source or the builder's derivation) checked against
        the sympy derivations by :meth:`verify`; keys '<control>_opt', 'value_at_opt', 'rate',
        'degradation', 'delta0', 'delta0_per_layer', 'identity'.
    trends : predicted directions of the optimal hyperparameters in delta.
    example : a valid point {name: value} (used to select roots and compute limits).
    notes : remarks in plain text.
    tex : LaTeX forms of the text fields, keyed by field name ("title", "algorithm",
        "proof_sketch", "notes"), for the appendix; a field without one is typeset from its plain
        text (``lab.appendix``), which reads well only for simple formulas.
    """

    id: str
    title: str
    source: str
    algorithm: str
    parametrisation: Mapping[str, str]
    assumptions: tuple
    conditions: tuple
    metric: str
    expr: sp.Expr
    reference: str
    proof_sketch: str
    relation: str = "<="
    per_layer: sp.Expr | None = None
    horizon: sp.Symbol | None = None
    controls: tuple = ()
    objective: sp.Expr | None = None
    optimality_equations: tuple | None = None
    optimum_conditions: tuple = ()
    dependent: Mapping = field(default_factory=dict)
    claims: Mapping[str, Any] = field(default_factory=dict)
    trends: Mapping[str, str] = field(default_factory=dict)
    example: Mapping[str, float] = field(default_factory=dict)
    notes: str = ""
    tex: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self):
        if self.metric not in METRICS:
            raise ValueError(f"metric must be one of {sorted(METRICS)}, got {self.metric!r}")
        if self.relation not in RELATIONS:
            raise ValueError(f"relation must be one of {RELATIONS}, got {self.relation!r}")
        declared = set(self.assumptions)
        used = set(self.expr.free_symbols)
        if self.per_layer is not None:
            used |= self.per_layer.free_symbols
        for c in self.conditions:
            used |= c.free_symbols
        missing = used - declared
        if missing:
            raise ValueError(
                f"{self.id}: symbols used but not declared in assumptions: {sorted(map(str, missing))}"
            )
        missing_ex = {s.name for s in self.assumptions} - set(self.example)
        if missing_ex:
            raise ValueError(f"{self.id}: example point lacks {sorted(missing_ex)}")

    # -- bookkeeping -----------------------------------------------------------------------------
    @cached_property
    def symbols(self) -> dict[str, sp.Symbol]:
        return {s.name: s for s in self.assumptions}

    @cached_property
    def layer_symbols(self) -> frozenset:
        """Per-layer symbols: those named '*_i' (their arrays carry a trailing layer axis)."""
        return frozenset(s for s in (*self.assumptions, *self.dependent) if s.name.endswith("_i"))

    @cached_property
    def _example_items(self) -> tuple:
        return tuple(
            sorted(((self.symbols[k], v) for k, v in self.example.items()), key=lambda kv: kv[0].name)
        )

    def full_expr(self) -> sp.Expr:
        """The bound as one expression for a single layer (per_layer added once)."""
        return self.expr + (self.per_layer if self.per_layer is not None else 0)

    @cached_property
    def _objective(self) -> sp.Expr:
        if self.objective is not None:
            return self.objective
        if self.per_layer is not None and self.expr == 0:
            return self.per_layer
        return self.expr

    # -- derivations (sympy, cached) --------------------------------------------------------------
    @cached_property
    def optimum(self) -> dict:
        """{control: closed form}: the solution of the first-order (or given) optimality equations."""
        if not self.controls:
            return {}
        eqs = self.optimality_equations
        if eqs is None:
            eqs = tuple(sp.diff(self._objective, c) for c in self.controls)
        sol = dict(_solve_stationary(tuple(eqs), tuple(self.controls), self._example_items))
        for sym, e in self.dependent.items():
            sol[sym] = _simplify(e.subs(sol))
        return sol

    @cached_property
    def value_at_optimum(self) -> sp.Expr | None:
        """``objective`` with the controls at their optimum (simplified)."""
        if not self.controls:
            return None
        return sp.factor(self._objective.subs(self.optimum))

    @cached_property
    def rate(self) -> sp.Expr | None:
        """Exponent of the horizon: lim log(bound)/log(H), controls at their optimum."""
        if self.horizon is None:
            return None
        e = self.full_expr()
        if self.controls:
            e = e.subs(self.optimum)
        return _limit_exponent(e, self.horizon, self._example_items)

    @cached_property
    def degradation(self) -> sp.Expr | None:
        """Value at the optimum (or the bound itself) divided by its delta = 0 value (for theorems with
        controls, or that claim a degradation factor)."""
        if S.delta not in self.assumptions or not (self.controls or "degradation" in self.claims):
            return None
        v = self.value_at_optimum if self.controls else self.full_expr()
        return _simplify(v / v.subs(S.delta, 0))

    @cached_property
    def derived_trends(self) -> dict[str, str]:
        """Direction of each optimal control in delta (sign of the derivative on [0, 1))."""
        out: dict[str, str] = {}
        d = S.delta if S.delta in self.assumptions else (S.delta_i if S.delta_i in self.assumptions else None)
        if d is None:
            return out
        for c, opt in self.optimum.items():
            deriv = sp.diff(opt, d)
            sign = _sign_in_delta(deriv, d) or self._numeric_sign(deriv, d)
            out[f"{c.name}_opt"] = f"{sign} in {d.name}"
            if c is S.alpha:
                flip = {"increasing": "decreasing", "decreasing": "increasing"}.get(sign, sign)
                out["beta_opt"] = f"{flip} in {d.name}"
        return out

    def _numeric_sign(self, expr: sp.Expr, d: sp.Symbol) -> str:
        rng = np.random.default_rng(0)
        pts = self.sample_constants(rng, 16)
        grid = np.linspace(0.0, 0.98, 50)
        args = tuple(sorted(expr.free_symbols, key=lambda s: s.name))
        f = _lambdify(args, expr)
        vals = []
        for j in range(16):
            vals.append(
                np.asarray(f(*[grid if a is d else pts[a.name][j] for a in args])) * np.ones_like(grid)
            )
        v = np.concatenate(vals)
        if np.all(v > 0):
            return "increasing"
        if np.all(v < 0):
            return "decreasing"
        if np.all(v == 0):
            return "constant"
        return "non-monotone"

    # -- checks -------------------------------------------------------------------------------------
    def same(self, a: sp.Expr, b: sp.Expr, *, n: int = 12, rtol: float = 1e-10) -> bool:
        """True if a == b identically: structurally equal after expansion, or equal (rtol) at ``n``
        random points inside the theorem's domains and conditions (a disagreement is a counterexample)."""
        diff = sp.expand(a - b)
        if diff == 0:
            return True
        args = tuple(sorted(a.free_symbols | b.free_symbols, key=lambda s: s.name))
        if not args:
            return bool(abs(complex(sp.N(diff))) <= rtol * max(1.0, abs(complex(sp.N(a)))))
        pts = self.sample_constants(np.random.default_rng(1), n)
        # the scale of a comparison with zero is the size of the terms that cancel
        scale_expr = sum(sp.Abs(term) for term in (*sp.Add.make_args(a), *sp.Add.make_args(b)))
        fa, fb, fs = _lambdify(args, a), _lambdify(args, b), _lambdify(args, scale_expr)
        av = [pts[s.name] for s in args]
        with np.errstate(all="ignore"):
            x = np.broadcast_to(np.asarray(fa(*av), dtype=float), (n,))
            y = np.broadcast_to(np.asarray(fb(*av), dtype=float), (n,))
            scale = np.broadcast_to(np.asarray(fs(*av), dtype=float), (n,))
        return bool(np.all(np.isfinite(x)) and np.all(np.abs(x - y) <= rtol * scale))

    def verify(self) -> list[str]:
        """Compare every claim with its sympy derivation; return the mismatches (empty: all agree)."""
        problems: list[str] = []
        for key, claim in self.claims.items():
            if key.endswith("_opt") and key != "value_at_opt":
                name = key[:-4]
                c = next((sym for sym in self.optimum if sym.name == name), None)
                if c is None:
                    problems.append(f"{self.id}: {key}: names no control")
                elif not self.same(self.optimum[c], claim):
                    problems.append(f"{self.id}: {key}: derived {self.optimum[c]} != claimed {claim}")
            elif key == "value_at_opt":
                if not self.same(self.value_at_optimum, claim):
                    problems.append(f"{self.id}: {key}: derived {self.value_at_optimum} != claimed {claim}")
            elif key == "rate":
                if self.rate is None or sp.simplify(self.rate - claim) != 0:
                    problems.append(f"{self.id}: {key}: derived {self.rate} != claimed {claim}")
            elif key == "degradation":
                if self.degradation is None or not self.same(self.degradation, claim):
                    problems.append(f"{self.id}: {key}: derived {self.degradation} != claimed {claim}")
            elif key == "delta0":
                got = self.expr.subs({S.delta: 0, S.delta_i: 0})
                if not self.same(got, claim):
                    problems.append(
                        f"{self.id}: {key}: delta = 0 gives {got} != exact-oracle statement {claim}"
                    )
            elif key == "delta0_per_layer":
                got = self.per_layer.subs({S.delta: 0, S.delta_i: 0})
                if not self.same(got, claim):
                    problems.append(f"{self.id}: {key}: delta = 0 per layer gives {got} != {claim}")
            elif key == "identity":
                if not self.same(self.full_expr(), claim):
                    problems.append(f"{self.id}: {key}: {claim} != {self.full_expr()}")
            else:
                problems.append(f"{self.id}: unknown claim key {key!r}")
        for key, claimed in self.trends.items():
            got = self.derived_trends.get(key)
            if got != claimed:
                problems.append(f"{self.id}: trend {key}: derived {got!r} != predicted {claimed!r}")
        return problems

    def check_second_order(self, n: int = 16, seed: int = 2) -> bool | None:
        """Hessian of ``objective`` at the optimum is positive definite at ``n`` random valid points
        (None where the optimum is not a smooth stationary point, e.g. a min-max step)."""
        if not self.controls or self.optimality_equations is not None:
            return None
        ctrl = tuple(self.controls)
        hess = sp.ImmutableMatrix(sp.hessian(self._objective, ctrl).subs(self.optimum))
        args = tuple(sorted(hess.free_symbols, key=lambda s: s.name))
        f = _lambdify(args, hess)
        pts = self.sample_constants(np.random.default_rng(seed), n)
        for j in range(n):
            H = np.array(f(*[pts[a.name][j] for a in args]), dtype=float).reshape(len(ctrl), len(ctrl))
            if not np.all(np.linalg.eigvalsh((H + H.T) / 2) > 0):
                return False
        return True

    def check_stationary(self) -> bool:
        """The gradient of ``objective`` vanishes identically at the derived optimum."""
        if self.optimality_equations is not None:
            return all(self.same(e.subs(self.optimum), sp.Integer(0)) for e in self.optimality_equations)
        return all(
            self.same(sp.diff(self._objective, c).subs(self.optimum), sp.Integer(0)) for c in self.controls
        )

    # -- sampling valid points -----------------------------------------------------------------------
    def sample_constants(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        """``n`` random points inside every domain and validity condition (rejection sampling)."""
        m = max(64, 40 * n)
        draws: dict[str, np.ndarray] = {}
        for sym in self.assumptions:
            info = S.INFO[sym.name]
            if info.log:
                v = np.exp(rng.uniform(np.log(info.low), np.log(info.high), m))
            else:
                v = rng.uniform(info.low, info.high, m)
            if info.integer:
                v = np.maximum(np.round(v), 1.0 if sym.is_positive else 0.0)
            draws[sym.name] = v
        ok = np.ones(m, bool)
        for cond in self.conditions:
            ok &= self._condition_mask(cond, draws)
        idx = np.nonzero(ok)[0]
        if idx.size < n:
            raise RuntimeError(f"{self.id}: only {idx.size} of {m} random points satisfy the conditions")
        return {k: v[idx[:n]] for k, v in draws.items()}

    def _condition_mask(self, cond, values: Mapping[str, np.ndarray]) -> np.ndarray:
        if cond is sp.true or cond is True:
            return np.array(True)
        if cond is sp.false or cond is False:
            return np.array(False)
        args = tuple(sorted(cond.free_symbols, key=lambda s: s.name))
        f = _lambdify(args, cond)
        with np.errstate(all="ignore"):
            return np.asarray(f(*[values[a.name] for a in args]), dtype=bool)

    # -- numeric evaluation ------------------------------------------------------------------------
    def _inputs(self, values: Mapping[str, Any]) -> dict[str, np.ndarray]:
        values = dict(values)
        if "beta" in values and "beta" not in self.symbols and "alpha" in self.symbols:
            if "alpha" in values:
                raise ValueError(f"{self.id}: give alpha or beta (= 1 - alpha), not both")
            values["alpha"] = 1.0 - np.asarray(values.pop("beta"), dtype=float)
        unknown = set(values) - set(self.symbols)
        if unknown:
            raise ValueError(
                f"{self.id}: unknown constants {sorted(unknown)}; this theorem uses {sorted(self.symbols)}"
            )
        return {k: np.asarray(v, dtype=float) for k, v in values.items()}

    def _layout(self, arrays: Mapping[str, np.ndarray]) -> tuple:
        """Batch shape and, for layer theorems, the arrays laid out with a trailing layer axis."""
        layer_names = {s.name for s in self.layer_symbols}
        batch_shapes = []
        for name, a in arrays.items():
            if name in layer_names:
                batch_shapes.append(a.shape[:-1] if a.ndim else ())
            else:
                batch_shapes.append(a.shape)
        try:
            shape = np.broadcast_shapes(*batch_shapes) if batch_shapes else ()
        except ValueError as exc:
            raise ValueError(
                f"{self.id}: constants do not broadcast: { {k: v.shape for k, v in arrays.items()} }"
            ) from exc
        laid = {}
        for name, a in arrays.items():
            if name in layer_names:
                laid[name] = a if a.ndim else a.reshape(1)
            else:
                laid[name] = a[..., None]
        return shape, laid

    def _mask_and_reasons(self, arrays: Mapping[str, np.ndarray], needed: set, conditions=None) -> tuple:
        missing = sorted(s.name for s in needed if s.name not in arrays)
        if missing:
            raise ValueError(f"{self.id}: missing constants {missing}")
        shape, laid = self._layout({k: v for k, v in arrays.items() if self.symbols[k] in needed})
        layer_names = {s.name for s in self.layer_symbols}
        applicable = np.ones(shape, bool)
        reason = np.full(shape, "", dtype=object)

        def reduce(mask: np.ndarray, per_layer: bool) -> np.ndarray:
            mask = np.asarray(mask, bool)
            if per_layer:
                return np.broadcast_to(
                    np.all(np.broadcast_to(mask, np.broadcast_shapes(mask.shape, shape + (1,))), axis=-1),
                    shape,
                )
            return np.broadcast_to(mask, shape)

        for sym in sorted(needed, key=lambda s: s.name):
            a = arrays[sym.name]
            is_layer = sym.name in layer_names
            fin = np.isfinite(a)
            ok = fin & ((a > 0) if sym.is_positive else (a >= 0))
            ok = reduce(ok, is_layer) if is_layer else np.broadcast_to(ok, shape)
            _add_reason(reason, ~ok, f"{sym.name} {S.domain(sym)} (finite) violated")
            applicable &= ok
        for cond in self.conditions if conditions is None else conditions:
            label = None
            if isinstance(cond, tuple):  # (relation, how to name it in the reason)
                cond, label = cond
            if not (cond.free_symbols <= needed):
                continue
            args = tuple(sorted(cond.free_symbols, key=lambda s: s.name))
            is_layer = any(a.name in layer_names for a in args)
            f = _lambdify(args, cond)
            with np.errstate(all="ignore"):
                src = laid if is_layer else arrays
                ok = np.asarray(f(*[src[a.name] for a in args]), dtype=bool)
            ok = reduce(ok, True) if is_layer else np.broadcast_to(ok, shape)
            _add_reason(reason, ~ok, f"condition {label or cond} violated")
            applicable &= ok
        return shape, laid, applicable, reason

    def _needed(self, exprs) -> set:
        needed = set()
        for e in exprs:
            if e is not None:
                needed |= e.free_symbols
        return needed

    def evaluate(self, **constants) -> BoundValue:
        """The bound on arrays of constants (NumPy broadcasting; layer symbols '*_i' carry a trailing
        layer axis and the per-layer term is summed over it).  ``beta`` is accepted for ``alpha``.

        Where a domain or validity condition fails the value is NaN, ``applicable`` False and
        ``reason`` names what failed.  Inputs are host values (Python numbers, NumPy arrays); copy
        device arrays explicitly with :func:`lab.backend.to_numpy` first.
        """
        arrays = self._inputs(constants)
        needed = self._needed([self.expr, self.per_layer]) | set().union(
            *(c.free_symbols for c in self.conditions)
        )
        shape, laid, applicable, reason = self._mask_and_reasons(arrays, needed)
        with np.errstate(all="ignore"):
            value = self._numeric(self.expr, arrays, shape)
            if self.per_layer is not None:
                value = value + self._numeric_layer(self.per_layer, laid, shape)
        return self._finish(value, applicable, reason)

    def _numeric(self, expr: sp.Expr, arrays: Mapping[str, np.ndarray], shape: tuple) -> np.ndarray:
        args = tuple(sorted(expr.free_symbols, key=lambda s: s.name))
        f = _lambdify(args, expr)
        return np.broadcast_to(np.asarray(f(*[arrays[a.name] for a in args]), dtype=float), shape)

    def _numeric_layer(self, expr: sp.Expr, laid: Mapping[str, np.ndarray], shape: tuple) -> np.ndarray:
        args = tuple(sorted(expr.free_symbols, key=lambda s: s.name))
        f = _lambdify(args, expr)
        v = np.asarray(f(*[laid[a.name] for a in args]), dtype=float)
        v = np.broadcast_to(v, np.broadcast_shapes(v.shape, shape + (1,)))
        return np.sum(v, axis=-1)

    def _finish(self, value, applicable, reason) -> BoundValue:
        value = np.array(value, dtype=float)
        bad_nan = applicable & np.isnan(value)
        if np.any(bad_nan):
            _add_reason(reason, bad_nan, "bound evaluates to NaN")
            applicable = applicable & ~bad_nan
        value = np.where(applicable, value, np.nan)
        return BoundValue(self.id, value, np.array(applicable), reason)

    def optimal_controls(self, **constants) -> dict[str, BoundValue]:
        """The optimal controls (closed forms of :attr:`optimum`) on arrays of constants."""
        arrays = self._inputs(constants)
        out = {}
        needed = self._needed(list(self.optimum.values()))
        conds = [c for c in self.conditions if not (c.free_symbols & set(self.controls))]
        conds += [(c.subs(self.optimum), f"{c} at the optimum") for c in self.optimum_conditions]
        needed |= set().union(set(), *((c[0] if isinstance(c, tuple) else c).free_symbols for c in conds))
        shape, laid, applicable, reason = self._mask_and_reasons(arrays, needed, conds)
        for c, e in self.optimum.items():
            with np.errstate(all="ignore"):
                if c in self.layer_symbols:  # one value per layer: trailing layer axis
                    args = tuple(sorted(e.free_symbols, key=lambda s: s.name))
                    v = np.asarray(_lambdify(args, e)(*[laid[a.name] for a in args]), dtype=float)
                    v = np.broadcast_to(v, np.broadcast_shapes(v.shape, shape + (1,)))
                    ok = np.broadcast_to(applicable[..., None], v.shape)
                    why = np.broadcast_to(reason[..., None], v.shape).copy()
                    out[c.name] = self._finish(v, ok.copy(), why)
                    continue
                v = self._numeric(e, arrays, shape)
            out[c.name] = self._finish(v, applicable.copy(), reason.copy())
        return out

    def evaluate_at_optimum(self, **constants) -> BoundValue:
        """The bound with the controls at their optimum (e.g. the I1 bound at t*(delta))."""
        if not self.controls:
            return self.evaluate(**constants)
        opt = self.optimal_controls(**constants)
        values = dict(constants)
        for name, bv in opt.items():
            values[name] = bv.value
        res = self.evaluate(**{k: v for k, v in values.items()})
        first = next(iter(opt.values()))
        applicable = res.applicable & first.applicable
        reason = res.reason.copy()
        _add_reason(
            reason, ~first.applicable & res.applicable, "optimum not applicable: " + "; ".join(first.reasons)
        )
        return self._finish(res.value, applicable, reason)

    # -- presentation ------------------------------------------------------------------------------
    def latex(self, *, typeset_metric: bool = False) -> str:
        """``metric relation bound`` in LaTeX, with the validity conditions; the metric by its name,
        or with ``typeset_metric`` as the formula it stands for (:data:`METRICS_TEX`)."""
        lhs = r"\text{" + self.metric.replace("_", r"\_") + "}"
        if typeset_metric and self.metric in METRICS_TEX:
            lhs = METRICS_TEX[self.metric]
        body = S.latex(self.expr)
        if self.per_layer is not None:
            layer = r"\sum_i \left(" + S.latex(self.per_layer) + r"\right)"
            body = layer if self.expr == 0 else f"{body} + {layer}"
        conds = r",\; ".join(S.latex(c) for c in self.conditions)
        tail = rf"\qquad \left({conds}\right)" if conds else ""
        return f"{lhs} {_REL_LATEX[self.relation]} {body}{tail}"

    def statement(self) -> str:
        body = str(self.expr)
        if self.per_layer is not None:
            layer = f"sum_i [{self.per_layer}]"
            body = layer if self.expr == 0 else f"{body} + {layer}"
        return f"{self.metric} {self.relation} {body}"

    def __str__(self) -> str:
        lines = [
            f"[{self.id}] {self.title}",
            f"  source: {self.source}",
            f"  algorithm: {self.algorithm}",
            f"  {self.statement()}",
        ]
        if self.conditions:
            lines.append("  if " + ", ".join(str(c) for c in self.conditions))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Theorem({self.id!r})"

    def to_dict(self, derived: bool = True) -> dict:
        d = {
            "id": self.id,
            "title": self.title,
            "source": self.source,
            "algorithm": self.algorithm,
            "parametrisation": dict(self.parametrisation),
            "metric": self.metric,
            "metric_meaning": METRICS[self.metric],
            "relation": self.relation,
            "expr": str(self.expr),
            "per_layer": None if self.per_layer is None else str(self.per_layer),
            "latex": self.latex(),
            "assumptions": {
                s.name: {"domain": S.domain(s), "meaning": S.INFO[s.name].doc} for s in self.assumptions
            },
            "conditions": [str(c) for c in self.conditions],
            "reference": self.reference,
            "horizon": None if self.horizon is None else self.horizon.name,
            "controls": [c.name for c in self.controls],
            "trends": dict(self.trends),
            "notes": self.notes,
            "proof_sketch": self.proof_sketch,
        }
        if derived:
            d["rate"] = None if self.rate is None else str(self.rate)
            d["optimum"] = {c.name: str(v) for c, v in self.optimum.items()}
            d["value_at_optimum"] = None if self.value_at_optimum is None else str(self.value_at_optimum)
            d["degradation"] = None if self.degradation is None else str(self.degradation)
            d["derived_trends"] = self.derived_trends
        return d

    def to_json(self, derived: bool = True) -> str:
        return json.dumps(self.to_dict(derived), indent=2, ensure_ascii=False)
