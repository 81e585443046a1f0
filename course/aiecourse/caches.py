"""The reference KV cache that later chapters and the tests share: the simplest correct one.

It grows by concatenation (a copy of the whole cache at every step); chapter 04's ``KVCache``, which
the learner builds, is allocated once. Tests run a learner's model code on this one, so that a bug in
the learner's cache shows up in the cache's own test and nowhere else.
"""

from __future__ import annotations

import torch


class ConcatCache:
    """Keys and values of ``n_layers`` layers, each ``(B, H, seq_len, D)``, grown by ``torch.cat``.

    ``update(layer, k, v)`` appends ``(B, H, T_new, D)`` and returns all of the layer's keys and values;
    ``seq_len`` advances when the last layer has written, once per forward pass (the model's protocol).
    """

    def __init__(self, n_layers: int):
        if n_layers < 1:
            raise ValueError(f"n_layers must be >= 1, got {n_layers}")
        self.n_layers, self.seq_len = n_layers, 0
        self.k: list[torch.Tensor | None] = [None] * n_layers
        self.v: list[torch.Tensor | None] = [None] * n_layers

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.k[layer] is not None:
            k, v = torch.cat([self.k[layer], k], dim=2), torch.cat([self.v[layer], v], dim=2)
        self.k[layer], self.v[layer] = k, v
        if layer == self.n_layers - 1:
            self.seq_len = k.size(2)
        return k, v

    def reset(self) -> None:
        self.seq_len = 0
        self.k, self.v = [None] * self.n_layers, [None] * self.n_layers
