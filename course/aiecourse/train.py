"""A small, plain training loop for language models: random windows of a token stream, AdamW, cosine decay."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .progress import progress_bar


def random_batch(ids: torch.Tensor, batch_size: int, block_size: int, generator: torch.Generator):
    """Windows of a 1-D token stream: inputs (B, T) and the same windows shifted by one, targets (B, T)."""
    if ids.numel() <= block_size:
        raise ValueError(f"need more than block_size={block_size} tokens, got {ids.numel()}")
    starts = torch.randint(0, ids.numel() - block_size, (batch_size,), generator=generator)
    x = torch.stack([ids[s : s + block_size] for s in starts.tolist()])
    y = torch.stack([ids[s + 1 : s + block_size + 1] for s in starts.tolist()])
    return x, y


def lm_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
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
        total += lm_loss(model, x, y).item() * len(rows)
        count += len(rows)
    model.train(was_training)
    return total / count


def train_lm(
    model: nn.Module,
    train_ids: torch.Tensor,
    steps: int,
    batch_size: int = 16,
    block_size: int = 128,
    lr: float = 3e-3,
    warmup: int = 20,
    weight_decay: float = 0.1,
    seed: int = 0,
    progress: bool = True,
) -> list[float]:
    """Train ``model`` for ``steps`` steps of next-token prediction on ``train_ids`` (1-D). Returns the losses."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=lr,
        betas=(0.9, 0.95),
    )

    def lr_at(step: int) -> float:  # linear warm-up, then cosine decay to a tenth
        if step < warmup:
            return lr * (step + 1) / warmup
        t = (step - warmup) / max(1, steps - warmup)
        return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))

    model.train()
    losses = []
    bar = progress_bar(range(steps), desc="training", disable=not progress)
    for step in bar:
        for group in opt.param_groups:
            group["lr"] = lr_at(step)
        x, y = random_batch(train_ids, batch_size, block_size, generator)
        loss = lm_loss(model, x.to(device), y.to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        if step % 10 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
    model.eval()
    return losses
