"""The sandbox of a grading kernel: the ``bwrap`` (bubblewrap) command line that contains it.

A kernel started through ``command`` gets:

- **its own PID namespace**: bwrap's init is its pid 1; when the kernel exits, is shut down, killed
  or timed out, the namespace ends and the kernel takes every process it started with it, detached
  (``setsid``, double ``fork``) or not. ``--die-with-parent`` ends it if the grader dies.
- **its own network namespace**, with no interface up: no network at all, not even the host's
  loopback. The kernel talks to the grader over ZeroMQ ``ipc`` sockets (Unix sockets) in
  ``socket_dir``, the one host folder it may write.
- **a filesystem of its own**: read-only ``/usr`` and the system libraries, the Python environment
  (``sys.prefix``, ``sys.base_prefix``), the course library and the grader's package (their real
  folders, from the imported modules), and the chapter's released files; a private, size-limited
  ``/tmp`` and working folder (``SCRATCH``, tmpfs). Nothing else of the host exists inside: not
  ``solutions/``, the gradebook, other submissions, the instructor's home or ``/etc``.
- **an unprivileged user**. A root grader runs bwrap privileged (no user namespace) and the
  launcher drops to a host uid of the kernel's own (``limits.sandbox_uid``) before any cell runs;
  a grader that is not root runs it in a user namespace as uid 65534. Either way
  ``RLIMIT_NPROC`` counts this kernel's processes apart from every other kernel's.

Nothing here can start a kernel by itself: ``grader.execution.execute.SandboxKernelManager`` puts
``command``'s prefix in front of the launcher's command line.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

SCRATCH = "/home/learner/work"  # the kernel's working folder inside the sandbox
INSTALL = "apt-get install -y bubblewrap"
_SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64")


@dataclass
class Sandbox:
    socket_dir: Path  # host folder bound read-write at the same path: connection file and sockets
    files: list[Path] = field(default_factory=list)  # bound read-only into SCRATCH (the chapter's files)
    scratch_bytes: int = 256 * 1024**2
    tmp_bytes: int = 256 * 1024**2


def package_dirs() -> list[Path]:
    """The real folders of the packages a kernel imports from outside the environment (the course
    library and the grader's kernel side), as this process imported them."""
    import aiecourse
    import grader

    return [Path(m.__file__).resolve().parent for m in (grader, aiecourse)]


def python_path() -> str:
    """``PYTHONPATH`` inside the sandbox: the folders holding ``package_dirs`` (nothing else of them is bound)."""
    return os.pathsep.join(dict.fromkeys(str(p.parent) for p in package_dirs()))


def readable_roots() -> list[Path]:
    """Host folders bound read-only at the same path."""
    roots = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()]
    return list(dict.fromkeys(roots + package_dirs()))


def _parents(paths: list[Path]) -> list[str]:
    out: list[str] = []
    for path in paths:
        for parent in reversed(path.parents):
            if str(parent) != "/" and str(parent) not in out:
                out.append(str(parent))
    return out


def privileged() -> bool:
    """A root grader runs bwrap without a user namespace; the launcher then drops root itself."""
    return os.geteuid() == 0


def command(sandbox: Sandbox) -> list[str]:
    """``bwrap`` and its options, up to and including ``--``: the kernel's command line follows."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise FileNotFoundError(f"bubblewrap (bwrap) is not installed: {INSTALL}")
    args = [bwrap, "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net", "--unshare-ipc"]
    args += ["--unshare-uts", "--unshare-cgroup-try", "--hostname", "grader"]
    if not privileged():
        args += ["--unshare-user", "--uid", "65534", "--gid", "65534"]
    for path in _SYSTEM:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    args += ["--ro-bind-try", "/etc/fonts", "/etc/fonts"]  # matplotlib's fonts; nothing else of /etc
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--perms", "1777", "--size", str(sandbox.tmp_bytes), "--tmpfs", "/tmp"]
    roots = [p for p in readable_roots() if p.exists()]
    # Folders bwrap creates on the way to a bind are 0700 in privileged mode: make them enterable.
    for folder in _parents([*roots, sandbox.socket_dir, Path(SCRATCH)]):
        if folder != "/tmp":
            args += ["--perms", "0755", "--dir", folder]
    for root in roots:
        args += ["--ro-bind", str(root), str(root)]
    args += ["--bind", str(sandbox.socket_dir), str(sandbox.socket_dir)]
    args += ["--perms", "0777", "--size", str(sandbox.scratch_bytes), "--tmpfs", SCRATCH]
    for path in sandbox.files:
        args += ["--ro-bind", str(path), f"{SCRATCH}/{path.name}"]
    args += ["--chdir", SCRATCH, "--"]
    return args


@functools.lru_cache(maxsize=1)
def problem() -> str | None:
    """Why a sandbox cannot start on this machine (with how to fix it), or None when it can."""
    if shutil.which("bwrap") is None:
        return f"bubblewrap (bwrap) is not installed; install it ({INSTALL})"
    import tempfile

    with tempfile.TemporaryDirectory(prefix="aiec-probe-") as tmp:
        cmd = [*command(Sandbox(Path(tmp))), sys.executable, "-c", "import os; print(os.getpid())"]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"bubblewrap could not start a sandbox ({e})"
    if proc.returncode != 0 or proc.stdout.strip() != "2":
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        hint = (
            "user namespaces are probably disabled (sysctl kernel.unprivileged_userns_clone=1, "
            "or user.max_user_namespaces > 0), or run the grader as root"
            if not privileged()
            else "is this a container without the right to create namespaces?"
        )
        return f"bubblewrap could not start a sandbox ({detail[-1] if detail else proc.returncode}): {hint}"
    return None
