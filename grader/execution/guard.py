"""The grader's guard inside a grading kernel: tests run on the libraries as they were, not as a submission left them.

Loaded by ``grader.execution.kernel`` when a grading kernel starts, before any cell of the submission runs. It
imports what the tests rely on (torch, numpy, aiecourse, ...) and takes a snapshot of every function,
class and module those packages expose, of the classes they define, of a few builtin modules, of
IPython's execution machinery (input and AST transformers, event callbacks, the shell's methods) and
of ``sys``'s trace and display hooks. The grader (``grader.execution.execute.GuardedExecute``) then calls it
through ``user_expressions`` (plain ``eval``: no input transformer or event of the shell runs):

- ``before`` a graded cell: put back everything the submission changed (``torch.allclose = ...``,
  ``np.testing.assert_allclose = print``, ``aiecourse.checks.check_close = ...``, an input
  transformer that blanks cells) and re-bind the names that locked (given) cells defined, such as
  ``check`` and ``check_close``, if a cell of the submission re-defined them;
- ``after`` a graded cell: report what changed while the test ran (a learner's function that patches
  an oracle when called); the grader fails that test;
- ``mark`` / ``given`` around a locked cell: learn the names it defines;
- the hidden tests' seed: ``before`` sets it (``aiecourse.checks.hidden_seed()``) for the graded
  cell about to run, ``after`` puts the public default back. It is never in the kernel's environment.

Every answer carries an HMAC of the grader's nonce with a key that only this kernel received, so
the grader fails closed (zero for the test) when the guard does not answer.

What this does not stop, by design of an in-process check: code written to defeat the guard itself
(reaching into its closure or the interpreter with ``gc``, ``ctypes``, frames). Such code is
deliberate and visible; ``grader.intake.scan_source`` flags it for the instructor.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import importlib
import json
import pkgutil
import sys
import types
import warnings

GUARD_NAME = "__aiecourse_guard__"
KEY_ENV = "AIECOURSE_GUARD_KEY"
PACKAGES = ("torch", "numpy", "aiecourse")
MODULES = (
    "builtins",
    "math",
    "cmath",
    "random",
    "operator",
    "functools",
    "itertools",
    "copy",
    "contextlib",
    "numbers",
    "collections",
    "statistics",
    "warnings",
)
# Submodules that their packages load lazily (``np.testing`` on first use): imported before the snapshot.
SUBMODULES = (
    "numpy.testing",
    "numpy.linalg",
    "numpy.random",
    "torch.testing",
    "torch.nn.functional",
    "torch.nn.init",
    "torch.linalg",
    "torch.special",
    "torch.fft",
    "torch.distributions",
)
_TRUSTED_KINDS = (
    types.ModuleType,
    property,
    staticmethod,
    classmethod,
    types.GetSetDescriptorType,
    types.MemberDescriptorType,
)


def _trusted_kind(value) -> bool:
    """Values the guard keeps: code and namespaces (functions, classes, modules, descriptors), not data."""
    try:
        return callable(value) or isinstance(value, _TRUSTED_KINDS)
    except Exception:  # noqa: BLE001 - an object whose __class__ lies
        return False


def _public(name: str) -> bool:
    return not any(part.startswith("_") for part in name.split("."))


class _Owner:
    """One namespace under watch: a module, a class or the shell; ``additions`` also watches new keys."""

    __slots__ = ("obj", "label", "snap", "additions")

    def __init__(self, obj, label: str, additions: bool):
        self.obj, self.label, self.additions = obj, label, additions
        self.snap = {k: v for k, v in vars(obj).items() if _trusted_kind(v)}

    def _set(self, key, value) -> None:
        if isinstance(self.obj, type):
            type.__setattr__(self.obj, key, value)
        else:
            vars(self.obj)[key] = value

    def _del(self, key) -> None:
        if isinstance(self.obj, type):
            type.__delattr__(self.obj, key)
        else:
            del vars(self.obj)[key]

    def diff(self, restore: bool) -> list[str]:
        changed = []
        current = vars(self.obj)
        missing = object()
        for key, value in self.snap.items():
            if current.get(key, missing) is not value:
                changed.append(f"{self.label}.{key}")
                if restore:
                    try:
                        self._set(key, value)
                    except (TypeError, AttributeError):
                        pass
        if self.additions:
            for key in [k for k in list(current) if k not in self.snap]:
                if _trusted_kind(current[key]):
                    changed.append(f"{self.label}.{key}")
                    if restore:
                        try:
                            self._del(key)
                        except (TypeError, AttributeError, KeyError):
                            pass
        return changed


def _sys_hooks() -> dict:
    """The interpreter-wide hooks a submission could swap: tracing, display, exceptions, the streams."""
    return {
        "settrace": sys.gettrace(),
        "setprofile": sys.getprofile(),
        "displayhook": sys.displayhook,
        "excepthook": sys.excepthook,
        "stdout": sys.stdout,
        "stderr": sys.stderr,
    }


def preload() -> None:
    """Import everything the snapshot covers: the packages, every submodule of the course library, the
    builtin modules and the lazily loaded submodules (imported again, this costs nothing)."""
    for pkg in PACKAGES:
        try:
            mod = importlib.import_module(pkg)
        except ImportError:
            continue
        if pkg == "aiecourse":  # every submodule of the course library, loaded now
            for info in pkgutil.iter_modules(mod.__path__, prefix="aiecourse."):
                try:
                    importlib.import_module(info.name)
                except Exception:  # noqa: BLE001
                    pass
    for name in MODULES + SUBMODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            pass


class Guard:
    def __init__(self, shell, key: bytes):
        self.shell = shell
        self._key = key
        self._given: dict[str, object] = {}
        self._marked: dict[str, int] = {}
        self._owners: list[_Owner] = []
        self._lists: list[tuple[str, list, list]] = []
        self._sys = {}
        self._snapshot()

    # -- snapshot ---------------------------------------------------------------------------------
    def _snapshot(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            preload()
            try:  # matplotlib's inline backend registers IPython hooks when first used: before the snapshot
                plt = importlib.import_module("matplotlib.pyplot")
                plt.close(plt.figure())
            except Exception:  # noqa: BLE001
                pass
            modules = [
                (n, m)
                for n, m in list(sys.modules.items())
                if isinstance(m, types.ModuleType) and (n in MODULES or (n.split(".")[0] in PACKAGES and _public(n)))
            ]
            classes: dict[int, tuple[str, type]] = {}
            for name, mod in modules:
                owner = _Owner(mod, name, additions=False)
                self._owners.append(owner)
                for attr, value in owner.snap.items():
                    if isinstance(value, type) and id(value) not in classes:
                        defined_in = value.__dict__.get("__module__")
                        if isinstance(defined_in, str) and defined_in.split(".")[0] in PACKAGES:
                            qualname = value.__dict__.get("__qualname__", attr)
                            classes[id(value)] = (f"{defined_in}.{qualname}", value)
            for label, cls in classes.values():
                self._owners.append(_Owner(cls, label, additions=True))
            shell = self.shell
            if shell is not None:
                self._owners.append(_Owner(shell, "get_ipython()", additions=True))
                seen = set()
                for obj in (shell, shell.displayhook, shell.display_pub, shell.events):
                    for cls in type(obj).__mro__:
                        if cls is not object and id(cls) not in seen:
                            seen.add(id(cls))
                            self._owners.append(_Owner(cls, f"{cls.__module__}.{cls.__qualname__}", additions=True))
                for label in ("input_transformers_cleanup", "input_transformers_post", "ast_transformers"):
                    lst = getattr(shell, label, None)
                    if isinstance(lst, list):
                        self._lists.append((f"get_ipython().{label}", lst, list(lst)))
                manager = getattr(shell, "input_transformer_manager", None)
                for label in ("cleanup_transforms", "line_transforms", "token_transformers"):
                    lst = getattr(manager, label, None)
                    if isinstance(lst, list):
                        self._lists.append((f"input_transformer_manager.{label}", lst, list(lst)))
                for event, lst in shell.events.callbacks.items():
                    self._lists.append((f"get_ipython().events[{event!r}]", lst, list(lst)))
        self._sys = _sys_hooks()

    # -- checks -----------------------------------------------------------------------------------
    def _state(self, restore: bool, audit_streams: bool) -> list[str]:
        changed: list[str] = []
        for owner in self._owners:
            changed += owner.diff(restore)
        for label, lst, snap in self._lists:
            if len(lst) != len(snap) or any(a is not b for a, b in zip(lst, snap)):
                changed.append(label)
                if restore:
                    lst[:] = snap
        now = _sys_hooks()
        for name, value in self._sys.items():
            if now[name] is not value:
                if audit_streams or name not in ("stdout", "stderr"):
                    changed.append(f"sys.{name}")
                if restore:
                    if name in ("settrace", "setprofile"):
                        getattr(sys, name)(value)
                    else:
                        setattr(sys, name, value)
        user_ns = self.shell.user_ns if self.shell is not None else {}
        for name, value in self._given.items():
            if user_ns.get(name, None) is not value:
                changed.append(name)
                if restore:
                    user_ns[name] = value
        return changed

    def _answer(self, nonce: str, action: str, **payload) -> str:
        body = json.dumps({"nonce": nonce, "action": action, **payload}, sort_keys=True)
        mac = hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()
        return json.dumps({"body": body, "mac": mac})

    def __call__(self, action: str, nonce: str, seed: int | None = None) -> str:
        user_ns = self.shell.user_ns if self.shell is not None else {}
        if action == "before":
            changed = self._state(restore=True, audit_streams=False)
            _set_seed(seed)
            return self._answer(nonce, action, changed=changed)
        if action == "after":
            _set_seed(None)
            return self._answer(nonce, action, changed=self._state(restore=True, audit_streams=False))
        if action == "mark":
            self._marked = {k: id(v) for k, v in user_ns.items()}
            return self._answer(nonce, action)
        if action == "given":
            names = []
            for k, v in list(user_ns.items()):
                if not k.startswith("_") and self._marked.get(k) != id(v) and _trusted_kind(v):
                    self._given[k] = v
                    names.append(k)
            return self._answer(nonce, action, names=sorted(names))
        return self._answer(nonce, action)


def _set_seed(seed: int | None) -> None:
    """The seed ``aiecourse.checks.hidden_seed()`` returns: the grader's for the graded cell about to
    run, the public default otherwise (so no other cell of the submission can read the secret one)."""
    checks = sys.modules.get("aiecourse.checks")
    if checks is not None:
        vars(checks)["_HIDDEN_SEED"] = checks.DEFAULT_HIDDEN_SEED if seed is None else int(seed)  # read-only module


def install(shell, key: str) -> Guard:
    guard = Guard(shell, key.encode())
    builtins.__dict__[GUARD_NAME] = guard
    return guard


def verify(answer: str, key: str, nonce: str, action: str) -> dict | None:
    """In the grader: the guard's answer if it is authentic and for this nonce and action, else None."""
    try:
        outer = json.loads(answer)
        body, mac = outer["body"], outer["mac"]
        expected = hmac.new(key.encode(), body.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(mac, expected):
            return None
        data = json.loads(body)
    except (ValueError, KeyError, TypeError):
        return None
    if data.get("nonce") != nonce or data.get("action") != action:
        return None
    return data
