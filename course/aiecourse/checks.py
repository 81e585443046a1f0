"""Helpers for the notebooks' test cells: comparisons whose failure messages say what is wrong.

The functions they rely on are bound when this module is imported (a notebook's first cell), so a
learner's cell that later patches ``torch.allclose`` or ``numpy.testing`` does not change them.
"""

from __future__ import annotations

import math
import os

import torch

_isclose = torch.isclose
_bincount = torch.bincount
_tensor_type = torch.Tensor
_builtin_abs = abs

DEFAULT_HIDDEN_SEED = 1234


def hidden_seed() -> int:
    """The seed hidden tests draw their cases from: ``AIECOURSE_HIDDEN_SEED`` if set (instructors), else fixed."""
    value = os.environ.get("AIECOURSE_HIDDEN_SEED", "")
    return int(value) if value.strip() else DEFAULT_HIDDEN_SEED


def tolerance(dtype: torch.dtype) -> tuple[float, float]:
    """(atol, rtol) suited to a dtype: what any correct arrangement of the arithmetic stays within."""
    if dtype in (torch.float16, torch.bfloat16):
        return 2e-2, 2e-2
    if dtype == torch.float64:
        return 1e-8, 1e-6
    return 1e-5, 1e-4


def check(condition, message: str) -> None:
    """``assert`` that survives ``python -O`` and tells the learner what to look at."""
    if not condition:
        raise AssertionError(message)


def check_shape(actual, expected_shape, what: str) -> None:
    check(isinstance(actual, _tensor_type), f"{what}: expected a torch.Tensor, got {type(actual).__name__}")
    check(tuple(actual.shape) == tuple(expected_shape),
          f"{what}: expected shape {tuple(expected_shape)}, got {tuple(actual.shape)}")


def check_close(actual, expected, what: str, atol: float | None = None, rtol: float | None = None, hint: str = "") -> None:
    """``actual`` matches ``expected`` in shape, dtype, device and values (within the dtype's tolerance)."""
    check_shape(actual, expected.shape, what)
    check(actual.dtype == expected.dtype, f"{what}: expected dtype {expected.dtype}, got {actual.dtype} "
          "(keep the input's dtype: no hard-coded float32)")
    check(actual.device == expected.device, f"{what}: expected device {expected.device}, got {actual.device}")
    d_atol, d_rtol = tolerance(expected.dtype)
    atol, rtol = (d_atol if atol is None else atol), (d_rtol if rtol is None else rtol)
    a, e = actual.detach().double().cpu(), expected.detach().double().cpu()
    finite_match = bool(((a == e) | (a.isnan() & e.isnan())).all())
    if finite_match:
        return
    ok = _isclose(a, e, atol=atol, rtol=rtol) | (a == e)  # (a == e) accepts matching infinities
    if bool(ok.all()):
        return
    bad = (~ok).nonzero()[0].tolist()
    diff = (a - e).abs()
    diff[a == e] = 0
    worst = float(diff.nan_to_num(float("inf")).max())
    message = (f"{what}: {int((~ok).sum())} of {ok.numel()} values differ (largest difference {worst:.3g}); "
               f"first at index {tuple(bad)}: got {a[tuple(bad)].item():.6g}, expected {e[tuple(bad)].item():.6g}")
    raise AssertionError(message + (f". {hint}" if hint else ""))


def check_raises(fn, exception: type[BaseException], what: str, match: str | None = None) -> None:
    """``fn()`` raises ``exception`` (whose message contains ``match``, if given)."""
    try:
        fn()
    except exception as e:
        if match is not None and match.lower() not in str(e).lower():
            raise AssertionError(f"{what}: raised {exception.__name__} as it should, but its message "
                                 f"{str(e)!r} does not mention {match!r}") from None
        return
    except Exception as e:  # noqa: BLE001 - the learner's code may raise anything
        raise AssertionError(f"{what}: expected {exception.__name__}, got {type(e).__name__}: {e}") from None
    raise AssertionError(f"{what}: expected {exception.__name__}, but nothing was raised")


def frequency_margin(probs, n: int, failure_prob: float = 1e-9) -> float:
    """How far (in total variation) the frequencies of ``n`` correct draws from ``probs`` may stray.

    For ``n`` independent draws from ``probs`` with frequencies ``f``, TV = 1/2 sum |f - p| has
    E[TV] <= 1/2 sum sqrt(p (1 - p) / n) (Jensen), and changing one draw moves TV by at most 1/n, so by
    McDiarmid's inequality P(TV > E[TV] + t) <= exp(-2 n t^2). With t chosen so that this is
    ``failure_prob``, a correct sampler exceeds the margin with probability below ``failure_prob``,
    whatever the seed and however it arranges its arithmetic.
    """
    p = probs.detach().double().cpu()
    expected = 0.5 * float((p * (1 - p) / n).clamp(min=0).sqrt().sum())
    return expected + math.sqrt(math.log(1 / failure_prob) / (2 * n))


def check_frequencies(draws, probs, what: str, failure_prob: float = 1e-9, hint: str = "") -> None:
    """``draws`` (integer tensor, any shape: n independent draws) follow ``probs`` (V,).

    Fails when a token of probability 0 was drawn, or when the frequencies stray from ``probs`` by more
    than ``frequency_margin`` in total variation: a correct sampler fails with probability below
    ``failure_prob`` (1e-9 by default), so the check cannot flake, and a sampler whose distribution is
    off by a few percent fails it every time.
    """
    check(isinstance(draws, _tensor_type), f"{what}: expected a torch.Tensor of token ids, got {type(draws).__name__}")
    check(not draws.dtype.is_floating_point and draws.dtype != torch.bool,
          f"{what}: token ids must be integers (torch.long), got {draws.dtype}")
    p = probs.detach().double().cpu()
    V = p.numel()
    d = draws.detach().flatten().cpu().long()
    n = d.numel()
    check(n > 0, f"{what}: no draws")
    check(bool(((d >= 0) & (d < V)).all()), f"{what}: drew token ids outside 0..{V - 1}: {sorted(set(d[(d < 0) | (d >= V)].tolist()))[:5]}")
    counts = _bincount(d, minlength=V).double()
    freq = counts / n
    impossible = ((p == 0) & (counts > 0)).nonzero().flatten().tolist()
    if impossible:
        i = impossible[0]
        raise AssertionError(f"{what}: token {i} has probability 0 (it should have been filtered out or is impossible) "
                             f"but was drawn {int(counts[i])} times in {n} draws" + (f". {hint}" if hint else ""))
    tv = 0.5 * float((freq - p).abs().sum())
    margin = frequency_margin(p, n, failure_prob)
    if tv > margin:
        worst = (freq - p).abs().argsort(descending=True)[:4].tolist()
        table = ", ".join(f"token {i}: expected {p[i].item():.3f}, drawn {freq[i].item():.3f}" for i in worst)
        raise AssertionError(f"{what}: the frequencies of {n} draws are not the expected distribution "
                             f"(total variation {tv:.3f}, a correct sampler stays below {margin:.3f}); {table}"
                             + (f". {hint}" if hint else ""))
