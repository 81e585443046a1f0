"""Load weights into the course GPT: the bundled checkpoint, or OpenAI's GPT-2 through ``transformers``."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import torch

from .device import get_device
from .model import GPT, GPTConfig
from .tokenizer import Tokenizer

DATA_DIR = Path(__file__).parent / "data"
CHECKPOINT = DATA_DIR / "storyteller.safetensors"
TOKENIZER = DATA_DIR / "tokenizer.json"


def write_state(
    module: torch.nn.Module,
    config: GPTConfig,
    path: str | Path,
    extra: dict | None = None,
    tied: str = "lm_head.weight",
    dtype: torch.dtype | None = None,
) -> None:
    """Write ``module``'s weights (the tied matrix ``tied`` left out: it is ``wte``'s), its GPT config and
    ``extra`` (JSON-able values) into one safetensors file; in ``dtype`` if given."""
    from safetensors.torch import save_file

    state = {
        k: v.detach().to("cpu", dtype or v.dtype).contiguous() for k, v in module.state_dict().items() if k != tied
    }
    metadata = {"config": json.dumps(config.to_dict()), **{k: json.dumps(v) for k, v in (extra or {}).items()}}
    save_file(state, str(path), metadata=metadata)


def read_state(path: str | Path, tied: str = "lm_head.weight") -> tuple[GPTConfig, dict[str, torch.Tensor]]:
    """The GPT config and the float32 weights stored by ``write_state``, the tied matrix put back."""
    from safetensors.torch import load_file

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    config = GPTConfig(**checkpoint_metadata(path)["config"])
    state = {k: v.float() for k, v in load_file(str(path)).items()}
    state[tied] = state[tied.removesuffix("lm_head.weight") + "wte.weight"]
    return config, state


def checkpoint_metadata(path: str | Path = CHECKPOINT) -> dict:
    """The JSON metadata of a checkpoint written by ``write_state`` (its config, training statistics, ...)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return {k: json.loads(v) for k, v in f.metadata().items()}


def save_checkpoint(model: GPT, path: str | Path, extra: dict | None = None) -> None:
    """Write the weights (the tied output matrix once) and the config into one safetensors file."""
    write_state(model, model.config, path, extra)


def load_checkpoint(path: str | Path, device: torch.device | str | None = None, **gpt_kwargs) -> GPT:
    """A GPT built from the config stored in ``path``, with its weights, in eval mode on ``device``."""
    config, state = read_state(path)
    model = GPT(config, **gpt_kwargs)
    model.load_state_dict(state)
    return model.to(device or get_device()).eval()


@lru_cache(maxsize=1)
def load_tokenizer() -> Tokenizer:
    """The bundled model's tokenizer."""
    return Tokenizer.load(TOKENIZER)


def load_bundled(device: torch.device | str | None = None, **gpt_kwargs) -> tuple[GPT, Tokenizer]:
    """The course's small GPT (trained on the course corpus) and its tokenizer, ready to use."""
    return load_checkpoint(CHECKPOINT, device, **gpt_kwargs), load_tokenizer()


# Hugging Face GPT-2 stores these as Conv1D, weight (in, out); ours are nn.Linear, weight (out, in).
_CONV1D = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


def gpt2_state_to_course(hf_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename and transpose a ``GPT2LMHeadModel`` state dict into the course GPT's."""
    state = {}
    for name, tensor in hf_state.items():
        if name.endswith(".attn.bias") or name.endswith(".attn.masked_bias"):
            continue  # old checkpoints keep the causal mask as a buffer
        name = name.removeprefix("transformer.")
        state[name] = tensor.t() if name.endswith(_CONV1D) else tensor
    state["lm_head.weight"] = state["wte.weight"]
    return state


def load_gpt2(name_or_path: str = "gpt2", device: torch.device | str | None = None, **gpt_kwargs) -> GPT:
    """OpenAI's GPT-2 (or any saved ``GPT2LMHeadModel``) as a course GPT. Needs ``transformers``.

    ``name_or_path`` is a Hugging Face hub name (``"gpt2"``, ``"gpt2-medium"``; needs a network, as in
    Colab) or a folder written by ``save_pretrained``.
    """
    try:
        from transformers import GPT2LMHeadModel
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("load_gpt2 needs transformers: pip install 'aiecourse[hf]'") from e

    hf = GPT2LMHeadModel.from_pretrained(name_or_path)
    c = hf.config
    if c.activation_function not in ("gelu_new", "gelu_pytorch_tanh"):
        raise ValueError(f"unsupported activation {c.activation_function!r}: the course GPT uses GPT-2's tanh GELU")
    config = GPTConfig(
        vocab_size=c.vocab_size,
        n_positions=c.n_positions,
        n_layers=c.n_layer,
        n_heads=c.n_head,
        d_model=c.n_embd,
        layer_norm_eps=c.layer_norm_epsilon,
    )
    model = GPT(config, **gpt_kwargs)
    model.load_state_dict(gpt2_state_to_course(hf.state_dict()))
    return model.to(device or get_device()).eval()
