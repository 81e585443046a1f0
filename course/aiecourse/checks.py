"""Helpers for the notebooks' test cells: comparisons whose failure messages say what is wrong.

They cannot be talked into passing by the notebook they test:

- every function and method they use is bound when this module is first imported (a grading kernel
  imports it before any cell runs), so a cell that later patches ``torch.allclose``, ``torch.equal``,
  ``numpy.testing`` or a ``torch.Tensor`` method does not change them;
- the module is read-only: ``aiecourse.checks.check_close = ...`` raises ``AttributeError``;
- a tensor that is not a plain ``torch.Tensor`` (a subclass that overrides ``__torch_function__``
  or ``__eq__``) is refused.

The grader puts back names a notebook re-binds (``check = lambda *a: None``) before every test; see
``grader/execution/guard.py``.
"""

from __future__ import annotations

import math
import os
import sys
import traceback
import types

import torch

__all__ = [
    "check",
    "calling",
    "check_close",
    "check_earlier",
    "check_equal",
    "check_frequencies",
    "check_raises",
    "check_shape",
    "frequency_margin",
    "hidden_seed",
    "tolerance",
]

DEFAULT_HIDDEN_SEED = 1234

# Bound once, here: later changes to torch, torch.Tensor or builtins do not reach the checks.
_Tensor = torch.Tensor
_TensorBase = torch._C.TensorBase
_PLAIN = (torch.Tensor, torch.nn.Parameter)
_isclose = torch.isclose
_equal = torch.equal
_bincount = torch.bincount
_argsort = torch.argsort
_long = torch.long
_bool_dtype = torch.bool
_log, _sqrt = math.log, math.sqrt
_t_bool = _TensorBase.__bool__
_t_detach = _TensorBase.detach
_t_double = _TensorBase.double
_t_cpu = _TensorBase.cpu
_t_isnan = _TensorBase.isnan
_t_all = _TensorBase.all
_t_sum = _TensorBase.sum
_t_abs = _TensorBase.abs
_t_max = _TensorBase.max
_t_item = _TensorBase.item
_t_numel = _TensorBase.numel
_t_nonzero = _TensorBase.nonzero
_t_tolist = _TensorBase.tolist
_t_nan_to_num = _TensorBase.nan_to_num
_t_eq = _TensorBase.eq
_t_ne = _TensorBase.ne
_t_or = _TensorBase.logical_or
_t_and = _TensorBase.logical_and
_t_not = _TensorBase.logical_not
_t_masked_fill = _TensorBase.masked_fill
_t_flatten = _TensorBase.flatten
_t_to = _TensorBase.to
_t_clamp = _TensorBase.clamp
_t_t_sqrt = _TensorBase.sqrt
_t_ge = _TensorBase.ge
_t_lt = _TensorBase.lt
_t_gt = _TensorBase.gt
_t_any = _TensorBase.any
_t_is_fp = _TensorBase.is_floating_point
_t_shape = _TensorBase.shape.__get__
_t_dtype = _TensorBase.dtype.__get__
_t_device = _TensorBase.device.__get__
_bool, _float, _int, _tuple, _type, _isinstance, _len, _repr = bool, float, int, tuple, type, isinstance, len, repr
_sorted, _set, _min = sorted, set, min
_AssertionError = AssertionError
_Exception = Exception
_walk_tb = traceback.walk_tb
_getline = __import__("linecache").getline
_dirname, _sep = os.path.dirname, os.sep
# Code in these folders is not the learner's: a failure's "where" skips it to find the learner's line.
_LIBRARY_DIRS = (_dirname(torch.__file__) + _sep, _dirname(__file__) + _sep, _dirname(os.__file__) + _sep)


def _read_seed() -> int:
    value = os.environ.get("AIECOURSE_HIDDEN_SEED", "")
    return int(value) if value.strip() else DEFAULT_HIDDEN_SEED


_HIDDEN_SEED = _read_seed()  # read once: a notebook that changes the environment later does not change it


