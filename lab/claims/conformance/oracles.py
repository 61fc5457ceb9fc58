r"""Conformance of the oracle layer: Newton–Schulz presets, exact LMOs and injected-error oracles
against NumPy references (experiments ``conformance_ns``, ``conformance_lmo``, ``conformance_oracles``)."""

from __future__ import annotations

import numpy as np

from lab.claims.conformance._reference import CUBIC, JORDAN, QUINTIC, _planted, _random_matrix, _rel, _rows
from lab.claims.registry import Experiment, check, check_options, experiment, get_experiment
from lab.norms import NORMS, get_norm
from lab.oracles import KINDS, exact_lmo, inexact_oracle, newton_schulz_oracle
from lab.polar_express import PUBLISHED_MODDED_NANOGPT, PUBLISHED_POLAR_EXPRESS
from lab.random import RNG


def _published_rows(name: str, steps: int):
    if name == "cubic":
        rows = [CUBIC]
    elif name == "quintic":
        rows = [QUINTIC]
    elif name == "jordan":
        rows = [JORDAN]
    elif name == "modded_nanogpt":
        rows = list(PUBLISHED_MODDED_NANOGPT)
    else:  # polar_express: safety rescaling (a/1.01, b/1.01³, c/1.01⁵) on all rows but the last
        pub = list(PUBLISHED_POLAR_EXPRESS)
        rows = [(a / 1.01, b / 1.01**3, c / 1.01**5) for a, b, c in pub[:-1]] + [pub[-1]]
    return [rows[min(i, len(rows) - 1)] for i in range(steps)]


def _ns_reference(G: np.ndarray, name: str, steps: int) -> np.ndarray:
    U, S, Vh = np.linalg.svd(G, full_matrices=False)
    x = S / np.sqrt(np.sum(S * S))  # ‖G‖_F normalisation
    for a, b, c in _published_rows(name, steps):
        x = a * x + b * x**3 + c * x**5
    return -(U * x) @ Vh


def _ref_norm(name: str, X: np.ndarray) -> float:
    if name == "spectral":
        return float(np.linalg.norm(X, 2))
    if name == "nuclear":
        return float(np.linalg.norm(X, "nuc"))
    if name == "frobenius":
        return float(np.linalg.norm(X))
    if name == "linf":
        return float(np.max(np.abs(X)))
    if name == "l1":
        return float(np.sum(np.abs(X)))
    if name == "col_l2":
        return float(np.max(np.linalg.norm(X, axis=0)))
    return float(np.max(np.linalg.norm(X, axis=1)))  # row_l2


def _ref_lmo(name: str, G: np.ndarray) -> np.ndarray:
    if name == "spectral":
        U, _, Vh = np.linalg.svd(G, full_matrices=False)
        return -U @ Vh
    if name == "nuclear":
        U, _, Vh = np.linalg.svd(G, full_matrices=False)
        return -np.outer(U[:, 0], Vh[0])
    if name == "frobenius":
        return -G / np.linalg.norm(G)
    if name == "linf":
        return -np.sign(G)
    if name == "l1":
        D = np.zeros_like(G)
        k, j = np.unravel_index(np.argmax(np.abs(G)), G.shape)
        D[k, j] = -np.sign(G[k, j])
        return D
    if name == "col_l2":
        return -G / np.linalg.norm(G, axis=0, keepdims=True)
    return -G / np.linalg.norm(G, axis=1, keepdims=True)


def _ref_adversarial(name: str, G: np.ndarray, d: float) -> np.ndarray:
    """The documented worst-descent perturbation of lmo(G), full length δ in the ball's norm."""
    D = _ref_lmo(name, G)
    if name == "frobenius":
        return (1 + d) * D
    if name == "spectral":
        U, _, Vh = np.linalg.svd(G, full_matrices=False)
        w = np.full(U.shape[1], 1 - d)
        w[-1] = 1 + d
        return -(U * w) @ Vh
    if name == "nuclear":
        U, _, Vh = np.linalg.svd(G, full_matrices=False)
        return D + d * np.outer(U[:, 1], Vh[1])
    if name == "linf":
        w = np.full(G.shape, 1 - d)
        w[np.unravel_index(np.argmin(np.abs(G)), G.shape)] = 1 + d
        return D * w
    if name == "l1":
        order = np.argsort(np.abs(G), axis=None)
        k, j = np.unravel_index(order[-2], G.shape)
        out = D.copy()
        out[k, j] = d * np.sign(G[k, j])
        return out
    axis = 0 if name == "col_l2" else 1
    comp = np.linalg.norm(G, axis=axis)
    w = np.full(comp.shape, 1 - d)
    w[np.argmin(comp)] = 1 + d
    return D * (w[None, :] if axis == 0 else w[:, None])


NS_STEPS = {
    "cubic": (3, 8),
    "quintic": (3, 8),
    "jordan": (1, 5),
    "polar_express": (5, 8),
    "modded_nanogpt": (5,),
}


