"""A wrong answer fails its test with a message that says what is wrong and where, not a raw traceback
from deep inside the library: chapter 05's ``test_generate`` against generates that crash."""

from __future__ import annotations

import pytest

from grader.mutation import ChapterSession

pytestmark = pytest.mark.slow

_GENERATE = """
@torch.no_grad()
def generate(model, prompt_ids, max_new_tokens, temperature=1.0, top_k=None, top_p=None, stop_token_ids=None,
             generator=None):
    T = prompt_ids.shape[1]
    cfg = model.config
    cache = KVCache(cfg.n_layers, 1, cfg.n_heads, cfg.head_dim, max_len=T + max_new_tokens, device=prompt_ids.device)
    ids, new = prompt_ids, prompt_ids
    for _ in range(max_new_tokens):
        logits = model(new, cache=cache)[:, -1]
        next_id = sample_next_token(logits, temperature, top_k, top_p, generator)[:, None]
        ids = torch.cat([ids, next_id], dim=1)
        if next_id.item() in set(stop_token_ids or []):
            break
        new = next_id
    return ids
"""
CRASHES = {
    # each new token fed as (1,): the model's `B, T = ids.shape` fails, inside GPT.forward
    "a 1-D token fed back": (
        ("[:, None]\n", "\n"),
        ("ids = torch.cat([ids, next_id], dim=1)", "ids = torch.cat([ids, next_id[:, None]], dim=1)"),
    ),
    # a cache with room for the prompt only: KVCache.update refuses the first decode step
    "a cache too short": (("max_len=T + max_new_tokens", "max_len=T"),),
}


@pytest.fixture(scope="module")
def session(one_torch_thread):
    return ChapterSession("05_sampling")


@pytest.mark.parametrize("name", CRASHES)
def test_generate_that_crashes_is_named_with_its_line(session, name):
    source = _GENERATE
    for old, new in CRASHES[name]:
        assert old in source
        source = source.replace(old, new)
    failure = session.run_tests(source, ["test_generate"])
    assert failure is not None and failure.startswith(
        "test_generate: AssertionError: generate(the course GPT, prompt (1, "
    )
    assert "failed in your generate, at line " in failure, failure
    assert "inside GPT.forward: ValueError" in failure or "inside KVCache.update: ValueError" in failure, failure


def test_generate_that_returns_a_list_is_named(session):
    failure = session.run_tests(
        _GENERATE.replace("    return ids\n", "    return ids[0].tolist()\n"), ["test_generate"]
    )
    assert (
        failure is not None and "returned list: expected a tensor of token ids of shape (1, T + new tokens)" in failure
    )


def test_the_solution_still_passes(session):
    assert session.run_tests(None, ["test_generate"]) is None
