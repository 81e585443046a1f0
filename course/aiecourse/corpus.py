"""The course corpus: short stories written by a small random grammar.

The text is generated here, so it is license-clean, available offline and the same on every machine
for a given seed. It is simple enough that a model of a million parameters learns it in minutes on a
CPU, and rich enough that its statistics are worth modelling: characters are named and referred to
again, places and objects stay consistent inside a story, and people talk.
"""

from __future__ import annotations

import random

import torch

NAMES = ["Mia", "Tom", "Lily", "Ben", "Sam", "Zoe", "Max", "Anna", "Leo", "Ruby", "Nora", "Finn"]
PRONOUN = {n: ("she", "her") if n in {"Mia", "Lily", "Zoe", "Anna", "Ruby", "Nora"} else ("he", "his") for n in NAMES}
ANIMALS = ["cat", "dog", "owl", "fox", "rabbit", "duck", "frog", "bear", "mouse", "bird"]
ANIMAL_LOOKS = ["small", "old", "brown", "white", "sleepy", "tiny", "fat", "grey"]
PLACES = {
    "park": ["under a big tree", "by the swings", "near the pond"],
    "forest": ["behind a tall pine", "under a log", "beside a mossy rock"],
    "garden": ["under the roses", "next to the shed", "in the long grass"],
    "beach": ["behind a sand hill", "near the water", "under an old boat"],
    "kitchen": ["under the table", "on a high shelf", "behind the door"],
    "river": ["under the bridge", "between two stones", "in the reeds"],
}
OBJECTS = ["red ball", "blue kite", "little boat", "yellow hat", "shiny shell", "wooden box", "old map", "green cup"]
FEELINGS_GOOD = ["happy", "glad", "proud", "excited"]
FEELINGS_BAD = ["sad", "worried", "upset", "scared"]
WEATHER = ["sunny", "windy", "rainy", "warm", "cold", "bright"]
TIMES = ["One day", "One morning", "Once upon a time", "Last summer", "One evening"]
HELPERS = ["mom", "dad", "grandma", "friend"]


def _story(rng: random.Random) -> str:
    hero, friend = rng.sample(NAMES, 2)
    he, his = PRONOUN[hero]
    place = rng.choice(list(PLACES))
    spot = rng.choice(PLACES[place])
    thing = rng.choice(OBJECTS)
    animal = rng.choice(ANIMALS)
    look = rng.choice(ANIMAL_LOOKS)
    sad, good = rng.choice(FEELINGS_BAD), rng.choice(FEELINGS_GOOD)
    helper = rng.choice(HELPERS)
    s = [f"{rng.choice(TIMES)}, {hero} went to the {place}. It was a {rng.choice(WEATHER)} day."]
    kind = rng.randrange(4)
    if kind == 0:  # a lost thing, found with help
        s += [
            f"{hero} had a {thing}. {he.capitalize()} loved the {thing} very much.",
            f"But then the {thing} was gone! {hero} felt {sad}.",
            f'"Where is my {thing}?" {he} asked.',
            f"{friend} came to help. They looked {rng.choice(PLACES[place])}, but it was not there.",
            f'Then {friend} looked {spot}. "I found it!" said {friend}.',
            f'{hero} was {good}. "Thank you, {friend}!" {he} said, and they played with the {thing} all day.',
        ]
    elif kind == 1:  # meeting an animal
        s += [
            f"{spot.capitalize()}, {he} saw a {look} {animal}.",
            f'The {animal} looked {sad}. "What is wrong, little {animal}?" asked {hero}.',
            f"The {animal} could not find its way home. {hero} wanted to help.",
            f"{hero} and the {animal} walked together until they found its home.",
            f"The {animal} was {good}, and {hero} smiled all the way back.",
        ]
    elif kind == 2:  # sharing
        s += [
            f"{hero} had a {thing}, and {friend} wanted to play with it too.",
            f'"Can I have a turn?" asked {friend}. At first {hero} said no.',
            f'{friend} felt {sad}. {hero} thought about it and said, "Let us share it."',
            f"They took turns with the {thing}. Sharing made them both {good}.",
            f"Now {hero} and {friend} are best friends.",
        ]
    else:  # counting, for a little arithmetic in the text
        a, b = rng.randint(1, 9), rng.randint(1, 9)
        s += [
            f"{hero} saw {a} {animal}s {spot}. Then {b} more {animal}s came.",
            f'"How many {animal}s are there now?" asked {his} {helper}.',
            f'{hero} counted them one by one. "There are {a + b} {animal}s!" {he} said.',
            f'{his.capitalize()} {helper} was {good}. "Well done, {hero}!"',
        ]
    return " ".join(s)


def generate_stories(n_stories: int, seed: int = 0) -> list[str]:
    """``n_stories`` stories, the same for the same seed on every machine."""
    rng = random.Random(seed)
    return [_story(rng) for _ in range(n_stories)]


def load_corpus(split: str = "train", n_stories: int | None = None) -> list[str]:
    """The stories the bundled model was trained (``"train"``) or validated (``"val"``) on."""
    if split not in {"train", "val"}:
        raise ValueError(f"split must be 'train' or 'val', got {split!r}")
    seed, default = (0, 20000) if split == "train" else (1, 1000)
    return generate_stories(n_stories or default, seed=seed)


def encode_stories(stories: list[str], tokenizer) -> torch.Tensor:
    """One 1-D tensor of token ids: each story encoded, ``<|endoftext|>`` after each, as in training."""
    ids: list[int] = []
    for story in stories:
        ids += tokenizer.encode(story) + [tokenizer.eot_id]
    return torch.tensor(ids, dtype=torch.long)
