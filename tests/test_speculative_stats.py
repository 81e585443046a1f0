"""Chapter 08's statistical test of ``speculative_step`` cannot flake, and its margins catch wrong rules.

The graded cell ``test_speculative_step`` defines ``frequency_checks(seed)``: speculative steps of a toy
target and a toy draft whose next-token distributions are far apart, 1,500 runs for k = 1 and k = 3, and
the frequencies of the first new token and of the first two compared with the target's distribution
through ``aiecourse.checks.check_frequencies`` (a correct rule exceeds its margin with probability below
1e-9 per check, whatever the seed). Here that function, taken from the solution notebook's cell as it
is, runs over several seeds: the reference and a correct alternative pass on every seed, and every rule
whose output distribution is not the target's fails on every seed.
"""

from __future__ import annotations

import ast
import contextlib
import io

import pytest

from grader.mutation import ChapterSession, load_spec

pytestmark = pytest.mark.slow

CHAPTER = "08_serving"
CELL = "test_speculative_step"
SEEDS = range(6)
NEEDED = {"Bigram", "two_tokens", "expected_pairs", "frequency_checks", "p_table", "q_table"}
# Mutants of tests/mutants/08_serving.py whose output distribution is wrong: the frequency checks alone
# must reject them (the others are caught by the cell's deterministic checks).
WRONG_DISTRIBUTION = [
    "sampling: every guess accepted",
    "sampling: a rejected guess replaced by a draw from p",
    "sampling: accepted with probability q / p",
    "sampling: the bonus token drawn from the draft",
    "sampling: the guesses after a rejection kept",
]


@pytest.fixture(scope="module")
def session(one_torch_thread):
    return ChapterSession(CHAPTER)


@pytest.fixture(scope="module")
def rules():
    return load_spec(CHAPTER)["speculative_step"]


def checks_with(session, source: str | None):
    """The cell's ``frequency_checks``, bound to a namespace where ``speculative_step`` is the given one."""
    tree = ast.parse(session.graded[CELL])
    keep = [
        node
        for node in tree.body
        if (isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in NEEDED)
        or (isinstance(node, ast.Assign) and {getattr(t, "id", None) for t in node.targets} & NEEDED)
    ]
    found = {getattr(n, "name", None) or n.targets[0].id for n in keep}
    assert found == NEEDED, f"{CELL} no longer defines {sorted(NEEDED - found)}"
    ns = dict(session.ns)
    with contextlib.redirect_stdout(io.StringIO()):
        if source is not None:
            exec(compile(source, "<speculative_step>", "exec"), ns)
        exec(compile(ast.Module(body=keep, type_ignores=[]), f"<{CELL} functions>", "exec"), ns)

    def run(seed: int) -> str | None:
        try:
            ns["frequency_checks"](1000 * seed + 17)
        except AssertionError as e:
            return str(e)
        return None

    return run


def test_the_cell_runs_its_checks_through_check_frequencies(session):
    source = session.graded[CELL]
    assert "frequency_checks(seed=0)" in source
    assert source.count("check_frequencies(") >= 3


@pytest.mark.parametrize(
    "name", ["reference", "greedy by comparing whole tensors, sampling with uniform draws against p / q"]
)
def test_correct_rules_pass_on_every_seed(session, rules, name):
    run = checks_with(session, None if name == "reference" else rules["alternatives"][name])
    failures = {seed: message for seed in SEEDS if (message := run(seed)) is not None}
    assert not failures, f"{name}: the frequency checks failed a correct rule on {len(failures)} seeds: {failures}"


@pytest.mark.parametrize("name", WRONG_DISTRIBUTION)
def test_wrong_rules_fail_on_every_seed(session, rules, name):
    run = checks_with(session, rules["mutants"][name])
    passed = [seed for seed in SEEDS if run(seed) is None]
    assert not passed, f"{name}: the frequency checks accepted a wrong rule on seeds {passed}"
