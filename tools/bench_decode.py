"""Decoding benchmark: greedy decoding with the KV cache, without it, and Hugging Face's ``generate``.

    python tools/bench_decode.py                 # both models (a few minutes on 2 CPU cores)
    python tools/bench_decode.py --only bundled  # the bundled model only (about 30 s)
    python tools/bench_decode.py --threads 1 --json bench.json   # the figures as JSON too
    python tools/bench_decode.py --device cuda   # on a GPU, with the static-cache + compiled variant
    make bench

What it runs, on the same weights and device, batch 1, float32:

- **ours, cached**: chapter 04's reference ``generate_greedy(model, prompt, N)`` with its ``KVCache``,
  read from ``solutions/04_kv_cache/04_kv_cache.ipynb`` (the solution cells, executed here), on the
  course GPT (``aiecourse.model``);
- **ours, uncached**: the same function with ``use_cache=False`` (each pass re-reads the sequence);
- **HF**: ``transformers.GPT2LMHeadModel.generate(do_sample=False, use_cache=True)`` on a GPT-2 built
  from the same weights (the inverse of ``aiecourse.weights.gpt2_state_to_course``);
- **ours, static + compile** (on CUDA, or with ``--compile on``): ``static_forward`` below, a decode step
  over a static cache, through ``torch.compile`` (``mode="reduce-overhead"``, CUDA graphs, on a GPU).

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

**The limit** (``roofline_fraction``). A decode step of batch 1 reads every weight once (of ``wpe``, one
row) and the KV cache, and does about two floating-point operations per weight read: far too little
arithmetic to keep the processor busy, so memory decides. The bound is ``bandwidth / bytes read per step``
(the cache at the mean context of the decode steps), with the bandwidth measured by the same run, on the
same device and threads, on a working set of the same size (``measure_bandwidth``: the faster of a
reduction and a copy, each the fastest of 7). The size matters on a CPU with a large last-level cache
(480 MiB on the machine of the README's figures): a model that fits streams from the cache, faster than
from DRAM. ``roofline_fraction`` is the measured decode-step rate over that bound.

What to expect on a CPU (see the README for measured runs and a profile of a decode step): the cache
makes decoding many times faster on the bundled model (14x to 21x at 256 + 256 tokens); our loop is
2x to 3x faster than Hugging Face's ``generate`` there, whose per-step machinery (logits processors,
stopping criteria, cache objects) costs more than a step of a 1M-parameter model, itself a hundred
operator calls of a few microseconds each (``roofline_fraction`` about 0.1: overhead, not memory, bounds
it). On the GPT-2-sized model a step streams 0.5 GB of weights at close to the measured bandwidth
(``roofline_fraction`` 0.8 to 1), as Hugging Face's does; both prefills compute the last position's logits
only (``logits_to_keep=1``).

What to expect on a GPU (not measured yet; ``tools/gpu_check.sh`` runs it): both models are too small
for a batch of one to keep a GPU busy. A decode step is a few dozen (bundled) to a few hundred (GPT-2
small) kernels of microseconds each, and the time goes into launching them from Python, not into
arithmetic: the cached/uncached ratio shrinks towards 1-3x until the context gets long, and Hugging
Face's extra Python per step weighs relatively more. The way forward is to make a decode step one
launch: a static cache (buffers allocated once, whose shapes and addresses never change) lets
``torch.compile(mode="reduce-overhead")`` capture the step into a CUDA graph replayed for every token
(Hugging Face's ``cache_implementation="static"`` does the same). That is the compiled variant here; on a
CPU it is skipped by default (no CUDA graphs there, and inductor's C++ build took about 4 minutes for the
bundled model on the busy 2-core machine; with ``--compile on`` it runs, and gives the same tokens).
"""

from __future__ import annotations

import argparse
import json
import math
import os
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


# ----------------------------------------------------------------------------------------------------
# The limit: a decode step of batch 1 reads every weight once, and the KV cache; nothing can go faster
# than the memory delivers those bytes.


