"""A torch-safe path for :mod:`lab.random`.

torch has no right shift for uint64 on CPU (``rshift_cpu`` is not implemented for UInt64), so the
splitmix64 mixing of :class:`lab.random.RNG` cannot run on torch tensors.  :class:`TorchRNG` keeps the
keys on the host (NumPy uint64), draws there, and hands the floats to torch: the numbers are
bit-identical to those of a NumPy :class:`~lab.random.RNG` with the same keys, counter and tag.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lab.random import RNG, derive_keys

__all__ = ["TorchRNG"]


@dataclass(frozen=True)
class TorchRNG(RNG):
    """:class:`lab.random.RNG` whose draws are torch tensors (keys and mixing stay in NumPy).

    Parameters
    ----------
    keys : NumPy uint64 array of the batch shape.
    counter, tag : as in :class:`lab.random.RNG`.
    device : torch device of the draws (default "cpu").
    """

    device: str = "cpu"

    @classmethod
    def from_seeds(cls, seeds, *axes, xp=None, device: str = "cpu") -> TorchRNG:
        return cls(derive_keys(seeds, *axes, xp=np), device=device)

    def _host(self) -> RNG:
        return RNG(np.asarray(self.keys, dtype=np.uint64), self.counter, self.tag)

    def _wrap(self, r: RNG) -> TorchRNG:
        return TorchRNG(r.keys, r.counter, r.tag, self.device)

    def at(self, counter: int) -> TorchRNG:
        return self._wrap(self._host().at(counter))

    def fold(self, *tags) -> TorchRNG:
        return self._wrap(self._host().fold(*tags))

    def _to_torch(self, a, dtype):
        return torch.as_tensor(np.ascontiguousarray(a), device=self.device, dtype=dtype)

    def bits(self, shape):
        """The uint64 bits as a NumPy array (torch has no usable uint64 arithmetic)."""
        return self._host().bits(shape)

    def uniform(self, shape=(), dtype=None):
        return self._to_torch(self._host().uniform(shape), dtype or torch.float64)

    def normal(self, shape=(), dtype=None):
        return self._to_torch(self._host().normal(shape), dtype or torch.float64)

    def integers(self, high: int, shape=()):
        return self._to_torch(self._host().integers(high, shape), torch.int64)
