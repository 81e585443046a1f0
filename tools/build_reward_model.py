"""Train the bundled reward model of chapter 07: storyteller -> SFT -> reward model -> course/aiecourse/data/.

    python tools/build_reward_model.py                         # ~15 minutes on a CPU
    python tools/build_reward_model.py --sft-steps 20 --rm-steps 20 --out /tmp/rm   # a quick smoke run

1. Supervised finetuning of the bundled storyteller on question-answer demonstrations
   (``aiecourse.instruct.qa_examples``, seed 0), loss on the response tokens only.
2. The reward model (``aiecourse.reward.RewardModel``) starts from that model and learns, with the
   pairwise loss -log sigmoid(r_chosen - r_rejected), to prefer the chosen answer of preference pairs
   (``aiecourse.instruct.preference_pairs``, seed 2). Held-out pairs (seed 3) measure it.

Everything is seeded, so a rerun on the same machine and torch version gives the same weights.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "course"))

from aiecourse.instruct import PAD_ID, encode_batch, preference_pairs, qa_examples  # noqa: E402
from aiecourse.progress import progress_bar  # noqa: E402
from aiecourse.reward import RewardModel, save_reward_model  # noqa: E402
from aiecourse.weights import load_bundled  # noqa: E402


def finetune(model, tok, steps: int, batch_size: int, lr: float, seed: int) -> None:
    examples = qa_examples(steps * batch_size, seed=seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    model.train()
    bar = progress_bar(range(steps), desc="SFT")
    for step in bar:
        for group in opt.param_groups:
            group["lr"] = lr * min(1.0, (step + 1) / 10)  # a short warm-up
        batch = examples[step * batch_size : (step + 1) * batch_size]
        ids, prompt_lengths, _ = encode_batch(tok, [e.prompt for e in batch], [e.response for e in batch])
        labels = ids.clone()
        labels[torch.arange(ids.size(1))[None, :] < prompt_lengths[:, None]] = -100
        labels[ids == PAD_ID] = -100
        logits = model(ids)
        loss = F.cross_entropy(logits[:, :-1].flatten(0, 1), labels[:, 1:].flatten(), ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 10 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
    model.eval()


def rewards(rm, tok, pairs):
    prompts = [p.prompt for p in pairs]
    ids, _, lengths = encode_batch(tok, prompts * 2, [p.chosen for p in pairs] + [p.rejected for p in pairs])
    r = rm(ids, lengths)
    return r[: len(pairs)], r[len(pairs) :]


@torch.no_grad()
def pair_accuracy(rm, tok, pairs) -> tuple[float, dict[str, float]]:
    rm.eval()
    right = collections.Counter()
    total = collections.Counter()
    for start in range(0, len(pairs), 100):
        chunk = pairs[start : start + 100]
        rc, rr = rewards(rm, tok, chunk)
        for p, ok in zip(chunk, (rc > rr).tolist()):
            for key in (p.kind, p.flaw):
                right[key] += ok
                total[key] += 1
    rm.train()
    return sum(right[f] for f in ("wrong fact", "badly written")) / len(pairs), {k: right[k] / total[k] for k in total}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sft-steps", type=int, default=300)
    ap.add_argument("--rm-steps", type=int, default=1200)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--sft-lr", type=float, default=1e-3)
    ap.add_argument("--rm-lr", type=float, default=1e-4)
    ap.add_argument("--held-out", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "course" / "aiecourse" / "data")
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    start = time.time()
    model, tok = load_bundled("cpu")
    finetune(model, tok, args.sft_steps, args.batch_size, args.sft_lr, seed=0)

    rm = RewardModel.from_gpt(model)
    rm.train()
    pairs = preference_pairs(args.rm_steps * args.batch_size, seed=2)
    held_out = preference_pairs(args.held_out, seed=3)
    opt = torch.optim.AdamW(rm.parameters(), lr=args.rm_lr, weight_decay=0.0)
    bar = progress_bar(range(args.rm_steps), desc="reward model")
    for step in bar:
        batch = pairs[step * args.batch_size : (step + 1) * args.batch_size]
        rc, rr = rewards(rm, tok, batch)
        loss = -F.logsigmoid(rc - rr).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(rm.parameters(), 1.0)
        opt.step()
        if step % 10 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
        if (step + 1) % 100 == 0 or step + 1 == args.rm_steps:
            acc, detail = pair_accuracy(rm, tok, held_out)
            print(
                f"step {step + 1}: held-out pair accuracy {acc:.3f} "
                + " ".join(f"{k}={v:.2f}" for k, v in sorted(detail.items())),
                flush=True,
            )
    rm.eval()
    acc, detail = pair_accuracy(rm, tok, held_out)
    seconds = time.time() - start
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "reward_model.safetensors"
    save_reward_model(
        rm,
        path,
        extra={
            "sft_steps": args.sft_steps,
            "rm_steps": args.rm_steps,
            "batch_size": args.batch_size,
            "held_out_accuracy": round(acc, 4),
            "held_out_detail": {k: round(v, 4) for k, v in detail.items()},
            "train_seconds": round(seconds),
            "torch": torch.__version__,
        },
    )
    print(
        f"held-out pair accuracy {acc:.3f} ({args.held_out} pairs, seed 3); {seconds:.0f} s; wrote {path} "
        f"({path.stat().st_size / 1e6:.1f} MB)"
    )


if __name__ == "__main__":
    main()
