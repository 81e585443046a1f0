"""Chapter 05's statistical test of ``sample_next_token`` cannot flake, and its margins catch wrong samplers.

The graded cell ``test_sample_next_token`` defines ``frequency_checks(seed)`` (visible, run with seed 0)
and ``more_frequency_checks(seed)`` (hidden, run with seeds from ``hidden_seed()``). Each draws 10,000
tokens per case and compares their frequencies with the expected probabilities through
``aiecourse.checks.check_frequencies``, whose margin a correct sampler exceeds with probability below
1e-9 per check (McDiarmid's inequality), whatever the seed.

Here those two functions are taken from the solution notebook's cell as they are and run over 200
seeds: the reference sampler and two correct alternatives written differently (inverse CDF, Gumbel-max)
pass on every seed, and every wrong sampler whose distribution is off fails on every seed.
"""

from __future__ import annotations

import ast
import contextlib
import io

import pytest

from grader.mutation import ChapterSession, load_spec

pytestmark = pytest.mark.slow


CHAPTER = "05_sampling"
CELL = "test_sample_next_token"
SEEDS = range(200)
# Mutants of tests/mutants/05_sampling.py that draw from a wrong distribution: the frequency checks alone
# must reject them. (The others -- a sampler that ignores the generator, returns (B, 1), or fails at
# temperature 0 -- draw correctly and are caught by the cell's other, deterministic checks.)
WRONG_DISTRIBUTION = [
    "temperature ignored",
    "filters before the temperature",
    "top-p before top-k",
    "one random number for the whole batch",
    "softmax over the batch",
    "every row drawn from the first row's distribution",
]


@pytest.fixture(scope="module")
def session(one_torch_thread):
    return ChapterSession(CHAPTER)


@pytest.fixture(scope="module")
def samplers():
    return load_spec(CHAPTER)["sample_next_token"]


def checks_with(session, sampler_source: str | None):
    """The cell's frequency-check functions, bound to a namespace where ``sample_next_token`` is the given one."""
    tree = ast.parse(session.graded[CELL])
    defs = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    names = {node.name for node in defs}
    assert {"draw", "frequency_checks", "more_frequency_checks"} <= names, f"{CELL} defines {sorted(names)}"
    ns = dict(session.ns)
    # The cell loads its own copy of the bundled model (``gpt, gpt_tok``) before it defines the functions.
    assert "gpt, gpt_tok = aiecourse.load_bundled(device)" in session.graded[CELL]
    ns["gpt"], ns["gpt_tok"] = ns["aiecourse"].load_bundled(ns["device"])
    with contextlib.redirect_stdout(io.StringIO()):
        if sampler_source is not None:
            exec(compile(sampler_source, "<sampler>", "exec"), ns)
        exec(compile(ast.Module(body=defs, type_ignores=[]), f"<{CELL} functions>", "exec"), ns)

    def run(seed: int) -> str | None:
        try:
            ns["frequency_checks"](seed)
            ns["more_frequency_checks"](seed + 100_000)
        except AssertionError as e:
            return str(e)
        return None

    return run


def test_the_cell_runs_its_checks_through_check_frequencies(session):
    source = session.graded[CELL]
    assert "frequency_checks(seed=0)" in source
    assert "more_frequency_checks(seed=" in source.split("### BEGIN HIDDEN TESTS")[1]
    assert source.count("check_frequencies(") >= 10


@pytest.mark.parametrize("name", ["reference", "inverse CDF in float64 with searchsorted", "Gumbel-max trick"])
def test_correct_samplers_pass_on_every_seed(session, samplers, name):
    source = None if name == "reference" else samplers["alternatives"][name]
    run = checks_with(session, source)
    failures = {seed: message for seed in SEEDS if (message := run(seed)) is not None}
    assert not failures, (
        f"{name}: the frequency checks failed a correct sampler on {len(failures)} of {len(SEEDS)} seeds: {failures}"
    )


@pytest.mark.parametrize("name", WRONG_DISTRIBUTION)
def test_wrong_samplers_fail_on_every_seed(session, samplers, name):
    run = checks_with(session, samplers["mutants"][name])
    passed = [seed for seed in SEEDS if run(seed) is None]
    assert not passed, f"{name}: the frequency checks accepted a wrong sampler on seeds {passed[:10]}"
