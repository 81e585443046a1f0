"""Taking in a class's submissions: find each student's notebook, check it, and make it safe to grade.

Three layouts (``find_submissions``):

- nbgrader's ``submitted/<student>/<chapter>/<notebook>.ipynb`` (what ``nbgrader collect`` and the
  hub's exchange produce; a ``timestamp.txt`` beside the notebook is kept);
- a flat folder of ``<student>.ipynb``;
- an LMS download (``.zip``, nested archives included), read with nbgrader's zip_collect plugins:
  the file names are matched by ``FileNameCollectorPlugin.named_regexp`` (``student_id``,
  ``file_id``, optionally ``timestamp``), configured in ``grader/nbgrader_config.py``.

A notebook under another name is graded if it is this chapter's (by its cells); a notebook with
none of the chapter's cells, another chapter's notebook, a file that is not valid notebook JSON, or
no notebook at all is *invalid* and scores zero with the reason. ``prepare`` then repairs what
nbgrader itself does not: metadata a learner edited (a test cell demoted, tagged
``skip-execution``, given 100 points, a fake test cell with an unknown id) and cells deleted
together with their neighbours; ``scan_source`` lists code that tampers with the tests.
"""

from __future__ import annotations

import ast
import copy
import json
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from traitlets import Bool, Integer, Unicode
from traitlets.config import LoggingConfigurable

from .notebooks import SOLUTIONS, nbgrader_meta

CHAPTER_NAME = re.compile(r"^(\d\d)_[A-Za-z0-9_]+$")
SAFE_ID = re.compile(r"[^A-Za-z0-9_.@+-]")


class SubmissionIntake(LoggingConfigurable):
    """Settings of the intake (``c.SubmissionIntake...`` in ``grader/nbgrader_config.py``)."""

    max_notebook_bytes = Integer(512 * 2**20, help="a notebook file larger than this is not read (invalid)").tag(
        config=True
    )
    archive_file_times = Bool(
        True,
        help="an LMS archive whose file names carry no time: each submission's time is its file's time in the "
        "archive (Canvas and Moodle keep the submission time there); ignored when every file has the same time",
    ).tag(config=True)
    archive_timezone = Unicode(
        "UTC", help="the zone of the times in an LMS archive (a zip stores local times without a zone)"
    ).tag(config=True)


@dataclass
class Submission:
    student: str
    candidates: list[Path] = field(default_factory=list)  # the student's notebook files
    names: dict[Path, str] = field(default_factory=dict)  # each candidate's name as submitted
    timestamp: str | None = None  # when it was submitted, UTC (nbgrader's timestamp.txt format)
    timestamp_from: str = ""  # where that time was read: timestamp.txt, the file name, the archive, ...
    secret: str | None = None  # nbgrader's submission_secret.txt (hub exchange): release_feedback needs it
    problem: str | None = None  # why it cannot be graded (status "invalid")
    notes: list[str] = field(default_factory=list)  # what the learner should know (renamed, cells put back, ...)
    notebook: Path | None = None  # the one graded (set by check_notebook)
    name_is_student: bool = False  # flat layout: the file is named after the student, not the chapter


@dataclass
class ChapterInfo:
    """What intake needs to know about a chapter: its source cells, in order, and their released versions."""

    chapter: str
    source: nbformat.NotebookNode
    release: nbformat.NotebookNode

    @property
    def grade_ids(self) -> list[str]:
        return [nbgrader_meta(c)["grade_id"] for c in self.source.cells if nbgrader_meta(c).get("grade_id")]

    @property
    def graded_ids(self) -> list[str]:
        return [nbgrader_meta(c)["grade_id"] for c in self.source.cells if nbgrader_meta(c).get("grade")]

    def points(self) -> dict[str, float]:
        return {
            nbgrader_meta(c)["grade_id"]: float(nbgrader_meta(c).get("points", 0))
            for c in self.source.cells
            if nbgrader_meta(c).get("grade")
        }


def known_chapter_ids(solutions: Path = SOLUTIONS) -> dict[str, set[str]]:
    """grade ids of every chapter in ``solutions/``: to tell which chapter a stray notebook belongs to."""
    found = {}
    for path in sorted(solutions.glob("*/*.ipynb")):
        if path.stem == path.parent.name:
            try:
                nb = nbformat.read(path, as_version=4)
            except Exception:  # noqa: BLE001
                continue
            found[path.stem] = {nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c).get("grade_id")}
    return found