def measure_bandwidth(nbytes: int, device: torch.device, repeats: int = 7) -> dict:
    """Bytes per second this device streams through a working set of ``nbytes`` (at least 16 MiB), now.

    Two measures, each the fastest of ``repeats`` (contention only slows a run down): a reduction
    (``x.sum()``: reads ``nbytes``) and a copy (``y.copy_(x)``: reads and writes ``nbytes``, counted
    twice). A decode step is a chain of matrix-vector products, which mostly read; ``bandwidth`` is the
    larger of the two, so that the bound computed from it is the more demanding one.
    """
    n = max(nbytes, 16 * 2**20) // 4
    x = torch.rand(n, device=device)  # written once, so that its pages exist before the timing
    y = torch.empty_like(x)

    def fastest(fn):
        fn()
        return min(timed(fn, device)[0] for _ in range(repeats))

    read = 4 * n / fastest(x.sum)
    copy = 2 * 4 * n / fastest(lambda: y.copy_(x))
    return {"read": read, "copy": copy, "bandwidth": max(read, copy), "working_set_bytes": 4 * n}


def decode_step_bytes(model: GPT, context: float) -> dict:
    """Bytes one decode step (batch 1) must read: every weight (of wpe, one row), and the cache at ``context``."""
    c = model.config
    size = next(model.parameters()).element_size()
    weights = sum(p.numel() for p in model.parameters()) - (c.n_positions - 1) * c.d_model  # tied wte once
    kv = 2 * c.n_layers * context * c.d_model  # keys and values of every layer, every head
    return {"weights": int(weights * size), "kv_cache": int(kv * size)}


# ----------------------------------------------------------------------------------------------------
# A static-cache decode step for torch.compile: every tensor keeps its shape and address from step to
# step, so that on a GPU mode="reduce-overhead" captures the step once as a CUDA graph and replays it
# for every token (one launch instead of a few hundred). The model's own forward pass cannot be
# captured as it is: its cache returns views that grow by one position per step, and positions come
# from a Python int. Here the cache is the whole (n_layers, B, H, max_len, D) buffer, the positions a
# tensor, and the mask hides the slots not written yet. It uses the model's modules, as chapter 04's
# cached_forward does.


def static_forward(
    model: GPT, ids: torch.Tensor, pos: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor
) -> torch.Tensor:
    """ids (B, T) at positions pos (T,) -> logits of the last position (B, 1, V).

    k_cache, v_cache (n_layers, B, H, max_len, D): each layer's new keys and values are written at
    ``pos``; each query attends over the slots up to its own position.
    """
    B, T = ids.shape
    C, H = model.config.d_model, model.config.n_heads
    x = model.wte(ids) + model.wpe(pos)  # (B, T, C)
    mask = torch.arange(k_cache.size(3), device=ids.device) <= pos[:, None]  # (T, max_len)
    for layer, block in enumerate(model.h):
        q, k, v = block.attn.c_attn(block.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, H, C // H).transpose(1, 2) for t in (q, k, v))  # (B, H, T, D)
        k_cache[layer].index_copy_(2, pos, k)  # in place: the buffers never move
        v_cache[layer].index_copy_(2, pos, v)
        y = F.scaled_dot_product_attention(q, k_cache[layer], v_cache[layer], attn_mask=mask)  # (B, H, T, D)
        x = x + block.attn.c_proj(y.transpose(1, 2).reshape(B, T, C))
        x = x + block.mlp(block.ln_2(x))
    return model.lm_head(model.ln_f(x[:, -1:]))  # (B, 1, V)


def make_static_generate(model: GPT, max_len: int, compile_mode: str | None):
    """greedy(prompt (B, T), n) -> (B, T + n) with a static cache of max_len positions: an eager prefill,
    then decode steps through ``torch.compile(static_forward, mode=compile_mode)`` (None: eager)."""
    c = model.config
    p = next(model.parameters())
    buffers: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}  # one pair per batch size, reused by every call
    step = static_forward if compile_mode is None else torch.compile(static_forward, mode=compile_mode)

    @torch.no_grad()
    def greedy(prompt: torch.Tensor, n: int) -> torch.Tensor:
        B, T = prompt.shape
        if T + n > max_len:
            raise ValueError(f"{T} + {n} tokens do not fit the static cache of max_len={max_len}")
        if B not in buffers:
            shape = (c.n_layers, B, c.n_heads, max_len, c.head_dim)
            keys = torch.zeros(shape, device=p.device, dtype=p.dtype)
            buffers[B] = (keys, torch.zeros_like(keys))
            if compile_mode is not None:
                for t in buffers[B]:  # tell the compiler these tensors keep their address (as HF's StaticCache)
                    torch._dynamo.mark_static_address(t)
        k_cache, v_cache = buffers[B]
        out = torch.empty(B, T + n, dtype=torch.long, device=prompt.device)
        out[:, :T] = prompt
        if n == 0:
            return out
        logits = static_forward(model, prompt, torch.arange(T, device=prompt.device), k_cache, v_cache)
        out[:, T] = logits[:, -1].argmax(-1)
        ids = out[:, T : T + 1].clone()  # (B, 1): the next step's input, one tensor for every step
        pos = torch.tensor([T], device=prompt.device)
        for i in range(1, n):
            if compile_mode is not None:
                torch.compiler.cudagraph_mark_step_begin()  # the previous step's outputs are consumed
            logits = step(model, ids, pos, k_cache, v_cache)
            ids.copy_(logits[:, -1].argmax(-1, keepdim=True))
            out[:, T + i] = ids[:, 0]
            pos += 1
        return out

    return greedy


