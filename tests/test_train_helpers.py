"""The helpers around chapter 03's training loop: batches of a token stream, held-out loss, the live loss curve."""

from __future__ import annotations

import math

import matplotlib
import pytest
import torch

from aiecourse.model import GPT, GPTConfig
from aiecourse.train import LiveLossPlot, evaluate_loss, random_batch

matplotlib.use("Agg")


def test_random_batch_is_windows_and_their_shift():
    ids = torch.arange(100)
    x, y = random_batch(ids, batch_size=5, block_size=8, generator=torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (5, 8)
    assert torch.equal(y, x + 1)  # the same windows, one token on
    x2, _ = random_batch(ids, 5, 8, torch.Generator().manual_seed(0))
    assert torch.equal(x, x2)
    with pytest.raises(ValueError):
        random_batch(torch.arange(8), 2, 8, torch.Generator())


def test_evaluate_loss_of_an_untrained_model_is_near_uniform():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=50, n_positions=16, n_layers=1, n_heads=2, d_model=16))
    loss = evaluate_loss(model, torch.randint(0, 50, (200,)), block_size=16)
    assert abs(loss - math.log(50)) < 0.5
    assert model.training  # left as it was
    with pytest.raises(ValueError):
        evaluate_loss(model, torch.arange(10), block_size=16)


def test_live_loss_plot_outside_jupyter_draws_without_error():
    plot = LiveLossPlot(total_steps=5, every=2, title="t")
    losses = []
    for step in range(5):
        losses.append(3.0 - 0.1 * step)
        plot.update(losses)
    plot.close(losses, hlines={"uniform": 3.9})
    assert list(plot.line.get_ydata()) == losses
    assert plot.handle is None
    with pytest.raises(ValueError):
        LiveLossPlot(total_steps=0)
