"""Watch a model decode: a wrapper that records every forward pass (what went in, the cache, the time).

    recorder = RecordingModel(model)
    out = generate_greedy(recorder, prompt, 20)      # any code that calls model(ids, cache=...)
    [(p.n_tokens, p.past) for p in recorder.passes]  # [(T, 0), (1, T), (1, T + 1), ...] with a cache

It takes the course GPT's arguments, ``model(ids, cache=None, logits_to_keep=0)``, and passes on only
those that were given, so that it can also wrap a stand-in model that takes fewer.

Chapter 04's tests count passes with it and its timing plot reads ``seconds``; chapter 05's ``generate``
is checked the same way. It changes nothing in the model's outputs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
import torch.nn as nn

from .hardware import synchronize


@dataclass
class Pass:
    """One forward pass: ``batch`` rows of ``n_tokens`` new tokens; ``past`` = ``cache.seq_len`` before it (None: no cache)."""

    batch: int
    n_tokens: int
    past: int | None
    seconds: float


class RecordingModel(nn.Module):
    """Wraps a model with the course GPT's interface ``model(ids, cache=None, logits_to_keep=0)``; records each call.

    Attributes the wrapper does not have (``config``, ``wte``, ...) are read from the wrapped model, so
    code written for the model runs unchanged on the wrapper.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.passes: list[Pass] = []

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)  # parameters, buffers and submodules (self.model)
        except AttributeError:
            return getattr(self._modules["model"], name)

    def forward(self, ids: torch.Tensor, cache=None, logits_to_keep: int = 0) -> torch.Tensor:
        """ids (B, T) -> the wrapped model's logits, (B, T, V) or (B, logits_to_keep, V); the pass is recorded."""
        past = None if cache is None else int(cache.seq_len)
        given = {"cache": cache} if cache is not None else {}
        if logits_to_keep:
            given["logits_to_keep"] = logits_to_keep
        synchronize(ids.device)
        start = time.perf_counter()
        logits = self.model(ids, **given)
        synchronize(ids.device)
        self.passes.append(Pass(int(ids.shape[0]), int(ids.shape[1]), past, time.perf_counter() - start))
        return logits

    def reset(self) -> None:
        self.passes = []

    def describe(self, limit: int = 6) -> str:
        """The passes in words, for a test's failure message: ``3 passes: (B=1, 5 tokens, cache at 0), ...``."""
        parts = [
            f"(B={p.batch}, {p.n_tokens} token{'s' * (p.n_tokens != 1)}, "
            + ("no cache)" if p.past is None else f"cache at {p.past})")
            for p in self.passes[:limit]
        ]
        more = ", ..." if len(self.passes) > limit else ""
        return f"{len(self.passes)} pass{'es' * (len(self.passes) != 1)}: " + ", ".join(parts) + more
