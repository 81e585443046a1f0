"""Helpers around a language model's training loop (chapter 03): batches of a token stream, the loss on
held-out text, and a loss curve that redraws while training runs.

The loop itself (the learning-rate schedule and one optimisation step) is chapter 03's exercise and is
not here; ``tools/build_checkpoint.py`` has the one that trained the bundled model.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def random_batch(ids: torch.Tensor, batch_size: int, block_size: int, generator: torch.Generator):
    """Windows of a 1-D token stream: inputs (B, T) and the same windows shifted by one, targets (B, T)."""
    if ids.numel() <= block_size:
        raise ValueError(f"need more than block_size={block_size} tokens, got {ids.numel()}")
    starts = torch.randint(0, ids.numel() - block_size, (batch_size,), generator=generator)
    x = torch.stack([ids[s : s + block_size] for s in starts.tolist()])
    y = torch.stack([ids[s + 1 : s + block_size + 1] for s in starts.tolist()])
    return x, y


def _lm_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    logits = model(x)  # (B, T, V)
    return F.cross_entropy(logits.flatten(0, 1), y.flatten())


@torch.no_grad()
def evaluate_loss(
    model: nn.Module, ids: torch.Tensor, block_size: int, max_windows: int = 64, batch_size: int = 16
) -> float:
    """Mean next-token loss (nats) over up to ``max_windows`` consecutive, non-overlapping windows of ``ids``."""
    device = next(model.parameters()).device
    n = min(max_windows, (ids.numel() - 1) // block_size)
    if n < 1:
        raise ValueError(f"need more than block_size={block_size} tokens to evaluate, got {ids.numel()}")
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for start in range(0, n, batch_size):
        rows = range(start, min(n, start + batch_size))
        x = torch.stack([ids[r * block_size : (r + 1) * block_size] for r in rows]).to(device)
        y = torch.stack([ids[r * block_size + 1 : (r + 1) * block_size + 1] for r in rows]).to(device)
        total += _lm_loss(model, x, y).item() * len(rows)
        count += len(rows)
    model.train(was_training)
    return total / count


class LiveLossPlot:
    """A training-loss curve that redraws in place while a loop runs (one figure in the notebook, updated
    every ``every`` steps) and stays as the final figure. Outside Jupyter it draws nothing until ``close``.

        plot = LiveLossPlot(total_steps=100)
        for step in range(100):
            losses.append(...)
            plot.update(losses)
        plot.close(hlines={"validation": 2.1})
    """

    def __init__(
        self, total_steps: int, every: int = 10, title: str = "", ylabel: str = "cross-entropy (nats per token)"
    ):
        import matplotlib.pyplot as plt

        if total_steps < 1 or every < 1:
            raise ValueError(f"total_steps and every must be >= 1, got {total_steps} and {every}")
        self.total_steps, self.every = total_steps, every
        self.fig, self.ax = plt.subplots(figsize=(7, 3.5))
        (self.line,) = self.ax.plot([], [], label="training loss")
        self.ax.set_xlim(0, total_steps)
        self.ax.set_xlabel("step")
        self.ax.set_ylabel(ylabel)
        if title:
            self.ax.set_title(title)
        self.ax.grid(alpha=0.3)
        plt.close(self.fig)  # shown through the display handle only, not again at the end of the cell
        self.handle = None
        try:
            from IPython import get_ipython
            from IPython.display import display

            if get_ipython() is not None:
                self.handle = display(self.fig, display_id=True)
        except ImportError:  # no IPython: nothing to update
            pass

    def update(self, losses: list[float]) -> None:
        """Redraw with ``losses`` (one per step so far) every ``every`` steps."""
        n = len(losses)
        if n == 0 or (n % self.every and n != self.total_steps):
            return
        self.line.set_data(range(1, n + 1), losses)
        self.ax.set_ylim(0, max(losses) * 1.05)
        if self.handle is not None:
            self.handle.update(self.fig)

    def close(self, losses: list[float] | None = None, hlines: dict[str, float] | None = None) -> None:
        """The final figure: the whole curve, and a dashed horizontal line per ``hlines`` entry (label: y)."""
        if losses is not None:
            self.line.set_data(range(1, len(losses) + 1), losses)
            self.ax.set_ylim(0, max([*losses, *(hlines or {}).values()]) * 1.05)
        for i, (label, y) in enumerate((hlines or {}).items()):
            self.ax.axhline(y, color=f"C{i + 1}", ls="--", label=f"{label}: {y:.2f}")
        self.ax.legend(fontsize=8)
        self.fig.tight_layout()
        if self.handle is not None:
            self.handle.update(self.fig)
        else:
            try:
                from IPython.display import display

                display(self.fig)
            except ImportError:
                pass