def safe_student_id(raw: str) -> str:
    cleaned = SAFE_ID.sub("_", raw.strip()).strip("._") or "student"
    return cleaned


# --- finding the submissions ---------------------------------------------------------------------------


def _notebooks_in(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.rglob("*.ipynb")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def _timestamp_in(folder: Path) -> str | None:
    stamp = folder / "timestamp.txt"
    return stamp.read_text().strip() or None if stamp.is_file() else None


TIMESTAMP = "%Y-%m-%d %H:%M:%S.%f UTC"  # how nbgrader writes timestamp.txt


def shown_utc(moment) -> str:
    """A naive UTC time (as nbgrader's gradebook holds it) for a person to read; '' for None."""
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC" if moment else ""


def parse_time(text: str):
    """``text`` (any time nbgrader reads, e.g. ``2026-12-01 17:00:00 Europe/Paris``) as a naive UTC
    datetime; a time without a zone is taken as UTC. Raises ValueError if it is no time."""
    from nbgrader.utils import parse_utc

    try:
        moment = parse_utc(text.strip())
    except (ValueError, OverflowError, TypeError) as e:
        raise ValueError(f"{text!r} is not a time nbgrader can read (e.g. 2026-12-01 17:00:00 UTC)") from e
    if moment is None:
        raise ValueError(f"{text!r} is not a time")
    return moment


def utc_timestamp(text: str) -> str:
    """``text`` (see ``parse_time``) as nbgrader writes ``timestamp.txt``. Raises ValueError if it is no time."""
    return parse_time(text).strftime(TIMESTAMP)


def _archive_file_times(archive: Path, extracted: Path, zone: str) -> dict[Path, str]:
    """Each file of a zip archive (top level, as nbgrader's extractor lays it out) with its time in the
    archive, in UTC."""
    import datetime
    import zipfile
    from zoneinfo import ZoneInfo

    if not zipfile.is_zipfile(archive):
        return {}
    folder = extracted / Path(archive.name).stem
    tz = ZoneInfo(zone)
    times = {}
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            local = datetime.datetime(*info.date_time, tzinfo=tz)
            utc = local.astimezone(datetime.timezone.utc).replace(tzinfo=None)
            times[(folder / info.filename).resolve()] = utc.strftime(TIMESTAMP)
    return times


def _secret_in(folder: Path) -> str | None:
    secret = folder / "submission_secret.txt"  # kept byte for byte: nbgrader hashes it to name the feedback
    return secret.read_text() or None if secret.is_file() else None


def find_submissions(
    source: Path, chapter: str, config=None, workdir: Path | None = None
) -> tuple[list[Submission], list[str], str]:
    """The submissions in ``source``, warnings for the instructor, and the layout's name."""
    source = Path(source)
    if source.is_file():
        if source.suffix.lower() in (".zip", ".gz"):
            return (*_from_archive(source, chapter, config, workdir), "LMS archive")
        raise ValueError(f"{source}: expected a folder of submissions or a .zip archive")
    if not source.is_dir():
        raise FileNotFoundError(f"{source}: no such folder or archive")
    if (source / "submitted").is_dir():
        source = source / "submitted"
    nbgrader_style = [d for d in source.iterdir() if d.is_dir() and (d / chapter).is_dir()]
    if nbgrader_style:
        subs, warnings, seen = [], [], set()
        for student_dir in sorted(nbgrader_style):
            folder = student_dir / chapter
            stamp = _timestamp_in(folder)
            sub = Submission(
                safe_student_id(student_dir.name),
                timestamp=stamp,
                timestamp_from="timestamp.txt" if stamp else "",
                secret=_secret_in(folder),
            )
            if sub.student in seen:
                warnings.append(f"student folder {student_dir.name!r}: its safe id {sub.student!r} is taken; skipped")
                continue
            seen.add(sub.student)
            if sub.student != student_dir.name:
                warnings.append(f"student folder {student_dir.name!r} graded as {sub.student!r} (safe id)")
            _choose(
                sub,
                _notebooks_in(folder),
                [p.name for p in folder.rglob("*") if p.is_file()],
                {p: str(p.relative_to(folder)) for p in _notebooks_in(folder)},
            )
            subs.append(sub)
        return subs, warnings, "nbgrader submitted/<student>/<chapter>/"
    flat = sorted(p for p in source.iterdir() if p.is_file() and p.suffix == ".ipynb")
    if flat:
        subs, warnings, seen = [], [], set()
        for path in flat:
            student = safe_student_id(path.stem)
            if student in seen:
                warnings.append(f"{path.name}: a second file for student {student!r}; skipped")
                continue
            seen.add(student)
            sub = Submission(student, name_is_student=True)
            _choose(sub, [path], [path.name])
            subs.append(sub)
        others = [p.name for p in source.iterdir() if p.is_file() and p.suffix != ".ipynb"]
        if others:
            warnings.append(f"ignored {len(others)} file(s) that are not notebooks: {', '.join(others[:5])}")
        return subs, warnings, "flat folder of <student>.ipynb"
    raise ValueError(
        f"{source}: found neither {chapter} folders (nbgrader's submitted/<student>/{chapter}/), "
        "nor <student>.ipynb files"
    )


def _from_archive(archive: Path, chapter: str, config, workdir: Path | None) -> tuple[list[Submission], list[str]]:
    from nbgrader.plugins.zipcollect import ExtractorPlugin, FileNameCollectorPlugin
    from nbgrader.utils import parse_utc

    extractor = ExtractorPlugin(config=config)
    collector = FileNameCollectorPlugin(config=config)
    if not collector.named_regexp:
        raise ValueError("set FileNameCollectorPlugin.named_regexp (grader/nbgrader_config.py) to read an LMS archive")
    base = Path(tempfile.mkdtemp(prefix="extract-", dir=workdir))
    (base / "archive").mkdir()
    shutil.copy(archive, base / "archive" / archive.name)
    extractor.extract(str(base / "archive"), str(base / "extracted"))
    intake_config = SubmissionIntake(config=config)
    file_times = (
        _archive_file_times(archive, base / "extracted", intake_config.archive_timezone)
        if intake_config.archive_file_times
        else {}
    )
    per_student: dict[str, dict] = {}
    warnings = []
    for path in sorted((base / "extracted").rglob("*")):
        inside = path.relative_to(base / "extracted").parts
        if not path.is_file() or any(part.startswith(".") or part == "__MACOSX" for part in inside):
            continue
        info = collector._match(str(path))  # the plugin's own matching, for every file (not only .ipynb)
        if not info or not info.get("student_id"):
            warnings.append(
                f"{path.relative_to(base / 'extracted')}: no student in its name "
                f"(FileNameCollectorPlugin.named_regexp); skipped"
            )
            continue
        entry = per_student.setdefault(
            safe_student_id(info["student_id"]),
            {"notebooks": {}, "files": [], "stamp": None, "from": "", "file_time": None},
        )
        entry["files"].append(path.name)
        stamp = info.get("timestamp")
        if stamp:
            try:
                stamp = parse_utc(stamp).isoformat(" ")
            except ValueError:
                warnings.append(f"{path.name}: unreadable timestamp {stamp!r}; ignored")
                stamp = None
        if stamp:
            entry["from"] = "the file name in the archive"
        file_time = file_times.get(path.resolve())
        if path.suffix == ".ipynb" and file_time and (entry["file_time"] is None or file_time > entry["file_time"]):
            entry["file_time"] = file_time
        if path.suffix == ".ipynb":
            file_id = Path(info.get("file_id") or path.name).stem + ".ipynb"
            old = entry["notebooks"].get(file_id)
            if old is None or (stamp or "") >= (old[1] or ""):  # the newest attempt of a file wins
                entry["notebooks"][file_id] = (path, stamp)
        if stamp and (entry["stamp"] is None or stamp > entry["stamp"]):
            entry["stamp"] = stamp
    # Times of the files in the archive, where the names carry none: only if they differ (an archive made
    # by hand, or by an LMS that writes the download time, gives every file the same time)
    by_file = {e["file_time"] for e in per_student.values() if e["stamp"] is None and e["file_time"]}
    use_file_times = len(by_file) > 1 or (len(by_file) == 1 and len(per_student) == 1)
    if by_file and not use_file_times:
        warnings.append(
            "every notebook in the archive has the same file time: not used as the submission time "
            "(give the times with --submitted-at if the due date matters)"
        )
    subs = []
    for student in sorted(per_student):
        entry = per_student[student]
        stamp, source = entry["stamp"], entry["from"]
        if stamp is None and use_file_times and entry["file_time"]:
            stamp = entry["file_time"]
            source = f"the notebook's file time in the archive ({intake_config.archive_timezone})"
        sub = Submission(student, timestamp=stamp, timestamp_from=source if stamp else "")
        named = {path: file_id for file_id, (path, _) in entry["notebooks"].items()}
        _choose(sub, sorted(named, key=lambda p: named[p]), entry["files"], names=named)
        subs.append(sub)
    return subs, warnings


def _choose(sub: Submission, candidates: list[Path], files: list[str], names: dict | None = None) -> None:
    """Record a student's notebook files (or why there are none)."""
    if not candidates:
        listed = ", ".join(sorted(files)[:5]) or "nothing"
        sub.problem = f"no notebook was submitted (found: {listed})"
        return
    sub.candidates = list(candidates)
    sub.names = dict(names or {p: p.name for p in candidates})


# --- reading and checking one notebook -----------------------------------------------------------------


def read_notebook(path: Path, max_bytes: int) -> tuple[nbformat.NotebookNode | None, str | None]:
    size = path.stat().st_size
    if size > max_bytes:
        return (
            None,
            f"the notebook file is {size / 2**20:.0f} MB, more than the {max_bytes / 2**20:.0f} MB the grader reads",
        )
    raw = path.read_bytes()
    try:
        data = json.loads(raw.decode("utf-8", errors="replace"))
    except json.JSONDecodeError as e:
        return (
            None,
            f"the file is not valid notebook JSON ({e.msg} at line {e.lineno}, column {e.colno}): was it saved completely?",
        )
    if not isinstance(data, dict) or not isinstance(data.get("cells", data.get("worksheets")), list):
        return None, "the file is JSON but not a Jupyter notebook (no cells)"
    try:
        nb = nbformat.reads(json.dumps(data), as_version=4)
    except Exception as e:  # noqa: BLE001 - nbformat raises many kinds
        return None, f"the file is not a readable Jupyter notebook ({type(e).__name__}: {str(e)[:200]})"
    for cell in nb.cells:  # outputs are thrown away before grading anyway (nbgrader's ClearOutput)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb, None


def _ids(nb) -> set[str]:
    return {nbgrader_meta(c)["grade_id"] for c in nb.cells if isinstance(nbgrader_meta(c).get("grade_id"), str)}


def check_notebook(sub: Submission, info: ChapterInfo, chapters: dict[str, set[str]], max_bytes: int):
    """Read the student's notebook and return it, or set ``sub.problem``.

    Among several files, the one named after the chapter wins if it holds the chapter's cells, else
    the one holding most of them."""
    mine = set(info.grade_ids)
    expected = f"{info.chapter}.ipynb"
    readable, problems = [], []
    for path in sub.candidates:
        nb, problem = read_notebook(path, max_bytes)
        if nb is None:
            problems.append(f"{sub.names[path]}: {problem}")
        else:
            readable.append((len(_ids(nb) & mine), sub.names[path] == expected, path, nb))
    graded = [r for r in readable if r[0] > 0]
    if not graded:
        if not readable:
            sub.problem = problems[0] if len(problems) == 1 else "; ".join(problems)
            return None
        _, _, path, nb = readable[0]
        name = sub.names[path]
        ids = _ids(nb)
        others = sorted(
            ((len(ids & g), ch) for ch, g in chapters.items() if ch != info.chapter and ids & g), reverse=True
        )
        stem = Path(name).stem
        if others:
            sub.problem = f"{name} is chapter {others[0][1]}'s notebook, not {info.chapter}'s"
        elif CHAPTER_NAME.match(stem) and stem != info.chapter:
            sub.problem = (
                f"{name} looks like chapter {stem}'s notebook, not {info.chapter}'s (it has none of its cells)"
            )
        else:
            sub.problem = f"{name} has none of {info.chapter}'s cells: submit the chapter's notebook"
        return None
    graded.sort(key=lambda r: (r[1], r[0]), reverse=True)
    _, _, path, nb = graded[0]
    sub.notebook = path
    name = sub.names[path]
    if name != expected and not sub.name_is_student:
        sub.notes.append(f"your notebook was named {name}; it was graded as {expected}")
    others = [sub.names[p] for p in sub.candidates if p != path]
    if others:
        sub.notes.append(f"graded {name}; not graded: {', '.join(sorted(others))}")
    return nb


# --- repairing what a learner may have changed ----------------------------------------------------------


def prepare(nb, info: ChapterInfo) -> tuple[nbformat.NotebookNode, list[str]]:
    """Give every known cell its source metadata back, drop fake ones, put back deleted course cells."""
    notes = []
    source = {nbgrader_meta(c)["grade_id"]: c for c in info.source.cells if nbgrader_meta(c).get("grade_id")}
    release = {nbgrader_meta(c)["grade_id"]: c for c in info.release.cells if nbgrader_meta(c).get("grade_id")}
    seen: set[str] = set()
    fixed, faked = [], []
    for cell in nb.cells:
        meta = cell.get("metadata", {})
        grade_id = nbgrader_meta(cell).get("grade_id") if isinstance(nbgrader_meta(cell), dict) else None
        if "nbgrader" in meta and (grade_id not in source or grade_id in seen):
            if grade_id not in source and (nbgrader_meta(cell).get("grade") or nbgrader_meta(cell).get("locked")):
                faked.append(str(grade_id))
            del meta["nbgrader"]
            continue
        if grade_id is None:
            continue
        seen.add(grade_id)
        ref = source[grade_id]
        wanted = {k: v for k, v in ref.metadata.items() if k in ("nbgrader", "deletable", "editable")}
        current_nb = {k: v for k, v in meta.get("nbgrader", {}).items() if k not in ("checksum", "cell_type")}
        if current_nb != wanted["nbgrader"] or meta.get("tags") or cell.cell_type != ref.cell_type:
            fixed.append(grade_id)
        if cell.cell_type != ref.cell_type:
            new = copy.deepcopy(release[grade_id])
            new.source = cell.source
            cell.clear()
            cell.update(new)
            continue
        for key in list(meta):
            if key not in ("nbgrader", "deletable", "editable", "collapsed", "scrolled", "jupyter"):
                del meta[key]
        meta.update(copy.deepcopy(wanted))
    if fixed:
        notes.append(f"the metadata of cells {', '.join(sorted(set(fixed)))} had been changed; it was put back")
    if faked:
        notes.append(f"cells posing as course cells ({', '.join(faked)}) were graded as ordinary cells")
    # put back deleted course cells (their released version) just before the next course cell that is
    # there (or at the end): as late as the chapter's order allows, so that what they use is defined
    order = [nbgrader_meta(c)["grade_id"] for c in info.source.cells if nbgrader_meta(c).get("grade_id")]
    missing = [g for g in order if g not in seen]
    for grade_id in reversed(missing):
        after = order[order.index(grade_id) + 1 :]
        position = len(nb.cells)
        for i, cell in enumerate(nb.cells):
            if nbgrader_meta(cell).get("grade_id") in after:
                position = i
                break
        nb.cells.insert(position, copy.deepcopy(release[grade_id]))
    if missing:
        notes.append(f"cells deleted from your notebook were put back: {', '.join(missing)}")
    nb.metadata["kernelspec"] = copy.deepcopy(info.source.metadata.get("kernelspec", {}))
    for cell in nb.cells:
        cell.pop("id", None)
    nb.nbformat, nb.nbformat_minor = 4, 4
    return nb, notes


# --- code that tampers with the tests -------------------------------------------------------------------

SUSPICIOUS_NAMES = {
    "gc": "inspects the interpreter's objects (gc)",
    "ctypes": "uses ctypes",
    "inspect": "inspects frames (inspect)",
    "builtins": "changes builtins",
    "importlib": "re-imports modules (importlib)",
    "grader": "uses the grader's code",
    "__aiecourse_guard__": "touches the grader's guard",
    "get_ipython": "changes how the notebook runs (get_ipython)",
    "subprocess": "starts processes (subprocess)",
    "signal": "handles signals",
}
SUSPICIOUS_ATTRS = {
    "settrace",
    "setprofile",
    "_getframe",
    "modules",
    "displayhook",
    "excepthook",
    "__torch_function__",
    "__torch_dispatch__",
    "_make_subclass",
    "__closure__",
    "__globals__",
    "__code__",
    "__builtins__",
    "__dict__",
    "_exit",
    "kill",
    "abort",
    "environ",
    "input_transformers_post",
    "input_transformers_cleanup",
    "ast_transformers",
}
SUSPICIOUS_CALLS = {"exec", "eval", "compile", "__import__", "globals", "vars", "setattr", "delattr"}


def scan_source(nb, info: ChapterInfo) -> list[str]:
    """Lines of the learner's code that change what the tests rely on (for the instructor's review).

    The grader does not trust this list to keep grades right (see ``grader.kernel_guard``); it flags
    the submission so that a person looks at it.
    """
    given_names, module_names = set(), {"torch", "F", "nn", "np", "numpy", "math", "aiecourse", "sys", "os", "builtins"}
    for cell in info.source.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "code" and meta.get("locked"):
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            for node in tree.body:
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    for alias in node.names:
                        name = (alias.asname or alias.name).split(".")[0]
                        given_names.add(name)
                        if isinstance(node, ast.Import) or alias.name[:1].islower():
                            module_names.add(name)
                elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                    given_names.add(node.name)
    # Unlocked cells the release itself ships (the Colab setup cell) are not the learner's code,
    # as long as their source is unchanged.
    released_sources = {c.source for c in info.release.cells if c.cell_type == "code" and not nbgrader_meta(c)}
    findings = []
    for index, cell in enumerate(nb.cells):
        meta = nbgrader_meta(cell)
        if cell.cell_type != "code" or meta.get("locked") or (not meta and cell.source in released_sources):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        where = f"cell {index + 1}"

        def root(node):
            while isinstance(node, (ast.Attribute, ast.Subscript)):
                node = node.value
            return node.id if isinstance(node, ast.Name) else None

        def dotted(node):
            parts = []
            while isinstance(node, ast.Attribute):
                parts.append(node.attr)
                node = node.value
            if isinstance(node, ast.Name):
                parts.append(node.id)
            return ".".join(reversed(parts))

        for node in ast.walk(tree):
            line = f"{where}, line {getattr(node, 'lineno', '?')}"
            targets = []
            if isinstance(node, (ast.Assign, ast.Delete)):
                targets = node.targets
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
                targets = [node.target]
            for target in targets:
                for t in target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]:
                    if isinstance(t, (ast.Attribute, ast.Subscript)) and root(t) in module_names:
                        findings.append(
                            f"{line}: changes {dotted(t) if isinstance(t, ast.Attribute) else root(t) + '[...]'}"
                        )
                    elif isinstance(t, ast.Name) and t.id in given_names:
                        findings.append(f"{line}: re-defines {t.id}, which the notebook gives")
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name in given_names:
                findings.append(f"{line}: re-defines {node.name}, which the notebook gives")
            if isinstance(node, ast.Global):
                hit = [n for n in node.names if n in given_names]
                if hit:
                    findings.append(f"{line}: re-binds {', '.join(hit)} from inside a function")
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    name = (alias.asname or alias.name).split(".")[0]
                    top = (alias.name if isinstance(node, ast.Import) else (node.module or "")).split(".")[0]
                    if top in SUSPICIOUS_NAMES:
                        findings.append(f"{line}: {SUSPICIOUS_NAMES[top]}")
                    if (
                        name in given_names
                        and isinstance(node, ast.ImportFrom)
                        and node.module != "aiecourse.checks"
                        and not (node.module or "").startswith("torch")
                    ):
                        findings.append(f"{line}: re-defines {name}, which the notebook gives")
            if (
                isinstance(node, ast.Name)
                and node.id in SUSPICIOUS_NAMES
                and isinstance(node.ctx, ast.Load)
                and node.id not in ("signal", "inspect")
            ):
                findings.append(f"{line}: {SUSPICIOUS_NAMES[node.id]}")
            if isinstance(node, ast.Attribute) and node.attr in SUSPICIOUS_ATTRS:
                findings.append(f"{line}: uses {dotted(node) or node.attr}")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in SUSPICIOUS_CALLS:
                findings.append(f"{line}: calls {node.func.id}()")
    unique = []
    for f in findings:
        if f not in unique:
            unique.append(f)
    return unique
