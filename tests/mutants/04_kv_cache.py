"""Wrong implementations (mutants) that chapter 04's graded cells must reject, and correct
alternatives they must accept. Each is the source of a replacement definition."""

# The reference KVCache with one method replaced: most cache mutants differ from it in one place.
_CACHE_INIT = """
class KVCache:
    def __init__(self, n_layers, batch_size, n_heads, head_dim, max_len, device=None, dtype=torch.float32):
        self.n_layers, self.max_len = n_layers, max_len
        shape = (n_layers, batch_size, n_heads, max_len, head_dim)
        self.k = torch.zeros(shape, device=device, dtype=dtype)
        self.v = torch.zeros(shape, device=device, dtype=dtype)
        self.seq_len = 0

    def reset(self):
        self.seq_len = 0
"""


def _cache(update: str, init: str = _CACHE_INIT) -> str:
    return init + update


_ATTN_HEAD = """
def attention_with_cache(attn, x, cache, layer):
    B, T, C = x.shape
    H = attn.n_heads
    q, k, v = attn.c_attn(x).split(C, dim=2)
    q, k, v = (t.view(B, T, H, C // H).transpose(1, 2) for t in (q, k, v))
"""
_ATTN_TAIL = """
    return attn.c_proj(y.transpose(1, 2).reshape(B, T, C))
"""

_FORWARD = """
def cached_forward(model, ids, cache):
    B, T = ids.shape
    pos = {pos}
    x = model.wte(ids) + model.wpe(pos)
    for layer, block in enumerate(model.h):
        x = {attn_line}
        x = x + block.mlp(block.ln_2(x))
    return {head}
"""


def _forward(
    pos="torch.arange(cache.seq_len, cache.seq_len + T, device=ids.device)",
    attn_line="x + attention_with_cache(block.attn, block.ln_1(x), cache, layer)",
    head="model.lm_head(model.ln_f(x))",
):
    return _FORWARD.format(pos=pos, attn_line=attn_line, head=head)


_GREEDY_HEAD = """
@torch.no_grad()
def generate_greedy(model, prompt_ids, max_new_tokens, use_cache=True):
    B, T = prompt_ids.shape
    cfg = model.config
    def new_cache():
        return KVCache(cfg.n_layers, B, cfg.n_heads, cfg.head_dim, T + max_new_tokens + 1, device=prompt_ids.device)
"""

