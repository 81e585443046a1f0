"""A reward model: the course GPT with its language-model head swapped for one number (chapter 07).

    ids (B, T) -> wte + wpe -> blocks -> ln_f -> hidden (B, T, C) -> the hidden state of each
    sequence's last token (B, C) -> head: Linear(C, 1) -> reward (B,)

As in InstructGPT, the reward model starts from a language model that already reads the task (here:
the storyteller after supervised finetuning) and learns only to score. The loss that trains it is an
exercise of chapter 07 and is not here. ``tools/build_reward_model.py`` trains the bundled one.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
import torch.nn as nn

from .device import get_device
from .model import GPT
from .weights import checkpoint_metadata, read_state, write_state

REWARD_CHECKPOINT = Path(__file__).parent / "data" / "reward_model.safetensors"


def hidden_states(gpt: GPT, ids: torch.Tensor) -> torch.Tensor:
    """The GPT's final hidden states (B, T, C): its forward pass without the language-model head."""
    B, T = ids.shape
    if T > gpt.config.n_positions:
        raise ValueError(f"sequence of {T} positions is longer than the model's context {gpt.config.n_positions}")
    x = gpt.wte(ids) + gpt.wpe(torch.arange(T, device=ids.device))
    for block in gpt.h:
        x = block(x)
    return gpt.ln_f(x)


class RewardModel(nn.Module):
    """(B, T) token ids and each row's length (B,) -> one reward per row (B,)."""

    def __init__(self, gpt: GPT):
        super().__init__()
        self.gpt = gpt
        self.head = nn.Linear(gpt.config.d_model, 1)
        nn.init.zeros_(self.head.weight)  # every response starts with the same reward, 0
        nn.init.zeros_(self.head.bias)

    @classmethod
    def from_gpt(cls, gpt: GPT) -> RewardModel:
        """A reward model whose trunk is a copy of ``gpt`` (the original is left as it is)."""
        return cls(copy.deepcopy(gpt)).to(next(gpt.parameters()).device)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        h = hidden_states(self.gpt, ids)  # (B, T, C)
        last = h[torch.arange(ids.size(0), device=ids.device), lengths.to(ids.device) - 1]  # (B, C)
        return self.head(last).squeeze(-1)  # (B,)


def save_reward_model(rm: RewardModel, path: str | Path, extra: dict | None = None, dtype=torch.float16) -> None:
    """Write the trunk (the tied output matrix once) and the head to one safetensors file, in ``dtype``."""
    write_state(rm, rm.gpt.config, path, extra, tied="gpt.lm_head.weight", dtype=dtype)


def load_reward_model(path: str | Path = REWARD_CHECKPOINT, device: torch.device | str | None = None) -> RewardModel:
    """The bundled reward model (float32, eval mode, on ``device``)."""
    if not Path(path).exists():
        raise FileNotFoundError(f"no reward model at {path}: run tools/build_reward_model.py")
    config, state = read_state(path, tied="gpt.lm_head.weight")
    rm = RewardModel(GPT(config))
    rm.load_state_dict(state)
    return rm.to(device or get_device()).eval()


def reward_metadata(path: str | Path = REWARD_CHECKPOINT) -> dict:
    """The bundled reward model's metadata: its config and how it was trained."""
    return checkpoint_metadata(path)
