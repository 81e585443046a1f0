"""The resource limits of a grading kernel, and how its launcher gives up root.

Applied by ``grader.execution.kernel`` to its own process before ipykernel starts, so everything the
submission starts inherits them:

- ``RLIMIT_AS`` (``memory``): the address space. An allocation past it fails in its cell
  (``MemoryError``, or PyTorch's "can't allocate memory") instead of waking the machine's
  out-of-memory killer, which could take another student's kernel with it.
- ``RLIMIT_FSIZE`` (``file_size``): no file the submission writes grows past it.
- ``RLIMIT_NPROC`` (``processes``): processes *and threads* of the kernel's user. This is what stops
  a fork bomb. Linux counts it per user and per user namespace, so each kernel needs a user of its
  own: a root grader gives every kernel its own host uid (``sandbox_uid``); a grader that is not
  root runs every kernel in a user namespace of its own, where uid 65534 is counted apart from
  every other kernel (see docs/sandbox.md).
- ``RLIMIT_CORE`` = 0: a crashing kernel leaves no core dump.
"""

from __future__ import annotations

import itertools
import os
import resource
from dataclasses import dataclass

GIB = 1024**3
# Host uids of sandboxed kernels when the grader is root: far above any real account (and below 2**31).
UID_BASE = 2_000_000


@dataclass
class Limits:
    memory: int = 0  # bytes of address space; 0 = no limit
    file_size: int = 0  # bytes per file; 0 = no limit
    processes: int = 0  # processes + threads of the kernel's user; 0 = no limit
    uid: int | None = None  # drop to this uid (and gid) before the kernel starts

    def args(self) -> list[str]:
        """The launcher's options for these limits."""
        out = []
        for name in ("memory", "file_size", "processes", "uid"):
            value = getattr(self, name)
            if value:
                out += [f"--{name.replace('_', '-')}", str(value)]
        return out

    @classmethod
    def parse(cls, argv: list[str]) -> Limits:
        """The inverse of ``args``."""
        options = dict(zip(argv[::2], argv[1::2]))
        uid = options.get("--uid")
        return cls(
            memory=int(options.get("--memory", 0)),
            file_size=int(options.get("--file-size", 0)),
            processes=int(options.get("--processes", 0)),
            uid=int(uid) if uid else None,
        )


_started = itertools.count()


def sandbox_uid() -> int:
    """A host uid for the next kernel this process starts, unique among the kernels alive now: the
    process id (unique while the process runs) and a count of the kernels it started. The count
    matters: the processes of a kernel that was just killed (a fork bomb's hundreds) take a moment
    to go, and must not count against the next kernel's ``RLIMIT_NPROC``."""
    return UID_BASE + (os.getpid() << 8) + next(_started) % 256


def _limit(which: int, value: int) -> None:
    soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value))


def drop_privileges(uid: int) -> None:
    """Become ``uid`` (group ``uid``, no supplementary groups), for good: every capability goes with root."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    if os.getuid() == 0 or os.geteuid() == 0:
        raise SystemExit("the grading kernel could not give up root")


def apply(limits: Limits) -> None:
    """Set the limits on this process (inherited by its children), then drop to ``limits.uid``."""
    if limits.memory > 0:
        _limit(resource.RLIMIT_AS, limits.memory)
    if limits.file_size > 0:
        _limit(resource.RLIMIT_FSIZE, limits.file_size)
    _limit(resource.RLIMIT_CORE, 0)
    if limits.uid is not None:
        drop_privileges(limits.uid)
    if limits.processes > 0:  # after the uid change: root is exempt from RLIMIT_NPROC
        _limit(resource.RLIMIT_NPROC, limits.processes)
