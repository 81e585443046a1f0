"""The Linux calls a forked kernel needs to enter a sandbox and give up its privileges (``grader.execution.zygote``).

Python 3.11 has no ``os.setns``; these go through libc with ``ctypes``. Each raises ``OSError`` with the
call's name when the kernel refuses.
"""

from __future__ import annotations

import ctypes
import fcntl
import os

_libc = ctypes.CDLL(None, use_errno=True)

# <linux/sched.h>: the namespaces, in the order a process must join them (user first: it grants the
# capabilities the others need; pid last: it applies to the children of the caller only).
CLONE = {
    "user": 0x10000000,
    "mnt": 0x00020000,
    "net": 0x40000000,
    "ipc": 0x08000000,
    "uts": 0x04000000,
    "cgroup": 0x02000000,
    "pid": 0x20000000,
}
NAMES = tuple(CLONE)
_NS_GET_USERNS = 0xB701  # <linux/nsfs.h>: _IO(0xb7, 0x1), the user namespace that owns a namespace
_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE, _PR_CAPBSET_DROP = 1, 4, 24
_PR_SET_NO_NEW_PRIVS, _PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 38, 47, 4
_CAP_VERSION_3 = 0x20080522


def _check(result: int, call: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{call}: {os.strerror(errno)}")


def prctl(option: int, arg: int = 0, arg3: int = 0) -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(arg), ctypes.c_ulong(arg3), 0, 0), f"prctl({option})")


def die_with_parent(signal_number: int) -> None:
    """Get ``signal_number`` when the parent process ends."""
    prctl(_PR_SET_PDEATHSIG, signal_number)


def set_dumpable(dumpable: bool) -> None:
    """A process that is not dumpable cannot be traced, nor its memory read, by another of the same user."""
    prctl(_PR_SET_DUMPABLE, int(dumpable))


def inode(ns_fd: int) -> int:
    return os.fstat(ns_fd).st_ino


def own(name: str) -> int:
    """The inode of this process's namespace ``name``."""
    return os.stat(f"/proc/self/ns/{name}").st_ino


def owner(ns_fd: int) -> int:
    """A new descriptor of the user namespace that owns the namespace ``ns_fd``."""
    fd = fcntl.ioctl(ns_fd, _NS_GET_USERNS)
    if fd < 0:
        raise OSError(f"ioctl(NS_GET_USERNS) returned {fd}")
    return fd


def setns(ns_fd: int, name: str) -> None:
    _check(_libc.setns(ns_fd, CLONE[name]), f"setns({name})")


def enter(ns_fds: dict[str, int]) -> None:
    """Join the namespaces ``ns_fds`` (name: descriptor of ``/proc/PID/ns/<name>``) of a sandbox.

    The sandbox's user namespace may not be the one that owns its other namespaces: unprivileged
    bwrap sets up in one user namespace and runs its command in a second one inside it, where the
    sandbox's uid is mapped. So: join the owner (its capabilities let us join the rest), then the
    rest, then the command's own user namespace. A root grader's sandbox has no user namespace of
    its own; the user steps are then skipped. The caller must be single-threaded (a fresh fork)."""
    mine = {name: own(name) for name in NAMES}  # before the mount namespace changes what /proc/self is
    owner_fd = owner(ns_fds["mnt"])
    try:
        user = mine["user"]
        if inode(owner_fd) != user:
            setns(owner_fd, "user")
            user = inode(owner_fd)
        for name in NAMES[1:]:
            if name in ns_fds and inode(ns_fds[name]) != mine[name]:
                setns(ns_fds[name], name)
        if inode(ns_fds["user"]) != user:
            setns(ns_fds["user"], "user")
    finally:
        os.close(owner_fd)


def _last_capability() -> int:
    with open("/proc/sys/kernel/cap_last_cap") as f:
        return int(f.read())


def drop_capability_bounds() -> None:
    """No program this process runs can ever gain a capability or a uid: an empty bounding set, no ambient
    capabilities, and ``no_new_privs`` (set-uid files and file capabilities do nothing). What bwrap
    does for the command it runs."""
    for cap in range(_last_capability() + 1):
        prctl(_PR_CAPBSET_DROP, cap)
    prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL)
    prctl(_PR_SET_NO_NEW_PRIVS, 1)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_capabilities() -> None:
    """Give up every capability this process holds (effective, permitted, inheritable)."""
    header = _CapHeader(_CAP_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")


def effective_capabilities() -> int:
    """This process's effective capabilities, as the bit mask ``/proc/self/status`` shows."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    raise OSError("no CapEff in /proc/self/status")
