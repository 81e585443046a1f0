"""Wrong implementations (mutants) that chapter 02's graded cells must reject, and correct
alternatives they must accept. Each is the source of a replacement definition."""

SDPA = ["test_scaled_dot_product_attention"]

_SIN = """
def sinusoidal_position_encoding(n_positions, d_model):
    if n_positions < 1:
        raise ValueError(f"n_positions must be >= 1, got {n_positions}")
    if d_model < 2 or d_model % 2:
        raise ValueError(f"d_model must be even and positive, got {d_model}")
    pos = torch.arange(n_positions, dtype=torch.float32)[:, None]
"""


EXERCISES = {
    "scaled_dot_product_attention": {
        "tests": SDPA,
        "mutants": {
            "no 1/sqrt(D) scale": """
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1)
    if mask is not None:
        if not mask.expand(scores.shape).any(-1).all():
            raise ValueError("mask")
        scores = scores.masked_fill(~mask, float("-inf"))
    w = scores.softmax(-1)
    return w @ v, w
""",
            "softmax over the queries": """
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if mask is not None:
        if not mask.expand(scores.shape).any(-1).all():
            raise ValueError("mask")
        scores = scores.masked_fill(~mask, float("-inf"))
    w = scores.softmax(-2)
    return w @ v, w
""",
            "inverted mask": """
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf"))
    w = scores.softmax(-1).nan_to_num(0.0)
    return w @ v, w
""",
            "masked with zeros instead of -inf": """
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if mask is not None:
        if not mask.expand(scores.shape).any(-1).all():
            raise ValueError("mask")
        scores = scores.masked_fill(~mask, 0.0)
    w = scores.softmax(-1)
    return w @ v, w
""",
            "returns NaN for an all-False row": """
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    w = scores.softmax(-1)
    return w @ v, w
""",
            "scaled by the key length": """
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(k.size(-2))
    if mask is not None:
        if not mask.expand(scores.shape).any(-1).all():
            raise ValueError("mask")
        scores = scores.masked_fill(~mask, float("-inf"))
    w = scores.softmax(-1)
    return w @ v, w
""",
            "float32 hard-coded": """
def scaled_dot_product_attention(q, k, v, mask=None):
    q, k, v = q.float(), k.float(), v.float()
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if mask is not None:
        if not mask.expand(scores.shape).any(-1).all():
            raise ValueError("mask")
        scores = scores.masked_fill(~mask, float("-inf"))
    w = scores.softmax(-1)
    return w @ v, w
""",
            "only checks the first row of the mask": """
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if mask is not None:
        if not mask.reshape(-1, mask.shape[-1])[0].any():
            raise ValueError("mask")
        scores = scores.masked_fill(~mask, float("-inf"))
    w = scores.softmax(-1)
    return w @ v, w
""",
        },
        "alternatives": {
            "einsum, exp-normalise by hand, scale the query first": """
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = torch.einsum("...qd,...kd->...qk", q * q.shape[-1] ** -0.5, k)
    if mask is not None:
        allowed = torch.broadcast_to(mask, scores.shape)
        if (~allowed).all(dim=-1).any():
            raise ValueError("mask has a row with no True: that query can attend nothing")
        scores = torch.where(allowed, scores, torch.tensor(float("-inf"), dtype=scores.dtype))
    scores = scores - scores.amax(dim=-1, keepdim=True)
    e = scores.exp()
    w = e / e.sum(dim=-1, keepdim=True)
    return torch.einsum("...qk,...kd->...qd", w, v), w
""",
            "torch.matmul and F.softmax with a large negative fill": """
def scaled_dot_product_attention(q, k, v, mask=None):
    d = q.size(-1)
    scores = torch.matmul(q, k.transpose(-1, -2)) / d ** 0.5
    if mask is not None:
        m = mask.expand_as(scores)
        if not bool(m.any(-1).all()):
            raise ValueError("mask: a query row is all False")
        scores = scores.masked_fill(m.logical_not(), torch.finfo(scores.dtype).min)
    w = F.softmax(scores, dim=-1)
    if mask is not None:
        w = w * m
    return torch.matmul(w, v), w
""",
        },
    },
    "causal_mask": {
        "tests": ["test_causal_mask"],
        "mutants": {
            "upper triangle": """
def causal_mask(q_len, k_len=None, device=None):
    k_len = q_len if k_len is None else k_len
    if q_len < 1 or k_len < q_len:
        raise ValueError("bad lengths")
    return torch.ones(q_len, k_len, dtype=torch.bool, device=device).triu()
""",
            "no offset for fewer queries than keys": """
def causal_mask(q_len, k_len=None, device=None):
    k_len = q_len if k_len is None else k_len
    if q_len < 1 or k_len < q_len:
        raise ValueError("bad lengths")
    return torch.ones(q_len, k_len, dtype=torch.bool, device=device).tril()
""",
            "strictly lower (a token cannot see itself)": """
def causal_mask(q_len, k_len=None, device=None):
    k_len = q_len if k_len is None else k_len
    if q_len < 1 or k_len < q_len:
        raise ValueError("bad lengths")
    return torch.ones(q_len, k_len, dtype=torch.bool, device=device).tril(diagonal=k_len - q_len - 1)
""",
            "float mask": """
def causal_mask(q_len, k_len=None, device=None):
    k_len = q_len if k_len is None else k_len
    if q_len < 1 or k_len < q_len:
        raise ValueError("bad lengths")
    return torch.ones(q_len, k_len, device=device).tril(diagonal=k_len - q_len)
""",
            "no ValueError when q_len > k_len": """
def causal_mask(q_len, k_len=None, device=None):
    k_len = q_len if k_len is None else k_len
    return torch.ones(q_len, k_len, dtype=torch.bool, device=device).tril(diagonal=k_len - q_len)
""",
        },
        "alternatives": {
            "tril with a diagonal offset": """
def causal_mask(q_len, k_len=None, device=None):
    if k_len is None:
        k_len = q_len
    if q_len <= 0:
        raise ValueError(f"q_len must be positive, got {q_len}")
    if k_len < q_len:
        raise ValueError(f"k_len ({k_len}) must be at least q_len ({q_len})")
    return torch.tril(torch.ones(q_len, k_len, dtype=torch.bool, device=device), diagonal=k_len - q_len)
""",
            "a Python loop": """
def causal_mask(q_len, k_len=None, device=None):
    k_len = k_len or q_len
    if q_len < 1 or k_len < q_len:
        raise ValueError(f"need 1 <= q_len <= k_len, got q_len={q_len}, k_len={k_len}")
    m = torch.zeros(q_len, k_len, dtype=torch.bool, device=device)
    for i in range(q_len):
        m[i, : k_len - q_len + i + 1] = True
    return m
""",
        },
    },
    "split_merge_heads": {
        "tests": ["test_split_merge_heads"],
        "mutants": {
            "plain view to (B, H, T, D)": """
def split_heads(x, n_heads):
    B, T, C = x.shape
    if C % n_heads:
        raise ValueError("n_heads")
    return x.reshape(B, n_heads, T, C // n_heads)
""",
            "heads interleaved (D, H) instead of (H, D)": """
def split_heads(x, n_heads):
    B, T, C = x.shape
    if C % n_heads:
        raise ValueError("n_heads")
    return x.view(B, T, C // n_heads, n_heads).permute(0, 3, 1, 2)
""",
            "merge without transposing back": """
def merge_heads(x):
    B, H, T, D = x.shape
    return x.reshape(B, T, H * D)
""",
            "no ValueError for a C not divisible by H": """
def split_heads(x, n_heads):
    B, T, C = x.shape
    return x.view(B, T, n_heads, -1).transpose(1, 2) if C % n_heads == 0 else x.view(B, T, 1, C).transpose(1, 2)
""",
        },
        "alternatives": {
            "unflatten / permute / flatten": """
def split_heads(x, n_heads):
    if x.shape[-1] % n_heads != 0:
        raise ValueError(f"n_heads={n_heads} does not divide C={x.shape[-1]}")
    return x.unflatten(-1, (n_heads, -1)).permute(0, 2, 1, 3)

def merge_heads(x):
    return x.permute(0, 2, 1, 3).flatten(2)
""",
        },
    },
    "MultiHeadAttention": {
        "tests": ["test_MultiHeadAttention", "test_mha_in_gpt"],
        "mutants": {
            "no ValueError in the constructor (fails at the first forward pass)": """
class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, n_heads, bias=True):
        super().__init__()
        self.n_heads = n_heads
        self.c_attn = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.c_proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(self, x, mask=None):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=-1)
        q, k, v = (split_heads(t, self.n_heads) for t in (q, k, v))
        out, _ = scaled_dot_product_attention(q, k, v, causal_mask(T, device=x.device) if mask is None else mask)
        return self.c_proj(merge_heads(out))
""",
            "k, q, v order": """
class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, n_heads, bias=True):
        super().__init__()
        self.n_heads = n_heads
        self.c_attn = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.c_proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(self, x, mask=None):
        B, T, C = x.shape
        k, q, v = self.c_attn(x).split(C, dim=-1)
        q, k, v = (split_heads(t, self.n_heads) for t in (q, k, v))
        out, _ = scaled_dot_product_attention(q, k, v, causal_mask(T) if mask is None else mask)
        return self.c_proj(merge_heads(out))
""",
            "not causal": """
class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, n_heads, bias=True):
        super().__init__()
        self.n_heads = n_heads
        self.c_attn = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.c_proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(self, x, mask=None):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=-1)
        q, k, v = (split_heads(t, self.n_heads) for t in (q, k, v))
        out, _ = scaled_dot_product_attention(q, k, v, mask)
        return self.c_proj(merge_heads(out))
""",
            "forgets c_proj": """
class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, n_heads, bias=True):
        super().__init__()
        self.n_heads = n_heads
        self.c_attn = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.c_proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(self, x, mask=None):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=-1)
        q, k, v = (split_heads(t, self.n_heads) for t in (q, k, v))
        out, _ = scaled_dot_product_attention(q, k, v, causal_mask(T) if mask is None else mask)
        return merge_heads(out)
""",
            "one head whatever n_heads says": """
class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, n_heads, bias=True):
        super().__init__()
        self.n_heads = n_heads
        self.c_attn = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.c_proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(self, x, mask=None):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=-1)
        q, k, v = (split_heads(t, 1) for t in (q, k, v))
        out, _ = scaled_dot_product_attention(q, k, v, causal_mask(T) if mask is None else mask)
        return self.c_proj(merge_heads(out))
""",
            "ignores the given mask": """
class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, n_heads, bias=True):
        super().__init__()
        self.n_heads = n_heads
        self.c_attn = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.c_proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(self, x, mask=None):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=-1)
        q, k, v = (split_heads(t, self.n_heads) for t in (q, k, v))
        out, _ = scaled_dot_product_attention(q, k, v, causal_mask(T))
        return self.c_proj(merge_heads(out))
""",
        },
        "alternatives": {
            "separate chunks and a manual mask": """
class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, n_heads, bias=True):
        super().__init__()
        if d_model % n_heads != 0:
            raise ValueError(f"d_model={d_model} is not a multiple of n_heads={n_heads}")
        self.h = n_heads
        self.c_attn = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.c_proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(self, x, mask=None):
        T = x.shape[1]
        qkv = self.c_attn(x)
        q, k, v = qkv.chunk(3, dim=-1)
        heads = [split_heads(t, self.h) for t in (q, k, v)]
        if mask is None:
            mask = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
        out, _ = scaled_dot_product_attention(*heads, mask=mask)
        return self.c_proj(merge_heads(out))
""",
        },
    },
    "sinusoidal_position_encoding": {
        "tests": ["test_sinusoidal_position_encoding"],
        "mutants": {
            "sin and cos swapped": _SIN
            + """
    angle = pos / 10000 ** (torch.arange(0, d_model, 2) / d_model)
    pe = torch.empty(n_positions, d_model)
    pe[:, 0::2], pe[:, 1::2] = angle.cos(), angle.sin()
    return pe
""",
            "exponent i / d instead of 2i / d": _SIN
            + """
    angle = pos / 10000 ** (torch.arange(d_model // 2) / d_model)
    pe = torch.empty(n_positions, d_model)
    pe[:, 0::2], pe[:, 1::2] = angle.sin(), angle.cos()
    return pe
""",
            "each column its own exponent j / d": _SIN
            + """
    angle = pos / 10000 ** (torch.arange(d_model) / d_model)
    return torch.where(torch.arange(d_model) % 2 == 0, angle.sin(), angle.cos())
""",
            "sines and cosines in two halves": _SIN
            + """
    angle = pos / 10000 ** (torch.arange(0, d_model, 2) / d_model)
    return torch.cat([angle.sin(), angle.cos()], dim=-1)
""",
            "multiplies by 10000^(2i/d)": _SIN
            + """
    angle = pos * 10000 ** (torch.arange(0, d_model, 2) / d_model)
    pe = torch.empty(n_positions, d_model)
    pe[:, 0::2], pe[:, 1::2] = angle.sin(), angle.cos()
    return pe
""",
            "positions from 1": """
def sinusoidal_position_encoding(n_positions, d_model):
    if n_positions < 1 or d_model < 2 or d_model % 2:
        raise ValueError(f"bad n_positions={n_positions} or d_model={d_model}")
    pos = torch.arange(1, n_positions + 1, dtype=torch.float32)[:, None]
    angle = pos / 10000 ** (torch.arange(0, d_model, 2) / d_model)
    pe = torch.empty(n_positions, d_model)
    pe[:, 0::2], pe[:, 1::2] = angle.sin(), angle.cos()
    return pe
""",
            "no ValueError for an odd d_model": """
def sinusoidal_position_encoding(n_positions, d_model):
    if n_positions < 1 or d_model < 1:
        raise ValueError(f"n_positions and d_model must be positive, got {n_positions}, {d_model}")
    pos = torch.arange(n_positions, dtype=torch.float32)[:, None]
    angle = pos / 10000 ** (torch.arange(0, d_model, 2) / d_model)
    pe = torch.empty(n_positions, d_model)
    pe[:, 0::2] = angle.sin()
    pe[:, 1::2] = angle.cos()[:, : d_model // 2]
    return pe
""",
            "float64 table": _SIN
            + """
    angle = pos.double() / 10000 ** (torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
    pe = torch.empty(n_positions, d_model, dtype=torch.float64)
    pe[:, 0::2], pe[:, 1::2] = angle.sin(), angle.cos()
    return pe
""",
        },
        "alternatives": {
            "exp and log, stack and flatten": """
def sinusoidal_position_encoding(n_positions, d_model):
    if n_positions <= 0:
        raise ValueError(f"n_positions={n_positions} must be positive")
    if d_model <= 0 or d_model % 2 != 0:
        raise ValueError(f"d_model={d_model} must be positive and even")
    pos = torch.arange(n_positions).float().unsqueeze(-1)
    inv_freq = torch.exp(-math.log(10000.0) * torch.arange(0, d_model, 2).float() / d_model)
    angle = pos * inv_freq
    return torch.stack([angle.sin(), angle.cos()], dim=-1).flatten(-2)
""",
            "computed in float64, cast at the end": """
def sinusoidal_position_encoding(n_positions, d_model):
    if not n_positions >= 1:
        raise ValueError("n_positions must be at least 1")
    if d_model < 2 or d_model % 2 == 1:
        raise ValueError("d_model must be an even number >= 2")
    i = torch.arange(d_model // 2, dtype=torch.float64)
    angle = torch.outer(torch.arange(n_positions, dtype=torch.float64), 1.0 / 10000 ** (2 * i / d_model))
    pe = torch.zeros(n_positions, d_model, dtype=torch.float64)
    pe[:, ::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle)
    return pe.float()
""",
        },
    },
}
