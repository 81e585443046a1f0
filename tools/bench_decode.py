"""Decoding benchmark: greedy decoding with the KV cache, without it, and Hugging Face's ``generate``.

    python tools/bench_decode.py                 # both models (a couple of minutes on 2 CPU cores)
    python tools/bench_decode.py --only bundled  # the bundled model only (about 20 s)
    make bench

What it runs, on the same weights and device, batch 1, float32:

- **ours, cached**: chapter 04's reference ``generate_greedy(model, prompt, N)`` with its ``KVCache``,
  read from ``solutions/04_kv_cache/04_kv_cache.ipynb`` (the solution cells, executed here), on the
  course GPT (``aiecourse.model``);
- **ours, uncached**: the same function with ``use_cache=False`` (each pass re-reads the sequence);
- **HF**: ``transformers.GPT2LMHeadModel.generate(do_sample=False, use_cache=True)`` on a GPT-2 built
  from the same weights (the inverse of ``aiecourse.weights.gpt2_state_to_course``).

Two models: the bundled storyteller (4 layers, d_model 128, about 1M parameters; a 256-token prompt
and 256 new tokens, its whole 512-token context), and a randomly initialised model of GPT-2 small's
size (12 layers, d_model 768, vocabulary 50257, 124M parameters; a 256-token prompt and 32 new tokens,
so that the uncached run stays under a minute on 2 cores). Each method runs ``--repeats`` times (3;
``--small-repeats``, 3, for the larger model, whose uncached method runs once), interleaved, after a
warm-up; the table shows medians.
"tokens/s" counts the whole call (n new tokens, prefill included); "first token" is a call for one new
token (the prefill: the time to first token); "then, decode" is (n - 1) / (time of n - time of 1),
the rate of the decode steps alone. The three must produce the same tokens: the
script prints whether they do.

What to expect on a CPU (2 cores; see the README for a measured run): the cache makes decoding many
times faster (target: at least 5x; measured 12x to 27x), and on the bundled model our loop is faster
than Hugging Face's ``generate`` (1.3x to 2.9x), whose per-step machinery (logits processors, stopping
criteria, cache objects) costs more than a step of a 1M-parameter model. On the GPT-2-sized model the
decode steps run at the same speed (about 1.0x to 1.1x), but Hugging Face's prefill computes the logits
of the last prompt position only (``logits_to_keep=1``) where the course GPT computes all 256 (a
256 x 768 x 50257 product, about half a second on 2 cores), so with 32 new tokens the whole call is
0.9x to 1.3x of Hugging Face's. The cached/uncached ratio depends on the prompt length: the uncached
cost of a step grows with the context, the cached one barely does.

What to expect on a GPU (not measured here; run it with ``--device cuda``): both models are too small
for a batch of one to keep a GPU busy. A decode step is a few dozen (bundled) to a few hundred (GPT-2
small) kernels of microseconds each, and the time goes into launching them from Python, not into
arithmetic: tokens per second are bound by kernel launches and nearly the same with and without the
cache until the context gets long, so the cached/uncached ratio shrinks towards 1-3x, and Hugging Face's
extra Python per step weighs relatively more. The known way forward is to make a decode step one launch:
a static cache (a buffer allocated once with fixed shapes, as chapter 04's ``KVCache``) lets
``torch.compile(mode="reduce-overhead")`` capture the step into a CUDA graph that is replayed for every
token (Hugging Face's ``cache_implementation="static"`` does the same).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import nbformat
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "course"), str(ROOT)]

import aiecourse  # noqa: E402
from aiecourse.hardware import synchronize  # noqa: E402
from aiecourse.model import GPT, GPTConfig  # noqa: E402
from aiecourse.weights import _CONV1D  # noqa: E402

SOLUTION = ROOT / "solutions" / "04_kv_cache" / "04_kv_cache.ipynb"
REFERENCE_CELLS = ("KVCache", "generate_greedy")


def load_reference(path: Path = SOLUTION) -> dict:
    """Chapter 04's reference ``KVCache`` and ``generate_greedy``: the solution cells, executed."""
    nb = nbformat.read(path, as_version=4)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in nb.cells if c.cell_type == "code"}
    missing = [name for name in REFERENCE_CELLS if name not in cells]
    if missing:
        raise KeyError(f"{path} has no cells {missing}")
    ns = {"torch": torch, "nn": nn, "F": F, "math": math}
    for name in REFERENCE_CELLS:
        exec(compile(cells[name], f"<{path.name}: {name}>", "exec"), ns)
    return ns


