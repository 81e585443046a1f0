"""The course GPT, its bundled checkpoint and tokenizer, the GPT-2 loader and the device helper."""

from __future__ import annotations

import time

import pytest
import torch

import aiecourse
from aiecourse.caches import ConcatCache
from aiecourse.corpus import generate_stories, load_corpus
from aiecourse.model import GPT, GPTConfig
from aiecourse.weights import CHECKPOINT, TOKENIZER, checkpoint_metadata, load_checkpoint, save_checkpoint

TINY = GPTConfig(vocab_size=50, n_positions=16, n_layers=2, n_heads=2, d_model=8)


# The simplest cache that meets the model's protocol (aiecourse.caches): concatenate, advance after the last layer.
def test_gpt2_parameter_names_and_tied_head():
    names = set(dict(GPT(TINY).named_parameters()))
    for name in [
        "wte.weight",
        "wpe.weight",
        "h.0.ln_1.weight",
        "h.0.attn.c_attn.weight",
        "h.0.attn.c_attn.bias",
        "h.0.attn.c_proj.weight",
        "h.1.ln_2.bias",
        "h.1.mlp.c_fc.weight",
        "h.1.mlp.c_proj.bias",
        "ln_f.weight",
    ]:
        assert name in names, name
    model = GPT(TINY)
    assert model.lm_head.weight is model.wte.weight
    c = TINY
    expected = (
        (c.vocab_size + c.n_positions) * c.d_model + 2 * c.d_model + c.n_layers * (12 * c.d_model**2 + 13 * c.d_model)
    )
    assert model.num_params() == expected


def test_forward_shapes_and_causality():
    torch.manual_seed(0)
    model = GPT(TINY).eval()
    ids = torch.randint(0, 50, (3, 10))
    logits = model(ids)
    assert logits.shape == (3, 10, 50)
    ids2 = ids.clone()
    ids2[:, -1] = (ids2[:, -1] + 1) % 50
    assert torch.allclose(model(ids2)[:, :-1], logits[:, :-1], atol=1e-6)


def test_cached_forward_matches_full_forward():
    torch.manual_seed(0)
    model = GPT(TINY).eval()
    ids = torch.randint(0, 50, (2, 12))
    full = model(ids)
    cache = ConcatCache(TINY.n_layers)
    parts = [model(ids[:, :5], cache=cache), model(ids[:, 5:9], cache=cache)]
    parts += [model(ids[:, t : t + 1], cache=cache) for t in range(9, 12)]
    assert cache.seq_len == 12
    assert torch.allclose(torch.cat(parts, 1), full, atol=1e-5)


def test_logits_to_keep_returns_the_last_positions():
    torch.manual_seed(0)
    model = GPT(TINY).eval()
    ids = torch.randint(0, 50, (2, 9))
    full = model(ids)
    assert torch.equal(model(ids, logits_to_keep=0), full)  # 0 (the default) keeps every position
    for n in (1, 3, 9):
        assert torch.allclose(model(ids, logits_to_keep=n), full[:, -n:], atol=1e-6)
    cache = ConcatCache(TINY.n_layers)
    last = model(ids[:, :6], cache=cache, logits_to_keep=1)  # a prefill that keeps only what generation needs
    assert last.shape == (2, 1, 50) and cache.seq_len == 6
    assert torch.allclose(last[:, 0], full[:, 5], atol=1e-5)
    assert torch.allclose(model(ids[:, 6:7], cache=cache, logits_to_keep=1)[:, 0], full[:, 6], atol=1e-5)


def test_a_single_query_needs_no_mask():
    seen = []

    def manual(q, k, v, mask):
        seen.append(None if mask is None else tuple(mask.shape))
        w = q @ k.transpose(-2, -1) / q.size(-1) ** 0.5
        w = (w if mask is None else w.masked_fill(~mask, float("-inf"))).softmax(-1)
        return w @ v, w

    torch.manual_seed(0)
    model = GPT(TINY).eval()
    ids = torch.randint(0, 50, (1, 5))
    full = model(ids)
    model.set_attention_fn(manual)
    cache = ConcatCache(TINY.n_layers)
    parts = [model(ids[:, :4], cache=cache), model(ids[:, 4:], cache=cache)]
    assert seen == [(4, 4)] * 2 + [None] * 2  # the prefill is masked; the decode step's one query sees every key
    assert torch.allclose(torch.cat(parts, 1), full, atol=1e-5)


def test_pluggable_attention_records_weights():
    def manual(q, k, v, mask):
        w = (q @ k.transpose(-2, -1) / q.size(-1) ** 0.5).masked_fill(~mask, float("-inf")).softmax(-1)
        return w @ v, w

    torch.manual_seed(0)
    model = GPT(TINY).eval()
    ids = torch.randint(0, 50, (1, 7))
    ref = model(ids)
    model.set_attention_fn(manual)
    model.record_attention(True)
    assert torch.allclose(model(ids), ref, atol=1e-5)
    w = model.h[1].attn.last_weights
    assert w.shape == (1, 2, 7, 7) and torch.allclose(w.sum(-1), torch.ones(1, 2, 7))


def test_context_overflow_is_a_clear_error():
    with pytest.raises(ValueError, match="n_positions=16"):
        GPT(TINY)(torch.zeros(1, 17, dtype=torch.long))


