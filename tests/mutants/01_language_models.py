"""Wrong implementations (mutants) that chapter 01's graded cells must reject, and correct
alternatives they must accept. Each is the source of a replacement definition."""

EXERCISES = {
    "get_pair_counts": {
        "tests": ["test_get_pair_counts"],
        "mutants": {
            "skips overlapping repeats": """
def get_pair_counts(ids):
    counts, i = {}, 0
    while i < len(ids) - 1:
        pair = (ids[i], ids[i + 1])
        counts[pair] = counts.get(pair, 0) + 1
        i += 2 if ids[i] == ids[i + 1] else 1
    return counts
""",
            "misses the last pair": """
def get_pair_counts(ids):
    counts = {}
    for i in range(len(ids) - 2):
        pair = (ids[i], ids[i + 1])
        counts[pair] = counts.get(pair, 0) + 1
    return counts
""",
            "wraps around": """
def get_pair_counts(ids):
    counts = {}
    for pair in zip(ids, ids[1:] + ids[:1]):
        counts[pair] = counts.get(pair, 0) + 1
    return counts
""",
            "unordered pairs": """
def get_pair_counts(ids):
    counts = {}
    for a, b in zip(ids, ids[1:]):
        pair = (min(a, b), max(a, b))
        counts[pair] = counts.get(pair, 0) + 1
    return counts
""",
            "a set of pairs (every count 1)": """
def get_pair_counts(ids):
    return {pair: 1 for pair in zip(ids, ids[1:])}
""",
        },
        "alternatives": {
            "collections.Counter": """
def get_pair_counts(ids):
    return collections.Counter(zip(ids, ids[1:]))
""",
            "index loop with a defaultdict": """
def get_pair_counts(ids):
    from collections import defaultdict
    counts = defaultdict(int)
    for i in range(1, len(ids)):
        counts[ids[i - 1], ids[i]] += 1
    return dict(counts)
""",
        },
    },
    "merge_pair": {
        "tests": ["test_merge_pair"],
        "mutants": {
            "overlapping merges": """
def merge_pair(ids, pair, new_id):
    out = []
    for i in range(len(ids)):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == tuple(pair):
            out.append(new_id)
        elif i > 0 and (ids[i - 1], ids[i]) == tuple(pair):
            continue
        else:
            out.append(ids[i])
    return out
""",
            "drops the last id": """
def merge_pair(ids, pair, new_id):
    out, i = [], 0
    while i < len(ids) - 1:
        if (ids[i], ids[i + 1]) == tuple(pair):
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out
""",
            "right to left": """
def merge_pair(ids, pair, new_id):
    out, i = [], len(ids) - 1
    while i >= 0:
        if i >= 1 and (ids[i - 1], ids[i]) == tuple(pair):
            out.append(new_id)
            i -= 2
        else:
            out.append(ids[i])
            i -= 1
    return out[::-1]
""",
            "modifies the input in place": """
def merge_pair(ids, pair, new_id):
    i = 0
    while i < len(ids) - 1:
        if (ids[i], ids[i + 1]) == tuple(pair):
            ids[i:i + 2] = [new_id]
        i += 1
    return ids
""",
            "only the first occurrence": """
def merge_pair(ids, pair, new_id):
    for i in range(len(ids) - 1):
        if (ids[i], ids[i + 1]) == tuple(pair):
            return ids[:i] + [new_id] + ids[i + 2:]
    return list(ids)
""",
        },
        "alternatives": {
            "a for loop with a skip flag": """
def merge_pair(ids, pair, new_id):
    out, skip = [], False
    for i, t in enumerate(ids):
        if skip:
            skip = False
            continue
        if i + 1 < len(ids) and t == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
            skip = True
        else:
            out.append(t)
    return out
""",
        },
    },
    "train_bpe": {
        "tests": ["test_train_bpe"],
        "mutants": {
            "ties to the smallest pair": """
def train_bpe(text, vocab_size):
    if vocab_size < 256:
        raise ValueError("vocab_size")
    ids, merges = list(text.encode("utf-8")), []
    for new_id in range(256, vocab_size):
        counts = get_pair_counts(ids)
        if not counts:
            break
        pair = max(sorted(counts), key=counts.get)
        ids = merge_pair(ids, pair, new_id)
        merges.append(pair)
    return merges
""",
            "ties to the pair counted last": """
def train_bpe(text, vocab_size):
    if vocab_size < 256:
        raise ValueError("vocab_size")
    ids, merges = list(text.encode("utf-8")), []
    for new_id in range(256, vocab_size):
        counts = get_pair_counts(ids)
        if not counts:
            break
        pair = max(reversed(list(counts)), key=counts.get)
        ids = merge_pair(ids, pair, new_id)
        merges.append(pair)
    return merges
""",
            "counts the pairs only once": """
def train_bpe(text, vocab_size):
    if vocab_size < 256:
        raise ValueError("vocab_size")
    ids = list(text.encode("utf-8"))
    counts = get_pair_counts(ids)
    ranked = sorted(counts, key=counts.get, reverse=True)
    return ranked[: vocab_size - 256]
""",
            "characters instead of bytes": """
def train_bpe(text, vocab_size):
    if vocab_size < 256:
        raise ValueError("vocab_size")
    ids, merges = [ord(c) for c in text], []
    for new_id in range(256, vocab_size):
        counts = get_pair_counts(ids)
        if not counts:
            break
        pair = max(counts, key=counts.get)
        ids = merge_pair(ids, pair, new_id)
        merges.append(pair)
    return merges
""",
            "one merge too many": """
def train_bpe(text, vocab_size):
    if vocab_size < 256:
        raise ValueError("vocab_size")
    ids, merges = list(text.encode("utf-8")), []
    for new_id in range(256, vocab_size + 1):
        counts = get_pair_counts(ids)
        if not counts:
            break
        pair = max(counts, key=counts.get)
        ids = merge_pair(ids, pair, new_id)
        merges.append(pair)
    return merges
""",
            "new ids from 255": """
def train_bpe(text, vocab_size):
    if vocab_size < 256:
        raise ValueError("vocab_size")
    ids, merges = list(text.encode("utf-8")), []
    for new_id in range(255, vocab_size - 1):
        counts = get_pair_counts(ids)
        if not counts:
            break
        pair = max(counts, key=counts.get)
        ids = merge_pair(ids, pair, new_id)
        merges.append(pair)
    return merges
""",
            "crashes when no pair is left": """
def train_bpe(text, vocab_size):
    if vocab_size < 256:
        raise ValueError("vocab_size")
    ids, merges = list(text.encode("utf-8")), []
    for new_id in range(256, vocab_size):
        counts = get_pair_counts(ids)
        pair = max(counts, key=counts.get)
        ids = merge_pair(ids, pair, new_id)
        merges.append(pair)
    return merges
""",
            "no ValueError below 256": """
def train_bpe(text, vocab_size):
    ids, merges = list(text.encode("utf-8")), []
    for new_id in range(256, vocab_size):
        counts = get_pair_counts(ids)
        if not counts:
            break
        pair = max(counts, key=counts.get)
        ids = merge_pair(ids, pair, new_id)
        merges.append(pair)
    return merges
""",
        },
        "alternatives": {
            "Counter.most_common (stable on ties)": """
def train_bpe(text, vocab_size):
    if vocab_size < 256:
        raise ValueError(f"vocab_size must be at least 256, got {vocab_size}")
    ids = list(text.encode("utf-8"))
    merges = []
    while len(merges) < vocab_size - 256 and len(ids) > 1:
        (pair, _), = collections.Counter(zip(ids, ids[1:])).most_common(1)
        ids = merge_pair(ids, pair, 256 + len(merges))
        merges.append(pair)
    return merges
""",
            "an explicit scan for the best pair": """
def train_bpe(text, vocab_size):
    if vocab_size < 256:
        raise ValueError("vocab_size below 256")
    ids, merges = list(text.encode("utf-8")), []
    for k in range(vocab_size - 256):
        counts = get_pair_counts(ids)
        best = None
        for p, c in counts.items():
            if best is None or c > counts[best]:
                best = p
        if best is None:
            break
        merges.append(best)
        ids = merge_pair(ids, best, 256 + k)
    return merges
""",
        },
    },
    "bpe_encode_decode": {
        "tests": ["test_bpe_encode_decode"],
        "mutants": {
            "decodes token by token": """
def bpe_decode(ids, merges):
    vocab = [bytes([b]) for b in range(256)]
    for a, b in merges:
        vocab.append(vocab[a] + vocab[b])
    return "".join(vocab[i].decode("utf-8", errors="replace") for i in ids)
""",
            "merges applied in reverse": """
def bpe_encode(text, merges):
    ids = list(text.encode("utf-8"))
    for i in reversed(range(len(merges))):
        ids = merge_pair(ids, tuple(merges[i]), 256 + i)
    return ids
""",
            "encodes characters, not bytes": """
def bpe_encode(text, merges):
    ids = [ord(c) for c in text]
    for i, pair in enumerate(merges):
        ids = merge_pair(ids, tuple(pair), 256 + i)
    return ids
""",
            "vocabulary built b + a": """
def bpe_decode(ids, merges):
    vocab = [bytes([b]) for b in range(256)]
    for a, b in merges:
        vocab.append(vocab[b] + vocab[a])
    return b"".join(vocab[i] for i in ids).decode("utf-8", errors="replace")
""",
            "stops at the first merge that does not occur": """
def bpe_encode(text, merges):
    ids = list(text.encode("utf-8"))
    for i, pair in enumerate(merges):
        if tuple(pair) not in set(zip(ids, ids[1:])):
            break
        ids = merge_pair(ids, tuple(pair), 256 + i)
    return ids
""",
            "decodes as latin-1": """
def bpe_decode(ids, merges):
    vocab = [bytes([b]) for b in range(256)]
    for a, b in merges:
        vocab.append(vocab[a] + vocab[b])
    return b"".join(vocab[i] for i in ids).decode("latin-1")
""",
        },
        "alternatives": {
            "lowest-rank pair first, recursive decode": """
def bpe_encode(text, merges):
    rank = {tuple(p): i for i, p in enumerate(merges)}
    ids = list(text.encode("utf-8"))
    while len(ids) >= 2:
        pair = min(zip(ids, ids[1:]), key=lambda p: rank.get(p, float("inf")))
        if pair not in rank:
            break
        ids = merge_pair(ids, pair, 256 + rank[pair])
    return ids

def bpe_decode(ids, merges):
    def expand(t):
        if t < 256:
            return bytes([t])
        a, b = merges[t - 256]
        return expand(a) + expand(b)
    return b"".join(expand(t) for t in ids).decode("utf-8", errors="replace")
""",
        },
    },
    "next_token_examples": {
        "tests": ["test_next_token_examples"],
        "mutants": {
            "targets not shifted": """
def next_token_examples(ids, context_length):
    if context_length < 1:
        raise ValueError("context_length")
    L = context_length
    N = (len(ids) - 1) // L
    x = ids[: N * L].reshape(N, L)
    return x, x.clone()
""",
            "overlapping windows (stride 1)": """
def next_token_examples(ids, context_length):
    if context_length < 1:
        raise ValueError("context_length")
    L = context_length
    N = (len(ids) - 1) // L
    x = torch.stack([ids[i:i + L] for i in range(N)])
    y = torch.stack([ids[i + 1:i + L + 1] for i in range(N)])
    return x, y
""",
            "N = len(ids) // L": """
def next_token_examples(ids, context_length):
    if context_length < 1:
        raise ValueError("context_length")
    L = context_length
    N = len(ids) // L
    x = torch.stack([ids[i * L:i * L + L] for i in range(N)])
    y = torch.stack([torch.cat([ids[i * L + 1:i * L + L + 1], ids[-1:]])[:L] for i in range(N)])
    return x, y
""",
            "inputs and targets swapped": """
def next_token_examples(ids, context_length):
    if context_length < 1:
        raise ValueError("context_length")
    L = context_length
    N = (len(ids) - 1) // L
    return ids[1:N * L + 1].reshape(N, L), ids[:N * L].reshape(N, L)
""",
            "no ValueError for context_length < 1": """
def next_token_examples(ids, context_length):
    L = max(1, context_length)
    N = (len(ids) - 1) // L
    return ids[:N * L].reshape(N, L), ids[1:N * L + 1].reshape(N, L)
""",
        },
        "alternatives": {
            "unfold": """
def next_token_examples(ids, context_length):
    if context_length < 1:
        raise ValueError(f"context_length must be positive, got {context_length}")
    L = context_length
    return ids[:-1].unfold(0, L, L), ids[1:].unfold(0, L, L)
""",
            "a stack of slices": """
def next_token_examples(ids, context_length):
    if context_length <= 0:
        raise ValueError("context_length must be >= 1")
    L, N = context_length, (ids.numel() - 1) // context_length
    x = torch.stack([ids[i * L:(i + 1) * L] for i in range(N)])
    y = torch.stack([ids[i * L + 1:(i + 1) * L + 1] for i in range(N)])
    return x, y
""",
        },
    },
    "mask_tokens": {
        "tests": ["test_mask_tokens"],
        "mutants": {
            "labels on every position": """
def mask_tokens(ids, mask_id, mask_prob, generator):
    if not 0 <= mask_prob <= 1:
        raise ValueError("mask_prob")
    masked = torch.rand(ids.shape, generator=generator) < mask_prob
    return ids.masked_fill(masked, mask_id), ids.clone()
""",
            "labels inverted": """
def mask_tokens(ids, mask_id, mask_prob, generator):
    if not 0 <= mask_prob <= 1:
        raise ValueError("mask_prob")
    masked = torch.rand(ids.shape, generator=generator) < mask_prob
    return ids.masked_fill(masked, mask_id), ids.masked_fill(masked, -100)
""",
            "masks with probability 1 - p": """
def mask_tokens(ids, mask_id, mask_prob, generator):
    if not 0 <= mask_prob <= 1:
        raise ValueError("mask_prob")
    masked = torch.rand(ids.shape, generator=generator) > mask_prob
    return ids.masked_fill(masked, mask_id), ids.masked_fill(~masked, -100)
""",
            "ignores the generator": """
def mask_tokens(ids, mask_id, mask_prob, generator):
    if not 0 <= mask_prob <= 1:
        raise ValueError("mask_prob")
    masked = torch.rand(ids.shape) < mask_prob
    return ids.masked_fill(masked, mask_id), ids.masked_fill(~masked, -100)
""",
            "modifies ids in place": """
def mask_tokens(ids, mask_id, mask_prob, generator):
    if not 0 <= mask_prob <= 1:
        raise ValueError("mask_prob")
    masked = torch.rand(ids.shape, generator=generator) < mask_prob
    labels = ids.masked_fill(~masked, -100)
    ids[masked] = mask_id
    return ids, labels
""",
            "one mask for every row": """
def mask_tokens(ids, mask_id, mask_prob, generator):
    if not 0 <= mask_prob <= 1:
        raise ValueError("mask_prob")
    masked = (torch.rand(ids.shape[-1], generator=generator) < mask_prob).expand(ids.shape)
    return ids.masked_fill(masked, mask_id), ids.masked_fill(~masked, -100)
""",
            "no ValueError for mask_prob > 1": """
def mask_tokens(ids, mask_id, mask_prob, generator):
    masked = torch.rand(ids.shape, generator=generator) < mask_prob
    return ids.masked_fill(masked, mask_id), ids.masked_fill(~masked, -100)
""",
        },
        "alternatives": {
            "bernoulli and torch.where": """
def mask_tokens(ids, mask_id, mask_prob, generator):
    if mask_prob < 0 or mask_prob > 1:
        raise ValueError(f"mask_prob must be between 0 and 1, got {mask_prob}")
    masked = torch.bernoulli(torch.full(ids.shape, float(mask_prob)), generator=generator).bool().to(ids.device)
    inputs = torch.where(masked, torch.full_like(ids, mask_id), ids)
    labels = torch.where(masked, ids, torch.full_like(ids, -100))
    return inputs, labels
""",
        },
    },
    "cross_entropy": {
        "tests": ["test_cross_entropy"],
        "mutants": {
            "divides by all positions": """
def cross_entropy(logits, targets):
    logits = logits.reshape(-1, logits.size(-1))
    targets = targets.reshape(-1)
    keep = targets != -100
    logp = logits - logits.logsumexp(-1, keepdim=True)
    nll = -logp.gather(1, targets.clamp(min=0).unsqueeze(1)).squeeze(1)
    return (nll * keep).sum() / targets.numel()

def perplexity(logits, targets):
    return cross_entropy(logits, targets).exp()
""",
            "-100 treated as class 0": """
def cross_entropy(logits, targets):
    logits = logits.reshape(-1, logits.size(-1))
    targets = targets.reshape(-1).clamp(min=0)
    logp = logits - logits.logsumexp(-1, keepdim=True)
    return -logp.gather(1, targets.unsqueeze(1)).mean()

def perplexity(logits, targets):
    return cross_entropy(logits, targets).exp()
""",
            "mean per row, then over rows": """
def cross_entropy(logits, targets):
    logits = logits.reshape(-1, targets.shape[-1], logits.size(-1))
    targets = targets.reshape(-1, targets.shape[-1])
    keep = targets != -100
    logp = logits - logits.logsumexp(-1, keepdim=True)
    nll = -logp.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return ((nll * keep).sum(-1) / keep.sum(-1)).mean()

def perplexity(logits, targets):
    return cross_entropy(logits, targets).exp()
""",
            "log of a naive softmax": """
def cross_entropy(logits, targets):
    logits = logits.reshape(-1, logits.size(-1))
    targets = targets.reshape(-1)
    keep = targets != -100
    p = logits[keep].exp() / logits[keep].exp().sum(-1, keepdim=True)
    return -p.log().gather(1, targets[keep].unsqueeze(1)).mean()

def perplexity(logits, targets):
    return cross_entropy(logits, targets).exp()
""",
            "sum instead of mean": """
def cross_entropy(logits, targets):
    logits = logits.reshape(-1, logits.size(-1))
    targets = targets.reshape(-1)
    keep = targets != -100
    logp = logits[keep] - logits[keep].logsumexp(-1, keepdim=True)
    return -logp.gather(1, targets[keep].unsqueeze(1)).sum()

def perplexity(logits, targets):
    return cross_entropy(logits, targets).exp()
""",
            "perplexity in base 2": """
def perplexity(logits, targets):
    return 2 ** cross_entropy(logits, targets)
""",
            "softmax over the positions": """
def cross_entropy(logits, targets):
    logits = logits.reshape(-1, logits.size(-1))
    targets = targets.reshape(-1)
    keep = targets != -100
    logp = logits - logits.logsumexp(0, keepdim=True)
    return -logp[keep].gather(1, targets[keep].unsqueeze(1)).mean()

def perplexity(logits, targets):
    return cross_entropy(logits, targets).exp()
""",
        },
        "alternatives": {
            "max subtraction and a one-hot mask": """
def cross_entropy(logits, targets):
    V = logits.shape[-1]
    flat, t = logits.reshape(-1, V), targets.reshape(-1)
    keep = t.ne(-100)
    z = flat - flat.max(dim=-1, keepdim=True).values
    logp = z - z.exp().sum(-1, keepdim=True).log()
    onehot = torch.zeros_like(logp, dtype=torch.bool)
    onehot[keep.nonzero().squeeze(1), t[keep]] = True
    return -(logp[onehot]).sum() / keep.sum()

def perplexity(logits, targets):
    return torch.exp(cross_entropy(logits, targets))
""",
        },
    },
    "ngram_logprobs": {
        "tests": ["test_ngram_logprobs"],
        "mutants": {
            "no smoothing": """
def unigram_logprobs(ids, vocab_size, alpha=1.0):
    if alpha <= 0:
        raise ValueError("alpha")
    c = torch.bincount(ids, minlength=vocab_size).double()
    return (c / c.sum()).log().float()

def bigram_logprobs(ids, vocab_size, alpha=1.0):
    if alpha <= 0:
        raise ValueError("alpha")
    V = vocab_size
    c = torch.bincount(ids[:-1] * V + ids[1:], minlength=V * V).view(V, V).double()
    return (c / c.sum(1, keepdim=True)).log().float()
""",
            "bigram normalised by columns": """
def bigram_logprobs(ids, vocab_size, alpha=1.0):
    if alpha <= 0:
        raise ValueError("alpha")
    V = vocab_size
    c = torch.bincount(ids[:-1] * V + ids[1:], minlength=V * V).view(V, V).double() + alpha
    return (c / c.sum(0, keepdim=True)).log().float()
""",
            "bigram normalised by the total": """
def bigram_logprobs(ids, vocab_size, alpha=1.0):
    if alpha <= 0:
        raise ValueError("alpha")
    V = vocab_size
    c = torch.bincount(ids[:-1] * V + ids[1:], minlength=V * V).view(V, V).double() + alpha
    return (c / c.sum()).log().float()
""",
            "probabilities, not logs": """
def unigram_logprobs(ids, vocab_size, alpha=1.0):
    if alpha <= 0:
        raise ValueError("alpha")
    c = torch.bincount(ids, minlength=vocab_size).double() + alpha
    return (c / c.sum()).float()
""",
            "unigram denominator without alpha * V": """
def unigram_logprobs(ids, vocab_size, alpha=1.0):
    if alpha <= 0:
        raise ValueError("alpha")
    c = torch.bincount(ids, minlength=vocab_size).double()
    return ((c + alpha) / len(ids)).log().float()
""",
            "bigram rows divided by the unigram count": """
def bigram_logprobs(ids, vocab_size, alpha=1.0):
    if alpha <= 0:
        raise ValueError("alpha")
    V = vocab_size
    c = torch.bincount(ids[:-1] * V + ids[1:], minlength=V * V).view(V, V).double() + alpha
    u = torch.bincount(ids, minlength=V).double()
    return (c / (u + alpha * V).unsqueeze(1)).log().float()
""",
            "no ValueError for alpha = 0": """
def bigram_logprobs(ids, vocab_size, alpha=1.0):
    V = vocab_size
    c = torch.bincount(ids[:-1] * V + ids[1:], minlength=V * V).view(V, V).double() + alpha
    return (c / c.sum(1, keepdim=True)).log().float()
""",
        },
        "alternatives": {
            "index_put_ with accumulate, float64 result": """
def unigram_logprobs(ids, vocab_size, alpha=1.0):
    if not alpha > 0:
        raise ValueError(f"alpha must be positive, got {alpha}")
    counts = torch.full((vocab_size,), float(alpha), dtype=torch.float64)
    counts.index_put_((ids,), torch.ones(len(ids), dtype=torch.float64), accumulate=True)
    return counts.log() - counts.sum().log()

def bigram_logprobs(ids, vocab_size, alpha=1.0):
    if not alpha > 0:
        raise ValueError(f"alpha must be positive, got {alpha}")
    counts = torch.full((vocab_size, vocab_size), float(alpha), dtype=torch.float64)
    counts.index_put_((ids[:-1], ids[1:]), torch.ones(len(ids) - 1, dtype=torch.float64), accumulate=True)
    return counts.log() - counts.sum(dim=1, keepdim=True).log()
""",
        },
    },
}
