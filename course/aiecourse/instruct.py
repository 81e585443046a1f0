"""Instruction and preference data for post-training (chapter 07), written by a program.

The pre-trained storyteller only continues stories. To teach it to answer questions about a story,
this module writes demonstrations in a small chat-like template::

    One day, Mia went to the park with Tom. It was a sunny day. Mia had a red ball.
    Question: Where did Mia go?
    Answer: To the park.

and preference pairs: the same prompt with a right answer (``chosen``) and one that a reader would
rank lower (``rejected``): either a wrong fact of the same kind, one the story does not say
(``" To the beach."``), or the right answer badly written, the way a model's sample can come out
(``" T To the park."``, ``" To the"``). The stories use the corpus's
names, places and objects (``aiecourse.corpus``), so the pre-trained model already knows the words;
what it has to learn is the template and the habit of answering. Everything is seeded: the same seed
gives the same data on every machine.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .corpus import NAMES, OBJECTS, PLACES, TIMES, WEATHER

TEMPLATE = "{story}\nQuestion: {question}\nAnswer:"

# (question, answer, the story field the answer comes from)
QUESTIONS = [
    ("Where did {hero} go?", "To the {place}.", "place"),
    ("What did {hero} have?", "A {thing}.", "thing"),
    ("Who went to the {place} with {hero}?", "{friend}.", "friend"),
]
QUESTION_KINDS = ("place", "thing", "friend")


@dataclass(frozen=True)
class QAExample:
    """One demonstration: ``prompt`` (story, question, ``Answer:``) and ``response`` (a leading space, the answer)."""

    prompt: str
    response: str
    kind: str  # which fact the question asks about: "place", "thing" or "friend"

    @property
    def answer(self) -> str:
        return self.response.strip()


@dataclass(frozen=True)
class PreferencePair:
    """A prompt with a preferred (``chosen``) and a dispreferred (``rejected``) response."""

    prompt: str
    chosen: str
    rejected: str
    kind: str  # the fact asked about
    flaw: str  # what is wrong with ``rejected``: "wrong fact" or "badly written"


def _facts(rng: random.Random) -> dict[str, str]:
    hero, friend = rng.sample(NAMES, 2)
    return {
        "time": rng.choice(TIMES),
        "hero": hero,
        "friend": friend,
        "place": rng.choice(list(PLACES)),
        "weather": rng.choice(WEATHER),
        "thing": rng.choice(OBJECTS),
    }


def _story(f: dict[str, str]) -> str:
    return (
        f"{f['time']}, {f['hero']} went to the {f['place']} with {f['friend']}. "
        f"It was a {f['weather']} day. {f['hero']} had a {f['thing']}."
    )


def _other(rng: random.Random, f: dict[str, str], field: str) -> dict[str, str]:
    """The same facts with ``field`` changed to a wrong value. A wrong friend is, half of the time,
    the hero (the name the question itself contains: the mistake a model makes most)."""
    if field == "friend" and rng.random() < 0.5:
        return {**f, "friend": f["hero"]}
    pool = {"place": list(PLACES), "thing": OBJECTS, "friend": NAMES}[field]
    wrong = rng.choice([v for v in pool if v != f[field] and v != f["hero"]])
    return {**f, field: wrong}


def _badly_written(rng: random.Random, answer: str) -> str:
    """The right answer, damaged in one of the ways a sampled answer goes wrong."""
    words = answer.split(" ")
    how = rng.randrange(6)
    if how == 0:  # a stutter: a stray first letter, or the first word twice
        return f"{words[0][0]} {answer}" if rng.random() < 0.5 else f"{words[0]} {answer}"
    if how == 1:  # the start is cut off
        return answer[rng.randint(1, 2) :]
    if how == 2:  # cut off before the end
        return " ".join(words[:-1]) if len(words) > 1 else answer.rstrip(".")
    if how == 3:  # a stray word at the end
        return f"{answer.rstrip('.')} {rng.choice(NAMES)}."
    if how == 4:  # a stray word at the start
        return f"{rng.choice(NAMES + ['a', 'the', 'went', 'had'])} {answer}"
    return answer + "." * rng.randint(1, 6)  # it does not stop


def _example(rng: random.Random, kinds) -> tuple[dict[str, str], tuple[str, str, str]]:
    f = _facts(rng)
    q = rng.choice([q for q in QUESTIONS if q[2] in kinds])
    return f, q


def qa_examples(n: int, seed: int = 0, kinds=QUESTION_KINDS) -> list[QAExample]:
    """``n`` question-answer demonstrations about short stories, the same for the same seed."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        f, (question, answer, kind) = _example(rng, kinds)
        prompt = TEMPLATE.format(story=_story(f), question=question.format(**f))
        out.append(QAExample(prompt, " " + answer.format(**f), kind))
    return out


def preference_pairs(n: int, seed: int = 0, kinds=QUESTION_KINDS, wrong_fact: float = 0.5) -> list[PreferencePair]:
    """``n`` preference pairs: the right answer is chosen; rejected is a wrong fact of the same kind
    (with probability ``wrong_fact``) or the right answer badly written."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if not 0 <= wrong_fact <= 1:
        raise ValueError(f"wrong_fact must be in [0, 1], got {wrong_fact}")
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        f, (question, answer, kind) = _example(rng, kinds)
        prompt = TEMPLATE.format(story=_story(f), question=question.format(**f))
        right = answer.format(**f)
        if rng.random() < wrong_fact:
            rejected, flaw = answer.format(**_other(rng, f, kind)), "wrong fact"
        else:
            rejected, flaw = _badly_written(rng, right), "badly written"
        out.append(PreferencePair(prompt, " " + right, " " + rejected, kind, flaw))
    return out


def is_correct(example: QAExample, response: str) -> bool:
    """Does ``response`` (the text generated after ``Answer:``) state the example's answer, and only it?"""
    return response.strip() == example.answer


PAD_ID = 0  # the NUL byte: it never occurs in text, so it can pad sequences to one length


def encode_batch(tok, prompts: list[str], responses: list[str], pad_id: int = PAD_ID, end_of_text: bool = True):
    """Tokenize prompt + response (+ end-of-text) pairs into one right-padded batch.

    Returns ``ids (B, T)``, ``prompt_lengths (B,)`` (tokens of each prompt) and ``lengths (B,)``
    (tokens of each whole sequence, padding excluded). Prompt and response are tokenized separately,
    so the first response token starts exactly at ``prompt_lengths[i]``.
    """
    import torch

    if len(prompts) != len(responses):
        raise ValueError(f"got {len(prompts)} prompts but {len(responses)} responses")
    if not prompts:
        raise ValueError("need at least one prompt")
    seqs, prompt_lengths = [], []
    for prompt, response in zip(prompts, responses):
        p = tok.encode(prompt)
        seqs.append(p + tok.encode(response) + ([tok.eot_id] if end_of_text else []))
        prompt_lengths.append(len(p))
    lengths = [len(s) for s in seqs]
    ids = torch.full((len(seqs), max(lengths)), pad_id, dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
    return ids, torch.tensor(prompt_lengths), torch.tensor(lengths)