def test_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    model = GPT(TINY).eval()
    save_checkpoint(model, tmp_path / "m.safetensors", extra={"note": "x"})
    loaded = load_checkpoint(tmp_path / "m.safetensors", device="cpu")
    assert loaded.config == TINY and loaded.lm_head.weight is loaded.wte.weight
    ids = torch.randint(0, 50, (2, 6))
    assert torch.equal(loaded(ids), model(ids))
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.safetensors")


def test_bundled_checkpoint_is_small_fast_and_good():
    size = CHECKPOINT.stat().st_size + TOKENIZER.stat().st_size
    assert size <= 10 * 2**20, f"checkpoint and tokenizer take {size / 2**20:.1f} MiB"
    start = time.perf_counter()
    model, tok = aiecourse.load_bundled("cpu")
    assert time.perf_counter() - start < 5  # about 0.05 s here; the bound only catches a broken loader
    stats = checkpoint_metadata()["stats"]
    assert stats["val_loss"] < 0.5 * stats["unigram_val_loss"]
    # The stored validation loss is reproduced by the loaded weights on the validation stories.
    ids = []
    for story in load_corpus("val", n_stories=60):
        ids += tok.encode(story) + [tok.eot_id]
    ids = torch.tensor(ids[: 4 * 512 + 1])
    with torch.no_grad():
        logits = model(ids[:-1].view(4, 512))
    loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), ids[1:].view(-1)).item()
    assert abs(loss - stats["val_loss"]) < 0.15, (loss, stats["val_loss"])


def test_bundled_model_writes_like_its_corpus():
    model, tok = aiecourse.load_bundled("cpu")
    prompt = "One day, Tom went to the"
    text = tok.decode(model.greedy(torch.tensor([tok.encode(prompt)]), 40)[0])
    assert text.startswith(prompt)
    continuation = text[len(prompt) :]
    assert any(place in continuation for place in ["park", "forest", "garden", "beach", "kitchen", "river"]), text


def test_tokenizer_round_trips_any_text():
    tok = aiecourse.load_tokenizer()
    for text in ["One day, Mia went to the park.", "héllo wörld — 你好 🙂\n\n\ttabs", "", "  two  spaces  "]:
        assert tok.decode(tok.encode(text)) == text
    assert tok.pieces(" Lily")[0] in {" Lily", " L"}
    assert len(tok.encode(" Lily went to the park")) < len(" Lily went to the park") / 2


def test_corpus_is_deterministic():
    assert generate_stories(5, seed=3) == generate_stories(5, seed=3)
    assert generate_stories(5, seed=3) != generate_stories(5, seed=4)
    with pytest.raises(ValueError, match="split"):
        load_corpus("test")


def test_device_helper(monkeypatch):
    assert aiecourse.get_device("cpu") == torch.device("cpu")
    monkeypatch.setenv("AIECOURSE_DEVICE", "cpu")
    assert aiecourse.get_device() == torch.device("cpu")
    monkeypatch.delenv("AIECOURSE_DEVICE")
    expected = "cuda" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")
    assert aiecourse.get_device().type == expected
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            aiecourse.get_device("cuda")


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_set_threads_one_cpu_thread_by_default(monkeypatch, capsys, restore_threads):
    monkeypatch.delenv("AIECOURSE_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    torch.set_num_threads(2)
    assert aiecourse.set_threads(torch.device("cpu")) == 1
    assert torch.get_num_threads() == 1
    line = capsys.readouterr().out
    assert line.count("\n") == 1 and "1 CPU thread" in line and "AIECOURSE_THREADS" in line
    assert aiecourse.describe(torch.device("cpu")) == "cpu (1 thread)"


def test_set_threads_respects_the_environment(monkeypatch, capsys, restore_threads):
    monkeypatch.setenv("AIECOURSE_THREADS", "2")
    assert aiecourse.set_threads("cpu") == 2 and torch.get_num_threads() == 2
    assert "2 CPU threads (as AIECOURSE_THREADS asks)" in capsys.readouterr().out
    monkeypatch.delenv("AIECOURSE_THREADS")
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # PyTorch read it at start-up: set_threads leaves the count alone
    torch.set_num_threads(3)
    assert aiecourse.set_threads("cpu") == 3 and torch.get_num_threads() == 3
    assert "as OMP_NUM_THREADS asks" in capsys.readouterr().out
    for bad in ("0", "two"):
        monkeypatch.setenv("AIECOURSE_THREADS", bad)
        with pytest.raises(ValueError, match="AIECOURSE_THREADS"):
            aiecourse.set_threads("cpu")


def test_set_threads_leaves_a_gpu_alone(capsys, restore_threads):
    torch.set_num_threads(2)
    assert aiecourse.set_threads(torch.device("cuda")) is None  # no CUDA needed: nothing is touched
    assert aiecourse.set_threads("mps") is None
    assert torch.get_num_threads() == 2 and capsys.readouterr().out == ""


def test_gpt2_loader_matches_transformers_offline(tmp_path):
    pytest.importorskip("transformers", reason="the [hf] extra is not installed")
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=100,
        n_positions=32,
        n_embd=24,
        n_layer=3,
        n_head=4,
        bos_token_id=0,
        eos_token_id=None,
        pad_token_id=0,
    )
    hf = GPT2LMHeadModel(config).eval()
    with torch.no_grad():  # random, non-zero biases and norms, so a missed transpose cannot hide
        for p in hf.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    hf.save_pretrained(tmp_path)
    ours = aiecourse.load_gpt2(str(tmp_path), device="cpu")
    ids = torch.randint(0, 100, (2, 20))
    with torch.no_grad():
        expected = hf(ids).logits
    assert torch.allclose(ours(ids), expected, atol=1e-5)
