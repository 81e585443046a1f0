"""aiecourse.hardware: peak-FLOPs figures for utilisation, and timing."""

from __future__ import annotations

import pytest
import torch

from aiecourse import hardware


@pytest.mark.parametrize(
    "name, dtype, expected",
    [
        ("NVIDIA H100 80GB HBM3", torch.bfloat16, 989e12),
        ("NVIDIA H100 PCIe", torch.float32, 51e12),
        ("NVIDIA H200", torch.float16, 989e12),
        ("NVIDIA A100-SXM4-40GB", torch.float32, 19.5e12),
        ("NVIDIA A100-SXM4-40GB", torch.bfloat16, 312e12),
        ("Tesla T4", torch.float16, 65e12),
        ("NVIDIA L4", torch.float32, 30.3e12),
    ],
)
def test_gpu_table(name, dtype, expected):
    assert hardware.gpu_peak_flops(name, dtype) == expected


def test_unknown_gpu_is_none():
    assert hardware.gpu_peak_flops("Some Future GPU 9000") is None


@pytest.mark.parametrize(
    "flags, machine, system, expected",
    [
        ({"avx512f", "avx2", "fma", "avx"}, "x86_64", "Linux", 64),
        ({"avx2", "fma", "avx"}, "x86_64", "Linux", 32),
        ({"avx"}, "x86_64", "Linux", 16),
        (set(), "arm64", "Darwin", 32),
        ({"neon"}, "aarch64", "Linux", 16),
        (set(), "x86_64", "Linux", 8),
    ],
)
def test_flops_per_cycle_from_flags(flags, machine, system, expected):
    per_cycle, name = hardware.cpu_flops_per_cycle(flags, machine, system)
    assert per_cycle == expected and name


def test_cpu_peak_is_the_product_of_its_parts():
    peak, how = hardware.cpu_peak_flops(cores=4, ghz=2.5, flops_per_cycle=32)
    assert peak == 4 * 2.5e9 * 32
    assert "4 cores" in how and "2.50 GHz" in how and "320 GFLOP/s" in how


def test_peak_flops_on_this_machine_is_positive():
    peak, how = hardware.peak_flops("cpu")
    assert peak > 1e9 and "CPU estimate" in how


def test_time_call_counts_calls_and_returns_seconds():
    calls = []
    seconds = hardware.time_call(lambda: calls.append(1), "cpu", repeats=4, warmup=2)
    assert len(calls) == 6 and 0 <= seconds < 1
    with pytest.raises(ValueError, match="repeats"):
        hardware.time_call(lambda: None, "cpu", repeats=0)
