"""The support code of chapters 06 and 07: generated tasks and data, batching, the reward model."""

from __future__ import annotations

import pytest
import torch

import aiecourse
from aiecourse.instruct import (
    PAD_ID,
    QUESTION_KINDS,
    QAExample,
    encode_batch,
    is_correct,
    preference_pairs,
    qa_examples,
)
from aiecourse.model import GPT, GPTConfig
from aiecourse.reward import (
    REWARD_CHECKPOINT,
    RewardModel,
    hidden_states,
    load_reward_model,
    reward_metadata,
    save_reward_model,
)
from aiecourse.tasks import counting_problems, parse_answer

# --- chapter 06: the counting task -------------------------------------------------------------


def test_counting_problems_cover_every_pair_once():
    problems = counting_problems(seed=0)
    assert len(problems) == 81
    assert sorted((p.a, p.b) for p in problems) == [(a, b) for a in range(1, 10) for b in range(1, 10)]
    for p in problems:
        assert p.answer == p.a + p.b
        assert f" saw {p.a} " in p.prompt and f"Then {p.b} more " in p.prompt
        assert p.prompt.endswith('"There are')
    assert counting_problems(seed=0) == problems
    assert counting_problems(seed=1) != problems
    assert len(counting_problems(max_term=3)) == 9
    with pytest.raises(ValueError):
        counting_problems(max_term=0)


def test_counting_prompt_is_the_corpus_story():
    """The prompt uses the corpus's own counting sentences, so the storyteller knows what comes next."""
    stories = [s for s in aiecourse.load_corpus("val") if "more " in s and "counted them" in s]
    assert stories
    story = stories[0]
    cut = story.index('"There are') + len('"There are')
    # same sentence frame: '... saw A Xs SPOT. Then B more Xs came. "How many Xs are there now?" asked ...'
    p = counting_problems()[0].prompt
    for frame in (" more ", ' came. "How many ', ' are there now?" asked ', ' counted them one by one. "There are'):
        assert frame in story[:cut] and frame in p


@pytest.mark.parametrize(
    "text, expected", [(" 8 cats!", 8), (" 12", 12), (" many cats", None), ("", None), (" -3", -3)]
)
def test_parse_answer(text, expected):
    assert parse_answer(text) == expected


# --- chapter 07: demonstrations and preferences ----------------------------------------------


def test_qa_examples_are_seeded_and_answerable_from_the_story():
    examples = qa_examples(200, seed=0)
    assert examples == qa_examples(200, seed=0) and examples != qa_examples(200, seed=1)
    assert {e.kind for e in examples} == set(QUESTION_KINDS)
    for e in examples:
        story, question, answer_line = e.prompt.split("\n")
        assert question.startswith("Question: ") and answer_line == "Answer:"
        assert e.response.startswith(" ") and e.response.endswith(".")
        fact = e.answer.rstrip(".").removeprefix("To the ").removeprefix("A ")
        assert fact in story, (fact, story)
        assert is_correct(e, e.response) and is_correct(e, " " + e.answer + " ")
        assert not is_correct(e, e.response + ".")
    with pytest.raises(ValueError):
        qa_examples(-1)


def test_preference_pairs():
    pairs = preference_pairs(300, seed=3)
    assert pairs == preference_pairs(300, seed=3)
    flaws = {p.flaw for p in pairs}
    assert flaws == {"wrong fact", "badly written"}
    for p in pairs:
        assert p.chosen != p.rejected
        right = QAExample(p.prompt, p.chosen, p.kind)
        assert not is_correct(right, p.rejected)
        fact = p.chosen.strip().rstrip(".").removeprefix("To the ").removeprefix("A ")
        assert fact in p.prompt.split("\n")[0]
    # a wrong friend is often the hero: the name in the question
    hero_as_friend = [
        p
        for p in pairs
        if p.kind == "friend" and p.flaw == "wrong fact" and p.rejected.strip(" .") in p.prompt.split("\n")[1]
    ]
    assert hero_as_friend
    assert {p.flaw for p in preference_pairs(50, wrong_fact=1.0)} == {"wrong fact"}
    assert {p.flaw for p in preference_pairs(50, wrong_fact=0.0)} == {"badly written"}
    with pytest.raises(ValueError):
        preference_pairs(5, wrong_fact=1.5)


