"""Wrong implementations (mutants) that chapter 05's graded cells must reject, and correct
alternatives they must accept. Each is the source of a replacement definition.

``tests/test_sampling_stats.py`` also runs the sampler entries (``SAMPLERS``) over 200 seeds."""

_SEQ = """
def sequence_logprob(model, ids, prompt_len):
    B, T = ids.shape
    if not 1 <= prompt_len <= T:
        raise ValueError(f"prompt_len must be in 1..{T}")
    logits = model(ids)
"""

_TOP_P_HEAD = """
def top_p_filter(logits, p):
    if not 0 < p <= 1:
        raise ValueError(f"p must be in (0, 1], got {p}")
"""

_GENERATE_HEAD = """
@torch.no_grad()
def generate(model, prompt_ids, max_new_tokens, temperature=1.0, top_k=None, top_p=None,
             stop_token_ids=None, generator=None):
    T = prompt_ids.shape[1]
    cfg = model.config
    cache = KVCache(cfg.n_layers, 1, cfg.n_heads, cfg.head_dim, T + max_new_tokens + 1, device=prompt_ids.device)
    stop = set(stop_token_ids or [])
    ids, new = prompt_ids, prompt_ids
"""

SAMPLERS = {
    "mutants": {
        "temperature ignored": """
def sample_next_token(logits, temperature=1.0, top_k=None, top_p=None, generator=None):
    if temperature == 0:
        return logits.argmax(-1)
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    return torch.multinomial(logits.softmax(-1), 1, generator=generator).squeeze(-1)
""",
        "filters before the temperature": """
def sample_next_token(logits, temperature=1.0, top_k=None, top_p=None, generator=None):
    if temperature == 0:
        return logits.argmax(-1)
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    logits = apply_temperature(logits, temperature)
    return torch.multinomial(logits.softmax(-1), 1, generator=generator).squeeze(-1)
""",
        "top-p before top-k": """
def sample_next_token(logits, temperature=1.0, top_k=None, top_p=None, generator=None):
    if temperature == 0:
        return logits.argmax(-1)
    logits = apply_temperature(logits, temperature)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    return torch.multinomial(logits.softmax(-1), 1, generator=generator).squeeze(-1)
""",
        "one random number for the whole batch": """
def sample_next_token(logits, temperature=1.0, top_k=None, top_p=None, generator=None):
    if temperature == 0:
        return logits.argmax(-1)
    logits = apply_temperature(logits, temperature)
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    cdf = logits.softmax(-1).cumsum(-1)
    u = torch.rand(1, generator=generator, device=logits.device)
    return (cdf < u).sum(-1).clamp(max=logits.shape[-1] - 1)
""",
        "softmax over the batch": """
def sample_next_token(logits, temperature=1.0, top_k=None, top_p=None, generator=None):
    if temperature == 0:
        return logits.argmax(-1)
    logits = apply_temperature(logits, temperature)
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    return torch.multinomial(logits.softmax(0), 1, generator=generator).squeeze(-1)
""",
        "every row drawn from the first row's distribution": """
def sample_next_token(logits, temperature=1.0, top_k=None, top_p=None, generator=None):
    if temperature == 0:
        return logits.argmax(-1)
    logits = apply_temperature(logits, temperature)
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    probs = logits.softmax(-1)
    return torch.multinomial(probs[0], logits.shape[0], replacement=True, generator=generator)
""",
        "ignores the generator": """
def sample_next_token(logits, temperature=1.0, top_k=None, top_p=None, generator=None):
    if temperature == 0:
        return logits.argmax(-1)
    logits = apply_temperature(logits, temperature)
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    return torch.multinomial(logits.softmax(-1), 1).squeeze(-1)
""",
        "temperature 0 not handled": """
def sample_next_token(logits, temperature=1.0, top_k=None, top_p=None, generator=None):
    logits = apply_temperature(logits, temperature)
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    return torch.multinomial(logits.softmax(-1), 1, generator=generator).squeeze(-1)
""",
        "returns (B, 1)": """
def sample_next_token(logits, temperature=1.0, top_k=None, top_p=None, generator=None):
    if temperature == 0:
        return logits.argmax(-1, keepdim=True)
    logits = apply_temperature(logits, temperature)
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    return torch.multinomial(logits.softmax(-1), 1, generator=generator)
""",
    },
    "alternatives": {
        "inverse CDF in float64 with searchsorted": """
def sample_next_token(logits, temperature=1.0, top_k=None, top_p=None, generator=None):
    if temperature == 0:
        return torch.argmax(logits, dim=-1)
    x = apply_temperature(logits, temperature)
    if top_k:
        x = top_k_filter(x, top_k)
    if top_p:
        x = top_p_filter(x, top_p)
    cdf = torch.exp(log_softmax(x.double(), dim=-1)).cumsum(dim=-1)           # (B, V)
    u = torch.rand(x.shape[0], 1, generator=generator, dtype=torch.float64, device=x.device) * cdf[:, -1:]
    return torch.searchsorted(cdf, u, right=True).squeeze(-1).clamp(max=x.shape[-1] - 1)
""",
        "Gumbel-max trick": """
def sample_next_token(logits, temperature=1.0, top_k=None, top_p=None, generator=None):
    if temperature == 0:
        return logits.max(dim=-1).indices
    scores = apply_temperature(logits, temperature)
    if top_k is not None:
        scores = top_k_filter(scores, top_k)
    if top_p is not None:
        scores = top_p_filter(scores, top_p)
    u = torch.rand(scores.shape, generator=generator, device=scores.device, dtype=torch.float64)
    gumbel = -torch.log(-torch.log(u))
    return (scores.double() + gumbel).argmax(dim=-1)
""",
    },
}

