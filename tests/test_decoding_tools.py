"""Library code of chapters 04-05: RecordingModel, check_frequencies and the decoding plots."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from aiecourse import plots  # noqa: E402
from aiecourse.caches import ConcatCache  # noqa: E402
from aiecourse.checks import check_frequencies, frequency_margin  # noqa: E402
from aiecourse.instrument import Pass, RecordingModel  # noqa: E402
from aiecourse.model import GPT, GPTConfig  # noqa: E402

TINY = GPTConfig(vocab_size=50, n_positions=32, n_layers=2, n_heads=2, d_model=8)


def test_recording_model_records_passes_and_changes_nothing():
    torch.manual_seed(0)
    model = GPT(TINY).eval()
    rec = RecordingModel(model)
    ids = torch.randint(0, 50, (2, 6))
    with torch.no_grad():
        assert torch.equal(rec(ids), model(ids))
        cache = ConcatCache(TINY.n_layers)
        rec(ids[:, :4], cache=cache)
        rec(ids[:, 4:5], cache)  # positional cache argument too
    assert [(p.batch, p.n_tokens, p.past) for p in rec.passes] == [(2, 6, None), (2, 4, 0), (2, 1, 4)]
    assert all(p.seconds >= 0 for p in rec.passes)
    assert "3 passes" in rec.describe() and "cache at 4" in rec.describe() and "no cache" in rec.describe()
    # The wrapped model's attributes read through; its parameters are the model's.
    assert rec.config is model.config and rec.wte is model.wte
    assert next(rec.parameters()) is next(model.parameters())
    with pytest.raises(AttributeError):
        _ = rec.no_such_attribute
    rec.reset()
    assert rec.passes == []


def test_recording_model_passes_on_logits_to_keep_only_when_given():
    torch.manual_seed(0)
    model = GPT(TINY).eval()
    rec = RecordingModel(model)
    ids = torch.randint(0, 50, (1, 6))
    with torch.no_grad():
        assert torch.equal(rec(ids, logits_to_keep=2), model(ids, logits_to_keep=2))
        cache = ConcatCache(TINY.n_layers)
        assert rec(ids, cache=cache, logits_to_keep=1).shape == (1, 1, 50)
    assert [(p.n_tokens, p.past) for p in rec.passes] == [(6, None), (6, 0)]

    class Minimal(torch.nn.Module):  # a stand-in that knows neither a cache nor logits_to_keep
        def forward(self, ids):
            return torch.zeros(*ids.shape, 3)

    assert RecordingModel(Minimal())(ids).shape == (1, 6, 3)


def test_frequency_margin_is_the_mcdiarmid_bound():
    p = torch.tensor([0.5, 0.5])
    n = 10_000
    expected = 0.5 * 2 * math.sqrt(0.25 / n) + math.sqrt(math.log(1e9) / (2 * n))
    assert frequency_margin(p, n) == pytest.approx(expected)
    assert frequency_margin(p, 4 * n) < frequency_margin(p, n)


def test_check_frequencies_accepts_correct_draws_on_many_seeds():
    probs = torch.tensor([0.4, 0.3, 0.2, 0.1, 0.0])
    for seed in range(300):
        draws = torch.multinomial(probs.expand(2000, -1), 1, generator=torch.Generator().manual_seed(seed))
        check_frequencies(draws, probs, f"seed {seed}")  # (n, 1) shapes are fine: draws are flattened


def test_check_frequencies_rejects_wrong_draws():
    probs = torch.tensor([0.4, 0.3, 0.2, 0.1, 0.0])
    off = torch.tensor([0.3, 0.3, 0.2, 0.2, 0.0])  # total variation 0.1
    for seed in range(50):
        draws = torch.multinomial(off.expand(10_000, -1), 1, generator=torch.Generator().manual_seed(seed))
        with pytest.raises(AssertionError, match="total variation"):
            check_frequencies(draws, probs, "off by 0.1")
    with pytest.raises(AssertionError, match="token 4 has probability 0"):
        check_frequencies(torch.tensor([0, 1, 4]), probs, "an impossible token")
    with pytest.raises(AssertionError, match="outside 0..4"):
        check_frequencies(torch.tensor([0, 7]), probs, "out of range")
    with pytest.raises(AssertionError, match="integers"):
        check_frequencies(torch.tensor([0.0, 1.0]), probs, "floats")
    with pytest.raises(AssertionError, match="hint here"):
        check_frequencies(torch.zeros(1000, dtype=torch.long), probs, "all zeros", hint="hint here")


def test_rolling_median():
    assert plots.rolling_median([1, 100, 2, 3, 4], 3) == [100, 2, 3, 3, 4]
    assert plots.rolling_median([5.0], 15) == [5.0]
    with pytest.raises(ValueError):
        plots.rolling_median([1], 0)


def test_decoding_plots_draw():
    passes = [Pass(1, 8, 0, 0.01)] + [Pass(1, 1, 8 + i, 0.001) for i in range(20)]
    ax = plots.time_per_token({"cached": passes, "uncached": [Pass(1, 8 + i, None, 0.002) for i in range(21)]})
    assert len(ax.get_legend().get_texts()) == 4
    with pytest.raises(ValueError):
        plots.time_per_token({"empty": []})
    names = [f"t{i}" for i in range(10)]
    probs = torch.softmax(torch.randn(10), -1)
    axes = plots.next_token_distributions({"a": probs, "b": probs.flip(0)}, names, top=4)
    assert len(axes) == 2 and len(axes[0].patches) == 5  # 4 tokens and "(all others)"
    ax = plots.nucleus_sizes(["a", "b", "c"], [1, 3, 2], p=0.9)
    assert len(ax.patches) == 3
    with pytest.raises(ValueError):
        plots.nucleus_sizes(["a"], [1, 2], p=0.9)
    plt.close("all")


@pytest.mark.slow
def test_chapter04_tests_name_a_failing_earlier_exercise():
    """A bug in exercise 2 (or 1) is reported as such by the test of exercise 3 (or 4), which calls it."""
    from grader.mutation import ChapterSession, load_spec

    spec = load_spec("04_kv_cache")
    session = ChapterSession("04_kv_cache")
    is_causal = spec["attention_with_cache"]["mutants"]["is_causal=True (aligned top-left)"]
    failure = session.run_tests(is_causal, ["test_cached_forward"])
    assert failure and "exercise 2's attention_with_cache" in failure, failure
    position_0 = spec["KVCache"]["mutants"]["writes every step at position 0"]
    failure = session.run_tests(position_0, ["test_generate_greedy"])
    assert failure and "exercise 1's KVCache" in failure, failure
    assert session.run_tests(None, ["test_cached_forward", "test_generate_greedy"]) is None


def _bench_decode():
    import importlib
    import sys
    from pathlib import Path

    tools = str(Path(__file__).resolve().parents[1] / "tools")
    if tools not in sys.path:
        sys.path.insert(0, tools)
    return importlib.import_module("bench_decode")


def test_static_cache_decode_gives_the_models_tokens():
    """The benchmark's static-cache step (what torch.compile captures on a GPU), run eagerly here."""
    bd = _bench_decode()
    ref = bd.load_reference()
    torch.manual_seed(0)
    model = GPT(TINY).eval()
    prompt = torch.randint(0, 50, (2, 7))
    with torch.no_grad():
        k = torch.zeros(TINY.n_layers, 2, TINY.n_heads, 20, TINY.head_dim)
        v = torch.zeros_like(k)
        logits = bd.static_forward(model, prompt, torch.arange(7), k, v)
        assert torch.allclose(logits, model(prompt, logits_to_keep=1), atol=1e-5)
        step = bd.static_forward(model, prompt[:, :1], torch.tensor([7]), k, v)
        assert torch.allclose(step[:, 0], model(torch.cat([prompt, prompt[:, :1]], 1))[:, -1], atol=1e-5)
    greedy = bd.make_static_generate(model, max_len=20, compile_mode=None)
    expected = ref["generate_greedy"](model, prompt, 12)
    for _ in range(2):  # the second call reuses (and overwrites) the same buffers
        assert torch.equal(greedy(prompt, 12), expected)
    assert torch.equal(greedy(prompt, 0), prompt)
    with pytest.raises(ValueError, match="max_len=20"):
        greedy(prompt, 14)


