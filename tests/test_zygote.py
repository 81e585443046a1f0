"""Kernels forked from the zygote (``grader.execution.zygote``): sandboxed as fresh kernels are, sharing nothing.

Each test starts real grading kernels in the bubblewrap sandbox, as ``GuardedExecute`` does (guard
included), forked and fresh, and reads what code inside them can see and do.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys

import pytest

from grader.execution import bubblewrap
from grader.execution import zygote_client as zygote
from grader.execution.execute import GuardedExecute
from grader.execution.limits import Limits
from grader.execution.manager import SandboxKernelManager

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def _sandbox():
    problem = bubblewrap.problem()
    if problem is not None:
        if os.environ.get("AIECOURSE_CI"):
            pytest.fail(f"CI must grade in the sandbox: {problem}")
        pytest.skip(problem)


def _env() -> dict[str, str]:
    executor = GuardedExecute()
    executor.threads = 1
    return executor.kernel_env()


async def _run(forked: bool, cells: list[str]) -> tuple[list[str], int | None]:
    """Run ``cells`` in one grading kernel; what each printed (or its error), and the kernel's exit code."""
    km = SandboxKernelManager(kernel_name="python3")
    km.sandboxed, km.forked, km.limits = True, forked, Limits(4 * 1024**3, 1024**3, 512)
    km.guard_key = secrets.token_hex(8)
    await km.start_kernel(env=_env())
    kc = km.client()
    kc.start_channels()
    outputs = []
    try:
        await kc.wait_for_ready(timeout=120)
        for code in cells:
            msg_id = kc.execute(code)
            text = ""
            while True:
                try:
                    msg = await kc.get_iopub_msg(timeout=1)
                except Exception:  # noqa: BLE001 - nothing yet: has the kernel died in this cell?
                    if not await km.is_alive():
                        text += "KERNEL GONE"
                        break
                    continue
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                kind, content = msg["msg_type"], msg["content"]
                if kind == "stream":
                    text += content["text"]
                elif kind == "error":
                    text += f"ERROR {content['ename']}: {content['evalue']}"
                elif kind == "status" and content["execution_state"] == "idle":
                    break
            outputs.append(text)
    finally:
        kc.stop_channels()
        await km.shutdown_kernel(now=True)
    return outputs, km.exit_code()


def run(forked: bool, *cells: str) -> tuple[list[str], int | None]:
    return asyncio.run(_run(forked, list(cells)))


FACTS = r"""
import json, os, resource, socket, sys
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
try:
    probe = socket.socket(); probe.settimeout(2); probe.connect(("127.0.0.1", 22)); net = "connected"
except OSError as e:
    net = type(e).__name__
facts = {
    "ids": [os.getuid() == os.geteuid() == os.getgid() != 0, os.getgroups()],
    "cwd": os.getcwd(), "root": sorted(os.listdir("/")), "home": os.environ.get("HOME"),
    "processes": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
    "terminal": os.path.exists("/dev/tty") and os.system("exec 2>/dev/null; : < /dev/tty") == 0,
    "capabilities": [int(status[k], 16) for k in ("CapInh", "CapPrm", "CapEff", "CapAmb")],
    "no_new_privs": status["NoNewPrivs"].strip(),
    "limits": [resource.getrlimit(r) for r in (resource.RLIMIT_AS, resource.RLIMIT_NPROC, resource.RLIMIT_FSIZE, resource.RLIMIT_CORE)],
    "network": net, "hostname": socket.gethostname(), "env": sorted(os.environ),
    "path0": sys.path[0], "writable": [os.access(p, os.W_OK) for p in ("/tmp", ".", "/usr", sys.prefix)],
    "bounding": int(status["CapBnd"], 16), "pid": os.getpid(),
}
print(json.dumps(facts))
"""


def _facts(forked: bool) -> dict:
    (out,), _ = run(forked, FACTS)
    return json.loads(out)


def test_a_forked_kernel_is_sandboxed_as_a_fresh_one():
    fresh, forked = _facts(False), _facts(True)
    assert forked["pid"] == 3 and fresh["pid"] == 2, "the forked kernel is not the holder's sibling in the sandbox"
    assert forked["processes"] == [1, 2, 3], (
        f"a forked kernel sees processes outside its sandbox: {forked['processes']}"
    )
    assert forked["bounding"] == 0, "a forked kernel could regain a capability"
    for facts in (fresh, forked):
        facts.pop("pid"), facts.pop("processes"), facts.pop("bounding")
    assert forked == fresh, {k: (set(fresh[k]) ^ set(forked[k])) for k in fresh if fresh[k] != forked[k]}
    assert forked["capabilities"] == [0, 0, 0, 0] and forked["no_new_privs"] == "1"
    assert forked["network"] != "connected" and forked["cwd"] == bubblewrap.SCRATCH


def test_nothing_carries_over_from_one_forked_kernel_to_the_next():
    source = zygote.shared(_env())
    assert source is not None, "no zygote on a machine with the sandbox"
    zygote_pid = source._process.pid
    plant = r"""
import os, aiecourse.checks, numpy, torch
open("/tmp/planted", "w").write("x"); open("planted", "w").write("x")
os.environ["PLANTED"] = "1"
vars(aiecourse.checks)["check_close"] = None  # past its read-only guard
torch.nn.functional.softmax = None
numpy.random.seed(7)
print("PLANTED")
"""
    reach = f"""
import os, signal
print("PARENT", os.getppid())  # 0: the entrant that forked it is outside its PID namespace
for pid in ({zygote_pid},):
    try:
        os.kill(pid, 0); print("REACHED", pid)
    except OSError as e:
        print("NO", pid, type(e).__name__)
"""
    kill_all = "import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept OSError as e:\n    print(e)\n"
    first, _ = run(True, plant, reach, kill_all)
    assert first[0].strip() == "PLANTED", first
    assert "REACHED" not in first[1] and "PARENT 0" in first[1], f"a forked kernel reached the zygote: {first[1]}"
    assert source.alive() and zygote.shared(_env()) is source, "a kernel's kill(-1) ended the zygote"
    check = r"""
import os, aiecourse.checks, torch
print(os.path.exists("/tmp/planted"), os.path.exists("planted"), "PLANTED" in os.environ,
      callable(aiecourse.checks.check_close), callable(torch.nn.functional.softmax))
"""
    (second,), code = run(True, check)
    assert second.split() == ["False", "False", "False", "True", "True"], (
        f"the next kernel saw the last one's traces: {second}"
    )
    assert source._process.pid == zygote_pid and source.alive()


def test_kernels_start_fresh_when_the_zygote_cannot_work(monkeypatch, caplog):
    def broken(self):
        raise zygote.ZygoteError("its probe kernel failed (test)")

    monkeypatch.setattr(zygote.Zygote, "probe", broken)
    monkeypatch.setitem(zygote._shared, "failed", set())
    env = dict(_env(), AIECOURSE_TEST_KEY="broken-zygote")  # a zygote of its own, not the shared one
    monkeypatch.setattr(sys.modules[__name__], "_env", lambda: env)
    (out,), _ = run(True, "import os; print(os.getpid())")
    assert out.strip() == "2", "the kernel did not start fresh"
    assert "kernels start fresh" in caplog.text and "probe kernel failed" in caplog.text


def test_a_dead_zygote_is_replaced():
    source = zygote.shared(_env())
    source._process.kill()
    source._process.wait()
    (out,), _ = run(True, "import os; print(os.getpid())")
    assert out.strip() == "3", "after its zygote died, the kernel was not forked from a new one"
    assert zygote.shared(_env()) is not source and zygote.shared(_env()).alive()
