"""Real data that ships with installed packages, two small models, and one training run.

Nothing is downloaded: the text is the source of fixed modules of the running Python's standard library
(its SHA-256 is recorded, so a different Python version is visible in the results), and the images are
scikit-learn's bundled 8×8 digits (1797 images, 10 classes).

* :func:`digits_data` / :class:`MLP` — a 64→64→64→10 tanh MLP, every weight matrix trained by the lab's
  optimizer (biases by plain SGD at the same learning rate);
* :func:`stdlib_text` / :class:`CharTransformer` — a pre-norm char-level transformer (width 64, 2 layers,
  4 heads, context 32) on bytes (vocabulary 128); the hidden matrices (attention and MLP) are trained by
  the lab's optimizer and the embeddings, head and norms by AdamW (the usual Muon split);
* :func:`train` — one seeded run, returning the loss curve and the per-layer diagnostics.
"""

from __future__ import annotations

import hashlib
import sysconfig
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from lab.torch.optim import InexactMuon, MuonMVR1, MuonMVR2

__all__ = ["STDLIB_FILES", "digits_data", "stdlib_text", "MLP", "CharTransformer", "train", "TASKS"]

#: Standard-library modules whose source is the text corpus (present in every CPython 3.11+).
STDLIB_FILES = ("argparse.py", "textwrap.py", "functools.py", "csv.py", "string.py")


@lru_cache(maxsize=1)
def stdlib_text() -> tuple[np.ndarray, str]:
    """The corpus as uint8 codes < 128 (other bytes mapped to '?') and its SHA-256."""
    root = Path(sysconfig.get_paths()["stdlib"])
    raw = b"".join((root / name).read_bytes() for name in STDLIB_FILES)
    codes = np.frombuffer(raw, dtype=np.uint8).copy()
    codes[codes >= 128] = ord("?")
    return codes, hashlib.sha256(raw).hexdigest()


@lru_cache(maxsize=1)
def digits_data() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits, standardised per pixel: X (1797, 64) float64, y (1797,) int64."""
    from sklearn.datasets import load_digits  # optional heavy dependency, only for this data set

    d = load_digits()
    X = d.data.astype(np.float64)
    X = (X - X.mean(axis=0)) / (X.std(axis=0) + 1.0)
    return X, d.target.astype(np.int64)


class MLP(nn.Module):
    def __init__(self, width: int = 64):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(64, width), nn.Linear(width, width), nn.Linear(width, 10)])

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = torch.tanh(layer(x))
        return self.layers[-1](x)


class _Block(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width, bias=False)
        self.proj = nn.Linear(width, width, bias=False)
        self.fc1 = nn.Linear(width, 4 * width, bias=False)
        self.fc2 = nn.Linear(4 * width, width, bias=False)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=-1)
        q, k, v = (z.view(B, T, self.heads, C // self.heads).transpose(1, 2) for z in (q, k, v))
        a = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(a.transpose(1, 2).reshape(B, T, C))
        return x + self.fc2(nn.functional.gelu(self.fc1(self.ln2(x))))


class CharTransformer(nn.Module):
    def __init__(self, width: int = 64, layers: int = 2, heads: int = 4, context: int = 32, vocab: int = 128):
        super().__init__()
        self.tok = nn.Embedding(vocab, width)
        self.pos = nn.Embedding(context, width)
        self.blocks = nn.ModuleList([_Block(width, heads) for _ in range(layers)])
        self.ln = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab, bias=False)

    def forward(self, idx):
        x = self.tok(idx) + self.pos(torch.arange(idx.shape[1]))
        for b in self.blocks:
            x = b(x)
        return self.head(self.ln(x))

    def hidden_matrices(self):
        return [p for b in self.blocks for p in (b.qkv.weight, b.proj.weight, b.fc1.weight, b.fc2.weight)]


#: task -> (default steps, batch size)
TASKS = {"digits": (60, 128), "text": (150, 16)}

_OPTIMIZERS = {"muon": InexactMuon, "mvr1": MuonMVR1, "mvr2": MuonMVR2}


def _batches(task, steps, batch, gen):
    """The run's sample sequence (indices drawn once from the seeded generator)."""
    if task == "digits":
        X, y = digits_data()
        idx = torch.randint(0, X.shape[0], (steps, batch), generator=gen)
        Xt, yt = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y)
        return [(Xt[i], yt[i]) for i in idx]
    codes, _ = stdlib_text()
    data = torch.as_tensor(codes.astype(np.int64))
    ctx = 32
    starts = torch.randint(0, data.numel() - ctx - 1, (steps, batch), generator=gen)
    offs = torch.arange(ctx + 1)
    return [(data[s[:, None] + offs][:, :-1], data[s[:, None] + offs][:, 1:]) for s in starts]


def _eval_set(task):
    """A fixed evaluation set: all of digits; 64 fixed windows of the text."""
    gen = torch.Generator().manual_seed(12345)
    if task == "digits":
        X, y = digits_data()
        return torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y)
    return _batches("text", 1, 64, gen)[0]


def _loss(model, task, xb, yb):
    out = model(xb)
    return nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), yb.reshape(-1))


