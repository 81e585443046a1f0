"""The grading process's side of a kernel zygote (``grader.execution.zygote``): start it, ask it for kernels.

``SandboxKernelManager`` calls ``shared(env)`` for the zygote of this process and ``Zygote.spawn`` before
it starts the kernel's sandbox; ``grader.execution.worker`` calls ``prestart`` as it starts.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

HOLDER = Path(__file__).with_name("holder.py")
_log = logging.getLogger(__name__)


def holder_command(sandbox_prefix: list[str], python: str, entry: Path) -> list[str]:
    """The sandbox (bwrap and its options, up to ``--``) with the holder in it, connecting to ``entry``."""
    return [*sandbox_prefix, python, "-I", "-S", str(HOLDER), str(entry)]


class ZygoteError(RuntimeError):
    pass


class Zygote:
    """A zygote process and the pipe to it. ``env`` is the kernels' environment: the zygote imports under it."""

    def __init__(self, env: dict[str, str]):
        self.env = dict(env)
        self._home = tempfile.mkdtemp(prefix="aiec-zygote-")
        os.chmod(self._home, 0o755)
        zygote_env = dict(env, HOME=self._home, MPLCONFIGDIR=os.path.join(self._home, "matplotlib"))
        zygote_env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"  # as ipykernel sets it
        self._lock = threading.Lock()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "grader.execution.zygote"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=zygote_env,
            cwd=self._home,
            text=True,
            bufsize=1,
        )
        self._ready: dict | None = None

    def _answer(self) -> dict:
        line = self._process.stdout.readline()
        if not line:
            raise ZygoteError(f"the kernel zygote exited (code {self._process.poll()})")
        return json.loads(line)

    def ready(self) -> dict:
        """Wait until the zygote has imported everything; its answer, with the seconds that took."""
        with self._lock:
            if self._ready is None:
                self._ready = self._answer()
            return self._ready

    def alive(self) -> bool:
        return self._process.poll() is None

    def spawn(self, entry: Path, argv: list[str], env: dict[str, str], cwd: str) -> None:
        """Have the zygote listen on ``entry`` and fork a kernel into the sandbox whose holder connects there."""
        self._send({"socket": str(entry), "argv": argv, "env": env, "cwd": cwd})

    def _send(self, request: dict) -> None:
        self.ready()
        with self._lock:
            try:
                self._process.stdin.write(json.dumps(request) + "\n")
                self._process.stdin.flush()
            except OSError as e:
                raise ZygoteError(f"the kernel zygote is gone ({e})") from e
            answer = self._answer()
        if not answer.get("ok"):
            raise ZygoteError(f"the kernel zygote could not prepare a kernel: {answer.get('error')}")

    def probe(self) -> None:
        """Fork one kernel that only checks where it is, into a real sandbox; raise if it did not get there."""
        from . import bubblewrap

        with tempfile.TemporaryDirectory(prefix="aiec-") as folder:
            entry = Path(folder) / "entry.sock"
            request = {"socket": str(entry), "argv": [], "env": {}, "cwd": bubblewrap.SCRATCH, "probe": self._home}
            self._send(request)
            cmd = holder_command(bubblewrap.command(bubblewrap.Sandbox(Path(folder))), sys.executable, entry)
            try:
                done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
            except subprocess.TimeoutExpired as e:
                raise ZygoteError("its probe kernel did not answer within 60 s") from e
        if done.returncode != 0:
            raise ZygoteError(f"its probe kernel failed (code {done.returncode}): {done.stderr.strip()[-500:]}")

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        shutil.rmtree(self._home, ignore_errors=True)


_shared: dict[str, object] = {"key": None, "zygote": None, "failed": set()}
_shared_lock = threading.Lock()


def _key(env: dict[str, str]) -> str:
    return json.dumps(sorted((k, v) for k, v in env.items() if not k.startswith("JPY_")))


def shared(env: dict[str, str]) -> Zygote | None:
    """This process's zygote for kernels with environment ``env`` (started on first use, and again if the
    environment changed or it died); None when no zygote can run here: kernels then start fresh."""
    key = _key(env)
    with _shared_lock:
        zygote = _shared["zygote"]
        if zygote is not None and (_shared["key"] != key or not zygote.alive()):
            zygote.close()
            _shared["zygote"] = zygote = None
        if zygote is None:
            if key in _shared["failed"]:
                return None
            try:
                zygote = Zygote(env)
                zygote.ready()
                zygote.probe()
            except (OSError, ValueError, ZygoteError) as e:
                if zygote is not None:
                    zygote.close()
                _log.warning("kernels start fresh: the kernel zygote did not start (%s)", e)
                _shared["failed"].add(key)
                return None
            _shared["key"], _shared["zygote"] = key, zygote
        return zygote


def prestart(env: dict[str, str]) -> None:
    """Start this process's zygote in the background (its imports take seconds), without waiting for it."""
    threading.Thread(target=shared, args=(env,), daemon=True).start()


@atexit.register
def _close_shared() -> None:
    zygote = _shared["zygote"]
    if zygote is not None:
        zygote.close()
