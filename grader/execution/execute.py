"""nbgrader's Execute step, hardened: limits, a guard around every test, and no way to score by not running.

``GuardedExecute`` replaces nbgrader's ``Execute`` in ``Autograde.autograde_preprocessors`` (see
``grader/nbgrader_config.py``), so plain ``nbgrader autograde``, the formgrader's *Autograde* button
and ``python -m grader autograde`` all grade this way. What it adds to nbgrader:

- **A sandbox** (``sandbox``, on by default): every kernel runs in bubblewrap
  (``grader.execution.bubblewrap``), with no network, its own processes, only the files a notebook
  needs and an unprivileged user; see docs/sandbox.md.
- **Limits.** Each kernel runs under ``grader.execution.limits`` (``memory_limit``,
  ``file_size_limit``, ``process_limit``, ``scratch_limit``); a cell is interrupted after ``timeout`` seconds (nbgrader's own); a cell that
  ignores the interrupt for ``interrupt_grace`` seconds gets its kernel killed; the whole notebook
  has ``submission_timeout`` seconds; each cell keeps at most ``max_output_bytes`` of output.
- **A kernel that dies costs only what had not run yet.** nbgrader stops grading the submission
  when the kernel dies (``os._exit``, a segfault, ``kill -9``); here the cells that ran keep their
  results and every graded cell that did not run scores zero with the reason.
- **No points for not running.** A graded cell is judged by nbgrader on its outputs; one that never
  ran has none, which nbgrader counts as a pass. Every graded cell that did not run (a dead kernel,
  a ``skip-execution`` tag) gets an error output instead.
- **No injected partial credit.** nbgrader gives partial credit for a graded cell's first
  ``execute_result``; a learner's function can publish one (``sys.displayhook(3.0)``) before the
  test fails. Only the cell's own final result counts, and only if the test raised nothing.
- **The guard** (``grader.execution.guard``): before each graded cell the libraries, IPython's machinery
  and the names given cells defined are put back as they were when the kernel started; after it,
  a test during which any of them changed fails. An unanswered guard call fails the test.
- **The hidden-test seed** (``hidden_seed``, else the grader's ``AIECOURSE_HIDDEN_SEED``) is never in
  the kernel's environment: the guard receives it with the request that prepares each graded cell
  and puts the public default back after it. No output of the notebook keeps it.
- **A graded cell shows only its result**: its errors and final result, never what the
  submission printed while the test ran.

What happened is written to the notebook's metadata (``aiecourse_grading``): a status (``graded``,
``timed out``, ``crashed``), a reason, and events per cell; ``grader.feedback`` shows it to the learner.
"""

from __future__ import annotations

import os
import secrets
import signal
import time
from queue import Empty

from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import DeadKernelError
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Bool, Enum, Integer, Unicode

from . import bubblewrap
from . import guard as kernel_guard
from .judge import is_graded, judge
from .limits import Limits
from .manager import SandboxKernelManager

METADATA_KEY = "aiecourse_grading"
GIB = 1024**3


def _error(ename: str, evalue: str):
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _output_size(out) -> int:
    kind = out.get("output_type")
    if kind == "stream":
        return len(out.get("text", ""))
    if kind == "error":
        return len(out.get("evalue", "")) + sum(len(line) for line in out.get("traceback", []))
    return sum(len(v) if isinstance(v, str) else len(str(v)) for v in out.get("data", {}).values())


def _released_files(chapter: str | None) -> list[str]:
    """The chapter's released files other than notebooks (data a notebook may open), for the sandbox."""
    from ..notebooks import COURSE

    folder = COURSE / chapter if chapter else None
    if folder is None or not folder.is_dir():
        return []
    return [str(p) for p in sorted(folder.iterdir()) if p.is_file() and p.suffix != ".ipynb"]


def scrub(text: str, secret: str | None) -> str:
    """``text`` without ``secret`` (the hidden tests' seed)."""
    return text.replace(secret, "<hidden>") if secret else text


def _describe_exit(code) -> str:
    if code is None:
        return "the kernel stopped responding"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = {
            "SIGKILL": "killed (kill -9, or the machine ran out of memory)",
            "SIGSEGV": "a segmentation fault",
            "SIGABRT": "aborted (os.abort or a failed C assertion)",
            "SIGBUS": "a bus error",
        }.get(name, name)
        return f"the kernel died: {hint}"
    return f"the kernel exited with code {code} (os._exit(), exit() or quit() in the notebook?)"