def hidden_seed() -> int:
    """The seed hidden tests draw their cases from: ``AIECOURSE_HIDDEN_SEED`` when the kernel started
    (an instructor's secret when grading for credit), else a fixed public default."""
    return _HIDDEN_SEED


def tolerance(dtype: torch.dtype) -> tuple[float, float]:
    """(atol, rtol) suited to a dtype: what any correct arrangement of the arithmetic stays within."""
    if dtype in (torch.float16, torch.bfloat16):
        return 2e-2, 2e-2
    if dtype == torch.float64:
        return 1e-8, 1e-6
    return 1e-5, 1e-4


def _is_tensor(x) -> bool:
    return _isinstance(x, _TensorBase)


def _plain(actual, what: str) -> None:
    if not _isinstance(actual, _TensorBase):
        raise _AssertionError(f"{what}: expected a torch.Tensor, got {_type(actual).__name__}")
    if _type(actual) not in _PLAIN:
        raise _AssertionError(
            f"{what}: expected a plain torch.Tensor, got a {_type(actual).__name__} "
            "(return the tensor itself, not a subclass)"
        )


def _truth(condition) -> bool:
    if _is_tensor(condition):
        _plain(condition, "check")
        return _t_bool(condition)
    return _bool(condition)


def check(condition, message: str) -> None:
    """``assert`` that survives ``python -O`` and tells the learner what to look at."""
    if not _truth(condition):
        raise _AssertionError(message)


def check_shape(actual, expected_shape, what: str) -> None:
    _plain(actual, what)
    shape = _tuple(_t_shape(actual))
    if shape != _tuple(expected_shape):
        raise _AssertionError(f"{what}: expected shape {_tuple(expected_shape)}, got {shape}")


def _same_kind(actual, expected, what: str) -> None:
    check_shape(actual, _t_shape(expected), what)
    if _t_dtype(actual) != _t_dtype(expected):
        raise _AssertionError(
            f"{what}: expected dtype {_t_dtype(expected)}, got {_t_dtype(actual)} "
            "(keep the input's dtype: no hard-coded float32)"
        )
    if _t_device(actual) != _t_device(expected):
        raise _AssertionError(f"{what}: expected device {_t_device(expected)}, got {_t_device(actual)}")


def check_equal(actual, expected, what: str, hint: str = "") -> None:
    """``actual`` equals ``expected`` exactly: same shape, dtype, device and every value (integers, booleans)."""
    _same_kind(actual, expected, what)
    if _equal(actual, expected):
        return
    a, e = _t_cpu(_t_detach(actual)), _t_cpu(_t_detach(expected))
    bad = _t_tolist(_t_nonzero(_t_ne(a, e))[0])
    n_bad = _int(_t_item(_t_sum(_t_ne(a, e))))
    message = (
        f"{what}: {n_bad} of {_t_numel(a)} values differ; first at index {_tuple(bad)}: "
        f"got {_t_item(a[_tuple(bad)])}, expected {_t_item(e[_tuple(bad)])}"
    )
    raise _AssertionError(message + (f". {hint}" if hint else ""))


def check_close(
    actual, expected, what: str, atol: float | None = None, rtol: float | None = None, hint: str = ""
) -> None:
    """``actual`` matches ``expected`` in shape, dtype, device and values (within the dtype's tolerance)."""
    _plain(expected, f"{what} (the expected value)")
    _same_kind(actual, expected, what)
    d_atol, d_rtol = tolerance(_t_dtype(expected))
    atol, rtol = (d_atol if atol is None else atol), (d_rtol if rtol is None else rtol)
    a, e = _t_cpu(_t_double(_t_detach(actual))), _t_cpu(_t_double(_t_detach(expected)))
    same = _t_eq(a, e)
    if _t_bool(_t_all(_t_or(same, _t_and(_t_isnan(a), _t_isnan(e))))):
        return
    ok = _t_or(_isclose(a, e, atol=atol, rtol=rtol), same)  # (a == e) accepts matching infinities
    if _t_bool(_t_all(ok)):
        return
    not_ok = _t_not(ok)
    bad = _t_tolist(_t_nonzero(not_ok)[0])
    diff = _t_masked_fill(_t_abs(a - e), same, 0.0)
    worst = _float(_t_max(_t_nan_to_num(diff, float("inf"))))
    message = (
        f"{what}: {_int(_t_item(_t_sum(not_ok)))} of {_t_numel(ok)} values differ (largest difference {worst:.3g}); "
        f"first at index {_tuple(bad)}: got {_t_item(a[_tuple(bad)]):.6g}, expected {_t_item(e[_tuple(bad)]):.6g}"
    )
    raise _AssertionError(message + (f". {hint}" if hint else ""))


