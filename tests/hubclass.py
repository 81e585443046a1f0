"""A class on a real JupyterHub, on loopback: system users, the hub, its proxy, and cleanup.

Used by tests/test_hub.py. The hub runs tools/hub/jupyterhub_config.py (the file docs/jupyterhub.md
tells an instructor to use) from the environment that tools/hub/setup.sh builds; every user is a real
system user whose JupyterLab the hub starts as that user. Everything the class creates lives under one
temporary folder, and `ClassHub.stop` ends every process it started (by process id) and deletes the
users it created.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psutil
import requests

from grader.notebooks import REPO_ROOT

_RECORDED = REPO_ROOT / ".hub" / "venv"  # written by tools/hub/setup.sh
HUB_VENV = Path(
    os.environ.get("AIECOURSE_HUB_VENV")
    or (_RECORDED.read_text().strip() if _RECORDED.exists() else "/opt/aiecourse-hub/venv")
)
PROXY = REPO_ROOT / ".hub" / "node_modules" / ".bin" / "configurable-http-proxy"
HUB_CONFIG = REPO_ROOT / "tools" / "hub" / "jupyterhub_config.py"
COURSE_ID = "aiecourse"
PASSWORD = "class-" + secrets.token_hex(8)  # the shared password of the browser logins
HIDDEN_SEED = "8128"  # the hub's AIECOURSE_HIDDEN_SEED: instructors' servers only
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\x1b[()][A-Z0-9]")


def prerequisites() -> list[str]:
    """What this machine lacks to run the class hub ([] when nothing)."""
    lacking = []
    if os.geteuid() != 0:
        lacking.append("root (the test creates system users and the hub starts servers as them)")
    for tool in ("useradd", "userdel"):
        if shutil.which(tool) is None:
            lacking.append(tool)
    if not (HUB_VENV / "bin" / "jupyterhub").exists():
        lacking.append(f"{HUB_VENV}/bin/jupyterhub (run `make hub-setup`)")
    if not PROXY.exists():
        lacking.append(f"{PROXY.relative_to(REPO_ROOT)} (run `make hub-setup`)")
    if not lacking:
        stale = stale_library()
        if stale:
            lacking.append(f"a current course library in {HUB_VENV} ({', '.join(stale)} differ: run `make hub-setup`)")
    return lacking


def stale_library() -> list[str]:
    """Files of aiecourse and grader that differ between this checkout and the hub's environment."""
    stale = []
    for package, source in (("aiecourse", REPO_ROOT / "course" / "aiecourse"), ("grader", REPO_ROOT / "grader")):
        found = list(HUB_VENV.glob(f"lib/python3*/site-packages/{package}"))
        if not found:
            stale.append(f"{package} (not installed)")
            continue
        stale += [
            f"{package}/{p.name}"
            for p in source.glob("*.py")
            if not (found[0] / p.name).exists() or (found[0] / p.name).read_bytes() != p.read_bytes()
        ]
    return stale


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HubError(AssertionError):
    pass


