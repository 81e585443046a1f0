"""Pick where tensors live (CUDA, then Apple's MPS, then the CPU), and how many CPU threads PyTorch uses."""

from __future__ import annotations

import os

import torch


def get_device(prefer: str | None = None) -> torch.device:
    """The best available device, or ``prefer`` (or env ``AIECOURSE_DEVICE``) when it is given.

    >>> get_device("cpu")
    device(type='cpu')
    """
    choice = prefer or os.environ.get("AIECOURSE_DEVICE")
    if choice:
        device = torch.device(choice)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {choice!r} asked for, but CUDA is not available here")
        if device.type == "mps" and not _mps_available():
            raise ValueError(f"device {choice!r} asked for, but MPS is not available here")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def describe(device: torch.device) -> str:
    """A one-line description for a notebook's first output."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "mps (Apple GPU)"
    n = torch.get_num_threads()
    return f"cpu ({n} thread{'' if n == 1 else 's'})"


THREADS_ENV = "AIECOURSE_THREADS"


def set_threads(device: torch.device | str) -> int | None:
    """On the CPU, run PyTorch on one thread unless the environment asks for more; say so in one line.

    The course's models are so small that a second thread mostly waits for the first: on a busy 2-core
    machine two threads made the chapters 5 to 10 times slower. ``AIECOURSE_THREADS=N`` asks for N threads;
    an ``OMP_NUM_THREADS`` that is set is respected as it is (PyTorch read it when it started). On a GPU
    nothing changes and nothing is printed. Returns the number of CPU threads, or None on a GPU.
    """
    if torch.device(device).type != "cpu":
        return None
    asked = os.environ.get(THREADS_ENV, "").strip()
    if asked:
        try:
            n = int(asked)
        except ValueError:
            n = 0
        if n < 1:
            raise ValueError(f"{THREADS_ENV}={asked!r}: expected a number of threads, 1 or more")
        torch.set_num_threads(n)
        why = f"as {THREADS_ENV} asks"
    elif os.environ.get("OMP_NUM_THREADS", "").strip():
        n = torch.get_num_threads()
        why = "as OMP_NUM_THREADS asks"
    else:
        n = 1
        torch.set_num_threads(1)
        why = f"the fastest for models this small; {THREADS_ENV}=N asks for N"
    print(f"PyTorch uses {n} CPU thread{'' if n == 1 else 's'} ({why})")
    return n
