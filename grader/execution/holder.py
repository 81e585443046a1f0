"""The first command inside a forked kernel's sandbox: it hands the sandbox over, then waits for the kernel.

    python -I -S holder.py SOCKET

Run by bwrap in place of the launcher when the kernel comes from a zygote (``grader.execution.zygote``).
It connects to ``SOCKET`` (in the kernel's socket folder, where the zygote's child listens), sends the
descriptors of its namespaces (``/proc/self/ns/*``) and of its standard streams, then blocks until the
child sends the kernel's exit code, and exits with it: bwrap's exit code, which the kernel manager
reads, is then the kernel's own. When this process ends, the sandbox ends, and the kernel with it.

Standard library only, and ``-S``: it must start in milliseconds.
"""

import array
import os
import socket
import sys

NAMESPACES = ("user", "mnt", "net", "ipc", "uts", "cgroup", "pid")  # grader.execution.namespaces.NAMES


def main(path: str) -> int:
    fds = [os.open(f"/proc/self/ns/{name}", os.O_RDONLY) for name in NAMESPACES] + [0, 1, 2]
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(path)
        conn.sendmsg([b"ns"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
        for fd in fds[: len(NAMESPACES)]:
            os.close(fd)
        answer = b""
        while chunk := conn.recv(64):
            answer += chunk
    try:
        return int(answer)
    except ValueError:
        return 125  # the zygote's child went away without an answer


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