def to_hf(model: GPT):
    """A ``transformers.GPT2LMHeadModel`` with the course model's weights (Conv1D weights transposed)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    c = model.config
    config = GPT2Config(
        vocab_size=c.vocab_size,
        n_positions=c.n_positions,
        n_embd=c.d_model,
        n_layer=c.n_layers,
        n_head=c.n_heads,
        layer_norm_epsilon=c.layer_norm_eps,
        activation_function="gelu_new",
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=0,
        eos_token_id=None,
        pad_token_id=0,
    )
    hf = GPT2LMHeadModel(config)
    state = {}
    for name, tensor in model.state_dict().items():
        if name == "lm_head.weight":
            state[name] = tensor
        else:
            state["transformer." + name] = tensor.t() if name.endswith(_CONV1D) else tensor
    hf.load_state_dict(state, strict=False)  # the tied lm_head and causal-mask buffers need no entry
    hf.tie_weights()
    return hf.to(next(model.parameters()).device).eval()


def timed(fn, device):
    synchronize(device)
    start = time.perf_counter()
    out = fn()
    synchronize(device)
    return time.perf_counter() - start, out


def first_difference(a: torch.Tensor, b: torch.Tensor) -> str:
    if a.shape != b.shape:
        return f"shapes differ: {tuple(a.shape)} vs {tuple(b.shape)}"
    diff = (a != b).nonzero()
    return "same tokens" if len(diff) == 0 else f"first difference at position {diff[0, 1].item()}"


def bench(
    name: str,
    model: GPT,
    prompt: torch.Tensor,
    new_tokens: int,
    repeats: int,
    ref: dict,
    uncached_repeats: int | None = None,
) -> dict:
    device = prompt.device
    generate_greedy = ref["generate_greedy"]
    hf = to_hf(model)
    with torch.no_grad():
        gap = (hf(prompt).logits - model(prompt)).abs().max().item()
    n = new_tokens

    def hf_generate(k):
        return hf.generate(
            prompt,
            attention_mask=torch.ones_like(prompt),
            max_new_tokens=k,
            min_new_tokens=k,
            do_sample=False,
            use_cache=True,
            pad_token_id=0,
        )

    methods = {
        "ours, cached": lambda k: generate_greedy(model, prompt, k, use_cache=True),
        "ours, uncached": lambda k: generate_greedy(model, prompt, k, use_cache=False),
        "HF generate, cached": hf_generate,
    }
    with torch.no_grad():
        for fn in methods.values():  # warm-up: allocator, kernels, lazy initialisation
            fn(4)
        first = {m: [] for m in methods}  # one new token: the prefill (time to first token)
        total = {m: [] for m in methods}  # n new tokens
        outputs = {}
        for r in range(repeats):
            for m, fn in methods.items():
                if m == "ours, uncached" and r >= (uncached_repeats or repeats):
                    continue
                first[m].append(timed(lambda fn=fn: fn(1), device)[0])
                seconds, outputs[m] = timed(lambda fn=fn: fn(n), device)
                total[m].append(seconds)
    med_first = {m: statistics.median(t) for m, t in first.items()}
    med_total = {m: statistics.median(t) for m, t in total.items()}
    tps = {m: n / med_total[m] for m in methods}
    decode = {
        m: (n - 1) / (med_total[m] - med_first[m]) if med_total[m] > med_first[m] else float("nan") for m in methods
    }
    print(
        f"\n{name}: {model.num_params() / 1e6:.1f}M parameters, prompt {prompt.shape[1]} tokens, {n} new tokens, "
        f"batch 1, {aiecourse.describe(device)}, median of {repeats} runs"
        + (f" ({uncached_repeats} uncached)" if uncached_repeats and uncached_repeats < repeats else "")
    )
    print(f"  (HF's logits vs ours on the prompt: largest difference {gap:.1e})")
    print(f"  {'':<22}{'tokens/s':>10}{'first token':>14}{'then, decode':>16}   all runs, tokens/s")
    for m in methods:
        spread = f"{n / max(total[m]):.3g} to {n / min(total[m]):.3g}"
        print(f"  {m:<22}{tps[m]:>10.1f}{1000 * med_first[m]:>11.1f} ms{decode[m]:>9.1f} tok/s   {spread}")
    ratios = {
        "cached / uncached": tps["ours, cached"] / tps["ours, uncached"],
        "ours cached / HF cached": tps["ours, cached"] / tps["HF generate, cached"],
        "the same, decode steps only": decode["ours, cached"] / decode["HF generate, cached"],
    }
    for label, value in ratios.items():
        print(f"  {label:<30}{value:>6.2f}x")
    ref_out = outputs["ours, cached"]
    for m in ("ours, uncached", "HF generate, cached"):
        print(f"  tokens, ours cached vs {m}: {first_difference(ref_out, outputs[m])}")
    return {"tokens_per_s": tps, "ratios": ratios}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["bundled", "gpt2-small"], help="run one model only")
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: aiecourse.get_device())")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per method (default 3)")
    parser.add_argument(
        "--small-new-tokens", type=int, default=32, help="new tokens for the GPT-2-small-sized model (default 32)"
    )
    parser.add_argument(
        "--small-repeats",
        type=int,
        default=3,
        help="timed runs per method for that model (default 3; the uncached method runs once)",
    )
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        import transformers
    except ImportError:
        print("the benchmark needs transformers: pip install -e '.[hf]'")
        return 2
    transformers.logging.set_verbosity_error()
    device = aiecourse.get_device(args.device)
    ref = load_reference()
    print(
        f"reference solutions: {SOLUTION.relative_to(ROOT)} ({', '.join(REFERENCE_CELLS)}); "
        f"torch {torch.__version__}, transformers {transformers.__version__}, {torch.get_num_threads()} threads"
    )
    results = {}
    if args.only in (None, "bundled"):
        model, tok = aiecourse.load_bundled(device)
        ids = []
        for story in aiecourse.load_corpus("val", n_stories=8):
            ids += tok.encode(story) + [tok.eot_id]
        prompt = torch.tensor([ids[:256]], device=device)
        results["bundled"] = bench("bundled storyteller", model, prompt, 256, args.repeats, ref)
    if args.only in (None, "gpt2-small"):
        torch.manual_seed(0)
        config = GPTConfig(vocab_size=50257, n_positions=1024, n_layers=12, n_heads=12, d_model=768)
        model = GPT(config).to(device).eval()
        prompt = torch.randint(0, config.vocab_size, (1, 256), generator=torch.Generator().manual_seed(0)).to(device)
        results["gpt2-small"] = bench(
            "GPT-2-small-sized, random weights",
            model,
            prompt,
            args.small_new_tokens,
            args.small_repeats,
            ref,
            uncached_repeats=1,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
