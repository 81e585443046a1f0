"""aiecourse: the support library of the course "build the engine of a language model".

It holds the course GPT, its bundled weights and tokenizer, the corpus, plots and test helpers,
and never the answer to an exercise.
"""

from . import checks, plots
from .corpus import load_corpus
from .device import describe, get_device, set_threads
from .model import GPT, GPTConfig
from .tokenizer import Tokenizer
from .weights import load_bundled, load_checkpoint, load_gpt2, load_tokenizer

__all__ = [
    "GPT",
    "GPTConfig",
    "Tokenizer",
    "checks",
    "describe",
    "get_device",
    "load_bundled",
    "load_checkpoint",
    "load_corpus",
    "load_gpt2",
    "load_tokenizer",
    "plots",
    "set_threads",
]
__version__ = "0.1.0"
