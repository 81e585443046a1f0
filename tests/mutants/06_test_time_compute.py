"""Wrong implementations (mutants) that chapter 06's graded cells must reject, and correct
alternatives they must accept. Each is the source of a replacement definition."""

EXERCISES = {
    "majority_vote": {
        "tests": ["test_majority_vote"],
        "mutants": {
            "tie goes to the answer seen last": """
def majority_vote(answers):
    if not answers:
        raise ValueError("empty")
    counts = {}
    for a in answers:
        counts[a] = counts.get(a, 0) + 1
    best = answers[0]
    for a, n in counts.items():
        if n >= counts[best]:
            best = a
    return best
""",
            "max over a set (ties follow set order)": """
def majority_vote(answers):
    if not answers:
        raise ValueError("empty")
    return max(set(answers), key=answers.count)
""",
            "tie goes to the smallest answer": """
def majority_vote(answers):
    if not answers:
        raise ValueError("empty")
    counts = collections.Counter(answers)
    top = max(counts.values())
    return min(a for a in counts if counts[a] == top)
""",
            "returns the count": """
def majority_vote(answers):
    if not answers:
        raise ValueError("empty")
    return collections.Counter(answers).most_common(1)[0][1]
""",
            "None used as 'no winner yet'": """
def majority_vote(answers):
    if not answers:
        raise ValueError("empty")
    counts = collections.Counter(answers)
    best = None
    for a in answers:
        if best is None or counts[a] > counts[best]:
            best = a
    return best
""",
            "returns None for an empty list": """
def majority_vote(answers):
    if not answers:
        return None
    return collections.Counter(answers).most_common(1)[0][0]
""",
            "sorts the input in place": """
def majority_vote(answers):
    if not answers:
        raise ValueError("empty")
    first = {}
    for i, a in enumerate(answers):
        first.setdefault(a, i)
    counts = collections.Counter(answers)
    answers.sort(key=lambda a: (-counts[a], first[a]))
    return answers[0]
""",
        },
        "alternatives": {
            "Counter.most_common (ties in first-seen order)": """
def majority_vote(answers):
    if len(answers) == 0:
        raise ValueError("answers must not be empty")
    return collections.Counter(answers).most_common(1)[0][0]
""",
            "statistics.mode": """
import statistics
def majority_vote(answers):
    return statistics.mode(answers)  # StatisticsError is a ValueError
""",
            "count, then the first answer with the top count": """
def majority_vote(answers):
    if not answers:
        raise ValueError("no answers")
    counts = {}
    for a in answers:
        counts[a] = counts.get(a, 0) + 1
    top = max(counts.values())
    for a in answers:
        if counts[a] == top:
            return a
""",
        },
    },
    "best_of_n": {
        "tests": ["test_best_of_n"],
        "mutants": {
            "running best starts at 0": """
def best_of_n(candidates, scores):
    if len(candidates) != len(scores) or not candidates:
        raise ValueError("lengths")
    best, best_score = candidates[0], 0.0
    for c, s in zip(candidates, scores):
        if s > best_score:
            best, best_score = c, s
    return best
""",
            "tie goes to the last": """
def best_of_n(candidates, scores):
    if len(candidates) != len(scores) or not candidates:
        raise ValueError("lengths")
    best = 0
    for i in range(len(scores)):
        if scores[i] >= scores[best]:
            best = i
    return candidates[best]
""",
            "picks the lowest score": """
def best_of_n(candidates, scores):
    if len(candidates) != len(scores) or not candidates:
        raise ValueError("lengths")
    return candidates[min(range(len(scores)), key=lambda i: scores[i])]
""",
            "returns the index": """
def best_of_n(candidates, scores):
    if len(candidates) != len(scores) or not candidates:
        raise ValueError("lengths")
    return max(range(len(scores)), key=lambda i: scores[i])
""",
            "sorts (score, candidate) pairs": """
def best_of_n(candidates, scores):
    if len(candidates) != len(scores) or not candidates:
        raise ValueError("lengths")
    return sorted(zip(scores, candidates))[-1][1]
""",
            "zip silently drops the extra candidates": """
def best_of_n(candidates, scores):
    if not candidates:
        raise ValueError("empty")
    pairs = list(zip(candidates, scores))
    return max(pairs, key=lambda p: p[1])[0]
""",
        },
        "alternatives": {
            "max over indices": """
def best_of_n(candidates, scores):
    if len(candidates) == 0 or len(candidates) != len(scores):
        raise ValueError("candidates and scores: need equally many, at least one")
    return candidates[max(range(len(scores)), key=scores.__getitem__)]
""",
            "numpy argmax": """
import numpy as np
def best_of_n(candidates, scores):
    if len(candidates) != len(scores):
        raise ValueError("lengths differ")
    if len(scores) == 0:
        raise ValueError("empty")
    return candidates[int(np.argmax(np.asarray(scores, dtype=np.float64)))]
""",
            "list.index of the max": """
def best_of_n(candidates, scores):
    scores = list(scores)
    if not scores or len(scores) != len(candidates):
        raise ValueError("bad lengths")
    return candidates[scores.index(max(scores))]
""",
        },
    },
    "pass_at_k": {
        "tests": ["test_pass_at_k"],
        "mutants": {
            "ignores k: c / n": """
def pass_at_k(n, c, k):
    if n < 1 or not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError("bad arguments")
    return c / n
""",
            "with replacement: 1 - (1 - c/n)^k": """
def pass_at_k(n, c, k):
    if n < 1 or not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError("bad arguments")
    return 1.0 - (1.0 - c / n) ** k
""",
            "binomials in floating point (math.gamma)": """
def pass_at_k(n, c, k):
    if n < 1 or not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError("bad arguments")
    if n - c < k:
        return 1.0
    def comb(a, b):
        return math.gamma(a + 1) / (math.gamma(b + 1) * math.gamma(a - b + 1))
    return 1.0 - comb(n - c, k) / comb(n, k)
""",
            "binomials converted to float": """
def pass_at_k(n, c, k):
    if n < 1 or not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError("bad arguments")
    return 1.0 - float(math.comb(n - c, k)) / float(math.comb(n, k))
""",
            "product off by one": """
def pass_at_k(n, c, k):
    if n < 1 or not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError("bad arguments")
    p = 1.0
    for i in range(n - c, n):
        p *= 1.0 - k / i if i > 0 else 0.0
    return 1.0 - p
""",
            "probability that all k are right": """
def pass_at_k(n, c, k):
    if n < 1 or not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError("bad arguments")
    return math.comb(c, k) / math.comb(n, k)
""",
            "no argument checks": """
def pass_at_k(n, c, k):
    if n - c < k:
        return 1.0
    p = 1.0
    for i in range(n - c + 1, n + 1):
        p *= 1.0 - k / i
    return 1.0 - p
""",
        },
        "alternatives": {
            "exact integer binomials (Python ints divide exactly)": """
def pass_at_k(n, c, k):
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if c < 0 or c > n:
        raise ValueError(f"c must be in [0, n], got {c}")
    if k < 1 or k > n:
        raise ValueError(f"k must be in [1, n], got {k}")
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)
""",
            "product over the k picks": """
def pass_at_k(n, c, k):
    if n < 1 or not (0 <= c <= n) or not (1 <= k <= n):
        raise ValueError(f"need n >= 1, 0 <= c <= n, 1 <= k <= n; got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    p = 1.0
    for i in range(k):
        p *= (n - c - i) / (n - i)
    return 1.0 - p
""",
            "Fraction arithmetic": """
from fractions import Fraction
def pass_at_k(n, c, k):
    if n < 1 or c < 0 or c > n or k < 1 or k > n:
        raise ValueError("n, c, k out of range")
    return float(1 - Fraction(math.comb(n - c, k), math.comb(n, k)))
""",
        },
    },
}
