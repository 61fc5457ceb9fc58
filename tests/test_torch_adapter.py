"""lab.torch: the torch.optim adapter, its parity with the real torch.optim.Muon, and the torch RNG path."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="lab.torch needs the optional extra: pip install -e '.[torch]'")

from lab.orthogonalization import ns_polynomial  # noqa: E402
from lab.random import RNG  # noqa: E402
from lab.torch import InexactMuon, MuonMVR1, MuonMVR2, TorchRNG  # noqa: E402
from lab.torch.parity import PARITY_CONFIGS, float64_muon_newton_schulz, parity_run  # noqa: E402

TOL = 1e-12


@pytest.fixture(autouse=True)
def _one_thread():
    # 50-step runs of tiny matrices: thread start-up dominates on a shared 2-core machine
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.mark.parametrize("config", PARITY_CONFIGS, ids=lambda c: "-".join(map(str, c.values())))
def test_parity_with_torch_muon_over_50_steps(config):
    diff = parity_run(**config, steps=50)
    assert diff.max() <= TOL, diff.max()


def test_parity_detects_the_eps_convention():
    # the lab's default scaling G/(|G|_F + eps) is not torch's G/max(|G|_F, eps): the test must see it
    diff = parity_run(**PARITY_CONFIGS[0], steps=10, oracle="ns:jordan:5")
    assert diff.max() > 1e3 * TOL


def test_neutralised_cast_copies_and_keeps_float64():
    ns = float64_muon_newton_schulz()
    G = torch.randn(5, 3, dtype=torch.float64)
    G0 = G.clone()
    out = ns(G, (3.4445, -4.7750, 2.0315), 5, 1e-7)
    assert out.dtype == torch.float64
    assert torch.equal(G, G0)  # the input (torch's momentum buffer without nesterov) is untouched


def test_torch_rng_matches_numpy_stream():
    t = TorchRNG.from_seeds([1, 2], "axis").at(7).fold("x")
    n = RNG.from_seeds([1, 2], "axis", xp=np).at(7).fold("x")
    assert np.array_equal(t.normal((3, 4)).numpy(), n.normal((3, 4)))
    assert np.array_equal(t.uniform((5,), dtype=torch.float32).numpy(), n.uniform((5,), dtype=np.float32))
    assert np.array_equal(t.integers(9, (4,)).numpy(), n.integers(9, (4,)))


def _train(opt, W, steps=3):
    target = torch.linspace(-1, 1, W.numel(), dtype=W.dtype).reshape(W.shape)
    for _ in range(steps):
        opt.zero_grad()
        ((W - target) ** 2).sum().backward()
        opt.step()


@pytest.mark.parametrize("kind", ["expand", "shrink", "random", "adversarial"])
def test_injected_delta_is_measured_exactly(kind):
    W = torch.nn.Parameter(torch.randn(6, 4, dtype=torch.float64))
    opt = InexactMuon([W], lr=0.01, oracle=f"{kind}:0.3", diagnostics_every=1)
    _train(opt, W)
    assert [d["step"] for d in opt.diagnostics] == [1, 2, 3]
    assert all(abs(d["delta_op"] - 0.3) < 1e-12 for d in opt.diagnostics)


def test_random_kind_is_reproducible_and_seeded():
    def run(seed):
        W = torch.nn.Parameter(torch.ones(5, 3, dtype=torch.float64))
        _train(InexactMuon([W], lr=0.1, oracle="random:0.5", seed=seed), W)
        return W.detach().clone()

    assert torch.equal(run(0), run(0))
    assert not torch.equal(run(0), run(1))


@pytest.mark.parametrize("spec", ["ns:cubic:3", "ns:quintic:2", "ns:jordan:5", "ns:polar_express:8"])
def test_ns_diagnostics_match_the_scalar_theory(spec):
    _, preset, steps = spec.split(":")
    W = torch.nn.Parameter(torch.randn(7, 4, dtype=torch.float64))
    opt = InexactMuon([W], lr=0.01, momentum=0.0, nesterov=False, oracle=spec, diagnostics_every=1)
    _train(opt, W, steps=1)
    d = opt.diagnostics[0]
    s = torch.linalg.svdvals(W.grad.double() / torch.linalg.matrix_norm(W.grad.double())).numpy()
    p = ns_polynomial(preset, int(steps))
    # the normalised spectrum the oracle saw, and δ_op = max |1 − p^(k)(x_i)| (eps 1e-7 shifts x by ~1e-7)
    assert d["sigma_min"] == pytest.approx(s[-1], rel=1e-12)
    assert d["sigma_max"] == pytest.approx(s[0], rel=1e-12)
    assert d["delta_op"] == pytest.approx(np.max(np.abs(1 - p(s))), abs=1e-5)


def test_exact_oracle_has_zero_delta_and_full_alignment():
    W = torch.nn.Parameter(torch.randn(4, 6, dtype=torch.float64))
    opt = InexactMuon([W], lr=0.01, oracle="exact", diagnostics_every=2)
    _train(opt, W, steps=4)
    assert [d["step"] for d in opt.diagnostics] == [2, 4]
    assert all(d["delta_op"] < 1e-12 and abs(d["alignment"] - 1) < 1e-12 for d in opt.diagnostics)


def test_mvr1_and_mvr2_follow_their_recursions():
    rng = np.random.default_rng(0)
    A = torch.tensor(rng.standard_normal((5, 5)), dtype=torch.float64)
    A = A @ A.T / 5 + torch.eye(5, dtype=torch.float64)
    noise = [torch.tensor(rng.standard_normal((5, 3)), dtype=torch.float64) for _ in range(4)]
    X0 = torch.tensor(rng.standard_normal((5, 3)), dtype=torch.float64)
    lr, beta, gamma = 0.05, 0.8, 0.3

    def grad(X, t):  # gradient of 0.5 tr(XᵀAX) − ⟨ξ_t, X⟩
        return A @ X - noise[t]

    def polar(M):
        U, _, Vh = torch.linalg.svd(M, full_matrices=False)
        return U @ Vh

    # MVR2 by hand
    X, M, X_prev, calls = X0.clone(), None, None, []
    for t in range(4):
        g = grad(X, t)
        M = g.clone() if M is None else g + beta * (M - grad(X_prev, t))
        X_prev, X = X, X - lr * polar(M)
    W = torch.nn.Parameter(X0.clone())
    opt = MuonMVR2([W], lr=lr, beta=beta)
    for t in range(4):

        def closure(t=t):
            calls.append(t)
            opt.zero_grad()
            loss = 0.5 * (W * (A @ W)).sum() - (noise[t] * W).sum()
            loss.backward()
            return loss

        opt.step(closure)
    assert calls == [0, 1, 1, 2, 2, 3, 3]  # the same sample twice from step 2
    assert torch.allclose(W.detach(), X, rtol=0, atol=1e-12)

    # MVR1 by hand (one gradient per step)
    X, M, g_prev = X0.clone(), None, None
    for t in range(4):
        g = grad(X, t)
        M = (1 - beta) * g if M is None else beta * M + (1 - beta) * g + gamma * beta * (g - g_prev)
        g_prev, X = g, X - lr * polar(M)
    W = torch.nn.Parameter(X0.clone())
    opt = MuonMVR1([W], lr=lr, beta=beta, gamma=gamma)
    for t in range(4):
        opt.zero_grad()
        (0.5 * (W * (A @ W)).sum() - (noise[t] * W).sum()).backward()
        opt.step()
    assert torch.allclose(W.detach(), X, rtol=0, atol=1e-12)


def test_conventions_are_recorded_and_float32_runs():
    W = torch.nn.Parameter(torch.randn(8, 4))
    opt = InexactMuon([W], lr=0.01, oracle="ns:polar_express:8", lr_adjust="match_rms_adamw")
    _train(opt, W)
    assert W.dtype == torch.float32 and torch.isfinite(W).all()
    assert opt.conventions["lr_adjust"] == "match_rms_adamw"
    assert opt.conventions["oracle"]["coefficients"] == "polar_express"


def test_errors():
    W = torch.nn.Parameter(torch.randn(3, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="lr_adjust"):
        InexactMuon([W], lr_adjust="bogus")
    with pytest.raises(ValueError, match="2-D"):
        InexactMuon([torch.nn.Parameter(torch.randn(3))])
    with pytest.raises(ValueError, match="closure"):
        MuonMVR2([W]).step()
    with pytest.raises(ValueError, match="momentum"):
        InexactMuon([W], momentum=1.0)


def test_ns_spec_options_and_frobenius_max():
    from lab.oracles import make_oracle

    G = np.random.default_rng(1).standard_normal((6, 4))
    plain = make_oracle("ns:jordan:5")
    torch_like = make_oracle("ns:jordan:5:eps=1e-7:normalization=frobenius_max")
    assert torch_like.describe()["normalization"] == "frobenius_max"
    # with eps = 0 both scalings are G/|G|_F; with eps > 0 they differ by O(eps/|G|_F)
    a = make_oracle("ns:jordan:5:eps=0")(G)
    b = make_oracle("ns:jordan:5:eps=0:normalization=frobenius_max")(G)
    assert np.allclose(a, b, rtol=0, atol=1e-13)
    assert 0 < np.abs(plain(G) - torch_like(G)).max() < 1e-5
    assert np.array_equal(plain(G), make_oracle({"ns": "jordan", "steps": 5})(G))  # old specs unchanged
    with pytest.raises(ValueError, match="ns option"):
        make_oracle("ns:jordan:5:foo=1")