def check_raises(fn, exception: type[BaseException], what: str, match: str | None = None) -> None:
    """``fn()`` raises ``exception`` (whose message contains ``match``, if given)."""
    try:
        fn()
    except exception as e:
        if match is not None and match.lower() not in str(e).lower():
            raise _AssertionError(
                f"{what}: raised {exception.__name__} as it should, but its message "
                f"{str(e)!r} does not mention {match!r}"
            ) from None
        return
    except _Exception as e:  # noqa: BLE001 - the learner's code may raise anything
        raise _AssertionError(f"{what}: expected {exception.__name__}, got {_type(e).__name__}: {e}") from None
    raise _AssertionError(f"{what}: expected {exception.__name__}, but nothing was raised")


def check_earlier(user: str, earlier: dict) -> None:
    """Fail first, and say so, when an earlier exercise that ``user`` builds on does not work yet.

    ``earlier`` maps the name of each earlier function to a call that returns True when it works (a few
    inputs against a reference); a call that returns False or raises counts as not working. Without this,
    a bug in the earlier exercise would show up as a puzzling failure of ``user``'s test.
    """
    for name, works in earlier.items():
        try:
            ok = _truth(works())
        except _Exception:  # noqa: BLE001 (any error in the learner's code means it is not working yet)
            ok = False
        if not ok:
            raise _AssertionError(
                f"{user} uses your {name}, which fails its own test above: fix {name} first "
                f"(this test cannot judge {user} until then)"
            )


def _frame_place(frame, lineno: int) -> tuple[str, str]:
    code = frame.f_code
    line = _getline(code.co_filename, lineno).strip()
    return getattr(code, "co_qualname", code.co_name), (f"`{line}`" if line else f"line {lineno}")


class calling:  # a context manager, named like one: ``with calling("f(x)"):``
    """``with calling(what, hint):`` turns an error raised by the learner's code in the block into a
    failure that says what was called, what it raised, and where: the line of the learner's function it
    came from, and the function it was raised in if that is another one. An AssertionError (a check's own
    failure) passes as it is."""

    def __init__(self, what: str, hint: str = ""):
        self.what, self.hint = what, hint

    def __enter__(self):
        return self

    def __exit__(self, kind, error, tb):
        if kind is None or not _isinstance(error, _Exception) or _isinstance(error, _AssertionError):
            return False
        frames = [(f, n) for f, n in _walk_tb(tb)][1:]  # the first frame is the block's own
        mine = [(f, n) for f, n in frames if not f.f_code.co_filename.startswith(_LIBRARY_DIRS)]
        where = ""
        if mine:  # the learner's function the block called, and the line in it the error came from
            name, line = _frame_place(*mine[0])
            where = f" in your {name}, at {line}"
            if frames[-1][0] is not mine[0][0]:
                inner, _ = _frame_place(*frames[-1])
                where += f", inside {inner}"
        text = f"{error}"
        message = f"{self.what} failed{where}: {_type(error).__name__}" + (f": {text}" if text else "")
        raise _AssertionError(message + (f". {self.hint}" if self.hint else "")) from None


