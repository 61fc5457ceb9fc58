"""Test problems with certified constants, noise models, and the problem registry.

Every problem implements the :class:`problems.base.Problem` protocol (batched ``f``, ``grad``,
``sample``, ``stochastic_grad``, ``x0``, ``describe``) and states its constants in a
:class:`problems.base.Constants` record; the tests ``tests/test_problems_*.py`` certify each one.

Problems of your own join the registry with :func:`register` (installed packages: entry points in
the group ``muon_lab.problems``; modules: ``LAB_PLUGINS`` or ``lab run --plugin``, see
:mod:`lab.plugins`); :func:`make`, :func:`from_config` and ``lab run --problem`` then build them.
"""

from problems.base import (
    BlockConstants,
    Constants,
    NoisyProblem,
    Params,
    Problem,
    ProblemBase,
    Sample,
    attach_noise,
    delta0,
)
from problems.estimate import estimate_l0_l1, trajectory_norms
from problems.layers import DeepLinear, TeacherStudent
from problems.least_squares import ConstrainedLeastSquares, LeastSquaresBase, OverparamLeastSquares, Quadratic
from problems.noise import (
    NOISE_REGISTRY,
    GaussianNoise,
    HessianNoise,
    MinibatchNoise,
    NoiseModel,
    NoNoise,
    StudentTNoise,
    make_noise,
)
from problems.quadratic import (
    Flattening,
    IsotropicQuadratic,
    KroneckerQuadratic,
    KroneckerQuadraticBase,
    polar,
    project_spectral_ball,
)
from problems.registry import REGISTRY, from_config, from_toml, load_plugins, make, parameters, register
from problems.smooth import LogCosh, Quartic, SoftmaxRegression

__all__ = [
    "REGISTRY",
    "NOISE_REGISTRY",
    "register",
    "load_plugins",
    "make",
    "from_config",
    "from_toml",
    "parameters",
    "make_noise",
    "attach_noise",
    "estimate_l0_l1",
    "trajectory_norms",
    "delta0",
    "polar",
    "project_spectral_ball",
    "Params",
    "Problem",
    "ProblemBase",
    "Constants",
    "BlockConstants",
    "Sample",
    "Quadratic",
    "KroneckerQuadratic",
    "IsotropicQuadratic",
    "OverparamLeastSquares",
    "Quartic",
    "LogCosh",
    "SoftmaxRegression",
    "DeepLinear",
    "TeacherStudent",
    "Flattening",
    "ConstrainedLeastSquares",
    "KroneckerQuadraticBase",
    "LeastSquaresBase",
    "NoiseModel",
    "NoNoise",
    "GaussianNoise",
    "StudentTNoise",
    "MinibatchNoise",
    "HessianNoise",
    "NoisyProblem",
]