@experiment("S1.NS.presets")
def conformance_ns(*, quick: bool = True, cache=True, mutation=None, **options) -> Experiment:
    """Newton–Schulz oracles of every preset vs the published polynomials on the singular values."""
    check_options(quick, mutation, (None, "double_step"), options=options, name="conformance_ns")
    gen = np.random.default_rng(20261204)
    shapes = [(6, 4), (4, 7)] if quick else [(6, 4), (4, 7), (16, 9), (9, 16)]
    measured, theoretical = {}, {}
    for name, step_list in NS_STEPS.items():
        for steps in step_list:
            dev = 0.0
            for m, n in shapes:
                G = _random_matrix(gen, m, n, spread=50.0)
                # eps = 0: X₀ = G/‖G‖_F exactly, so the reference needs no ε
                D = _planted(mutation, np.asarray(newton_schulz_oracle(steps, name, eps=0.0)(G)))
                dev = max(dev, _rel(D, _ns_reference(G, name, steps)))
            measured[f"{name}:{steps}"] = dev
            theoretical[f"{name}:{steps}"] = 1e-9
    return Experiment("conformance_ns", measured, theoretical, {"shapes": shapes})


@experiment("S1.LMO.closed_form")
def conformance_lmo(*, quick: bool = True, cache=True, mutation=None, **options) -> Experiment:
    """Exact LMO of every norm (and of the scaled norm 2.5·‖·‖) vs its closed form."""
    check_options(quick, mutation, (None, "double_step"), options=options, name="conformance_lmo")
    gen = np.random.default_rng(7)
    shapes = [(5, 3), (3, 6)] if quick else [(5, 3), (3, 6), (12, 7)]
    measured, theoretical = {}, {}
    for name in NORMS:
        for s in (1.0, 2.5):
            dev = 0.0
            for m, n in shapes:
                G = gen.standard_normal((m, n))
                ref = _ref_lmo(name, G) / s
                for D in (get_norm(name, s).lmo(G), exact_lmo(name, scale=s)(G)):
                    dev = max(dev, _rel(_planted(mutation, np.asarray(D)), ref))
            measured[f"{name}:s={s}"] = dev
            theoretical[f"{name}:s={s}"] = 1e-10
    return Experiment("conformance_lmo", measured, theoretical, {"shapes": shapes})


@experiment("S1.oracle.errors")
def conformance_oracles(*, quick: bool = True, cache=True, mutation=None, **options) -> Experiment:
    """Injected-error oracles: ‖D − lmo(G)‖ = δ in the ball's norm; D's closed form per kind."""
    check_options(quick, mutation, (None, "double_step"), options=options, name="conformance_oracles")
    gen = np.random.default_rng(11)
    deltas = (0.3,) if quick else (0.1, 0.3, 0.7)
    measured, theoretical = {}, {}
    for name in NORMS:
        for kind in KINDS:
            size_dev, form_dev = 0.0, 0.0
            for d in deltas:
                for seed, (m, n) in enumerate([(5, 4), (4, 6)]):
                    G = gen.standard_normal((m, n))
                    rng = RNG.from_seeds(np.asarray(seed), "conformance-oracles")
                    D = _planted(mutation, np.asarray(inexact_oracle(name, d, kind)(G, rng=rng)))
                    lmo = _ref_lmo(name, G)
                    size_dev = max(size_dev, abs(_ref_norm(name, D - lmo) - d) / d)
                    ref = {
                        "expand": (1 + d) * lmo,
                        "shrink": (1 - d) * lmo,
                        "adversarial": _ref_adversarial(name, G, d),
                    }.get(kind)
                    if ref is not None:
                        form_dev = max(form_dev, _rel(D, ref))
            measured[f"{kind}:{name}:size"] = size_dev
            theoretical[f"{kind}:{name}:size"] = 1e-9
            if kind != "random":
                measured[f"{kind}:{name}:form"] = form_dev
                theoretical[f"{kind}:{name}:form"] = 1e-9
    return Experiment("conformance_oracles", measured, theoretical, {"deltas": deltas})


@check(
    "S1.NS.presets",
    claim="every Newton–Schulz preset applies its published polynomials to the ‖G‖_F-normalised "
    "singular values, with the LMO's sign (−NS)",
    source="S1",
    experiment="S1.NS.presets",
    mutations=("double_step",),
)
def ns_presets(*, quick: bool, mutation: str | None = None):
    exp = get_experiment("S1.NS.presets")(quick=quick, mutation=mutation)
    return _rows("S1-NS-presets", "S1", exp, "random matrices with known SVD")


@check(
    "S1.LMO.closed_form",
    claim="the exact LMO of every norm (and of s·‖·‖) equals its closed form",
    source="S1",
    experiment="S1.LMO.closed_form",
    mutations=("double_step",),
)
def lmo_closed_form(*, quick: bool, mutation: str | None = None):
    exp = get_experiment("S1.LMO.closed_form")(quick=quick, mutation=mutation)
    return _rows("S1-LMO-closed-form", "S1", exp, "Gaussian matrices")


@check(
    "S1.oracle.errors",
    claim="an injected-error oracle's error D − lmo(G) has norm δ in the ball's norm, and D has the "
    "documented form (expand, shrink, adversarial)",
    source="S1",
    experiment="S1.oracle.errors",
    mutations=("double_step",),
)
def oracle_errors(*, quick: bool, mutation: str | None = None):
    exp = get_experiment("S1.oracle.errors")(quick=quick, mutation=mutation)
    return _rows("S1-oracle-errors", "S1", exp, "Gaussian matrices")
