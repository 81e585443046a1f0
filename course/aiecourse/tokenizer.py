"""The bundled model's tokenizer: a fixed vocabulary of byte strings, matched greedily.

Chapter 01 builds byte-level BPE by hand. The tokenizer here uses a vocabulary learned that way,
but splits text differently: each chunk (a word with its leading space, a run of punctuation or of
white space) is cut into the longest vocabulary entries from left to right. Every one of the 256
bytes is in the vocabulary, so any string encodes, and decoding is concatenation.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

# A word with its leading space, a number, a run of other symbols, or white space.
CHUNK_PATTERN = re.compile(r" ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+")


class Tokenizer:
    """``encode(str) -> list[int]`` and ``decode(list[int]) -> str`` over ``vocab`` (a list of bytes)."""

    def __init__(self, vocab: list[bytes], eot_id: int | None = None):
        if len(vocab) < 256 or any(vocab[i] != bytes([i]) for i in range(256)):
            raise ValueError("the first 256 vocabulary entries must be the single bytes 0..255")
        self.vocab = vocab
        self.eot_id = eot_id  # end-of-text: separates documents, so it can stop generation
        self._ids = {piece: i for i, piece in enumerate(vocab) if i != eot_id}
        self._longest = max(len(piece) for piece in self._ids)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for chunk in CHUNK_PATTERN.findall(text):
            data = chunk.encode("utf-8")
            i = 0
            while i < len(data):
                for j in range(min(len(data), i + self._longest), i, -1):
                    piece_id = self._ids.get(data[i:j])
                    if piece_id is not None:
                        ids.append(piece_id)
                        i = j
                        break
        return ids

    def decode(self, ids) -> str:
        ids = ids.tolist() if hasattr(ids, "tolist") else ids
        data = b"".join(self.vocab[i] for i in ids)
        return data.decode("utf-8", errors="replace")

    def pieces(self, text: str) -> list[str]:
        """How ``text`` is split: one string per token (bytes that are not whole characters escaped)."""
        return [self.vocab[i].decode("utf-8", errors="backslashreplace") for i in self.encode(text)]

    def save(self, path: str | Path) -> None:
        data = {"vocab": [piece.hex() for piece in self.vocab], "eot_id": self.eot_id}
        Path(path).write_text(json.dumps(data))

    @classmethod
    def load(cls, path: str | Path) -> Tokenizer:
        data = json.loads(Path(path).read_text())
        return cls([bytes.fromhex(h) for h in data["vocab"]], data["eot_id"])
