"""The course GPT: GPT-2's architecture and parameter names, small enough to read in one sitting.

    ids (B, T) -> wte + wpe -> n_layers x Block -> ln_f -> lm_head (tied to wte) -> logits (B, T, V)
    Block: x + attn(ln_1(x)), then x + mlp(ln_2(x))   (pre-LayerNorm, as in GPT-2)

Two parts plug in, so that learners can drop their own code into a real model:
- ``attention_fn(q, k, v, mask) -> (out, weights)``: the attention kernel (chapter 02); ``mask`` is a
  boolean ``(T_q, T_k)``, True where a query may attend, or None when every query sees every key (a
  single new query, the last position). By default PyTorch's fused kernel runs, which returns no weights.
- ``cache``: any object with ``seq_len`` and ``update(layer, k, v) -> (k_all, v_all)`` (chapter 04).
  With a cache, positions continue from ``cache.seq_len`` and each query sees every cached key.

``logits_to_keep`` (as in Hugging Face's models): 0 returns the logits of every position, n those of
the last n. Generation needs only the last one; on a 256-token prompt of GPT-2 small, all of them
would cost a 256 x 768 x 50257 matrix product, about a third of the prefill's arithmetic.

Parameter names follow Hugging Face's ``GPT2LMHeadModel`` without its ``transformer.`` prefix
(``wte``, ``wpe``, ``h.0.ln_1``, ``h.0.attn.c_attn``, ...), but the linear layers are ``nn.Linear``
(weight ``(out, in)``), where GPT-2 uses ``Conv1D`` (weight ``(in, out)``): see ``weights.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Protocol

import torch
import torch.nn as nn
import torch.nn.functional as F

AttentionFn = Callable[..., "tuple[torch.Tensor, torch.Tensor | None]"]


@dataclass
class GPTConfig:
    vocab_size: int = 1024
    n_positions: int = 256  # the longest context the model was trained for
    n_layers: int = 4
    n_heads: int = 4
    d_model: int = 128
    layer_norm_eps: float = 1e-5

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    def to_dict(self) -> dict:
        return asdict(self)


class Cache(Protocol):
    """What the model needs from a KV cache (chapter 04 builds one)."""

    seq_len: int

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...


def fused_attention(q, k, v, mask=None):
    """PyTorch's fused kernel. q (B, H, Tq, D), k/v (B, H, Tk, D), mask bool (Tq, Tk) or None -> ((B, H, Tq, D), None)."""
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask), None


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig, attention_fn: AttentionFn | None = None):
        super().__init__()
        if config.d_model % config.n_heads:
            raise ValueError(f"d_model={config.d_model} must be divisible by n_heads={config.n_heads}")
        self.n_heads = config.n_heads
        self.c_attn = nn.Linear(config.d_model, 3 * config.d_model)  # q, k, v in one matmul
        self.c_proj = nn.Linear(config.d_model, config.d_model)
        self.attention_fn = attention_fn or fused_attention
        self.record_weights = False  # set True to keep the last attention weights (for plots)
        self.last_weights: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, cache: Cache | None = None, layer: int = 0) -> torch.Tensor:
        """x (B, T, C), the new tokens -> (B, T, C). With a cache, they attend over every cached position too."""
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)  # (B, T, C) each
        q, k, v = (t.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2) for t in (q, k, v))  # (B, H, T, D)
        if cache is not None:
            k, v = cache.update(layer, k, v)  # (B, H, T_past + T, D)
        T_k = k.size(2)
        # Query i (position T_k - T + i) may see keys 0 .. T_k - T + i. One new query (a decode step) is the
        # last position and sees every key: no mask (None), which the fused kernel runs faster.
        mask = None if T == 1 else torch.ones(T, T_k, dtype=torch.bool, device=x.device).tril(diagonal=T_k - T)
        y, weights = self.attention_fn(q, k, v, mask)  # (B, H, T, D)
        if self.record_weights:
            self.last_weights = weights
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, T, C)
        return self.c_proj(y)


class MLP(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.d_model, 4 * config.d_model)
        self.c_proj = nn.Linear(4 * config.d_model, config.d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))  # GPT-2's gelu


class Block(nn.Module):
    def __init__(self, config: GPTConfig, attention_fn: AttentionFn | None = None):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.attn = CausalSelfAttention(config, attention_fn)
        self.ln_2 = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, cache: Cache | None = None, layer: int = 0) -> torch.Tensor:
        h = self.ln_1(x)
        # A learner's attention module (chapter 02) takes only x; the cache path needs the course's.
        x = x + (self.attn(h) if cache is None else self.attn(h, cache=cache, layer=layer))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """ids (B, T) -> logits (B, T, vocab_size)."""

    def __init__(
        self,
        config: GPTConfig,
        attention_fn: AttentionFn | None = None,
        block: Callable[[GPTConfig], nn.Module] | None = None,
    ):
        super().__init__()
        self.config = config
        make_block = block or (lambda cfg: Block(cfg, attention_fn))
        self.wte = nn.Embedding(config.vocab_size, config.d_model)
        self.wpe = nn.Embedding(config.n_positions, config.d_model)
        self.h = nn.ModuleList([make_block(config) for _ in range(config.n_layers)])
        self.ln_f = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # tied: one matrix embeds and un-embeds
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # GPT-2: scale the residual projections by depth
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layers))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, ids: torch.Tensor, cache: Cache | None = None, logits_to_keep: int = 0) -> torch.Tensor:
        """ids (B, T) -> logits (B, T, V), or (B, logits_to_keep, V): the last positions only (0 = all)."""
        B, T = ids.shape
        start = 0 if cache is None else cache.seq_len
        if start + T > self.config.n_positions:
            raise ValueError(
                f"sequence of {start + T} positions is longer than the model's context "
                f"n_positions={self.config.n_positions}"
            )
        pos = torch.arange(start, start + T, device=ids.device)  # (T,)
        x = self.wte(ids) + self.wpe(pos)  # (B, T, C)
        for layer, block in enumerate(self.h):
            x = block(x) if cache is None else block(x, cache=cache, layer=layer)
        x = x[:, -logits_to_keep:]  # (B, logits_to_keep, C); -0 is 0, so 0 keeps every position
        return self.lm_head(self.ln_f(x))  # (B, T or logits_to_keep, V)

    def num_params(self) -> int:
        """Parameters counted once (the tied output matrix is the embedding matrix)."""
        return sum(p.numel() for p in self.parameters())

    def set_attention_fn(self, attention_fn: AttentionFn | None) -> None:
        for block in self.h:
            block.attn.attention_fn = attention_fn or fused_attention

    def record_attention(self, on: bool = True) -> None:
        """Keep each layer's last attention weights in ``model.h[i].attn.last_weights``."""
        for block in self.h:
            block.attn.record_weights = on
            block.attn.last_weights = None

    @torch.no_grad()
    def greedy(self, ids: torch.Tensor, max_new_tokens: int) -> torch.Tensor:
        """Plain greedy decoding without a cache: (B, T) -> (B, T + max_new_tokens). For demos."""
        for _ in range(max_new_tokens):
            logits = self(ids[:, -self.config.n_positions :], logits_to_keep=1)  # (B, 1, V)
            ids = torch.cat([ids, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
        return ids