EXERCISES = {
    "log_softmax": {
        "tests": ["test_log_softmax"],
        "mutants": {
            "log of the softmax": """
def log_softmax(logits, dim=-1):
    return logits.softmax(dim=dim).log()
""",
            "no max subtracted": """
def log_softmax(logits, dim=-1):
    return logits - logits.exp().sum(dim=dim, keepdim=True).log()
""",
            "max subtracted, no log-sum-exp": """
def log_softmax(logits, dim=-1):
    return logits - logits.amax(dim=dim, keepdim=True)
""",
            "always over the last dim": """
def log_softmax(logits, dim=-1):
    shifted = logits - logits.amax(dim=-1, keepdim=True)
    return shifted - shifted.exp().sum(dim=-1, keepdim=True).log()
""",
            "shifted by the mean": """
def log_softmax(logits, dim=-1):
    shifted = logits - logits.mean(dim=dim, keepdim=True)
    return shifted - shifted.exp().sum(dim=dim, keepdim=True).log()
""",
            "sums over the whole tensor": """
def log_softmax(logits, dim=-1):
    shifted = logits - logits.amax(dim=dim, keepdim=True)
    return shifted - shifted.exp().sum().log()
""",
        },
        "alternatives": {
            "max().values and log(sum(exp)) + m": """
def log_softmax(logits, dim=-1):
    m = torch.max(logits, dim=dim, keepdim=True).values
    return logits - (torch.log(torch.sum(torch.exp(logits - m), dim=dim, keepdim=True)) + m)
""",
            "max detached, float64 accumulation cast back": """
def log_softmax(logits, dim=-1):
    m = logits.detach().amax(dim, keepdim=True)
    lse = (logits - m).double().exp().sum(dim, keepdim=True).log().to(logits.dtype)
    return (logits - m) - lse
""",
        },
    },
    "sequence_logprob": {
        "tests": ["test_sequence_logprob"],
        "mutants": {
            "scores each token with its own position's logits": _SEQ
            + """
    logp = log_softmax(logits, dim=-1)[:, prompt_len:]
    return logp.gather(-1, ids[:, prompt_len:, None]).squeeze(-1).sum(-1)
""",
            "mean instead of sum": _SEQ
            + """
    logp = log_softmax(logits[:, prompt_len - 1 : -1], dim=-1)
    return logp.gather(-1, ids[:, prompt_len:, None]).squeeze(-1).mean(-1)
""",
            "scores the prompt too": _SEQ
            + """
    logp = log_softmax(logits[:, :-1], dim=-1)
    return logp.gather(-1, ids[:, 1:, None]).squeeze(-1).sum(-1)
""",
            "sums probabilities": _SEQ
            + """
    probs = logits[:, prompt_len - 1 : -1].softmax(-1)
    return probs.gather(-1, ids[:, prompt_len:, None]).squeeze(-1).sum(-1)
""",
            "sums over the batch too": _SEQ
            + """
    logp = log_softmax(logits[:, prompt_len - 1 : -1], dim=-1)
    return logp.gather(-1, ids[:, prompt_len:, None]).sum()
""",
            "no ValueError for prompt_len 0": """
def sequence_logprob(model, ids, prompt_len):
    logits = model(ids)
    logp = log_softmax(logits[:, max(prompt_len, 1) - 1 : -1], dim=-1)
    return logp.gather(-1, ids[:, max(prompt_len, 1):, None]).squeeze(-1).sum(-1)
""",
        },
        "alternatives": {
            "cross_entropy with reduction='none'": """
def sequence_logprob(model, ids, prompt_len):
    if prompt_len < 1 or prompt_len > ids.shape[1]:
        raise ValueError(f"prompt_len={prompt_len} out of range 1..{ids.shape[1]}")
    logits = model(ids)[:, :-1]
    nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), ids[:, 1:], reduction="none")  # (B, T-1)
    return -nll[:, prompt_len - 1 :].sum(dim=1)
""",
            "a loop over positions": """
def sequence_logprob(model, ids, prompt_len):
    B, T = ids.shape
    if prompt_len <= 0 or prompt_len > T:
        raise ValueError("prompt_len must satisfy 1 <= prompt_len <= T")
    logits = model(ids)
    total = torch.zeros(B, dtype=logits.dtype, device=ids.device)
    for t in range(prompt_len, T):
        lp = log_softmax(logits[:, t - 1], dim=-1)
        total = total + lp[torch.arange(B, device=ids.device), ids[:, t]]
    return total
""",
        },
    },
    "apply_temperature": {
        "tests": ["test_apply_temperature"],
        "mutants": {
            "multiplies": """
def apply_temperature(logits, temperature):
    if temperature <= 0:
        raise ValueError("temperature must be > 0")
    return logits * temperature
""",
            "no ValueError at 0": """
def apply_temperature(logits, temperature):
    if temperature < 0:
        raise ValueError("temperature must be >= 0")
    return logits / temperature
""",
            "negative temperatures allowed": """
def apply_temperature(logits, temperature):
    if temperature == 0:
        raise ValueError("temperature must not be 0")
    return logits / temperature
""",
            "divides in place": """
def apply_temperature(logits, temperature):
    if temperature <= 0:
        raise ValueError("temperature must be > 0")
    return logits.div_(temperature)
""",
            "returns probabilities": """
def apply_temperature(logits, temperature):
    if temperature <= 0:
        raise ValueError("temperature must be > 0")
    return (logits / temperature).softmax(-1)
""",
        },
        "alternatives": {
            "multiply by the inverse": """
def apply_temperature(logits, temperature):
    if temperature <= 0.0:
        raise ValueError(f"temperature={temperature}: must be positive")
    return logits * (1.0 / temperature)
""",
            "torch.div": """
def apply_temperature(logits, temperature):
    if not (temperature > 0):
        raise ValueError("temperature must be strictly positive")
    return torch.div(logits, temperature)
""",
        },
    },
    "top_k_filter": {
        "tests": ["test_top_k_filter"],
        "mutants": {
            "keeps exactly k indices (drops ties)": """
def top_k_filter(logits, k):
    if k < 1:
        raise ValueError("k must be >= 1")
    if k >= logits.shape[-1]:
        return logits.clone()
    idx = logits.topk(k, dim=-1).indices
    out = torch.full_like(logits, float("-inf"))
    return out.scatter(-1, idx, logits.gather(-1, idx))
""",
            "drops the k-th largest too": """
def top_k_filter(logits, k):
    if k < 1:
        raise ValueError("k must be >= 1")
    if k >= logits.shape[-1]:
        return logits.clone()
    kth = logits.topk(k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits <= kth, float("-inf"))
""",
            "crashes for k >= V": """
def top_k_filter(logits, k):
    if k < 1:
        raise ValueError("k must be >= 1")
    kth = logits.topk(k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, float("-inf"))
""",
            "modifies the input in place": """
def top_k_filter(logits, k):
    if k < 1:
        raise ValueError("k must be >= 1")
    if k >= logits.shape[-1]:
        return logits
    kth = logits.topk(k, dim=-1).values[..., -1:]
    return logits.masked_fill_(logits < kth, float("-inf"))
""",
            "fills with 0 instead of -inf": """
def top_k_filter(logits, k):
    if k < 1:
        raise ValueError("k must be >= 1")
    if k >= logits.shape[-1]:
        return logits.clone()
    kth = logits.topk(k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, 0.0)
""",
            "one threshold for the whole tensor": """
def top_k_filter(logits, k):
    if k < 1:
        raise ValueError("k must be >= 1")
    if k >= logits.shape[-1]:
        return logits.clone()
    kth = logits.flatten().topk(k).values[-1]
    return logits.masked_fill(logits < kth, float("-inf"))
""",
            "no ValueError for k=0": """
def top_k_filter(logits, k):
    if k >= logits.shape[-1]:
        return logits.clone()
    kth = logits.topk(max(k, 1), dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, float("-inf"))
""",
        },
        "alternatives": {
            "sort and torch.where": """
def top_k_filter(logits, k):
    if k <= 0:
        raise ValueError(f"k must be a positive integer, got k={k}")
    V = logits.shape[-1]
    if k >= V:
        return logits.clone()
    threshold = torch.sort(logits, dim=-1, descending=True).values[..., k - 1].unsqueeze(-1)
    return torch.where(logits >= threshold, logits, torch.tensor(float("-inf"), dtype=logits.dtype, device=logits.device))
""",
            "kthvalue of the negated logits": """
def top_k_filter(logits, k):
    if k < 1:
        raise ValueError("k must be at least 1")
    n = logits.size(-1)
    out = logits.clone()
    if k < n:
        kth = -torch.kthvalue(-logits, k, dim=-1, keepdim=True).values
        out[logits < kth] = float("-inf")
    return out
""",
        },
    },
    "top_p_filter": {
        "tests": ["test_top_p_filter"],
        "mutants": {
            "drops the token that crosses p": _TOP_P_HEAD
            + """
    if p == 1:
        return logits.clone()
    sp, order = logits.softmax(-1).sort(dim=-1, descending=True)
    remove = sp.cumsum(-1) > p
    return logits.masked_fill(remove.scatter(-1, order, remove), float("-inf"))
""",
            "keeps a token after an exact prefix": _TOP_P_HEAD
            + """
    if p == 1:
        return logits.clone()
    sp, order = logits.softmax(-1).sort(dim=-1, descending=True)
    remove = (sp.cumsum(-1) - sp) > p
    return logits.masked_fill(remove.scatter(-1, order, remove), float("-inf"))
""",
            "no special case for p = 1": _TOP_P_HEAD
            + """
    sp, order = logits.softmax(-1).sort(dim=-1, descending=True)
    remove = (sp.cumsum(-1) - sp) >= p
    return logits.masked_fill(remove.scatter(-1, order, remove), float("-inf"))
""",
            "forgets to undo the sort": _TOP_P_HEAD
            + """
    if p == 1:
        return logits.clone()
    sp, order = logits.softmax(-1).sort(dim=-1, descending=True)
    remove = (sp.cumsum(-1) - sp) >= p
    return logits.masked_fill(remove, float("-inf"))
""",
            "cumulative sum of logits, not probabilities": _TOP_P_HEAD
            + """
    if p == 1:
        return logits.clone()
    sl, order = logits.sort(dim=-1, descending=True)
    remove = (sl.cumsum(-1) - sl) >= p
    return logits.masked_fill(remove.scatter(-1, order, remove), float("-inf"))
""",
            "sorted ascending": _TOP_P_HEAD
            + """
    if p == 1:
        return logits.clone()
    sp, order = logits.softmax(-1).sort(dim=-1)
    remove = (sp.cumsum(-1) - sp) >= p
    return logits.masked_fill(remove.scatter(-1, order, remove), float("-inf"))
""",
            "sorts the probabilities rounded to the input's dtype (drops the most probable token in float16)": _TOP_P_HEAD
            + """
    if p == 1:
        return logits.clone()
    sp, order = logits.softmax(-1).sort(dim=-1, descending=True)
    remove = (sp.cumsum(-1) - sp) >= p
    return logits.masked_fill(remove.scatter(-1, order, remove), float("-inf"))
""",
            "no ValueError for p outside (0, 1]": """
def top_p_filter(logits, p):
    if p >= 1:
        return logits.clone()
    sp, order = logits.softmax(-1).sort(dim=-1, descending=True)
    remove = (sp.cumsum(-1) - sp) >= p
    return logits.masked_fill(remove.scatter(-1, order, remove), float("-inf"))
""",
        },
        "alternatives": {
            "count the kept tokens, compare ranks": """
def top_p_filter(logits, p):
    if p <= 0 or p > 1:
        raise ValueError(f"top-p needs 0 < p <= 1, got p={p}")
    if p == 1.0:
        return logits.clone()
    probs = torch.softmax(logits, dim=-1, dtype=torch.float32)  # float32 probabilities do not tie in float16
    sorted_probs, order = torch.sort(probs, dim=-1, descending=True)
    n_keep = (sorted_probs.cumsum(-1) < p).sum(-1, keepdim=True) + 1          # (..., 1)
    rank = torch.empty_like(order).scatter_(-1, order, torch.arange(order.shape[-1], device=order.device).expand_as(order))
    return torch.where(rank < n_keep, logits, torch.full_like(logits, float("-inf")))
""",
            "sorted logits, an exclusive cumulative sum by concatenation": """
def top_p_filter(logits, p):
    if not 0 < p <= 1:
        raise ValueError(f"top_p_filter: p={p} is not in (0, 1]")
    if p == 1:
        return logits.clone()
    s, order = torch.sort(logits, dim=-1, descending=True)
    probs = torch.softmax(s, dim=-1)
    before = torch.cat([torch.zeros_like(probs[..., :1]), probs.cumsum(-1)[..., :-1]], dim=-1)
    keep_sorted = before < p
    keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
    return torch.where(keep, logits, torch.full_like(logits, float("-inf")))
""",
            "a Python loop over rows": """
def top_p_filter(logits, p):
    if not (0.0 < p <= 1.0):
        raise ValueError("p must lie in (0, 1]")
    flat = logits.reshape(-1, logits.shape[-1])
    out = flat.clone()
    if p < 1:
        for r in range(flat.shape[0]):
            probs = torch.softmax(flat[r].double(), dim=0).tolist()
            order = sorted(range(len(probs)), key=lambda i: -probs[i])
            total = 0.0
            for rank, i in enumerate(order):
                if rank > 0 and total >= p:
                    out[r, i] = float("-inf")
                total += probs[i]
    return out.reshape(logits.shape)
""",
        },
    },
    "sample_next_token": {
        "tests": ["test_sample_next_token"],
        **SAMPLERS,
    },
    "generate": {
        "tests": ["test_generate"],
        "mutants": {
            "no cache: re-reads the whole sequence": _GENERATE_HEAD
            + """
    for _ in range(max_new_tokens):
        next_id = sample_next_token(model(ids)[:, -1], temperature, top_k, top_p, generator)[:, None]
        ids = torch.cat([ids, next_id], 1)
        if next_id.item() in stop:
            break
    return ids
""",
            "drops the stop token": _GENERATE_HEAD
            + """
    for _ in range(max_new_tokens):
        next_id = sample_next_token(model(new, cache=cache)[:, -1], temperature, top_k, top_p, generator)[:, None]
        if next_id.item() in stop:
            break
        ids = torch.cat([ids, next_id], 1)
        new = next_id
    return ids
""",
            "never stops": _GENERATE_HEAD
            + """
    for _ in range(max_new_tokens):
        next_id = sample_next_token(model(new, cache=cache)[:, -1], temperature, top_k, top_p, generator)[:, None]
        ids = torch.cat([ids, next_id], 1)
        new = next_id
    return ids
""",
            "stop tokens looked for in the prompt too": _GENERATE_HEAD
            + """
    for _ in range(max_new_tokens):
        next_id = sample_next_token(model(new, cache=cache)[:, -1], temperature, top_k, top_p, generator)[:, None]
        ids = torch.cat([ids, next_id], 1)
        if any(t in stop for t in ids[0].tolist()):
            break
        new = next_id
    return ids
""",
            "temperature not passed on": _GENERATE_HEAD
            + """
    for _ in range(max_new_tokens):
        next_id = sample_next_token(model(new, cache=cache)[:, -1], top_k=top_k, top_p=top_p, generator=generator)[:, None]
        ids = torch.cat([ids, next_id], 1)
        if next_id.item() in stop:
            break
        new = next_id
    return ids
""",
            "top_k and top_p not passed on": _GENERATE_HEAD
            + """
    for _ in range(max_new_tokens):
        next_id = sample_next_token(model(new, cache=cache)[:, -1], temperature, generator=generator)[:, None]
        ids = torch.cat([ids, next_id], 1)
        if next_id.item() in stop:
            break
        new = next_id
    return ids
""",
            "generator not passed on": _GENERATE_HEAD
            + """
    for _ in range(max_new_tokens):
        next_id = sample_next_token(model(new, cache=cache)[:, -1], temperature, top_k, top_p)[:, None]
        ids = torch.cat([ids, next_id], 1)
        if next_id.item() in stop:
            break
        new = next_id
    return ids
""",
            "one token too many": _GENERATE_HEAD
            + """
    for _ in range(max_new_tokens + 1):
        next_id = sample_next_token(model(new, cache=cache)[:, -1], temperature, top_k, top_p, generator)[:, None]
        ids = torch.cat([ids, next_id], 1)
        if next_id.item() in stop:
            break
        new = next_id
    return ids
""",
        },
        "alternatives": {
            "a list of ids, torch.isin for the stop check, cache as long as the context": """
def generate(model, prompt_ids, max_new_tokens, temperature=1.0, top_k=None, top_p=None,
             stop_token_ids=None, generator=None):
    c = model.config
    stops = torch.tensor(sorted(stop_token_ids or []), dtype=torch.long, device=prompt_ids.device)
    cache = KVCache(c.n_layers, 1, c.n_heads, c.head_dim, c.n_positions, device=prompt_ids.device)
    out = prompt_ids[0].tolist()
    with torch.no_grad():
        x = prompt_ids
        while len(out) - prompt_ids.shape[1] < max_new_tokens:
            tok_id = sample_next_token(model(x, cache=cache)[:, -1, :], temperature=temperature,
                                       top_k=top_k, top_p=top_p, generator=generator)
            out.append(int(tok_id))
            if bool(torch.isin(tok_id, stops).any()):
                break
            x = tok_id.view(1, 1)
    return torch.tensor([out], dtype=torch.long, device=prompt_ids.device)
""",
            "preallocated output": """
@torch.no_grad()
def generate(model, prompt_ids, max_new_tokens, temperature=1.0, top_k=None, top_p=None,
             stop_token_ids=None, generator=None):
    T = prompt_ids.shape[1]
    out = torch.zeros(1, T + max_new_tokens, dtype=torch.long, device=prompt_ids.device)
    out[:, :T] = prompt_ids
    cfg = model.config
    cache = KVCache(cfg.n_layers, 1, cfg.n_heads, cfg.d_model // cfg.n_heads, T + max_new_tokens, device=prompt_ids.device)
    n = 0
    feed = prompt_ids
    while n < max_new_tokens:
        logits = model(feed, cache=cache)
        out[0, T + n] = sample_next_token(logits[:, -1], temperature, top_k, top_p, generator)[0]
        n += 1
        if stop_token_ids is not None and int(out[0, T + n - 1]) in list(stop_token_ids):
            break
        feed = out[:, T + n - 1 : T + n]
    return out[:, : T + n]
""",
        },
    },
}
