"""The kernel manager of a grading kernel: starts ``grader.execution.kernel`` inside the sandbox.

``GuardedExecute`` (``grader.execution.execute``) creates one ``SandboxKernelManager`` per
submission and sets ``limits``, ``guard_key``, ``sandboxed`` and ``files`` before the kernel starts.
Sandboxed, the manager

- talks to the kernel over ZeroMQ ``ipc`` sockets in a fresh folder (``socket_dir``) that is bound
  into the sandbox (a sandbox has no network, not even loopback);
- writes the guard's key to a file there, which the launcher reads and deletes before any cell runs;
- interrupts the kernel with an ``interrupt_request`` message (a signal to ``bwrap`` would not
  reach the kernel inside its PID namespace);
- removes the folder when the kernel is gone.

With ``forked``, the sandbox is the same but the kernel in it is forked from a zygote that has already
imported everything a kernel needs (``grader.execution.zygote``), instead of a fresh Python.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Instance, List, Unicode

from . import bubblewrap
from .limits import Limits, sandbox_uid

LAUNCHER = "grader.execution.kernel"


class SandboxKernelManager(AsyncKernelManager):
    """Starts the notebook's Python kernel through the launcher, in a bubblewrap sandbox when ``sandboxed``."""

    sandboxed = Bool(True).tag(config=False)
    forked = Bool(False).tag(config=False)  # fork the kernel from this process's zygote (grader.execution.zygote)
    limits = Instance(Limits, args=()).tag(config=False)
    guard_key = Unicode("").tag(config=False)
    files = List().tag(config=False)  # host files bound read-only into the kernel's working folder
    scratch_bytes = 256 * 1024**2
    tmp_bytes = 256 * 1024**2
    _socket_dir: Path | None = None

    def _prepare_sandbox(self) -> None:
        self._socket_dir = Path(tempfile.mkdtemp(prefix="aiec-"))  # short: a Unix socket path has 107 bytes
        self.transport = "ipc"
        self.ip = str(self._socket_dir / "k")
        self.connection_file = str(self._socket_dir / "connection.json")
        if bubblewrap.privileged():
            self.limits.uid = sandbox_uid()
            os.chown(self._socket_dir, self.limits.uid, self.limits.uid)
        os.chmod(self._socket_dir, 0o700)

    async def _async_pre_start_kernel(self, **kw):
        if self.sandboxed and self._socket_dir is None:
            self._prepare_sandbox()
        cmd, kw = await super()._async_pre_start_kernel(**kw)
        if self.sandboxed and self.forked:
            cmd = self._forked_command(cmd, kw.get("env") or {})
        return cmd, kw

    def _forked_command(self, cmd: list[str], env: dict[str, str]) -> list[str]:
        """The same sandbox, with the holder in it instead of the launcher, and the zygote ready to fork the
        kernel into it; ``cmd`` unchanged when this process has no zygote."""
        from . import zygote_client as zygote

        source = zygote.shared(env)
        if source is None:
            return cmd
        entry = self._socket_dir / "entry.sock"
        try:
            source.spawn(entry, self._launcher_argv, env, bubblewrap.SCRATCH)
        except zygote.ZygoteError as e:  # gone since it last answered: this kernel starts fresh
            self.log.warning("this kernel starts fresh: %s", e)
            return cmd
        return zygote.holder_command(self._sandbox_prefix, self._python, entry)

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        for i in range(1, len(cmd)):
            if cmd[i - 1] == "-m" and cmd[i] in ("ipykernel_launcher", "ipykernel"):
                break
        else:
            raise RuntimeError(
                f"the grader runs notebooks in Python kernels started by ipykernel; this kernel's command is {cmd}"
            )
        ours = self.limits.args()
        if not self.sandboxed:
            return [cmd[0], "-m", LAUNCHER, *ours, "--", *cmd[i + 1 :]]
        if self.limits.uid is not None and os.path.exists(self.connection_file):  # written just before this
            os.chown(self.connection_file, self.limits.uid, self.limits.uid)
        key_file = self._socket_dir / "guard.key"
        if self.guard_key:
            key_file.write_text(self.guard_key)
            os.chmod(key_file, 0o600)  # root's until the launcher, still root, deletes it
            ours += ["--key-file", str(key_file)]
        sandbox = bubblewrap.Sandbox(
            self._socket_dir, [Path(f) for f in self.files], self.scratch_bytes, self.tmp_bytes
        )
        self._sandbox_prefix, self._python = bubblewrap.command(sandbox), cmd[0]
        self._launcher_argv = [*ours, "--", *cmd[i + 1 :]]
        return [*self._sandbox_prefix, cmd[0], "-m", LAUNCHER, *self._launcher_argv]

    async def _async_interrupt_kernel(self) -> None:
        if not self.sandboxed:
            return await super()._async_interrupt_kernel()
        if self.has_kernel:
            msg = self.session.msg("interrupt_request", content={})
            self._connect_control_socket()
            self.session.send(self._control_socket, msg)

    interrupt_kernel = _async_interrupt_kernel

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart)
        if self._socket_dir is not None and not restart:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None

    cleanup_resources = _async_cleanup_resources

    def exit_code(self) -> int | None:
        """The kernel's exit code (negative: the signal that killed it), or None while it runs."""
        process = getattr(getattr(self, "provisioner", None), "process", None)
        code = process.poll() if process is not None else None
        if code is not None and self.sandboxed and code > 128:  # bwrap reports a signal as 128 + its number
            code = -(code - 128)
        return code

    def kill_all(self) -> None:
        """Every process of the kernel: its process group (the sandbox goes with bwrap)."""
        pgid = getattr(getattr(self, "provisioner", None), "pgid", None)
        if pgid:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