def frequency_margin(probs, n: int, failure_prob: float = 1e-9) -> float:
    """How far (in total variation) the frequencies of ``n`` correct draws from ``probs`` may stray.

    For ``n`` independent draws from ``probs`` with frequencies ``f``, TV = 1/2 sum |f - p| has
    E[TV] <= 1/2 sum sqrt(p (1 - p) / n) (Jensen), and changing one draw moves TV by at most 1/n, so by
    McDiarmid's inequality P(TV > E[TV] + t) <= exp(-2 n t^2). With t chosen so that this is
    ``failure_prob``, a correct sampler exceeds the margin with probability below ``failure_prob``,
    whatever the seed and however it arranges its arithmetic.
    """
    p = _t_cpu(_t_double(_t_detach(probs)))
    expected = 0.5 * _float(_t_sum(_t_t_sqrt(_t_clamp(p * (1 - p) / n, min=0))))
    return expected + _sqrt(_log(1 / failure_prob) / (2 * n))


def check_frequencies(draws, probs, what: str, failure_prob: float = 1e-9, hint: str = "") -> None:
    """``draws`` (integer tensor, any shape: n independent draws) follow ``probs`` (V,).

    Fails when a token of probability 0 was drawn, or when the frequencies stray from ``probs`` by more
    than ``frequency_margin`` in total variation: a correct sampler fails with probability below
    ``failure_prob`` (1e-9 by default), so the check cannot flake, and a sampler whose distribution is
    off by a few percent fails it every time.
    """
    _plain(draws, f"{what} (the drawn token ids)")
    if _t_is_fp(draws) or _t_dtype(draws) == _bool_dtype:
        raise _AssertionError(f"{what}: token ids must be integers (torch.long), got {_t_dtype(draws)}")
    p = _t_cpu(_t_double(_t_detach(probs)))
    V = _t_numel(p)
    d = _t_to(_t_cpu(_t_flatten(_t_detach(draws))), _long)
    n = _t_numel(d)
    if n == 0:
        raise _AssertionError(f"{what}: no draws")
    outside = _t_or(_t_lt(d, 0), _t_ge(d, V))
    if _t_bool(_t_any(outside)):
        ids = _sorted(_set(_t_tolist(d[outside])))[:5]
        raise _AssertionError(f"{what}: drew token ids outside 0..{V - 1}: {ids}")
    counts = _t_double(_bincount(d, minlength=V))
    freq = counts / n
    impossible = _t_tolist(_t_flatten(_t_nonzero(_t_and(_t_eq(p, 0), _t_gt(counts, 0)))))
    if impossible:
        i = impossible[0]
        raise _AssertionError(
            f"{what}: token {i} has probability 0 (it should have been filtered out or is impossible) "
            f"but was drawn {_int(_t_item(counts[i]))} times in {n} draws" + (f". {hint}" if hint else "")
        )
    gaps = _t_abs(freq - p)
    tv = 0.5 * _float(_t_sum(gaps))
    margin = frequency_margin(p, n, failure_prob)
    if tv > margin:
        worst = _t_tolist(_argsort(gaps, descending=True))[: _min(4, V)]
        table = ", ".join(f"token {i}: expected {_t_item(p[i]):.3f}, drawn {_t_item(freq[i]):.3f}" for i in worst)
        raise _AssertionError(
            f"{what}: the frequencies of {n} draws are not the expected distribution "
            f"(total variation {tv:.3f}, a correct sampler stays below {margin:.3f}); {table}"
            + (f". {hint}" if hint else "")
        )


class _ReadOnlyModule(types.ModuleType):
    """The checks cannot be replaced from a notebook: ``aiecourse.checks.check_close = ...`` raises."""

    def __setattr__(self, name, value):
        raise AttributeError(f"aiecourse.checks is read-only: the tests rely on it (tried to set {name!r})")

    def __delattr__(self, name):
        raise AttributeError(f"aiecourse.checks is read-only: the tests rely on it (tried to delete {name!r})")


sys.modules[__name__].__class__ = _ReadOnlyModule