EXERCISES = {
    "KVCache": {
        "tests": ["test_KVCache"],
        "mutants": {
            "returns only the new keys": _cache("""
    def update(self, layer, k, v):
        start, end = self.seq_len, self.seq_len + k.size(2)
        if end > self.max_len:
            raise ValueError(f"max_len={self.max_len} exceeded")
        self.k[layer, :, :, start:end] = k
        self.v[layer, :, :, start:end] = v
        if layer == self.n_layers - 1:
            self.seq_len = end
        return self.k[layer, :, :, start:end], self.v[layer, :, :, start:end]
"""),
            "advances once per layer": _cache("""
    def update(self, layer, k, v):
        start, end = self.seq_len, self.seq_len + k.size(2)
        if end > self.max_len:
            raise ValueError(f"max_len={self.max_len} exceeded")
        self.k[layer, :, :, start:end] = k
        self.v[layer, :, :, start:end] = v
        self.seq_len = end
        return self.k[layer, :, :, :end], self.v[layer, :, :, :end]
"""),
            "never advances": _cache("""
    def update(self, layer, k, v):
        start, end = self.seq_len, self.seq_len + k.size(2)
        if end > self.max_len:
            raise ValueError(f"max_len={self.max_len} exceeded")
        self.k[layer, :, :, start:end] = k
        self.v[layer, :, :, start:end] = v
        return self.k[layer, :, :, :end], self.v[layer, :, :, :end]
"""),
            "writes every step at position 0": _cache("""
    def update(self, layer, k, v):
        t = k.size(2)
        end = self.seq_len + t
        if end > self.max_len:
            raise ValueError(f"max_len={self.max_len} exceeded")
        self.k[layer, :, :, :t] = k
        self.v[layer, :, :, :t] = v
        if layer == self.n_layers - 1:
            self.seq_len = end
        return self.k[layer, :, :, :end], self.v[layer, :, :, :end]
"""),
            "advances after the first layer instead of the last": _cache("""
    def update(self, layer, k, v):
        start, end = self.seq_len, self.seq_len + k.size(2)
        if end > self.max_len:
            raise ValueError(f"max_len={self.max_len} exceeded")
        self.k[layer, :, :, start:end] = k
        self.v[layer, :, :, start:end] = v
        if layer == 0:
            self.seq_len = end
        return self.k[layer, :, :, :end], self.v[layer, :, :, :end]
"""),
            "grows with torch.cat (copies every step)": """
class KVCache:
    def __init__(self, n_layers, batch_size, n_heads, head_dim, max_len, device=None, dtype=torch.float32):
        self.n_layers, self.max_len, self.seq_len = n_layers, max_len, 0
        self.k = [torch.zeros(batch_size, n_heads, 0, head_dim, device=device, dtype=dtype) for _ in range(n_layers)]
        self.v = [torch.zeros(batch_size, n_heads, 0, head_dim, device=device, dtype=dtype) for _ in range(n_layers)]

    def update(self, layer, k, v):
        if self.seq_len + k.size(2) > self.max_len:
            raise ValueError(f"max_len={self.max_len} exceeded")
        self.k[layer] = torch.cat([self.k[layer][:, :, : self.seq_len], k], dim=2)
        self.v[layer] = torch.cat([self.v[layer][:, :, : self.seq_len], v], dim=2)
        if layer == self.n_layers - 1:
            self.seq_len += k.size(2)
        return self.k[layer], self.v[layer]

    def reset(self):
        self.seq_len = 0
""",
            "returns clones of the buffer": _cache("""
    def update(self, layer, k, v):
        start, end = self.seq_len, self.seq_len + k.size(2)
        if end > self.max_len:
            raise ValueError(f"max_len={self.max_len} exceeded")
        self.k[layer, :, :, start:end] = k
        self.v[layer, :, :, start:end] = v
        if layer == self.n_layers - 1:
            self.seq_len = end
        return self.k[layer, :, :, :end].clone(), self.v[layer, :, :, :end].clone()
"""),
            "no overflow check (PyTorch's shape error instead of a ValueError)": _cache("""
    def update(self, layer, k, v):
        start, end = self.seq_len, self.seq_len + k.size(2)
        self.k[layer, :, :, start:end] = k
        self.v[layer, :, :, start:end] = v
        if layer == self.n_layers - 1:
            self.seq_len = end
        return self.k[layer, :, :, :end], self.v[layer, :, :, :end]
"""),
            "one buffer shared by every layer": """
class KVCache:
    def __init__(self, n_layers, batch_size, n_heads, head_dim, max_len, device=None, dtype=torch.float32):
        self.n_layers, self.max_len, self.seq_len = n_layers, max_len, 0
        self.k = torch.zeros(batch_size, n_heads, max_len, head_dim, device=device, dtype=dtype)
        self.v = torch.zeros(batch_size, n_heads, max_len, head_dim, device=device, dtype=dtype)

    def update(self, layer, k, v):
        start, end = self.seq_len, self.seq_len + k.size(2)
        if end > self.max_len:
            raise ValueError(f"max_len={self.max_len} exceeded")
        self.k[:, :, start:end] = k
        self.v[:, :, start:end] = v
        if layer == self.n_layers - 1:
            self.seq_len = end
        return self.k[:, :, :end], self.v[:, :, :end]

    def reset(self):
        self.seq_len = 0
""",
            "reset does nothing": """
class KVCache:
    def __init__(self, n_layers, batch_size, n_heads, head_dim, max_len, device=None, dtype=torch.float32):
        self.n_layers, self.max_len = n_layers, max_len
        shape = (n_layers, batch_size, n_heads, max_len, head_dim)
        self.k = torch.zeros(shape, device=device, dtype=dtype)
        self.v = torch.zeros(shape, device=device, dtype=dtype)
        self.seq_len = 0

    def update(self, layer, k, v):
        start, end = self.seq_len, self.seq_len + k.size(2)
        if end > self.max_len:
            raise ValueError(f"max_len={self.max_len} exceeded")
        self.k[layer, :, :, start:end] = k
        self.v[layer, :, :, start:end] = v
        if layer == self.n_layers - 1:
            self.seq_len = end
        return self.k[layer, :, :, :end], self.v[layer, :, :, :end]

    def reset(self):
        self.k.zero_()
        self.v.zero_()
""",
            "float32 hard-coded": """
class KVCache:
    def __init__(self, n_layers, batch_size, n_heads, head_dim, max_len, device=None, dtype=torch.float32):
        self.n_layers, self.max_len = n_layers, max_len
        shape = (n_layers, batch_size, n_heads, max_len, head_dim)
        self.k = torch.zeros(shape, device=device)
        self.v = torch.zeros(shape, device=device)
        self.seq_len = 0

    def update(self, layer, k, v):
        start, end = self.seq_len, self.seq_len + k.size(2)
        if end > self.max_len:
            raise ValueError(f"max_len={self.max_len} exceeded")
        self.k[layer, :, :, start:end] = k
        self.v[layer, :, :, start:end] = v
        if layer == self.n_layers - 1:
            self.seq_len = end
        return self.k[layer, :, :, :end], self.v[layer, :, :, :end]

    def reset(self):
        self.seq_len = 0
""",
        },
        "alternatives": {
            "per-layer buffers in (B, T, H, D) layout, transposed views": """
class KVCache:
    def __init__(self, n_layers, batch_size, n_heads, head_dim, max_len, device=None, dtype=torch.float32):
        self.n_layers = n_layers
        self.max_len = max_len
        self.keys = [torch.empty(batch_size, max_len, n_heads, head_dim, device=device, dtype=dtype) for _ in range(n_layers)]
        self.values = [torch.empty(batch_size, max_len, n_heads, head_dim, device=device, dtype=dtype) for _ in range(n_layers)]
        self.seq_len = 0

    def update(self, layer, k, v):
        n = k.shape[-2]
        if self.seq_len + n > self.max_len:
            raise ValueError(f"cache overflow: {self.seq_len} + {n} positions > max_len {self.max_len}")
        self.keys[layer][:, self.seq_len : self.seq_len + n] = k.transpose(1, 2)
        self.values[layer][:, self.seq_len : self.seq_len + n] = v.transpose(1, 2)
        total = self.seq_len + n
        if layer + 1 == self.n_layers:
            self.seq_len = total
        return self.keys[layer][:, :total].transpose(1, 2), self.values[layer][:, :total].transpose(1, 2)

    def reset(self):
        self.seq_len = 0
""",
            "one tensor for keys and values, narrow() and copy_(), zeroed on reset": """
class KVCache:
    def __init__(self, n_layers, batch_size, n_heads, head_dim, max_len, device=None, dtype=torch.float32):
        self.kv = torch.zeros(2, n_layers, batch_size, n_heads, max_len, head_dim, device=device, dtype=dtype)
        self.last_layer = n_layers - 1
        self.seq_len = 0

    @property
    def max_len(self):
        return self.kv.shape[4]

    def update(self, layer, k, v):
        new = k.shape[2]
        if not self.seq_len + new <= self.max_len:
            raise ValueError("max_len=%d is too small for %d positions" % (self.max_len, self.seq_len + new))
        self.kv[0, layer].narrow(2, self.seq_len, new).copy_(k)
        self.kv[1, layer].narrow(2, self.seq_len, new).copy_(v)
        upto = self.seq_len + new
        if layer == self.last_layer:
            self.seq_len = upto
        return self.kv[0, layer].narrow(2, 0, upto), self.kv[1, layer].narrow(2, 0, upto)

    def reset(self):
        self.kv.zero_()
        self.seq_len = 0
""",
        },
    },
    "attention_with_cache": {
        "tests": ["test_attention_with_cache"],
        "mutants": {
            "triangle without the offset": _ATTN_HEAD
            + """
    k, v = cache.update(layer, k, v)
    mask = torch.ones(T, k.size(2), dtype=torch.bool, device=x.device).tril()
    y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
"""
            + _ATTN_TAIL,
            "is_causal=True (aligned top-left)": _ATTN_HEAD
            + """
    k, v = cache.update(layer, k, v)
    y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
"""
            + _ATTN_TAIL,
            "no mask": _ATTN_HEAD
            + """
    k, v = cache.update(layer, k, v)
    y = F.scaled_dot_product_attention(q, k, v)
"""
            + _ATTN_TAIL,
            "attends over the new keys only": _ATTN_HEAD
            + """
    cache.update(layer, k, v)
    y = F.scaled_dot_product_attention(q, k, v, attn_mask=causal_mask(T, device=x.device))
"""
            + _ATTN_TAIL,
            "never writes into the cache": _ATTN_HEAD
            + """
    y = F.scaled_dot_product_attention(q, k, v, attn_mask=causal_mask(T, device=x.device))
"""
            + _ATTN_TAIL,
            "always layer 0": _ATTN_HEAD
            + """
    k, v = cache.update(0, k, v)
    y = F.scaled_dot_product_attention(q, k, v, attn_mask=causal_mask(T, k.size(2), device=x.device))
"""
            + _ATTN_TAIL,
            "heads split with a plain view": """
def attention_with_cache(attn, x, cache, layer):
    B, T, C = x.shape
    H = attn.n_heads
    q, k, v = attn.c_attn(x).split(C, dim=2)
    q, k, v = (t.reshape(B, H, T, C // H) for t in (q, k, v))
    k, v = cache.update(layer, k, v)
    y = F.scaled_dot_product_attention(q, k, v, attn_mask=causal_mask(T, k.size(2), device=x.device))
    return attn.c_proj(y.reshape(B, T, C))
""",
        },
        "alternatives": {
            "attention by hand, the offset read from seq_len before the update": """
def attention_with_cache(attn, x, cache, layer):
    B, T, C = x.shape
    past = cache.seq_len
    qkv = attn.c_attn(x).view(B, T, 3, attn.n_heads, C // attn.n_heads)
    q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
    k, v = cache.update(layer, k, v)
    scores = (q @ k.transpose(-1, -2)) * (q.shape[-1] ** -0.5)
    allowed = torch.ones(T, past + T, dtype=torch.bool, device=x.device).tril(diagonal=past)
    w = scores.masked_fill(~allowed, float("-inf")).softmax(dim=-1)
    return attn.c_proj((w @ v).permute(0, 2, 1, 3).flatten(2))
""",
            "einsum and a float mask": """
def attention_with_cache(attn, x, cache, layer):
    B, T, C = x.shape
    H, D = attn.n_heads, C // attn.n_heads
    q, k, v = [t.unflatten(-1, (H, D)).transpose(1, 2) for t in attn.c_attn(x).chunk(3, dim=-1)]
    keys, values = cache.update(layer, k, v)
    bias = torch.zeros(T, keys.shape[2], dtype=x.dtype, device=x.device)
    bias.masked_fill_(~causal_mask(T, keys.shape[2], device=x.device), float("-inf"))
    w = torch.softmax(torch.einsum("bhqd,bhkd->bhqk", q, keys) / D ** 0.5 + bias, dim=-1)
    y = torch.einsum("bhqk,bhkd->bqhd", w, values).reshape(B, T, C)
    return attn.c_proj(y)
""",
        },
    },
    "cached_forward": {
        "tests": ["test_cached_forward"],
        "mutants": {
            "positions start at 0": _forward(pos="torch.arange(T, device=ids.device)"),
            "positions off by one": _forward(
                pos="torch.arange(cache.seq_len + 1, cache.seq_len + T + 1, device=ids.device)"
            ),
            "every block writes into layer 0": _forward(
                attn_line="x + attention_with_cache(block.attn, block.ln_1(x), cache, 0)"
            ),
            "forgets the final LayerNorm": _forward(head="model.lm_head(x)"),
            "no residual around attention": _forward(
                attn_line="attention_with_cache(block.attn, block.ln_1(x), cache, layer)"
            ),
            "attention without the cache": _forward(attn_line="x + block.attn(block.ln_1(x))"),
        },
        "alternatives": {
            "the library's blocks with the cache, positions by indexing wpe.weight": """
def cached_forward(model, ids, cache):
    n_new = ids.size(1)
    first = int(cache.seq_len)
    h = model.wte(ids) + model.wpe.weight[first : first + n_new]
    for i in range(len(model.h)):
        h = model.h[i](h, cache=cache, layer=i)
    return model.lm_head(model.ln_f(h))
""",
            "positions from a broadcast offset, a while loop": """
def cached_forward(model, ids, cache):
    offset = cache.seq_len
    positions = offset + torch.arange(ids.shape[1], device=ids.device)
    hidden = model.wte(ids) + model.wpe(positions)[None]
    i = 0
    while i < len(model.h):
        blk = model.h[i]
        hidden = hidden + attention_with_cache(blk.attn, blk.ln_1(hidden), cache, i)
        hidden = hidden + blk.mlp(blk.ln_2(hidden))
        i += 1
    return model.lm_head(model.ln_f(hidden))
""",
        },
    },
    "generate_greedy": {
        "tests": ["test_generate_greedy"],
        "mutants": {
            "one forward pass too many": _GREEDY_HEAD
            + """
    cache = new_cache() if use_cache else None
    ids = prompt_ids
    logits = model(ids, cache=cache) if use_cache else model(ids)
    for _ in range(max_new_tokens):
        ids = torch.cat([ids, logits[:, -1].argmax(-1, keepdim=True)], 1)
        logits = model(ids[:, -1:], cache=cache) if use_cache else model(ids)
    return ids
""",
            "re-feeds the whole sequence into the cache": _GREEDY_HEAD
            + """
    ids = prompt_ids
    cache = KVCache(cfg.n_layers, B, cfg.n_heads, cfg.head_dim, model.config.n_positions * 4, device=prompt_ids.device)
    for _ in range(max_new_tokens):
        logits = model(ids, cache=cache) if use_cache else model(ids)
        ids = torch.cat([ids, logits[:, -1].argmax(-1, keepdim=True)], 1)
    return ids
""",
            "never uses the cache": _GREEDY_HEAD
            + """
    ids = prompt_ids
    for _ in range(max_new_tokens):
        ids = torch.cat([ids, model(ids)[:, -1].argmax(-1, keepdim=True)], 1)
    return ids
""",
            "a new cache at every step": _GREEDY_HEAD
            + """
    ids, new = prompt_ids, prompt_ids
    for _ in range(max_new_tokens):
        logits = model(new, cache=new_cache()) if use_cache else model(ids)
        new = logits[:, -1].argmax(-1, keepdim=True)
        ids = torch.cat([ids, new], 1)
    return ids
""",
            "argmax of the first position": _GREEDY_HEAD
            + """
    cache = new_cache() if use_cache else None
    ids, new = prompt_ids, prompt_ids
    for _ in range(max_new_tokens):
        logits = model(new, cache=cache) if use_cache else model(ids)
        new = logits[:, 0].argmax(-1, keepdim=True)
        ids = torch.cat([ids, new], 1)
    return ids
""",
            "the first row's token for every row": _GREEDY_HEAD
            + """
    cache = new_cache() if use_cache else None
    ids, new = prompt_ids, prompt_ids
    for _ in range(max_new_tokens):
        logits = model(new, cache=cache) if use_cache else model(ids)
        new = logits[0, -1].argmax().view(1, 1).expand(B, 1)
        ids = torch.cat([ids, new], 1)
    return ids
""",
            "prefill one token at a time": _GREEDY_HEAD
            + """
    if not use_cache:
        ids = prompt_ids
        for _ in range(max_new_tokens):
            ids = torch.cat([ids, model(ids)[:, -1].argmax(-1, keepdim=True)], 1)
        return ids
    cache = new_cache()
    for t in range(T - 1):
        model(prompt_ids[:, t : t + 1], cache=cache)
    ids, new = prompt_ids, prompt_ids[:, -1:]
    for _ in range(max_new_tokens):
        new = model(new, cache=cache)[:, -1].argmax(-1, keepdim=True)
        ids = torch.cat([ids, new], 1)
    return ids
""",
            "uses the cache even when use_cache=False": _GREEDY_HEAD
            + """
    cache = new_cache()
    ids, new = prompt_ids, prompt_ids
    for _ in range(max_new_tokens):
        new = model(new, cache=cache)[:, -1].argmax(-1, keepdim=True)
        ids = torch.cat([ids, new], 1)
    return ids
""",
        },
        "alternatives": {
            "preallocated output, cache as long as the context": """
@torch.no_grad()
def generate_greedy(model, prompt_ids, max_new_tokens, use_cache=True):
    B, T = prompt_ids.shape
    out = torch.empty(B, T + max_new_tokens, dtype=torch.long, device=prompt_ids.device)
    out[:, :T] = prompt_ids
    c = model.config
    cache = KVCache(c.n_layers, B, c.n_heads, c.d_model // c.n_heads, c.n_positions,
                    device=prompt_ids.device) if use_cache else None
    for i in range(max_new_tokens):
        end = T + i
        if cache is None:
            logits = model(out[:, :end])
        elif i == 0:
            logits = model(out[:, :end], cache=cache)
        else:
            logits = model(out[:, end - 1 : end], cache=cache)
        out[:, end] = torch.max(logits[:, -1, :], dim=-1).indices
    return out
""",
            "logits of the last position only, read as position 0": """
@torch.no_grad()
def generate_greedy(model, prompt_ids, max_new_tokens, use_cache=True):
    B, T = prompt_ids.shape
    c = model.config
    cache = KVCache(c.n_layers, B, c.n_heads, c.head_dim, T + max_new_tokens, device=prompt_ids.device)
    ids, new = prompt_ids, prompt_ids
    for _ in range(max_new_tokens):
        logits = model(new, cache=cache, logits_to_keep=1) if use_cache else model(ids, logits_to_keep=1)
        new = logits[:, 0].argmax(-1, keepdim=True)
        ids = torch.cat([ids, new], dim=1)
    return ids
""",
            "a list of generated columns": """
def generate_greedy(model, prompt_ids, max_new_tokens, use_cache=True):
    cfg = model.config
    with torch.no_grad():
        cache = (KVCache(cfg.n_layers, len(prompt_ids), cfg.n_heads, cfg.head_dim,
                         prompt_ids.shape[1] + max_new_tokens, device=prompt_ids.device)
                 if use_cache else None)
        columns = []
        step_input = prompt_ids
        while len(columns) < max_new_tokens:
            seq = torch.cat([prompt_ids] + columns, dim=1)
            logits = model(step_input, cache=cache) if use_cache else model(seq)
            columns.append(logits[:, -1:].argmax(dim=-1))
            step_input = columns[-1]
        return torch.cat([prompt_ids] + columns, dim=1)
""",
        },
    },
    "kv_cache_bytes": {
        "tests": ["test_kv_cache_bytes"],
        "mutants": {
            "keys only (no factor 2)": """
def kv_cache_bytes(n_layers, n_heads, head_dim, seq_len, batch_size=1, bytes_per_value=2):
    return n_layers * n_heads * head_dim * seq_len * batch_size * bytes_per_value
""",
            "forgets the batch": """
def kv_cache_bytes(n_layers, n_heads, head_dim, seq_len, batch_size=1, bytes_per_value=2):
    return 2 * n_layers * n_heads * head_dim * seq_len * bytes_per_value
""",
            "returns a float": """
def kv_cache_bytes(n_layers, n_heads, head_dim, seq_len, batch_size=1, bytes_per_value=2):
    return 2.0 * n_layers * n_heads * head_dim * seq_len * batch_size * bytes_per_value
""",
            "counts d_model once more per head": """
def kv_cache_bytes(n_layers, n_heads, head_dim, seq_len, batch_size=1, bytes_per_value=2):
    d_model = n_heads * head_dim
    return 2 * n_layers * n_heads * d_model * seq_len * batch_size * bytes_per_value
""",
            "4 bytes per value by default": """
def kv_cache_bytes(n_layers, n_heads, head_dim, seq_len, batch_size=1, bytes_per_value=4):
    return 2 * n_layers * n_heads * head_dim * seq_len * batch_size * bytes_per_value
""",
        },
        "alternatives": {
            "math.prod": """
import math as _math
def kv_cache_bytes(n_layers, n_heads, head_dim, seq_len, batch_size=1, bytes_per_value=2):
    return _math.prod([2, n_layers, n_heads, head_dim, seq_len, batch_size, bytes_per_value])
""",
            "per token first": """
def kv_cache_bytes(n_layers, n_heads, head_dim, seq_len, batch_size=1, bytes_per_value=2):
    per_token_per_layer = 2 * n_heads * head_dim * bytes_per_value  # a key and a value per head
    return int(per_token_per_layer * n_layers * seq_len * batch_size)
""",
        },
    },
}
