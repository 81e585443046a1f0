"""Kernels forked from a process that has already imported what every grading kernel imports.

A fresh grading kernel spends about 3 s of CPU before the submission's first cell: Python, ipykernel,
torch, numpy, matplotlib (its font list), the course library and the modules the guard watches. A
zygote is one process per grading process (``GuardedExecute.fork_kernels``) that imports all of that
once, then forks each kernel from that state straight into the kernel's own sandbox:

1. ``SandboxKernelManager`` builds the sandbox exactly as for a fresh kernel (``grader.execution.bubblewrap``),
   but the command bwrap runs in it is ``holder.py``, not the launcher, and it asks the zygote first
   to listen on a socket in the kernel's socket folder (``Zygote.spawn``).
2. The zygote forks a child, the *entrant*. The holder connects to it and sends the descriptors of
   the sandbox's namespaces and of its standard streams. The entrant joins the namespaces (user,
   mount, network, IPC, UTS, cgroup; PID for its children: ``grader.execution.namespaces.enter``) and
   forks the kernel.
3. The kernel is then a process of the sandbox: its PID namespace (bwrap's init is pid 1, the holder
   pid 2), its filesystem (the working folder is the sandbox's tmpfs), no network. Before anything
   of the submission runs it starts a session of its own, takes the holder's standard streams and
   closes every other descriptor, drops the capability bounding set and sets ``no_new_privs``,
   takes the sandbox's environment and working folder, and then does what the launcher does
   (``grader.execution.kernel``: the guard's key, the limits, root given up, ipykernel, the guard).
   It checks that it holds no capability left.
4. The entrant waits for the kernel and sends its exit code to the holder, which exits with it; so
   bwrap's exit code is the kernel's, as for a fresh kernel, and the kernel dies with its sandbox.

What the submission cannot reach: the zygote and the entrant are outside its PID namespace (no
signal, no ``/proc`` entry) and not dumpable (no ``ptrace``, no ``/proc/PID/mem``); the zygote holds
no secret (its environment is the kernel's, the guard's key travels in the kernel's key file as for
a fresh kernel); nothing a kernel does changes the zygote, which forks the next kernel from the state
it had before the first. What forked kernels share that fresh ones would not: the zygote's random
state of numpy (Python's ``random`` reseeds itself on fork) and its string-hash seed.

The grading process's side (start it, probe it, ask it for kernels) is ``grader.execution.zygote_client``;
if the zygote cannot start or its probe kernel fails, kernels start fresh, with a warning.
"""

from __future__ import annotations

import array
import json
import os
import signal
import socket
import sys
import time
import traceback

from . import namespaces

_AFTER_STDIO = 3  # the first descriptor a forked kernel closes
_ENTRY_TIMEOUT = 60  # seconds the entrant waits for the holder to connect


# -- the zygote process -----------------------------------------------------------------------------
def _preload() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import ipykernel.ipkernel  # noqa: F401
        import ipykernel.kernelapp  # noqa: F401
        import matplotlib.pyplot  # noqa: F401  (its font list: built once, here)
        import zmq.utils.garbage  # noqa: F401

        from . import guard, kernel  # noqa: F401

        guard.preload()


def _receive(conn: socket.socket, count: int) -> list[int]:
    size = socket.CMSG_LEN(count * array.array("i").itemsize)
    _, ancillary, _, _ = conn.recvmsg(16, size)
    fds = array.array("i")
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
    if len(fds) != count:
        for fd in fds:
            os.close(fd)
        raise OSError(f"the sandbox's holder sent {len(fds)} descriptors, not {count}")
    return list(fds)


def _become_kernel(request: dict, stdio: list[int]) -> int:
    """In the forked kernel, inside the sandbox: give up what the zygote had, then run the launcher's steps."""
    os.setsid()
    for target, fd in enumerate(stdio):
        os.dup2(fd, target)
    os.closerange(_AFTER_STDIO, os.sysconf("SC_OPEN_MAX"))
    namespaces.drop_capability_bounds()
    if os.geteuid() != 0:  # an unprivileged grader's sandbox: nothing is left to do with a capability
        namespaces.drop_capabilities()
    namespaces.set_dumpable(True)  # as a fresh process: it may read its own /proc entries
    for sig in (signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.environ.clear()
    os.environ.update(request["env"], PWD=request["cwd"])  # bwrap's --chdir sets PWD
    os.chdir(request["cwd"])
    sys.path[0] = request["cwd"]
    sys.path_importer_cache.clear()
    import importlib

    importlib.invalidate_caches()
    if request.get("probe"):  # the zygote's self-test: in the sandbox's filesystem, and unprivileged
        return 0 if not os.path.exists(request["probe"]) and os.getpid() > 1 else 3
    from . import kernel

    key, kernel_args = kernel.prepare(request["argv"])
    if namespaces.effective_capabilities():
        raise SystemExit("the forked grading kernel kept a capability; it does not start")
    kernel.start(key, kernel_args)
    return 0


def _entrant(listener: socket.socket, request: dict) -> None:
    """The zygote's child for one kernel: wait for the sandbox, join it, fork the kernel, report its exit."""
    code, conn = 125, None
    try:
        namespaces.die_with_parent(signal.SIGKILL)
        listener.settimeout(_ENTRY_TIMEOUT)
        conn, _ = listener.accept()
        listener.close()
        os.unlink(request["socket"])
        fds = _receive(conn, len(namespaces.NAMES) + 3)
        ns_fds, stdio = dict(zip(namespaces.NAMES, fds)), fds[len(namespaces.NAMES) :]
        namespaces.enter(ns_fds)
        for fd in ns_fds.values():
            os.close(fd)
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                status = _become_kernel(request, stdio)
            except SystemExit as e:
                status = e.code if isinstance(e.code, int) else 1
                if not isinstance(e.code, int):
                    print(e.code, file=sys.stderr)
            except BaseException:  # noqa: BLE001
                traceback.print_exc()
            finally:
                for stream in (sys.stdout, sys.stderr):
                    try:
                        stream.flush()
                    except Exception:  # noqa: BLE001
                        pass
                os._exit(status)
        for fd in stdio:
            os.close(fd)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        code = 128 - code if code < 0 else code  # killed by signal N: 128 + N, as bwrap reports it
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
    finally:
        try:
            if conn is not None:
                conn.sendall(str(code).encode())
                conn.close()
        finally:
            os._exit(0)


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def serve() -> None:
    """The zygote's main loop: one JSON request a line on stdin, one JSON answer a line on stdout. It ends
    when stdin does: when the grading process closes it or dies. (Not by a parent-death signal: that
    comes when the *thread* that started the zygote ends.) Its entrants end with it."""
    namespaces.set_dumpable(False)
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # what the imports print must not reach the protocol
    start = time.monotonic()
    _preload()
    protocol.write(json.dumps({"ready": True, "seconds": round(time.monotonic() - start, 2)}) + "\n")
    for line in sys.stdin:
        _reap()
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(request["socket"])
            listener.listen(1)
            if os.fork() == 0:
                _entrant(listener, request)
            listener.close()
            answer = {"ok": True}
        except Exception as e:  # noqa: BLE001
            answer = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        protocol.write(json.dumps(answer) + "\n")


if __name__ == "__main__":
    serve()