# ----------------------------------------------------------------------------------------------------


def bench(
    name: str,
    model: GPT,
    prompt: torch.Tensor,
    new_tokens: int,
    repeats: int,
    ref: dict,
    uncached_repeats: int | None = None,
    compile_mode: str | None = None,
) -> dict:
    device = prompt.device
    generate_greedy = ref["generate_greedy"]
    hf = to_hf(model)
    with torch.no_grad():
        gap = (hf(prompt).logits - model(prompt)).abs().max().item()
    n, P = new_tokens, prompt.shape[1]

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
    if compile_mode is not None:
        static = make_static_generate(model, P + n, compile_mode)
        methods[f"ours, static + compile ({compile_mode})"] = lambda k: static(prompt, k)
    compile_seconds, compile_error = None, None
    with torch.no_grad():
        for m, fn in list(methods.items()):  # warm-up: allocator, kernels, lazy initialisation, compilation
            if "compile" not in m:
                timed(lambda fn=fn: fn(4), device)
                continue
            try:  # a compiler that fails here (no Triton, an unsupported GPU) costs this variant only
                compile_seconds, _ = timed(lambda fn=fn: fn(4), device)
            except Exception as e:  # noqa: BLE001 - reported, and the eager figures still come
                compile_error = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:300]
                print(f"  the compiled variant failed and is left out: {compile_error}")
                del methods[m]
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
    # The limit, measured now, on a working set the size of what a decode step reads.
    step_bytes = decode_step_bytes(model, context=P + n / 2)  # the mean context of the decode steps
    bw = measure_bandwidth(sum(step_bytes.values()), device)
    bound = bw["bandwidth"] / sum(step_bytes.values())
    print(
        f"\n{name}: {model.num_params() / 1e6:.1f}M parameters, prompt {P} tokens, {n} new tokens, "
        f"batch 1, {aiecourse.describe(device)}, median of {repeats} runs"
        + (f" ({uncached_repeats} uncached)" if uncached_repeats and uncached_repeats < repeats else "")
    )
    print(f"  (HF's logits vs ours on the prompt: largest difference {gap:.1e})")
    print(f"  {'':<36}{'tokens/s':>10}{'first token':>14}{'then, decode':>16}   all runs, tokens/s")
    for m in methods:
        spread = f"{n / max(total[m]):.3g} to {n / min(total[m]):.3g}"
        print(f"  {m:<36}{tps[m]:>10.1f}{1000 * med_first[m]:>11.1f} ms{decode[m]:>9.1f} tok/s   {spread}")
    if compile_seconds is not None:
        print(f"  (the compiled variant's warm-up, compilation included: {compile_seconds:.1f} s)")
    ratios = {
        "cached / uncached": tps["ours, cached"] / tps["ours, uncached"],
        "ours cached / HF cached": tps["ours, cached"] / tps["HF generate, cached"],
        "the same, decode steps only": decode["ours, cached"] / decode["HF generate, cached"],
    }
    for label, value in ratios.items():
        print(f"  {label:<30}{value:>6.2f}x")
    fraction = decode["ours, cached"] / bound
    print(
        f"  the limit: a decode step reads {step_bytes['weights'] / 1e6:.1f} MB of weights and "
        f"{step_bytes['kv_cache'] / 1e6:.1f} MB of cache; this device streams a working set of that size at "
        f"{bw['bandwidth'] / 1e9:.1f} GB/s (read {bw['read'] / 1e9:.1f}, copy {bw['copy'] / 1e9:.1f}), so at most "
        f"{bound:.0f} decode steps/s: ours reach {fraction:.2f} of it"
    )
    ref_out = outputs["ours, cached"]
    same = {}
    for m in methods:
        if m != "ours, cached":
            verdict = first_difference(ref_out, outputs[m])
            same[m] = verdict == "same tokens"
            print(f"  tokens, ours cached vs {m}: {verdict}")
    key = {
        "ours, cached": "ours_cached",
        "ours, uncached": "ours_uncached",
        "HF generate, cached": "hf",
    }
    key.update({m: "ours_static_compiled" for m in methods if "compile" in m})
    return {
        "parameters": model.num_params(),
        "prompt_tokens": P,
        "new_tokens": n,
        "repeats": repeats,
        "tokens_per_s": {key[m]: tps[m] for m in methods},
        "first_token_ms": {key[m]: 1000 * med_first[m] for m in methods},
        "decode_tokens_per_s": {key[m]: decode[m] for m in methods},
        "cached_over_uncached": ratios["cached / uncached"],
        "ours_over_hf": ratios["ours cached / HF cached"],
        "ours_over_hf_decode": ratios["the same, decode steps only"],
        "bandwidth_bytes_per_s": bw,
        "decode_step_bytes": step_bytes,
        "roofline_decode_steps_per_s": bound,
        "roofline_fraction": fraction,
        "same_tokens_as_ours_cached": {key[m]: v for m, v in same.items()},
        "compile_seconds": compile_seconds,
        "compile_error": compile_error,
        "hf_logits_max_difference": gap,
    }


