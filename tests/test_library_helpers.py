"""Helpers that several chapters and the tests share, once, in aiecourse (none of them an exercise)."""

from __future__ import annotations

import pytest
import torch

import aiecourse
from aiecourse.caches import ConcatCache
from aiecourse.corpus import encode_stories
from aiecourse.model import GPT, GPTConfig


def test_concat_cache_gives_the_full_forward_token_for_token():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=50, n_positions=16, n_layers=2, n_heads=2, d_model=8)).eval()
    ids = torch.randint(0, 50, (2, 9))
    cache = ConcatCache(2)
    with torch.no_grad():
        full = model(ids)
        parts = [model(ids[:, :5], cache=cache), model(ids[:, 5:6], cache=cache), model(ids[:, 6:], cache=cache)]
    assert cache.seq_len == 9 and cache.k[0].shape == (2, 2, 9, 4)
    torch.testing.assert_close(torch.cat(parts, dim=1), full, atol=1e-5, rtol=1e-5)
    cache.reset()
    assert cache.seq_len == 0 and cache.k == [None, None]
    with pytest.raises(ValueError, match="n_layers"):
        ConcatCache(0)


def test_encode_stories_puts_an_end_of_text_after_each_story():
    tok = aiecourse.load_tokenizer()
    ids = encode_stories(["Mia ran.", "Tom sat."], tok)
    assert ids.dtype == torch.long and ids.dim() == 1
    assert (ids == tok.eot_id).sum() == 2 and ids[-1] == tok.eot_id
    assert tok.decode(ids.tolist()).count("Mia ran.") == 1


def test_check_earlier_names_the_earlier_exercise_that_fails():
    from aiecourse.checks import check_earlier

    check_earlier("generate", {"sample_next_token": lambda: True, "top_k_filter": lambda: torch.tensor(True)})
    for broken in (lambda: False, lambda: 1 / 0, lambda: torch.tensor(False)):
        with pytest.raises(AssertionError) as failure:
            check_earlier("generate", {"sample_next_token": lambda: True, "top_k_filter": broken})
        assert str(failure.value) == (
            "generate uses your top_k_filter, which fails its own test above: fix top_k_filter first "
            "(this test cannot judge generate until then)"
        )


def test_calling_says_what_was_called_what_it_raised_and_where():
    from aiecourse.checks import calling

    model = GPT(GPTConfig(vocab_size=50, n_positions=16, n_layers=1, n_heads=2, d_model=8)).eval()

    def generate(m, ids):
        flat = ids[0]
        return m(flat)  # (T,) where the model takes (B, T)

    with pytest.raises(AssertionError) as failure:
        with calling("generate(model, prompt (1, 3))", hint="the model takes ids of shape (B, T)"):
            generate(model, torch.tensor([[1, 2, 3]]))
    message = str(failure.value)
    assert message.startswith("generate(model, prompt (1, 3)) failed in your ")
    assert "generate, at `return m(flat)" in message and "inside GPT.forward: ValueError:" in message
    assert message.endswith(". the model takes ids of shape (B, T)")

    def no_grad_wrapped():
        with torch.no_grad():
            return torch.cat([torch.zeros(1, 2), torch.zeros(2)])

    with pytest.raises(
        AssertionError, match=r"^f\(\) failed in your .*no_grad_wrapped, at `return torch.cat.*RuntimeError"
    ):
        with calling("f()"):
            no_grad_wrapped()
    with pytest.raises(AssertionError, match="^a check's own message$"):  # a check's failure passes as it is
        with calling("f()"):
            raise AssertionError("a check's own message")
    with pytest.raises(
        AssertionError, match=r"^f\(\) failed in your .*, at `raise NotImplementedError\(\)`: NotImplementedError$"
    ):
        with calling("f()"):
            not_written()
    with calling("f()"):
        pass


def not_written():
    raise NotImplementedError()
