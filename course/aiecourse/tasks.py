"""Small tasks with answers a program can check (chapter 06: test-time compute).

The course corpus has counting stories: "Mia saw 3 cats under a big tree. Then 5 more cats came.
... Mia counted them one by one. "There are 8 cats!"". A prompt that stops right after "There are"
asks the storyteller for a sum. It was never taught arithmetic, only these stories, so its answer is
right only some of the time: a task where sampling many answers and choosing among them pays off,
and where every answer can be checked.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from .corpus import ANIMALS, HELPERS, NAMES, PLACES, PRONOUN, TIMES, WEATHER

_NUMBER = re.compile(r"-?\d+")


@dataclass(frozen=True)
class CountingProblem:
    """A counting story cut off where the sum is due: the model should continue ``prompt`` with `` {a + b}``."""

    prompt: str
    a: int
    b: int

    @property
    def answer(self) -> int:
        return self.a + self.b


def counting_prompt(a: int, b: int, rng: random.Random) -> str:
    """The corpus's counting story with ``a`` and then ``b`` animals, up to ``"There are``."""
    hero = rng.choice(NAMES)
    _, his = PRONOUN[hero]
    place = rng.choice(list(PLACES))
    spot = rng.choice(PLACES[place])
    animal = rng.choice(ANIMALS)
    helper = rng.choice(HELPERS)
    return (
        f"{rng.choice(TIMES)}, {hero} went to the {place}. It was a {rng.choice(WEATHER)} day. "
        f"{hero} saw {a} {animal}s {spot}. Then {b} more {animal}s came. "
        f'"How many {animal}s are there now?" asked {his} {helper}. '
        f'{hero} counted them one by one. "There are'
    )


def counting_problems(seed: int = 0, max_term: int = 9) -> list[CountingProblem]:
    """One problem for every pair ``1 <= a, b <= max_term`` (81 by default), each in its own random story."""
    if max_term < 1:
        raise ValueError(f"max_term must be >= 1, got {max_term}")
    rng = random.Random(seed)
    return [
        CountingProblem(counting_prompt(a, b, rng), a, b)
        for a in range(1, max_term + 1)
        for b in range(1, max_term + 1)
    ]


def parse_answer(text: str) -> int | None:
    """The first whole number in ``text`` (``" 8 cats!"`` -> 8), or None if there is none."""
    match = _NUMBER.search(text)
    return int(match.group()) if match else None
