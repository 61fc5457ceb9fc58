"""Reference kernels: what the backend can do for Newton–Schulz with no library overhead.

``InPlaceNewtonSchulz`` runs the same iteration as ``lab.newton_schulz`` (Frobenius
normalisation, transpose a tall input, X ← aX + (bA + cA²)X with A = XXᵀ) on preallocated
buffers with in-place elementwise updates: no allocation, no checks, no Python work beyond
the three products per step.  It is the yardstick for the lab's own overhead, and its output
is compared with the lab's to show both compute the same thing.

``MatmulChain`` does only the 3·steps matrix products of the iteration on the same shapes
(a raw stacked-matmul chain of exactly the NS matmul flop count): the best the backend can do
for "the Newton–Schulz matmuls alone".  Its inputs are fixed (no feedback), so the values never
drift into subnormal numbers that would slow the arithmetic.

Both use the backend's native module (NumPy or CuPy) for ``out=`` arguments, which the array
API does not have; they exist only for measurement.
"""

from __future__ import annotations

import numpy

from lab.backend import backend_name, namespace

JORDAN = (3.4445, -4.7750, 2.0315)


def native_module(xp):
    """NumPy or CuPy behind an array-API namespace (None for other backends)."""
    name = backend_name(xp)
    if name == "numpy":
        return numpy
    if name == "cupy":  # pragma: no cover - needs a GPU
        import cupy  # lazy: optional dependency (the GPU backend)

        return cupy
    return None


def device_sync(xp):
    """A function that waits for the device (a no-op on the host)."""
    if backend_name(xp) == "cupy":  # pragma: no cover - needs a GPU
        import cupy  # lazy: optional dependency (the GPU backend)

        stream = cupy.cuda.get_current_stream()
        return stream.synchronize
    return lambda: None


class InPlaceNewtonSchulz:
    """Newton–Schulz on preallocated buffers for one fixed input ``G`` of shape (..., m, n).

    ``__call__()`` returns a view of an internal buffer (overwritten by the next call).
    """

    def __init__(self, G, steps: int = 5, coefficients=JORDAN, eps: float = 1e-7):
        mod = native_module(_namespace(G))
        if mod is None:
            raise TypeError("InPlaceNewtonSchulz needs NumPy or CuPy arrays")
        self.mod, self.G, self.steps, self.eps = mod, G, steps, eps
        self.a, self.b, self.c = (float(x) for x in coefficients)
        *batch, m, n = G.shape
        self.transpose = m > n
        r, c = min(m, n), max(m, n)
        self.X = mod.empty((*batch, r, c), dtype=G.dtype)
        self.Y = mod.empty_like(self.X)
        self.A = mod.empty((*batch, r, r), dtype=G.dtype)
        self.A2 = mod.empty_like(self.A)
        self.norm = mod.empty((*batch, 1, 1), dtype=G.dtype)
        self.subscripts = "...ij,...ij->..."

    def __call__(self):
        mod, G = self.mod, self.G
        G0 = mod.swapaxes(G, -1, -2) if self.transpose else G
        self.norm[..., 0, 0] = mod.einsum(self.subscripts, G, G)
        mod.sqrt(self.norm, out=self.norm)
        self.norm += self.eps
        X, Y, A, A2 = self.X, self.Y, self.A, self.A2
        mod.divide(G0, self.norm, out=X)
        for _ in range(self.steps):
            mod.matmul(X, mod.swapaxes(X, -1, -2), out=A)
            mod.matmul(A, A, out=A2)
            A *= self.b
            A2 *= self.c
            A2 += A  # B = bA + cA²
            mod.matmul(A2, X, out=Y)
            X *= self.a
            Y += X  # X_new = aX + BX
            X, Y = Y, X
        return mod.swapaxes(X, -1, -2) if self.transpose else X


class MatmulChain:
    """The 3·steps matrix products of Newton–Schulz on the shapes of ``G`` (fixed inputs)."""

    def __init__(self, G, steps: int = 5):
        mod = native_module(_namespace(G))
        if mod is None:
            raise TypeError("MatmulChain needs NumPy or CuPy arrays")
        self.mod, self.steps = mod, steps
        *batch, m, n = G.shape
        r, c = min(m, n), max(m, n)
        X = mod.swapaxes(G, -1, -2) if m > n else G
        self.X = mod.ascontiguousarray(X) / float(mod.linalg.norm(X.reshape(-1)))
        self.Xt = mod.swapaxes(self.X, -1, -2)
        self.A = mod.empty((*batch, r, r), dtype=G.dtype)
        self.A2 = mod.empty_like(self.A)
        self.Y = mod.empty((*batch, r, c), dtype=G.dtype)

    def __call__(self):
        mod = self.mod
        for _ in range(self.steps):
            mod.matmul(self.X, self.Xt, out=self.A)
            mod.matmul(self.A, self.A, out=self.A2)
            mod.matmul(self.A2, self.X, out=self.Y)
        return self.Y


def _namespace(x):
    return namespace(x)