def _optimizers(task: str, model, method: str, *, oracle, lr, beta, gamma, seed, diagnostics_every):
    """``(opt, side)``: the method on the model's hidden matrices, and the optimiser of the rest
    (SGD on the MLP's biases, AdamW on the transformer's embeddings, norms and biases)."""
    if task == "digits":
        matrices = [layer.weight for layer in model.layers]
        others = [layer.bias for layer in model.layers]
        side = torch.optim.SGD(others, lr=lr)
    else:
        matrices = model.hidden_matrices()
        ids = {id(p) for p in matrices}
        others = [p for p in model.parameters() if id(p) not in ids]
        side = torch.optim.AdamW(others, lr=3e-3, weight_decay=0.0)
    kw = {
        "lr": lr,
        "oracle": oracle,
        "lr_adjust": "original",
        "seed": seed,
        "diagnostics_every": diagnostics_every,
    }
    if method == "muon":
        opt = InexactMuon(matrices, momentum=beta, nesterov=True, **kw)
    elif method == "mvr1":
        opt = MuonMVR1(matrices, beta=beta, gamma=gamma, **kw)
    else:
        opt = MuonMVR2(matrices, beta=beta, **kw)
    return opt, side


def _record_inputs(opt, every: int) -> dict:
    """Wrap ``opt``'s oracle so that every ``every`` steps it keeps its input matrices (float64):
    the returned dict fills as the run goes, ``{(step, layer): array}``."""
    inputs = {}
    orig = opt.oracle

    def recording(G, rng=None, _orig=orig):
        layer = len([k for k in inputs if k[0] == opt.steps])
        if opt.steps % every == 0:
            inputs[(opt.steps, layer)] = G.detach().to(torch.float64).numpy().copy()
        return _orig(G, rng=rng)

    recording.needs_rng = orig.needs_rng
    recording.diagnostics = orig.diagnostics
    opt.oracle = recording
    return inputs


def train(
    task: str,
    *,
    method: str = "muon",
    oracle="ns:jordan:5",
    lr: float = 0.02,
    beta: float = 0.95,
    gamma: float = 0.025,
    seed: int = 0,
    steps: int | None = None,
    eval_every: int = 10,
    diagnostics_every: int = 0,
    record_inputs_every: int = 0,
) -> dict:
    """One seeded training run; deterministic for a given (config, seed) on one machine.

    Parameters
    ----------
    task : "digits" (MLP) or "text" (char transformer).
    method : "muon" (:class:`~lab.torch.InexactMuon`, momentum β, Nesterov, lr_adjust "original"),
        "mvr1" or "mvr2" (S2's estimators, β and γ, lr_adjust "original").
    oracle : lab oracle spec for the matrices.
    record_inputs_every : keep the oracle's input matrices (float64) every k steps (0: never).

    Returns
    -------
    dict with ``eval_steps``, ``eval_loss`` (the fixed evaluation set's loss, NaN once diverged),
    ``train_loss`` (per step), ``diagnostics`` (list of dicts) and ``inputs`` ({(step, layer): array}).
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {tuple(TASKS)}, got {task!r}")
    if method not in _OPTIMIZERS:
        raise ValueError(f"method must be one of {tuple(_OPTIMIZERS)}, got {method!r}")
    default_steps, batch = TASKS[task]
    steps = default_steps if steps is None else int(steps)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(10_000 + seed)
    model = MLP() if task == "digits" else CharTransformer()
    hypers = dict(oracle=oracle, lr=lr, beta=beta, gamma=gamma, seed=seed)
    opt, side = _optimizers(task, model, method, diagnostics_every=diagnostics_every, **hypers)
    inputs = _record_inputs(opt, record_inputs_every) if record_inputs_every else {}
    xe, ye = _eval_set(task)
    eval_steps, eval_loss, train_loss = [], [], []
    diverged = False
    for t, (xb, yb) in enumerate(_batches(task, steps, batch, gen), start=1):

        def closure(xb=xb, yb=yb):
            opt.zero_grad()
            side.zero_grad()
            loss = _loss(model, task, xb, yb)
            loss.backward()
            return loss

        loss = opt.step(closure) if method == "mvr2" else (closure(), opt.step())[0]
        side.step()
        lv = float(loss.detach())
        train_loss.append(lv)
        if not np.isfinite(lv):
            diverged = True
        if t % eval_every == 0 or t == steps:
            with torch.no_grad():
                ev = float("nan") if diverged else float(_loss(model, task, xe, ye))
            eval_steps.append(t)
            eval_loss.append(ev if np.isfinite(ev) else float("nan"))
        if diverged:
            break
    while eval_steps and eval_steps[-1] < steps:  # pad a diverged run so every run has the same grid
        nxt = min(eval_steps[-1] + eval_every - eval_steps[-1] % eval_every, steps)
        eval_steps.append(nxt)
        eval_loss.append(float("nan"))
    return {
        "eval_steps": np.asarray(eval_steps),
        "eval_loss": np.asarray(eval_loss),
        "train_loss": np.asarray(train_loss),
        "diagnostics": opt.diagnostics,
        "inputs": inputs,
    }