def compile_choice(arg: str, device: torch.device) -> tuple[str | None, str | None]:
    """(torch.compile mode or None, the reason when the compiled variant is skipped)."""
    if arg == "off":
        return None, "--compile off"
    if arg == "auto" and device.type != "cuda":
        return None, (
            f"skipped on {device.type}: its point is CUDA graphs (mode='reduce-overhead'), which need a GPU; "
            "on a CPU inductor's C++ compilation takes minutes on a busy 2-core machine (force it with --compile on)"
        )
    return ("reduce-overhead" if device.type == "cuda" else "default"), None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["bundled", "gpt2-small-size"], help="run one model only")
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
    parser.add_argument(
        "--compile",
        choices=["auto", "on", "off"],
        default="auto",
        help="time the static-cache + torch.compile variant too (auto: on CUDA only)",
    )
    parser.add_argument("--json", type=Path, default=None, help="write the figures to this file")
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
    compile_mode, skipped = compile_choice(args.compile, device)
    load_start = os.getloadavg()
    ref = load_reference()
    print(
        f"reference solutions: {SOLUTION.relative_to(ROOT)} ({', '.join(REFERENCE_CELLS)}); "
        f"torch {torch.__version__}, transformers {transformers.__version__}, {torch.get_num_threads()} threads, "
        f"load average {load_start[0]:.2f}"
    )
    if skipped:
        print(f"static cache + torch.compile: {skipped}")
    results = []
    if args.only in (None, "bundled"):
        model, tok = aiecourse.load_bundled(device)
        ids = []
        for story in aiecourse.load_corpus("val", n_stories=8):
            ids += tok.encode(story) + [tok.eot_id]
        prompt = torch.tensor([ids[:256]], device=device)
        r = bench("bundled storyteller", model, prompt, 256, args.repeats, ref, compile_mode=compile_mode)
        results.append({"name": "bundled", **r})
    if args.only in (None, "gpt2-small-size"):
        torch.manual_seed(0)
        config = GPTConfig(vocab_size=50257, n_positions=1024, n_layers=12, n_heads=12, d_model=768)
        model = GPT(config).to(device).eval()
        prompt = torch.randint(0, config.vocab_size, (1, 256), generator=torch.Generator().manual_seed(0)).to(device)
        r = bench(
            "GPT-2-small-sized, random weights",
            model,
            prompt,
            args.small_new_tokens,
            args.small_repeats,
            ref,
            uncached_repeats=1,
            compile_mode=compile_mode,
        )
        results.append({"name": "gpt2-small-size", **r})
    load_end = os.getloadavg()
    print(f"\nload average at the end: {load_end[0]:.2f} (1 min), {load_end[1]:.2f} (5 min)")
    if args.json:
        report = {
            "models": results,
            "device": aiecourse.describe(device),
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "compile": compile_mode or skipped,
            "load_average_start": list(load_start),
            "load_average_end": list(load_end),
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