class ClassHub:
    """One instructor, two students, the hub, and nbgrader's exchange, under one temporary folder."""

    def __init__(self):
        tag = secrets.token_hex(3)
        self.instructor = f"hubt{tag}-prof"
        self.students = [f"hubt{tag}-ada", f"hubt{tag}-bob"]
        self.users = [self.instructor, *self.students]
        # /tmp, not pytest's tmp_path: other users must be able to enter every folder above their homes.
        self.base = Path(tempfile.mkdtemp(prefix="aiecourse-hub-", dir="/tmp"))
        self.base.chmod(0o755)
        self.exchange = self.base / "exchange"
        self.state = self.base / "state"
        self.log_path = self.base / "hub.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = secrets.token_hex(32)
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"token {self.token}"
        self.created_users: list[str] = []
        self.uids: set[int] = set()
        self.procs: list[subprocess.Popen] = []
        self.hub: subprocess.Popen | None = None
        self.timings: dict[str, float] = {}
        self.started = time.monotonic()

    # ---------------------------------------------------------------- set-up
    def home(self, user: str) -> Path:
        return self.base / "home" / user

    def start(self, spawn_timeout: float = 240) -> None:
        t0 = time.monotonic()
        (self.base / "home").mkdir(mode=0o755)
        self.exchange.mkdir()
        self.exchange.chmod(0o777)  # nbgrader's release chmods it and fails on a root-owned 0755 folder
        self.state.mkdir(mode=0o700)
        jupyter = self.base / "jupyter"
        shutil.copytree(REPO_ROOT / "tools" / "hub" / "jupyter", jupyter)
        subprocess.run(["chmod", "-R", "a+rX", str(jupyter)], check=True)
        for user in self.users:
            self._useradd(user)
        self._instructor_course()
        self.timings["users"] = time.monotonic() - t0

        env = dict(
            os.environ,
            AIECOURSE_HUB_VENV=str(HUB_VENV),
            AIECOURSE_HUB_STATE=str(self.state),
            AIECOURSE_HUB_JUPYTER=str(jupyter),
            AIECOURSE_EXCHANGE=str(self.exchange),
            AIECOURSE_INSTRUCTORS=self.instructor,
            AIECOURSE_STUDENTS=",".join(self.students),
            AIECOURSE_HUB_PORT=str(self.port),
            AIECOURSE_HUB_INTERNAL_PORT=str(free_port()),
            AIECOURSE_HUB_PROXY_API_PORT=str(free_port()),
            AIECOURSE_HUB_PROXY=str(PROXY),
            AIECOURSE_HUB_PASSWORD=PASSWORD,
            AIECOURSE_HUB_SERVICE_TOKEN=self.token,
            AIECOURSE_HIDDEN_SEED=HIDDEN_SEED,
            PATH=f"{HUB_VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        )
        for var in (
            "PYTHONPATH",
            "VIRTUAL_ENV",
            "JUPYTER_CONFIG_DIR",
            "JUPYTER_CONFIG_PATH",
            "JUPYTER_DATA_DIR",
            "JUPYTER_RUNTIME_DIR",
            "JUPYTER_PATH",
        ):
            env.pop(var, None)
        t0 = time.monotonic()
        with open(self.log_path, "wb") as log:
            self.hub = subprocess.Popen(
                [str(HUB_VENV / "bin" / "jupyterhub"), "-f", str(HUB_CONFIG)],
                cwd=self.state,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait(lambda: self._get_ok(f"{self.url}/hub/api/"), 90, "the hub to answer")
        self.timings["hub_start"] = time.monotonic() - t0

        t0 = time.monotonic()
        for user in self.users:  # ask for all three servers first, then wait for them together
            r = self.http.post(f"{self.url}/hub/api/users/{user}/server", timeout=60)
            if r.status_code not in (201, 202):
                raise HubError(f"starting {user}'s server: HTTP {r.status_code} {r.text[:300]}\n{self.log_tail()}")
        for user in self.users:
            self._wait(lambda u=user: self._server_ready(u), spawn_timeout, f"{user}'s server")
        self.timings["spawn_3_servers"] = time.monotonic() - t0

    def _useradd(self, user: str) -> None:
        home = self.home(user)
        subprocess.run(
            ["useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/bash", "--user-group", user],
            check=True,
            capture_output=True,
        )
        self.created_users.append(user)
        home.chmod(0o700)
        self.uids.add(int(subprocess.run(["id", "-u", user], check=True, capture_output=True, text=True).stdout))

    def _instructor_course(self) -> None:
        """~/aiecourse in the instructor's home: the course repository, as `git clone` would give it."""
        course = self.home(self.instructor) / "aiecourse"
        ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.pyc")
        for name in ("solutions", "course", "grader"):
            shutil.copytree(REPO_ROOT / name, course / name, ignore=ignore)
        shutil.copy(REPO_ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
        subprocess.run(["chown", "-R", f"{self.instructor}:{self.instructor}", str(course)], check=True)

    # ---------------------------------------------------------------- HTTP
    def log_tail(self, chars: int = 4000) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "--- hub log (tail) ---\n" + text[-chars:]

    def _get_ok(self, url: str) -> bool:
        if self.hub is not None and self.hub.poll() is not None:
            raise HubError(f"the hub exited with {self.hub.returncode}\n{self.log_tail()}")
        try:
            return self.http.get(url, timeout=10).status_code == 200
        except requests.RequestException:
            return False

    def _server_ready(self, user: str) -> bool:
        if self.hub is not None and self.hub.poll() is not None:
            raise HubError(f"the hub exited with {self.hub.returncode}\n{self.log_tail()}")
        r = self.http.get(f"{self.url}/hub/api/users/{user}", timeout=30)
        r.raise_for_status()
        server = r.json().get("servers", {}).get("")
        if server is None and not r.json().get("pending"):
            raise HubError(f"{user}'s server stopped or failed to start\n{self.log_tail()}")
        return bool(server and server.get("ready"))

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            time.sleep(0.5)
        raise HubError(f"timed out after {timeout:.0f} s waiting for {what}\n{self.log_tail()}")

    def user_url(self, user: str, path: str) -> str:
        return f"{self.url}/user/{user}/{path.lstrip('/')}"

    def call(self, method: str, user: str, path: str, timeout: float = 120, **kw) -> requests.Response:
        """An HTTP request to `user`'s server, through the hub's proxy, with the service's token."""
        r = self.http.request(method, self.user_url(user, path), timeout=timeout, **kw)
        if r.status_code >= 400:
            raise HubError(f"{method} /user/{user}/{path}: HTTP {r.status_code}: {r.text[:1000]}")
        return r

    def action(self, user: str, path: str, **data) -> dict:
        """One of nbgrader's REST actions. They answer HTTP 200 even when they fail: judge the body."""
        body = self.call("POST", user, path, data=data).json()
        if not body.get("success", False):
            raise HubError(f"POST /user/{user}/{path} failed:\n{json.dumps(body, indent=1)[:4000]}")
        return body

    def read_notebook(self, user: str, path: str) -> dict:
        return self.call("GET", user, f"api/contents/{path}?content=1&type=notebook").json()["content"]

    def write_notebook(self, user: str, path: str, nb: dict) -> None:
        self.call("PUT", user, f"api/contents/{path}", json={"type": "notebook", "format": "json", "content": nb})

    # ---------------------------------------------------------------- a terminal in a user's JupyterLab
    def terminal(self, user: str, command: str, timeout: float) -> tuple[int, str]:
        """Types `command` into a new terminal of `user`'s JupyterLab; returns its exit status and output."""
        name = self.call("POST", user, "api/terminals").json()["name"]
        try:
            return asyncio.run(self._terminal(user, name, command, timeout))
        finally:
            try:
                self.call("DELETE", user, f"api/terminals/{name}")
            except (HubError, requests.RequestException):
                pass

    async def _terminal(self, user: str, name: str, command: str, timeout: float) -> tuple[int, str]:
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        url = self.user_url(user, f"terminals/websocket/{name}").replace("http://", "ws://", 1)
        ws = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {self.token}"}))
        try:
            ws.write_message(json.dumps(["set_size", 50, 400]))
            ws.write_message(json.dumps(["stdin", f"{command}; echo __AIECOURSE_EXIT_$?__\r"]))
            out, deadline = "", time.monotonic() + timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise HubError(f"the terminal command ran past {timeout:.0f} s:\n{ANSI.sub('', out)[-4000:]}")
                msg = await asyncio.wait_for(ws.read_message(), left)
                if msg is None:
                    raise HubError(f"the terminal closed:\n{ANSI.sub('', out)[-4000:]}")
                kind, *payload = json.loads(msg)
                if kind == "stdout":
                    out += payload[0]
                    m = re.search(r"__AIECOURSE_EXIT_(\d+)__", out)
                    if m:
                        return int(m.group(1)), ANSI.sub("", out[: m.start()])
        finally:
            ws.close()

    # ---------------------------------------------------------------- clean-up
    def _ours(self) -> list[psutil.Process]:
        """Every live process this class started: the hub's descendants and anything run as its users."""
        found: dict[int, psutil.Process] = {}
        for p in self.procs + ([self.hub] if self.hub else []):
            try:
                proc = psutil.Process(p.pid)
                found[proc.pid] = proc
                for child in proc.children(recursive=True):
                    found[child.pid] = child
            except psutil.NoSuchProcess:
                pass
        for proc in psutil.process_iter(["uids"]):
            try:
                if proc.info["uids"] and proc.info["uids"].real in self.uids:
                    found[proc.pid] = proc
            except psutil.NoSuchProcess:
                pass
        return [p for p in found.values() if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]

    def stop(self) -> list[str]:
        """Stops everything and deletes the users; returns what could not be cleaned up ([] when all)."""
        problems: list[str] = []
        survivors = self._ours()  # noted before the hub stops: its servers have their own sessions
        for p in self.procs + ([self.hub] if self.hub else []):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs + ([self.hub] if self.hub else []):
            try:
                p.wait(timeout=30)  # the hub stops every user's server and its proxy on SIGTERM
            except subprocess.TimeoutExpired:
                problems.append(f"pid {p.pid} ({p.args[0]}) ignored SIGTERM for 30 s")
        for proc in {p.pid: p for p in survivors + self._ours()}.values():
            try:
                if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                    proc.kill()
                    proc.wait(5)
            except psutil.NoSuchProcess:
                pass
            except psutil.TimeoutExpired:
                problems.append(f"pid {proc.pid} survived SIGKILL")
        for p in self.procs + ([self.hub] if self.hub else []):
            if p.poll() is None:
                p.kill()
                p.wait(5)
        left = self._ours()
        if left:
            problems.append("processes left: " + ", ".join(f"{p.pid} {p.name()}" for p in left))
        for user in self.created_users:
            r = subprocess.run(["userdel", "--remove", user], capture_output=True, text=True)
            if r.returncode not in (0, 12):  # 12: the home folder could not be removed (done below)
                problems.append(f"userdel {user}: {r.returncode} {r.stderr.strip()}")
        shutil.rmtree(self.base, ignore_errors=True)
        for user in self.created_users:
            if subprocess.run(["id", user], capture_output=True).returncode == 0:
                problems.append(f"user {user} still exists")
        return problems

    def save_logs(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if self.log_path.exists():
            shutil.copy(self.log_path, folder / "hub.log")
        (folder / "timings.json").write_text(json.dumps({k: round(v, 1) for k, v in self.timings.items()}, indent=1))


def read_grades(path: Path) -> dict[str, dict]:
    """student -> {"total", "max", "status", "reason"} from `python -m grader autograde`'s grades CSV."""
    with open(path, newline="") as f:
        return {
            row["student"]: {
                "total": float(row["total"]),
                "max": float(row["max"]),
                "status": row["status"],
                "reason": row["reason"],
            }
            for row in csv.DictReader(f)
        }