class GuardedExecute(Execute):
    submission_timeout = Integer(900, help="seconds the whole notebook may run; the rest is then not run").tag(
        config=True
    )
    interrupt_grace = Integer(
        10, help="seconds a timed-out cell has to stop after the interrupt, else its kernel is killed"
    ).tag(config=True)
    memory_limit = Integer(4 * GIB, help="bytes of address space per kernel (RLIMIT_AS); 0 = no limit").tag(config=True)
    file_size_limit = Integer(1 * GIB, help="largest file a kernel may write (RLIMIT_FSIZE); 0 = no limit").tag(
        config=True
    )
    max_output_bytes = Integer(1_000_000, help="output kept per cell; the rest is dropped with a notice").tag(
        config=True
    )
    hidden_seed = Integer(
        None,
        allow_none=True,
        help="seed of the hidden tests (AIECOURSE_HIDDEN_SEED in each kernel); None: the "
        "grader's own AIECOURSE_HIDDEN_SEED, else the public default",
    ).tag(config=True)
    threads = Integer(0, help="OMP/MKL/torch threads per kernel; 0 = the library default").tag(config=True)
    guard = Bool(True, help="run grader.execution.guard around every graded cell").tag(config=True)
    sandbox = Bool(True, help="run every kernel in a bubblewrap sandbox (grader.execution.bubblewrap)").tag(config=True)
    process_limit = Integer(
        512, help="processes and threads a sandboxed kernel may have (RLIMIT_NPROC); stops a fork bomb"
    ).tag(config=True)
    scratch_limit = Integer(
        256 * 1024**2, help="bytes a sandboxed kernel may write in its /tmp and working folder"
    ).tag(config=True)
    fork_kernels = Bool(
        False,
        help="sandboxed kernels are forked from a process that has imported ipykernel, torch, matplotlib and the "
        "course library once (grader.execution.zygote), instead of each starting Python and importing them: "
        "about 3 s less per submission",
    ).tag(config=True)
    guard_timeout = Integer(60, help="seconds to wait for the guard's answer").tag(config=True)

    # A submission must not be able to skip its tests with a cell tag.
    skip_cells_with_tag = Unicode("\x00grader-never-skips")
    # A cell that floods or blocks IOPub must not end the whole submission. Configurable like nbclient's
    # own trait, so that the course config's `c.Execute.raise_on_iopub_timeout = False` is understood.
    raise_on_iopub_timeout = Bool(False, help="stop the notebook when IOPub times out (never here)").tag(config=True)
    # Once the last cell has answered, every output is in: nothing the kernel does afterwards can change a
    # grade, and its processes are killed with it anyway (``preprocess``). nbclient's default, a graceful
    # shutdown, waits about 2 s per submission for the kernel (torch, matplotlib, its atexit hooks) to exit.
    shutdown_kernel = Enum(
        ["graceful", "immediate"], default_value="immediate", help="how the kernel stops after the last cell"
    ).tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxKernelManager)
        super().__init__(*args, **kwargs)

    # -- the kernel -------------------------------------------------------------------------------
    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if isinstance(km, SandboxKernelManager):
            if self.sandbox:
                problem = bubblewrap.problem()
                if problem is not None:
                    raise RuntimeError(f"the grading sandbox cannot start: {problem}")
            km.sandboxed = self.sandbox
            km.forked = self.sandbox and self.fork_kernels
            km.limits = Limits(self.memory_limit, self.file_size_limit, self.process_limit if self.sandbox else 0)
            km.guard_key = self._guard_key if self.guard else ""
            km.files = self._chapter_files
            km.scratch_bytes = km.tmp_bytes = self.scratch_limit
        return km

    def kernel_env(self) -> dict[str, str]:
        """The kernel's environment. Sandboxed: a clean one, nothing of the grader's (no secrets)."""
        if self.sandbox:
            import sys

            env = {
                "PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]),
                "HOME": "/tmp",
                "USER": "learner",
                "LOGNAME": "learner",
                "LANG": "C.UTF-8",
                "PYTHONPATH": bubblewrap.python_path(),
                "PYTHONDONTWRITEBYTECODE": "1",
                "MPLCONFIGDIR": "/tmp/matplotlib",
            }
        else:
            env = {k: v for k, v in os.environ.items() if k != "AIECOURSE_HIDDEN_SEED"}
        env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
        env.setdefault("MALLOC_ARENA_MAX", "4")  # glibc reserves 64 MB of address space per arena
        if self.threads > 0:
            for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
                env[var] = str(self.threads)
        if self.guard and not self.sandbox:
            env[kernel_guard.KEY_ENV] = self._guard_key
        return env

    def _seed(self) -> int | None:
        from ..seed import configured_seed

        return configured_seed(self.hidden_seed)

    async def async_start_new_kernel(self, **kwargs):
        kwargs.setdefault("env", self.kernel_env())
        result = await super().async_start_new_kernel(**kwargs)
        self._kernel_pgid = getattr(getattr(self.km, "provisioner", None), "pgid", None)
        return result

    start_new_kernel = run_sync(async_start_new_kernel)

    def _get_timeout(self, cell):
        timeout = super()._get_timeout(cell)
        remaining = self._deadline - time.monotonic()
        if cell is not None and timeout is not None and remaining < timeout:
            self._total_limited = True
            return max(1, int(remaining))
        return timeout

    async def _async_handle_timeout(self, timeout, cell=None):
        self._timed_out = True
        return await super()._async_handle_timeout(timeout, cell)

    def _kill_kernel(self) -> None:
        try:
            run_sync(self.km.shutdown_kernel)(now=True)
        except Exception:  # noqa: BLE001 - already gone
            pass

    def _exit_code(self):
        if not isinstance(self.km, SandboxKernelManager):
            return None
        for _ in range(20):
            code = self.km.exit_code()
            if code is not None:
                return code
            time.sleep(0.05)
        return None

    # -- talking to the guard ---------------------------------------------------------------------
    async def _async_request(self, action: str, timeout: float):
        nonce = secrets.token_hex(12)
        seed = self._seed() if action == "before" else None  # the hidden tests' seed: for this test only
        expression = f"{kernel_guard.GUARD_NAME}({action!r}, {nonce!r}, {seed!r})"
        msg_id = await ensure_async(
            self.kc.execute("", silent=True, store_history=False, user_expressions={"g": expression})
        )
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None, "no answer"
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=min(remaining, 1.0)))
            except Empty:
                if not await ensure_async(self.kc.is_alive()):
                    raise DeadKernelError("Kernel died") from None
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if action == "ping":
                return {}, ""
            value = msg["content"].get("user_expressions", {}).get("g", {})
            if value.get("status") != "ok":
                return None, f"{value.get('ename', 'error')}: {value.get('evalue', '')}"
            text = value.get("data", {}).get("text/plain", "")
            try:
                import ast

                answer = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                return None, "unreadable answer"
            data = kernel_guard.verify(answer, self._guard_key, nonce, action)
            return (data, "") if data is not None else (None, "answer not authentic")

    def _request(self, action: str, timeout: float | None = None):
        return run_sync(self._async_request)(action, self.guard_timeout if timeout is None else timeout)

    # -- running the notebook ---------------------------------------------------------------------
    def preprocess(self, nb, resources=None, km=None):
        self._guard_key = secrets.token_hex(16)
        self._chapter_files = _released_files((resources or {}).get("nbgrader", {}).get("assignment"))
        self._deadline = time.monotonic() + max(1, self.submission_timeout)
        self._stopped = None  # (status, reason) once the kernel is gone
        self._events = []
        self._status = "graded"
        self._out_bytes = {}
        self._truncated = set()
        self._kernel_pgid = None
        self._guard_ready = not self.guard
        if self._seed() is None:  # the formgrader's log and plain `nbgrader autograde` say it too
            from ..seed import seed_in_use, warning

            self.log.warning(warning(seed_in_use(None)))
        try:
            nb, resources = super().preprocess(nb, resources, km)
        except DeadKernelError:
            if self._stopped is None:
                self._stop("crashed", _describe_exit(self._exit_code()))
        finally:
            if self._kernel_pgid:  # processes the notebook started (and left running) go with its kernel
                try:
                    os.killpg(self._kernel_pgid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        self._finish(nb)
        return nb, resources

    def _stop(self, status: str, reason: str) -> None:
        self._stopped = (status, reason)
        self._set_status(status)

    def _set_status(self, status: str) -> None:
        order = ["graded", "timed out", "crashed"]
        if order.index(status) > order.index(self._status):
            self._status = status

    @staticmethod
    def _name(cell, index: int) -> str:
        """How the instructor and the learner know a cell: its test or exercise id, else its number."""
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id") if cell is not None else None
        return grade_id or f"cell {index + 1}"

    def _event(self, index: int, cell, kind: str, detail: str) -> None:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        self._events.append({"cell": index, "grade_id": grade_id, "kind": kind, "detail": detail})

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        meta = cell.metadata.get("nbgrader", {})
        graded = bool(meta.get("grade"))
        given = bool(meta.get("locked")) and not graded and not meta.get("solution")
        if not self._guard_ready:  # before any cell of the submission runs: a failure here is the grader's
            answer, problem = self._request("mark")
            if answer is None:
                raise RuntimeError(
                    f"the grader's guard is not running in the kernel ({problem}): is the course "
                    "(grader, aiecourse) installed in the kernel's environment?"
                )
            self._guard_ready = True
        if self._stopped is not None:
            if graded:
                cell.outputs = [_error("NotRun", f"this test did not run: {self._stopped[1]}")]
            return cell, resources
        if time.monotonic() >= self._deadline:
            self._kill_kernel()
            self._stop(
                "timed out",
                f"the notebook used up its total time limit ({self.submission_timeout} s) before {self._name(cell, index)}",
            )
            self._event(index, cell, "timeout", self._stopped[1])
            return self.preprocess_cell(cell, resources, index)

        try:
            before = None
            if graded and self.guard:
                before, problem = self._request("before")
                if before is None:
                    cell.outputs = [
                        _error(
                            "GraderCheckFailed",
                            "the grader could not check the kernel before this "
                            f"test ({problem}): the notebook interfered with how cells run",
                        )
                    ]
                    self._event(index, cell, "guard-failed", problem)
                    return cell, resources
                if before.get("changed"):
                    self._event(index, cell, "restored", ", ".join(before["changed"]))
            if given and self.guard:
                self._request("mark")

            self._timed_out = False
            self._total_limited = False
            cell, resources = super().preprocess_cell(cell, resources, index)
            if self._timed_out:
                limit = "total time limit" if self._total_limited else "per-cell time limit"
                self._set_status("timed out")
                alive, _ = self._request("ping", timeout=self.interrupt_grace)
                if self._total_limited or alive is None:
                    self._kill_kernel()
                    why = (
                        f"the notebook used up its total time limit ({self.submission_timeout} s) in {self._name(cell, index)}"
                        if self._total_limited
                        else f"{self._name(cell, index)} ran past the {limit} ({self.timeout} s) and did not stop when "
                        "interrupted, so its kernel was stopped"
                    )
                    self._stop("timed out", why)
                    self._event(index, cell, "timeout", why)
                else:
                    self._event(
                        index,
                        cell,
                        "timeout",
                        f"{self._name(cell, index)} ran past the {limit} ({self.timeout} s) and was interrupted",
                    )
            if self._timed_out and graded:
                seconds = self.submission_timeout if self._total_limited else self.timeout
                cell.outputs = [o for o in cell.outputs if o.output_type != "error"]
                cell.outputs.append(_error("TimedOut", f"{self._name(cell, index)} timed out after {seconds} s"))
            if self._stopped is None:
                if given and self.guard:
                    self._request("given")
                if graded and self.guard:
                    after, problem = self._request("after")
                    if after is None:
                        cell.outputs.append(
                            _error(
                                "GraderCheckFailed",
                                f"the grader could not check the kernel after this test ({problem})",
                            )
                        )
                        self._event(index, cell, "guard-failed", problem)
                    elif after.get("changed"):
                        changed = ", ".join(after["changed"])
                        cell.outputs.append(
                            _error(
                                "TamperError",
                                "while this test ran, the notebook's code changed "
                                f"{changed}; tests must run on the unmodified libraries",
                            )
                        )
                        self._event(index, cell, "tampered", changed)
        except DeadKernelError:
            if self._stopped is None:
                reason = _describe_exit(self._exit_code())
                self._stop("crashed", f"{reason} while running {self._name(cell, index)}")
                self._event(index, cell, "crash", self._stopped[1])
            cell.outputs.append(_error("KernelDied", self._stopped[1]))
        if graded:
            self._sanitize_graded(cell)
        return cell, resources

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        kind = msg.get("msg_type")
        probe = {
            "output_type": kind,
            "text": content.get("text", ""),
            "evalue": content.get("evalue", ""),
            "traceback": content.get("traceback", []),
            "data": content.get("data", {}),
        }
        size = _output_size(probe)
        used = self._out_bytes.get(cell_index, 0)
        if used + size <= self.max_output_bytes:
            self._out_bytes[cell_index] = used + size
            return super().output(outs, msg, display_id, cell_index)
        cap = self.max_output_bytes
        if kind == "error":  # never drop an error: it decides the grade
            out = _error(content.get("ename", "Error"), content.get("evalue", "")[:2000])
            outs.append(out)
            return out
        if kind == "stream" and content.get("name") == "stderr":
            if ("stderr", cell_index) not in self._truncated:  # keep the fact that it wrote to stderr
                self._truncated.add(("stderr", cell_index))
                outs.append(
                    new_output("stream", name="stderr", text=f"[stderr cut by the grader after {cap:,} bytes]\n")
                )
            return None
        if cell_index not in self._truncated:
            self._truncated.add(cell_index)
            outs.append(
                new_output(
                    "stream",
                    name="stdout",
                    text=f"\n[output cut by the grader: this cell printed more than {cap:,} bytes]\n",
                )
            )
            self._events.append(
                {
                    "cell": cell_index,
                    "grade_id": None,
                    "kind": "truncated",
                    "detail": f"cell {cell_index + 1} printed more than {cap:,} bytes; the rest was dropped",
                }
            )
        return None

    @staticmethod
    def _sanitize_graded(cell) -> None:
        """A graded cell keeps what decides its grade and nothing else the submission printed: its
        errors, a notice in place of anything written to stderr (nbgrader fails such a cell), and the
        cell's own final result (nbgrader's partial credit) when the test raised nothing."""
        outs = cell.outputs
        failed = any(
            o.output_type == "error" or (o.output_type == "stream" and o.get("name") == "stderr") for o in outs
        )
        kept = []
        for i, out in enumerate(outs):
            if out.output_type == "error":
                kept.append(out)
            elif out.output_type == "stream" and out.get("name") == "stderr":
                if not any(k.output_type == "stream" for k in kept):
                    kept.append(new_output("stream", name="stderr", text="[this test wrote to stderr: not shown]\n"))
            elif out.output_type == "execute_result" and not failed and i == len(outs) - 1:
                kept.append(out)
        cell.outputs = kept

    def _scrub_outputs(self, nb) -> None:
        """No output keeps the hidden tests' seed (code a hidden test called may have seen it)."""
        seed = self._seed()
        if seed is None:
            return
        secret = str(seed)
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                for key in ("text", "evalue"):
                    if isinstance(out.get(key), str):
                        out[key] = scrub(out[key], secret)
                if "traceback" in out:
                    out["traceback"] = [scrub(line, secret) for line in out["traceback"]]
                for mime, value in out.get("data", {}).items():
                    if isinstance(value, str) and not mime.startswith("image/"):
                        out["data"][mime] = scrub(value, secret)

    def _finish(self, nb) -> None:
        self._scrub_outputs(nb)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            # a graded cell that never ran and shows no failure would pass (nbgrader's rule): it has not
            if is_graded(cell) and cell.get("execution_count") is None and judge(cell).result in ("passed", "not run"):
                why = self._stopped[1] if self._stopped else "the cell was not run"
                cell.outputs = list(cell.get("outputs", [])) + [_error("NotRun", f"this test did not run: {why}")]
            for out in cell.get("outputs", []):
                if out.output_type == "error" and (
                    out.get("ename") == "MemoryError" or "can't allocate memory" in out.get("evalue", "")
                ):
                    self._event(
                        index,
                        cell,
                        "memory",
                        f"{self._name(cell, index)} ran out of memory (the limit is "
                        f"{self.memory_limit / GIB:g} GiB per notebook)",
                    )
                    break
        reason = self._stopped[1] if self._stopped else ""
        if not reason:
            timeouts = [e["detail"] for e in self._events if e["kind"] == "timeout"]
            reason = timeouts[0] if timeouts else ""
        nb.metadata[METADATA_KEY] = {
            "status": self._status,
            "reason": reason,
            "events": self._events,
            "limits": {
                "cell_timeout_s": self.timeout,
                "submission_timeout_s": self.submission_timeout,
                "memory_bytes": self.memory_limit,
                "max_output_bytes": self.max_output_bytes,
            },
        }
