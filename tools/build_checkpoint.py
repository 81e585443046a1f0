"""Train the bundled checkpoint from scratch: corpus -> tokenizer -> GPT -> course/aiecourse/data/.

    python tools/build_checkpoint.py            # ~13 minutes on two CPU cores
    python tools/build_checkpoint.py --steps 50 --context-steps 10 --out /tmp/ckpt   # a quick smoke run

Two phases: most of the training on 256-token windows (cheaper attention), then a shorter phase on
full 512-token windows so that every position of the context is trained.

Everything is seeded, so a rerun on the same machine and torch version gives the same weights.
"""

from __future__ import annotations

import argparse
import collections
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "course"))

from aiecourse.corpus import load_corpus  # noqa: E402
from aiecourse.model import GPT, GPTConfig  # noqa: E402
from aiecourse.progress import progress_bar  # noqa: E402
from aiecourse.tokenizer import CHUNK_PATTERN, Tokenizer  # noqa: E402
from aiecourse.train import _lm_loss, evaluate_loss, random_batch  # noqa: E402
from aiecourse.weights import checkpoint_metadata, load_checkpoint, save_checkpoint  # noqa: E402


def train_lm(
    model: torch.nn.Module,
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
        loss = _lm_loss(model, x.to(device), y.to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        if step % 10 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
    model.eval()
    return losses


EOT = b"<|endoftext|>"


def learn_vocab(texts: list[str], vocab_size: int) -> list[bytes]:
    """Byte-level BPE over chunk frequencies: the 256 bytes, then merged pieces, then end-of-text."""
    chunk_counts = collections.Counter(c.encode() for t in texts for c in CHUNK_PATTERN.findall(t))
    words = {tuple(bytes([b]) for b in chunk): n for chunk, n in chunk_counts.items()}
    vocab = [bytes([i]) for i in range(256)]
    while len(vocab) < vocab_size - 1:
        pairs = collections.Counter()
        for word, n in words.items():
            for pair in zip(word, word[1:]):
                pairs[pair] += n
        if not pairs:
            break
        best = max(pairs, key=lambda p: (pairs[p], p))  # deterministic tie-break
        merged = best[0] + best[1]
        vocab.append(merged)
        new_words = {}
        for word, n in words.items():
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    out.append(merged)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            new_words[tuple(out)] = new_words.get(tuple(out), 0) + n
        words = new_words
    return vocab + [EOT]


def encode_stories(tok: Tokenizer, stories: list[str]) -> torch.Tensor:
    ids: list[int] = []
    for story in stories:
        ids += tok.encode(story) + [tok.eot_id]
    return torch.tensor(ids, dtype=torch.long)


def unigram_loss(train_ids: torch.Tensor, val_ids: torch.Tensor, vocab_size: int) -> float:
    counts = torch.bincount(train_ids, minlength=vocab_size).double() + 1.0  # add-one smoothing
    logp = (counts / counts.sum()).log()
    return -logp[val_ids].mean().item()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=1500, help="phase 1: steps on 256-token windows")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--block-size", type=int, default=256)
    ap.add_argument("--context-steps", type=int, default=300, help="phase 2: steps on 512-token windows")
    ap.add_argument(
        "--resume",
        type=Path,
        help="skip phase 1 and continue from its checkpoint (a file "
        "written with --context-steps 0; phase 1 is seeded and deterministic)",
    )
    ap.add_argument("--vocab-size", type=int, default=1024)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "course/aiecourse/data")
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)

    train_text, val_text = load_corpus("train"), load_corpus("val")
    t0 = time.time()
    vocab = learn_vocab(train_text[:3000], args.vocab_size)
    tok = Tokenizer(vocab, eot_id=len(vocab) - 1)
    train_ids, val_ids = encode_stories(tok, train_text), encode_stories(tok, val_text)
    chars = sum(map(len, train_text))
    print(
        f"tokenizer: {tok.vocab_size} tokens, {chars / train_ids.numel():.2f} characters per token, "
        f"{train_ids.numel():,} training tokens ({time.time() - t0:.1f} s)"
    )

    config = GPTConfig(vocab_size=tok.vocab_size, n_positions=512, n_layers=4, n_heads=4, d_model=128)
    t0 = time.time()
    if args.resume:
        model = load_checkpoint(args.resume, device="cpu").train()
        phase1_seconds = checkpoint_metadata(args.resume)["stats"]["train_seconds"]
        print(f"phase 1: resumed from {args.resume}")
    else:
        model = GPT(config)
        print(f"model: {model.num_params():,} parameters")
        train_lm(
            model,
            train_ids,
            steps=args.steps,
            batch_size=args.batch_size,
            block_size=args.block_size,
            lr=args.lr,
            warmup=50,
        )
        phase1_seconds = 0
    if args.context_steps:
        train_lm(
            model,
            train_ids,
            steps=args.context_steps,
            batch_size=8,
            block_size=config.n_positions,
            lr=args.lr / 3,
            warmup=20,
            seed=1,
        )
    train_time = time.time() - t0 + phase1_seconds
    train_loss = evaluate_loss(model, train_ids, block_size=512)
    val_loss = evaluate_loss(model, val_ids, block_size=512)
    uni = unigram_loss(train_ids, val_ids, tok.vocab_size)
    print(f"train loss {train_loss:.3f}, val loss {val_loss:.3f} nats/token; unigram val {uni:.3f}; {train_time:.0f} s")

    args.out.mkdir(parents=True, exist_ok=True)
    stats = {
        "train_loss": round(train_loss, 4),
        "val_loss": round(val_loss, 4),
        "unigram_val_loss": round(uni, 4),
        "train_seconds": round(train_time),
        "steps": args.steps,
        "context_steps": args.context_steps,
        "batch_size": args.batch_size,
        "block_size": args.block_size,
        "train_tokens": train_ids.numel(),
        "params": model.num_params(),
    }
    save_checkpoint(model, args.out / "storyteller.safetensors", extra={"stats": stats})
    tok.save(args.out / "tokenizer.json")
    prompt = torch.tensor([tok.encode("One day, Mia went to the")])
    sample = tok.decode(model.greedy(prompt, 60)[0])
    write_card(args.out / "MODEL_CARD.md", config, stats, tok, sample)
    print("sample:", sample)


