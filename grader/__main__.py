"""Command line: ``python -m grader {release,check,mutants,autograde,deadline,return-feedback,export} ...``."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="regenerate course/ from solutions/ (nbgrader generate_assignment)")
    p.add_argument("chapter", nargs="?", help="one chapter, e.g. 02_attention (default: all)")
    p.add_argument("--check", action="store_true", help="change nothing; exit 1 if course/ is stale")

    p = sub.add_parser("check", help="run a notebook in a fresh kernel and report each graded cell")
    p.add_argument("notebook")
    p.add_argument("--timeout", type=int, default=120, help="seconds per cell (default 120)")

    p = sub.add_parser("mutants", help="run each exercise's wrong and correct implementations through its graded cells")
    p.add_argument("chapters", nargs="*", help="chapters (default: every chapter with tests/mutants/<chapter>.py)")
    p.add_argument("-v", "--verbose", action="store_true", help="also list caught mutants and accepted alternatives")

    p = sub.add_parser("autograde", help="grade a class's submissions through nbgrader's gradebook, in parallel")
    p.add_argument(
        "submissions",
        help="nbgrader's submitted/ folder (submitted/<student>/<chapter>/), "
        "a folder of <student>.ipynb, or an LMS .zip",
    )
    p.add_argument("--chapter", required=True, help="the chapter, e.g. 02_attention")
    p.add_argument("--jobs", type=int, default=1, help="submissions graded at once (default 1)")
    p.add_argument(
        "--out",
        help="course root for the gradebook, autograded/, feedback/ and grades/ "
        "(default: the course root of grader/nbgrader_config.py)",
    )
    p.add_argument("--timeout", type=int, help="seconds per cell (default: Execute.timeout of the config)")
    p.add_argument(
        "--submission-timeout", type=int, help="seconds per notebook (default: GuardedExecute.submission_timeout)"
    )
    p.add_argument("--memory", type=float, help="GiB of memory per notebook (default: GuardedExecute.memory_limit)")
    p.add_argument("--keep", action="store_true", help="keep the scratch folder .autograde/<chapter>/ for inspection")
    p.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run the kernels without the bubblewrap sandbox (docs/sandbox.md): submitted code then runs "
        "with your rights; the summary and the CSV say so",
    )
    p.add_argument(
        "--student",
        action="append",
        metavar="ID",
        help="grade only this student's submission (repeatable); the CSV keeps every other student's row",
    )
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="a progress bar on stderr (default: when stderr is a terminal)",
    )
    p.add_argument(
        "--submitted-at",
        metavar="CSV",
        help="when each student submitted: a CSV with the columns student,timestamp (a time without a zone is "
        "UTC), for a flat folder or any layout whose times are wrong; it wins over timestamp.txt and archive times",
    )

    p = sub.add_parser("deadline", help="a chapter's due date and the students' extensions (nbgrader's gradebook)")
    p.add_argument("--chapter", required=True, help="the chapter, e.g. 02_attention")
    p.add_argument(
        "--due", metavar="TIME", help='set the due date, e.g. "2026-12-01 17:00:00 Europe/Paris" (default UTC)'
    )
    p.add_argument("--student", action="append", metavar="ID", help="the student(s) --extension is for (repeatable)")
    p.add_argument("--extension", metavar="DURATION", help="e.g. 2d, 36h, 1d 12h, 90m; 0 removes it")
    p.add_argument("--root", help="the course root holding gradebook.db (default: the repository root)")

    p = sub.add_parser("return-feedback", help="every student's feedback page of a chapter in one zip (no exchange)")
    p.add_argument("--chapter", required=True, help="the chapter, e.g. 02_attention")
    p.add_argument("--root", help="the course root holding feedback/ (default: the repository root)")
    p.add_argument("--out", help="the zip to write (default: <root>/grades/<chapter>-feedback.zip)")

    p = sub.add_parser("export", help="grades from the gradebook in a file Canvas or Moodle imports (or a full CSV)")
    p.add_argument(
        "--format", choices=["canvas", "moodle", "csv"], default="csv", help="the file's layout (default csv)"
    )
    p.add_argument("--chapter", action="append", help="a chapter to export (repeatable; default: every graded one)")
    p.add_argument("--root", help="the course root holding gradebook.db (default: the repository root)")
    p.add_argument("--out", help="the file to write (default: <root>/grades/<format>.csv)")
    p.add_argument(
        "--missing", choices=["blank", "zero"], default="blank", help="a chapter not submitted: empty (default) or 0"
    )

    args = parser.parse_args(argv)
    if args.command == "release":
        from .release import release

        return release(args.chapter, check=args.check)
    if args.command == "check":
        from .check import check

        return check(args.notebook, timeout=args.timeout)
    if args.command == "mutants":
        from .mutation import available_chapters, mutation_report, print_report

        reports = [mutation_report(ch) for ch in (args.chapters or available_chapters())]
        print_report(reports, verbose=args.verbose)
        return 0 if all(r.ok for r in reports) else 1
    if args.command == "autograde":
        from .autograde import SandboxUnavailable, autograde

        overrides: dict = {"Execute": {}, "GuardedExecute": {}}
        if args.timeout:
            overrides["Execute"]["timeout"] = args.timeout
        if args.submission_timeout:
            overrides["GuardedExecute"]["submission_timeout"] = args.submission_timeout
        if args.memory:
            overrides["GuardedExecute"]["memory_limit"] = int(args.memory * 1024**3)
        try:
            code, _ = autograde(
                args.submissions,
                args.chapter,
                jobs=args.jobs,
                out=args.out,
                overrides=overrides,
                keep=args.keep,
                sandbox=not args.no_sandbox,
                students=args.student,
                progress=args.progress,
                submitted_at=args.submitted_at,
            )
        except (SandboxUnavailable, ValueError) as e:
            print(f"python -m grader autograde: {e}", file=sys.stderr)
            return 2
        return code
    if args.command == "deadline":
        from .deadline import deadline
        from .notebooks import REPO_ROOT

        try:
            return deadline(args.root or REPO_ROOT, args.chapter, args.due, args.student, args.extension)
        except ValueError as e:
            print(f"python -m grader deadline: {e}", file=sys.stderr)
            return 2
    if args.command == "return-feedback":
        from .handback import return_feedback
        from .notebooks import REPO_ROOT

        try:
            path, count = return_feedback(args.root or REPO_ROOT, args.chapter, args.out)
        except FileNotFoundError as e:
            print(f"python -m grader return-feedback: {e}", file=sys.stderr)
            return 2
        print(f"wrote {path}: {count} feedback page(s), one folder per student")
        return 0
    if args.command == "export":
        from .export import export
        from .notebooks import REPO_ROOT

        try:
            path = export(args.root or REPO_ROOT, args.format, args.chapter, args.out, args.missing)
        except (FileNotFoundError, ValueError) as e:
            print(f"grader export: {e}", file=sys.stderr)
            return 2
        print(f"wrote {path}")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