def test_encode_batch_pads_on_the_right_and_keeps_prompt_boundaries():
    tok = aiecourse.load_tokenizer()
    examples = qa_examples(5, seed=4)
    ids, prompt_lengths, lengths = encode_batch(tok, [e.prompt for e in examples], [e.response for e in examples])
    assert ids.dtype == torch.long and ids.shape == (5, int(lengths.max()))
    for b, e in enumerate(examples):
        p, r = tok.encode(e.prompt), tok.encode(e.response)
        assert prompt_lengths[b] == len(p) and lengths[b] == len(p) + len(r) + 1
        assert ids[b, : len(p)].tolist() == p
        assert ids[b, len(p) : len(p) + len(r)].tolist() == r
        assert ids[b, lengths[b] - 1] == tok.eot_id
        assert bool((ids[b, lengths[b] :] == PAD_ID).all())
    assert PAD_ID not in tok.encode(" ".join(e.prompt + e.response for e in qa_examples(100)))
    ids2, _, lengths2 = encode_batch(tok, ["a"], ["b"], end_of_text=False)
    assert lengths2.tolist() == [2] and ids2.shape == (1, 2)
    with pytest.raises(ValueError):
        encode_batch(tok, ["a", "b"], ["c"])
    with pytest.raises(ValueError):
        encode_batch(tok, [], [])


# --- the reward model -------------------------------------------------------------------------


def _tiny_gpt(seed=0):
    torch.manual_seed(seed)
    return GPT(GPTConfig(vocab_size=50, n_positions=16, n_layers=2, n_heads=2, d_model=8)).eval()


def test_hidden_states_are_the_model_without_its_head():
    gpt = _tiny_gpt()
    ids = torch.randint(0, 50, (3, 7))
    with torch.no_grad():
        assert torch.allclose(gpt.lm_head(hidden_states(gpt, ids)), gpt(ids), atol=1e-6)
    with pytest.raises(ValueError):
        hidden_states(gpt, torch.zeros(1, 17, dtype=torch.long))


def test_reward_model_reads_the_last_real_token():
    gpt = _tiny_gpt()
    rm = RewardModel.from_gpt(gpt)
    assert rm.gpt is not gpt
    ids = torch.randint(1, 50, (2, 6))
    lengths = torch.tensor([4, 6])
    with torch.no_grad():
        assert torch.equal(rm(ids, lengths), torch.zeros(2))  # zero-initialised head
        torch.nn.init.normal_(rm.head.weight)
        r = rm(ids, lengths)
        changed = ids.clone()
        changed[0, 4:] = 0  # padding after row 0's length must not matter
        assert torch.allclose(rm(changed, lengths), r)
        changed[0, 3] = (changed[0, 3] + 1) % 50
        assert not torch.allclose(rm(changed, lengths)[0], r[0])
    assert r.shape == (2,)


def test_reward_model_save_and_load_round_trip(tmp_path):
    rm = RewardModel.from_gpt(_tiny_gpt())
    torch.nn.init.normal_(rm.head.weight)
    path = tmp_path / "rm.safetensors"
    save_reward_model(rm, path, extra={"note": "test"}, dtype=torch.float32)
    loaded = load_reward_model(path, device="cpu")
    ids, lengths = torch.randint(0, 50, (2, 5)), torch.tensor([5, 3])
    with torch.no_grad():
        assert torch.allclose(loaded(ids, lengths), rm(ids, lengths), atol=1e-6)
    assert loaded.gpt.lm_head.weight is loaded.gpt.wte.weight
    assert reward_metadata(path)["note"] == "test"
    with pytest.raises(FileNotFoundError):
        load_reward_model(tmp_path / "missing.safetensors")


def test_bundled_reward_model_matches_the_storyteller_and_prefers_right_answers():
    meta = reward_metadata(REWARD_CHECKPOINT)
    model, tok = aiecourse.load_bundled("cpu")
    assert meta["config"] == model.config.to_dict()
    assert REWARD_CHECKPOINT.stat().st_size < 4_000_000
    rm = load_reward_model(device="cpu")
    pairs = preference_pairs(60, seed=3)  # the held-out seed
    ids, _, lengths = encode_batch(
        tok, [p.prompt for p in pairs] * 2, [p.chosen for p in pairs] + [p.rejected for p in pairs]
    )
    with torch.no_grad():
        r = rm(ids, lengths)
    accuracy = (r[:60] > r[60:]).float().mean().item()
    assert accuracy >= 0.8, f"bundled reward model: held-out pair accuracy {accuracy:.2f}"