def write_card(path: Path, config: GPTConfig, s: dict, tok: Tokenizer, sample: str) -> None:
    size = sum(f.stat().st_size for f in path.parent.iterdir() if f.suffix in {".safetensors", ".json"})
    path.write_text(f"""# storyteller: the course's bundled GPT

A GPT-2-style model trained from scratch by `tools/build_checkpoint.py` on the course corpus.

| | |
|---|---|
| corpus | `aiecourse.corpus`: short stories written by a random grammar in this repository (seed 0: 20,000 training stories; seed 1: 1,000 validation stories). License-clean, generated offline. |
| tokenizer | {tok.vocab_size} tokens: 256 bytes, {tok.vocab_size - 257} pieces learned by byte-level BPE on 3,000 stories, and `<|endoftext|>` (id {tok.eot_id}) between stories; text is cut greedily into the longest pieces |
| config | vocab {config.vocab_size}, context {config.n_positions}, {config.n_layers} layers, {config.n_heads} heads, d_model {config.d_model} (tied input and output embeddings) |
| parameters | {s["params"]:,} ({s["params"] * 4 / 1e6:.1f} MB in float32; checkpoint and tokenizer together {size / 1e6:.1f} MB) |
| training | {s["steps"]} steps of AdamW, batch {s["batch_size"]} x {s["block_size"]} tokens, cosine learning rate from 3e-3, then {s["context_steps"]} steps of batch 8 x {config.n_positions} tokens (every position of the context) from 1e-3, on {s["train_tokens"]:,} tokens; {s["train_seconds"]} s on a 2-core CPU |
| loss (nats per token) | train {s["train_loss"]:.3f}, validation {s["val_loss"]:.3f}; a unigram model on the same tokens: {s["unigram_val_loss"]:.3f} (perplexity {math.exp(s["val_loss"]):.2f} against {math.exp(s["unigram_val_loss"]):.0f}) |

Greedy sample after "One day, Mia went to the":

> {sample}

Limits: it knows only the corpus's small world (a dozen names, six places, a few plots) and writes
nothing true about the real one. It exists so that every notebook runs offline in seconds.
""")


if __name__ == "__main__":
    main()
