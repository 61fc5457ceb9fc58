"""Counter-based random numbers, vectorised over the batch.

Every batch member owns a 64-bit key; a draw is a pure function of (key, counter,
element index), computed with the splitmix64 finaliser in unsigned 64-bit array
arithmetic.  Consequences the lab relies on:

* a batched run draws exactly the numbers the same members would draw one by one
  (member i's stream never depends on the other members or on the batch size);
* drawing for B members costs one vectorised call, not a Python loop over B;
* the same code runs on NumPy, CuPy and array-api-strict, with no host round trip.

Keys come from the experiment axes (:func:`derive_keys`), so adding a grid point or
a seed never changes another member's numbers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

import lab.backend as backend
from lab.backend import namespace

_GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB
_MASK = (1 << 64) - 1


def _mix_int(z: int) -> int:
    z &= _MASK
    z = ((z ^ (z >> 30)) * _M1) & _MASK
    z = ((z ^ (z >> 27)) * _M2) & _MASK
    return z ^ (z >> 31)


def _mix(xp, z):
    u = xp.uint64
    z = (z ^ (z >> xp.asarray(30, dtype=u))) * xp.asarray(_M1, dtype=u)
    z = (z ^ (z >> xp.asarray(27, dtype=u))) * xp.asarray(_M2, dtype=u)
    return z ^ (z >> xp.asarray(31, dtype=u))


def derive_key(*axes: Any) -> int:
    """A 64-bit key from any hashable description (ints, strings, floats) of an experiment point."""
    digest = hashlib.blake2b(repr(axes).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def derive_keys(seeds, *axes: Any, xp=None):
    """Keys for a 1-D sequence of integer seeds, each combined with the shared ``axes``."""
    xp = xp or backend.get_backend()
    base = derive_key(*axes)
    vals = [_mix_int(base ^ _mix_int(int(s) * _GOLDEN + 1)) for s in np.asarray(seeds).ravel()]
    return xp.reshape(xp.asarray(np.asarray(vals, dtype=np.uint64)), np.asarray(seeds).shape)


@dataclass(frozen=True)
class RNG:
    """Immutable counter-based generator over a batch of members.

    Parameters
    ----------
    keys : uint64 array of the batch shape (one key per member).
    counter : int, the position in the stream (e.g. the step number).
    tag : int, a sub-stream label (folded into every draw).
    """

    keys: Any
    counter: int = 0
    tag: int = 0

    @classmethod
    def from_seeds(cls, seeds, *axes: Any, xp=None) -> RNG:
        return cls(derive_keys(seeds, *axes, xp=xp))

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(self.keys.shape)

    def at(self, counter: int) -> RNG:
        """The stream at position ``counter`` (e.g. step t)."""
        return RNG(self.keys, int(counter), self.tag)

    def fold(self, *tags: Any) -> RNG:
        """An independent sub-stream labelled by ``tags``."""
        return RNG(self.keys, self.counter, _mix_int(self.tag ^ derive_key(*tags)))

    def bits(self, shape: tuple[int, ...]):
        """uint64 array of shape ``batch_shape + shape``."""
        xp = namespace(self.keys)
        u = xp.uint64
        head = _mix_int(_mix_int(self.counter * _GOLDEN + 0x1234567) ^ self.tag)
        h = _mix(xp, self.keys ^ xp.asarray(head, dtype=u))
        n = int(np.prod(shape, dtype=np.int64)) if shape else 1
        idx = xp.arange(n, dtype=u) * xp.asarray(_GOLDEN, dtype=u)
        out = _mix(xp, h[..., None] + idx)
        return xp.reshape(out, self.batch_shape + tuple(shape))

    def uniform(self, shape: tuple[int, ...] = (), dtype=None):
        """Uniform floats in the open interval (0, 1)."""
        xp = namespace(self.keys)
        b = self.bits(shape) >> xp.asarray(11, dtype=xp.uint64)
        u = (xp.astype(b, xp.float64) + 0.5) * (2.0**-53)
        return u if dtype is None else xp.astype(u, dtype)

    def normal(self, shape: tuple[int, ...] = (), dtype=None):
        """Standard normal draws (Box-Muller on two independent uniform streams)."""
        xp = namespace(self.keys)
        u1 = self.fold("normal-radius").uniform(shape)
        u2 = self.fold("normal-angle").uniform(shape)
        z = xp.sqrt(-2.0 * xp.log(u1)) * xp.cos((2.0 * np.pi) * u2)
        return z if dtype is None else xp.astype(z, dtype)

    def integers(self, high: int, shape: tuple[int, ...] = ()):
        """Integers uniform in [0, high) (int64)."""
        xp = namespace(self.keys)
        if high < 1:
            raise ValueError(f"high must be >= 1, got {high}")
        return xp.astype(self.bits(shape) % xp.asarray(high, dtype=xp.uint64), xp.int64)
