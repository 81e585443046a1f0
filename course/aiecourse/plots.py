"""Figures the notebooks show, by what they picture: small wrappers so that a notebook cell stays one line.

- attention: ``attention_heatmap`` (who reads whom, chapter 02);
- time: ``time_per_token`` and its ``rolling_median`` (a forward pass's cost per token, chapter 04);
- distributions: ``next_token_distributions``, ``nucleus_sizes`` (what sampling chooses from, chapter 05).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from .instrument import Pass

# --- attention ----------------------------------------------------------------------------------------


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


# --- time per token -----------------------------------------------------------------------------------


def rolling_median(values: Sequence[float], window: int) -> list[float]:
    """The median of each value's window (centred, shrinking at the ends): robust to timing hiccups."""
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    half = window // 2
    out = []
    for i in range(len(values)):
        part = sorted(values[max(0, i - half) : i + half + 1])
        out.append(part[len(part) // 2])
    return out


def time_per_token(runs: Mapping[str, Sequence[Pass]], title: str = "", smooth: int = 15, ax=None):
    """One curve per run: the time of each decode pass against the context length it ends at.

    ``runs`` maps a label to the passes a ``RecordingModel`` recorded while generating. Each pass is a
    faint dot and the line is a rolling median over ``smooth`` passes (a busy machine makes single
    timings jump). The first pass (the prefill) is a single marker, since it reads the whole prompt at once.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    top = 0.0
    for label, passes in runs.items():
        if not passes:
            raise ValueError(f"run {label!r} recorded no passes")
        ends = [(p.past or 0) + p.n_tokens for p in passes]  # context length after each pass
        ms = [1000 * p.seconds for p in passes]
        medians = rolling_median(ms[1:], smooth) if len(ms) > 1 else []
        (dots,) = ax.plot(ends[1:], ms[1:], ".", ms=3, alpha=0.3)
        ax.plot(ends[1:], medians, color=dots.get_color(), lw=2, label=f"{label}: decode steps (median of {smooth})")
        ax.plot(
            ends[:1],
            ms[:1],
            "o",
            color=dots.get_color(),
            mec="k",
            label=f"{label}: prefill ({passes[0].n_tokens} tokens)",
        )
        top = max([top, ms[0], *medians])
    ax.set_xlabel("context length (tokens) after the pass")
    ax.set_ylabel("time of the pass (ms)")
    ax.set_ylim(0, 1.5 * top)  # single passes slowed down by other work on the machine fall outside
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return ax


# --- distributions --------------------------------------------------------------------------------------
def next_token_distributions(
    probs: Mapping[str, torch.Tensor], token_names: Sequence[str], top: int = 10, title: str = "", axes=None
):
    """Bar charts of next-token distributions side by side (one panel per entry of ``probs``).

    The bars are the ``top`` most probable tokens of the first distribution, in its order, so that panels
    compare; a last bar holds everything else in the vocabulary.
    """
    import matplotlib.pyplot as plt

    items = list(probs.items())
    if not items:
        raise ValueError("nothing to plot")
    first = items[0][1].detach().float().cpu()
    order = first.argsort(descending=True)[:top].tolist()
    labels = [repr(token_names[i])[1:-1] for i in order] + ["(all others)"]
    if axes is None:
        _, axes = plt.subplots(1, len(items), figsize=(3.3 * len(items), 3.4), sharey=True)
    axes = [axes] if not hasattr(axes, "__len__") else list(axes)
    for ax, (name, p) in zip(axes, items):
        p = p.detach().float().cpu()
        values = [p[i].item() for i in order]
        values.append(max(0.0, 1.0 - sum(values)))
        ax.bar(range(len(values)), values, color=["C0"] * len(order) + ["C7"])
        ax.set_xticks(range(len(values)), labels, rotation=90, fontsize=8)
        ax.set_title(name, fontsize=10)
        ax.set_ylim(0, 1)
    axes[0].set_ylabel("probability")
    if title:
        axes[0].figure.suptitle(title)
    return axes


def nucleus_sizes(pieces: Sequence[str], sizes: Sequence[int], p: float, ax=None):
    """How many tokens the top-p nucleus holds at each position of a text (``sizes[i]``: before ``pieces[i]``)."""
    import matplotlib.pyplot as plt

    if len(pieces) != len(sizes):
        raise ValueError(f"{len(pieces)} pieces but {len(sizes)} sizes")
    if ax is None:
        _, ax = plt.subplots(figsize=(max(8, 0.22 * len(pieces)), 3.2))
    ax.bar(range(len(sizes)), sizes, color="C2")
    ax.set_xticks(range(len(pieces)), [repr(s)[1:-1] for s in pieces], rotation=90, fontsize=7)
    ax.set_ylabel(f"tokens in the top-p={p} set")
    ax.set_xlim(-0.6, len(sizes) - 0.4)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title(f"top-p = {p}: how many candidates the model keeps for each next token")
    return ax
