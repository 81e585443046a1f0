"""Figures the notebooks show: small wrappers so that a notebook cell stays one line."""

from __future__ import annotations

from typing import Sequence

import torch


def attention_heatmap(weights: torch.Tensor, tokens: Sequence[str], title: str = "", ax=None):
    """Plot one (T, T) attention matrix: row = the query token, column = the key it reads."""
    import matplotlib.pyplot as plt

    w = weights.detach().float().cpu()
    if w.dim() != 2 or w.shape[0] != w.shape[1] or w.shape[0] != len(tokens):
        raise ValueError(f"weights must be (T, T) with T = len(tokens) = {len(tokens)}, got {tuple(w.shape)}")
    if ax is None:
        size = 0.32 * len(tokens) + 1.5
        _, ax = plt.subplots(figsize=(size + 1, size))
    im = ax.imshow(w, cmap="viridis", vmin=0, vmax=1)
    labels = [repr(t)[1:-1] for t in tokens]
    ax.set_xticks(range(len(tokens)), labels, rotation=90, fontsize=8)
    ax.set_yticks(range(len(tokens)), labels, fontsize=8)
    ax.set_xlabel("key (the token being read)")
    ax.set_ylabel("query (the token reading)")
    if title:
        ax.set_title(title)
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return ax