def test_roofline_inputs():
    bd = _bench_decode()
    model = GPT(TINY)
    step = bd.decode_step_bytes(model, context=10)
    c = TINY
    assert step["kv_cache"] == 2 * c.n_layers * 10 * c.d_model * 4
    assert step["weights"] == 4 * (model.num_params() - (c.n_positions - 1) * c.d_model)
    bw = bd.measure_bandwidth(2**20, torch.device("cpu"), repeats=2)
    assert bw["working_set_bytes"] >= 16 * 2**20 and bw["bandwidth"] == max(bw["read"], bw["copy"]) > 1e8


@pytest.mark.slow
def test_bench_decode_writes_its_json(tmp_path):
    pytest.importorskip("transformers", reason="the [hf] extra is not installed")
    import json

    bd = _bench_decode()
    assert bd.main(["--only", "bundled", "--repeats", "1", "--threads", "1", "--json", str(tmp_path / "b.json")]) == 0
    report = json.loads((tmp_path / "b.json").read_text())
    assert {"models", "device", "threads"} <= set(report) and report["threads"] == 1
    (m,) = report["models"]
    assert m["name"] == "bundled"
    for key in ("ours_over_hf", "cached_over_uncached", "roofline_fraction"):
        assert m[key] > 0, key
    assert set(m["tokens_per_s"]) == {"ours_cached", "ours_uncached", "hf"}
    assert all(m["same_tokens_as_ours_cached"].values())
    assert "skipped on cpu" in report["compile"]


def test_threads_restores_the_thread_count():
    from aiecourse.hardware import threads

    before = torch.get_num_threads()
    with threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), threads(1):
        raise RuntimeError("the body fails")
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError), threads(0):
        pass
