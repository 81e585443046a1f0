"""The launcher of a grading kernel: limits, then the guard, then ipykernel.

    python -m grader.execution.kernel [--memory B] [--file-size B] [--processes N] [--uid U] [--key-file F] \
        -- -f CONNECTION_FILE [ipykernel options]

``grader.execution.execute.SandboxKernelManager`` starts kernels this way, inside the sandbox of
``grader.execution.bubblewrap``. In order, before any cell of the submission runs:

1. read the guard's key from ``--key-file`` and delete the file (never in the environment, where
   ``/proc/self/environ`` would show it to the submission);
2. apply ``grader.execution.limits`` and give up root (``--uid``);
3. start ipykernel and load the guard (``grader.execution.guard``).
"""

from __future__ import annotations

import os
import sys

from .limits import Limits, apply


def _read_key(options: list[str]) -> tuple[str, list[str]]:
    if "--key-file" not in options:
        return "", options
    i = options.index("--key-file")
    path = options[i + 1]
    with open(path) as f:
        key = f.read().strip()
    os.unlink(path)
    return key, options[:i] + options[i + 2 :]


def prepare(argv: list[str]) -> tuple[str, list[str]]:
    """Steps 1 and 2: the guard's key and ipykernel's arguments, with the limits applied and root given up."""
    if "--" not in argv:
        raise SystemExit("usage: python -m grader.execution.kernel [LIMITS] [--key-file F] -- IPYKERNEL_ARGS")
    split = argv.index("--")
    ours, kernel_args = argv[:split], argv[split + 1 :]
    key, ours = _read_key(ours)
    key = key or os.environ.pop("AIECOURSE_GUARD_KEY", "")  # the unsandboxed path (--no-sandbox)
    apply(Limits.parse(ours))
    # ipykernel exits when its parent's pid is gone, and the grader's pid does not exist inside the
    # sandbox's PID namespace; bwrap's --die-with-parent ends the kernel with the grader instead.
    os.environ.pop("JPY_PARENT_PID", None)
    return key, kernel_args


def start(key: str, kernel_args: list[str]) -> None:
    """Step 3: ipykernel, with the guard loaded before any cell runs; returns when the kernel ends."""
    from ipykernel.kernelapp import IPKernelApp

    sys.argv = [sys.argv[0], *kernel_args]
    app = IPKernelApp.instance()
    app.initialize(kernel_args)
    # pyzmq starts its garbage-collector thread lazily, at the first large message. A submission that
    # uses up the process limit (a fork bomb) would then leave the kernel unable to send its own
    # results; started now, the thread is there before any cell runs.
    from zmq.utils.garbage import gc as zmq_garbage

    zmq_garbage.start()
    if key:
        from grader.execution import guard

        guard.install(app.shell, key)
    app.start()


def main(argv: list[str]) -> None:
    start(*prepare(argv))


if __name__ == "__main__":
    main(sys.argv[1:])
