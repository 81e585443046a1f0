"""What the learner's machine can do: a peak-FLOPs figure for utilisation (MFU), and honest timing.

A device's *peak* is what its datasheet promises: every arithmetic unit busy on every clock cycle.
For NVIDIA GPUs it comes from a small table of datasheet figures (dense, no sparsity). For a CPU it is
estimated from its specs: cores x clock x floating-point operations per cycle per core, where the last
factor follows from the vector instructions the CPU has (AVX-512, AVX2 with FMA, ...). Both are upper
bounds that real code never reaches; that gap is what model FLOPs utilisation measures.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

# Dense datasheet peaks in FLOP/s: (fp32 without tensor cores, bf16/fp16 on tensor cores).
# Checked first to last against the upper-cased device name, so the more specific names come first.
GPU_PEAKS: list[tuple[str, float, float]] = [
    ("H200", 67e12, 989e12),
    ("H100 PCIE", 51e12, 756e12),
    ("H100", 67e12, 989e12),
    ("A100", 19.5e12, 312e12),
    ("L4", 30.3e12, 121e12),
    ("T4", 8.1e12, 65e12),
    ("V100", 15.7e12, 125e12),
    ("RTX 4090", 82.6e12, 165e12),
    ("RTX 3090", 35.6e12, 71e12),
]

_HALF = (torch.float16, torch.bfloat16)


def gpu_peak_flops(name: str, dtype: torch.dtype = torch.float32) -> float | None:
    """The datasheet peak of an NVIDIA GPU called ``name`` for ``dtype``, or None if it is not in the table."""
    upper = name.upper()
    for key, fp32, half in GPU_PEAKS:
        if key in upper:
            return half if dtype in _HALF else fp32
    return None


def cpu_flops_per_cycle(flags: set[str], machine: str = "", system: str = "") -> tuple[int, str]:
    """fp32 FLOPs one core can finish per clock cycle, from its instruction-set flags, and their name.

    Two fused multiply-add (FMA) units per core are assumed, each doing a multiply and an add on every
    lane of a vector: AVX-512 (16 lanes) -> 64, AVX2 with FMA (8 lanes) -> 32, AVX without FMA -> 16.
    """
    if "avx512f" in flags:
        return 64, "AVX-512"
    if "avx2" in flags and "fma" in flags:
        return 32, "AVX2 + FMA"
    if "avx" in flags:
        return 16, "AVX"
    if machine.lower() in ("arm64", "aarch64"):
        if system == "Darwin":
            return 32, "Apple silicon NEON (4 FMA pipes)"
        return 16, "ARM NEON (2 FMA pipes)"
    return 8, "SSE"


def _cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def _cpu_ghz() -> float | None:
    try:  # the highest clock the kernel knows of (turbo included), in kHz
        return int(Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq").read_text()) / 1e6
    except (OSError, ValueError):
        pass
    try:
        mhz = [
            float(line.split(":")[1])
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("cpu MHz")
        ]
        return max(mhz) / 1000 if mhz else None
    except (OSError, ValueError):
        return None


def cpu_peak_flops(
    cores: int | None = None, ghz: float | None = None, flops_per_cycle: int | None = None
) -> tuple[float, str]:
    """An estimate of this CPU's fp32 peak, cores x GHz x FLOPs per cycle, and how it was reached.

    ``cores`` defaults to the threads PyTorch uses, ``ghz`` to the clock the OS reports (3 GHz when it
    reports none), ``flops_per_cycle`` to what the CPU's vector instructions allow.
    """
    cores = cores or torch.get_num_threads()
    reported = ghz or _cpu_ghz()
    ghz = reported or 3.0
    isa = "given"
    if flops_per_cycle is None:
        flops_per_cycle, isa = cpu_flops_per_cycle(_cpu_flags(), platform.machine(), platform.system())
    peak = cores * ghz * 1e9 * flops_per_cycle
    clock = f"{ghz:.2f} GHz" + ("" if reported else " (assumed: the OS reports no clock)")
    return peak, (
        f"CPU estimate: {cores} cores x {clock} x {flops_per_cycle} fp32 FLOPs per cycle ({isa}) "
        f"= {peak / 1e9:,.0f} GFLOP/s"
    )


def peak_flops(device: torch.device | str | None = None, dtype: torch.dtype = torch.float32) -> tuple[float, str]:
    """(peak FLOP/s, an explanation) for ``device`` (default: the course's device) computing in ``dtype``."""
    from .device import get_device

    device = torch.device(device) if device is not None else get_device()
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        peak = gpu_peak_flops(name, dtype)
        unit = "bf16/fp16 tensor cores" if dtype in _HALF else "fp32 (no tensor cores, TF32 off)"
        if peak is not None:
            return peak, f"{name}: datasheet peak for {unit}, dense = {peak / 1e12:,.1f} TFLOP/s"
        sms = torch.cuda.get_device_properties(device).multi_processor_count
        peak = sms * 128 * 2 * 1.5e9 * (4 if dtype in _HALF else 1)
        return peak, (
            f"{name} is not in the table: a rough guess of {sms} SMs x 128 lanes x 2 FLOPs x 1.5 GHz"
            f"{' x 4 for tensor cores' if dtype in _HALF else ''} = {peak / 1e12:,.1f} TFLOP/s; "
            "use your GPU's datasheet figure for a real one"
        )
    if device.type == "mps":
        return 4e12, (
            "Apple GPU (MPS): assumed 4 TFLOP/s fp32, the order of a base M1-M3 chip; the larger "
            "chips have 2-8 times more: use your chip's figure"
        )
    return cpu_peak_flops()


def synchronize(device: torch.device | str) -> None:
    """Wait until the device has finished its queued work (GPUs run asynchronously)."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def time_call(fn: Callable[[], object], device: torch.device | str = "cpu", repeats: int = 3, warmup: int = 1) -> float:
    """Seconds one call of ``fn`` takes on ``device``: the mean of ``repeats`` calls after ``warmup`` calls."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    for _ in range(warmup):
        fn()
    synchronize(device)
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    synchronize(device)
    return (time.perf_counter() - start) / repeats


@contextmanager
def threads(n: int) -> Iterator[None]:
    """Run the body with PyTorch using ``n`` CPU threads, then restore the previous number.

    A decode step of a small model is hundreds of operations of a few microseconds each: too small to
    share between threads, which then spend their time waiting for each other, most of all on a machine
    that other programs keep busy. Timing it on one thread is faster and steadier.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
