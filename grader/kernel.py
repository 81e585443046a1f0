"""A grading kernel: ipykernel under resource limits, with the grader's guard loaded before any cell runs.

    python -m grader.kernel [--memory BYTES] [--file-size BYTES] -- -f CONNECTION_FILE [ipykernel options]

``grader.sandbox.SandboxKernelManager`` starts kernels this way. The limits are the process's own
(``setrlimit``), inherited by anything the submission starts:

- ``RLIMIT_AS`` (``--memory``): the address space of the kernel. An allocation past it fails in that
  cell (``MemoryError``, or PyTorch's "can't allocate memory") instead of pushing the machine into
  the kernel's out-of-memory killer, where it could take another student's kernel with it.
- ``RLIMIT_FSIZE`` (``--file-size``): no file the submission writes grows past it.
- ``RLIMIT_CORE`` = 0: a crashing kernel leaves no core dump.
"""

from __future__ import annotations

import os
import resource
import sys


def _limit(which: int, value: int) -> None:
    soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value if hard == resource.RLIM_INFINITY else hard))


def main(argv: list[str]) -> None:
    if "--" not in argv:
        raise SystemExit("usage: python -m grader.kernel [--memory BYTES] [--file-size BYTES] -- IPYKERNEL_ARGS")
    split = argv.index("--")
    ours, kernel_args = argv[:split], argv[split + 1 :]
    options = dict(zip(ours[::2], ours[1::2]))
    memory = int(options.get("--memory", 0))
    file_size = int(options.get("--file-size", 0))
    if memory > 0:
        _limit(resource.RLIMIT_AS, memory)
    if file_size > 0:
        _limit(resource.RLIMIT_FSIZE, file_size)
    _limit(resource.RLIMIT_CORE, 0)

    key = os.environ.pop("AIECOURSE_GUARD_KEY", "")
    from ipykernel.kernelapp import IPKernelApp

    sys.argv = [sys.argv[0], *kernel_args]
    app = IPKernelApp.instance()
    app.initialize(kernel_args)
    if key:
        from grader import kernel_guard

        kernel_guard.install(app.shell, key)
    app.start()


if __name__ == "__main__":
    main(sys.argv[1:])
