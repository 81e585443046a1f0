"""Wrong implementations (mutants) that chapter 08's graded cells must reject, and correct
alternatives they must accept. Each is the source of a replacement definition.

Most mutants are the reference answer with one change, written as ``_edit(REFERENCE, old, new)``: the
change is the mistake, and the edit fails loudly if the reference no longer contains ``old``."""


def _edit(source: str, *pairs: str) -> str:
    """``source`` with each ``old`` replaced by its ``new`` (pairs: old1, new1, old2, new2, ...)."""
    for old, new in zip(pairs[::2], pairs[1::2]):
        if old not in source:
            raise ValueError(f"mutant edit: {old!r} is not in the reference")
        source = source.replace(old, new)
    return source


LEFT_PAD = """
def left_pad(prompts, pad_id):
    if len(prompts) == 0:
        raise ValueError("prompts is empty")
    for i, p in enumerate(prompts):
        if len(p) == 0:
            raise ValueError(f"prompts[{i}] is empty")
    B, T = len(prompts), max(len(p) for p in prompts)
    ids = torch.full((B, T), pad_id, dtype=torch.long)
    mask = torch.zeros(B, T, dtype=torch.bool)
    for b, p in enumerate(prompts):
        ids[b, T - len(p) :] = torch.tensor(list(p), dtype=torch.long)
        mask[b, T - len(p) :] = True
    return ids, mask
"""

PAGED = """
class PagedKVCache:
    def __init__(self, n_layers, n_kv_heads, head_dim, block_size, n_blocks, device=None, dtype=torch.float32):
        self.n_layers, self.block_size, self.n_blocks = n_layers, block_size, n_blocks
        shape = (n_layers, n_blocks, n_kv_heads, block_size, head_dim)
        self.k = torch.zeros(shape, device=device, dtype=dtype)
        self.v = torch.zeros(shape, device=device, dtype=dtype)
        self.free_blocks = list(range(n_blocks))
        self.block_tables = {}
        self.lengths = {}

    def allocate(self, seq_id):
        if seq_id in self.block_tables:
            raise ValueError(f"seq_id {seq_id!r} is already allocated")
        self.block_tables[seq_id] = []
        self.lengths[seq_id] = 0

    def append(self, seq_id, layer, k, v):
        if seq_id not in self.block_tables:
            raise ValueError(f"seq_id {seq_id!r} is not allocated")
        table, start = self.block_tables[seq_id], self.lengths[seq_id]
        end = start + k.size(1)
        needed = -(-end // self.block_size) - len(table)
        if needed > len(self.free_blocks):
            raise RuntimeError(f"out of blocks: {needed} block(s) needed, {len(self.free_blocks)} free")
        for _ in range(needed):
            table.append(self.free_blocks.pop())
        pos = torch.arange(start, end, device=self.k.device)
        blocks = torch.tensor(table, device=self.k.device)[pos // self.block_size]
        slots = pos % self.block_size
        self.k[layer, blocks, :, slots] = k.transpose(0, 1)
        self.v[layer, blocks, :, slots] = v.transpose(0, 1)
        if layer == self.n_layers - 1:
            self.lengths[seq_id] = end
        return self._read(seq_id, layer, end)

    def gather(self, seq_id, layer):
        if seq_id not in self.block_tables:
            raise ValueError(f"seq_id {seq_id!r} is not allocated")
        return self._read(seq_id, layer, self.lengths[seq_id])

    def free(self, seq_id):
        if seq_id not in self.block_tables:
            raise ValueError(f"seq_id {seq_id!r} is not allocated")
        self.free_blocks.extend(self.block_tables.pop(seq_id))
        del self.lengths[seq_id]

    def _read(self, seq_id, layer, n):
        table = torch.tensor(self.block_tables[seq_id], dtype=torch.long, device=self.k.device)
        H, D = self.k.shape[2], self.k.shape[4]
        k = self.k[layer, table].transpose(0, 1).reshape(H, len(table) * self.block_size, D)[:, :n]
        v = self.v[layer, table].transpose(0, 1).reshape(H, len(table) * self.block_size, D)[:, :n]
        return k, v
"""

GQA = """
def gqa_attention(q, k, v, mask=None):
    H, H_kv = q.size(1), k.size(1)
    if v.size(1) != H_kv or H % H_kv:
        raise ValueError(f"{H} query heads, {H_kv} key heads, {v.size(1)} value heads")
    n_rep = H // H_kv
    return F.scaled_dot_product_attention(q, repeat_kv(k, n_rep), repeat_kv(v, n_rep), attn_mask=mask)
"""

FORWARD = """
def batched_forward(model, ids, mask, cache, seq_ids):
    B, T = ids.shape
    if len(seq_ids) != B:
        raise ValueError(f"seq_ids: {len(seq_ids)} for {B} rows")
    past = torch.tensor([cache.lengths[s] for s in seq_ids], device=ids.device)
    pos = (past[:, None] + mask.long().cumsum(dim=1) - 1).clamp(min=0)
    if int(pos.max()) >= model.config.n_positions:
        raise ValueError(f"past n_positions={model.config.n_positions}")
    x = model.wte(ids) + model.wpe(pos)
    C, H = x.size(-1), model.config.n_heads
    D = C // H
    for layer, block in enumerate(model.h):
        attn = block.attn
        H_kv = getattr(attn, "n_kv_heads", H)
        q, k, v = attn.c_attn(block.ln_1(x)).split([C, H_kv * D, H_kv * D], dim=-1)
        q = q.view(B, T, H, D).transpose(1, 2)
        k = k.view(B, T, H_kv, D).transpose(1, 2)
        v = v.view(B, T, H_kv, D).transpose(1, 2)
        rows = [cache.append(s, layer, k[b][:, mask[b]], v[b][:, mask[b]]) for b, s in enumerate(seq_ids)]
        L = max(kb.size(1) for kb, _ in rows)
        K, V = q.new_zeros(B, H_kv, L, D), q.new_zeros(B, H_kv, L, D)
        for b, (kb, vb) in enumerate(rows):
            K[b, :, : kb.size(1)], V[b, :, : vb.size(1)] = kb, vb
        n_keys = torch.tensor([kb.size(1) for kb, _ in rows], device=ids.device)
        j = torch.arange(L, device=ids.device)
        allowed = (j < n_keys[:, None, None]) & (j <= pos[:, :, None])
        y = gqa_attention(q, K, V, allowed[:, None])
        x = x + attn.c_proj(y.transpose(1, 2).reshape(B, T, C))
        x = x + block.mlp(block.ln_2(x))
    return model.lm_head(model.ln_f(x))
"""

GENERATE = """
@torch.no_grad()
def batched_generate(model, prompts, max_new_tokens, cache, stop_token_ids=None, temperature=0.0, generator=None):
    device = model.wte.weight.device
    stop = set(stop_token_ids or [])
    ids, mask = left_pad(prompts, 0)
    ids, mask = ids.to(device), mask.to(device)
    out = [[] for _ in prompts]
    if max_new_tokens <= 0:
        return out
    active = list(range(len(prompts)))
    for b in active:
        cache.allocate(b)
    while active:
        logits = batched_forward(model, ids, mask, cache, active)[:, -1]
        next_ids = sample(logits, temperature, generator)
        keep = []
        for row, b in enumerate(active):
            t = int(next_ids[row])
            out[b].append(t)
            if t in stop or len(out[b]) == max_new_tokens:
                cache.free(b)
            else:
                keep.append(row)
        active = [active[r] for r in keep]
        ids = next_ids[keep][:, None]
        mask = torch.ones_like(ids, dtype=torch.bool)
    return out
"""

EXERCISES = {
    "left_pad": {
        "tests": ["test_left_pad"],
        "mutants": {
            "pads on the right": _edit(
                LEFT_PAD, "ids[b, T - len(p) :]", "ids[b, : len(p)]", "mask[b, T - len(p) :]", "mask[b, : len(p)]"
            ),
            "mask True everywhere": _edit(
                LEFT_PAD, "torch.zeros(B, T, dtype=torch.bool)", "torch.ones(B, T, dtype=torch.bool)"
            ),
            "pads with 0 instead of pad_id": _edit(LEFT_PAD, "torch.full((B, T), pad_id,", "torch.full((B, T), 0,"),
            "an empty prompt is accepted": _edit(LEFT_PAD, 'raise ValueError(f"prompts[{i}] is empty")', "pass"),
            "no check for an empty list (max() raises its own error)": _edit(
                LEFT_PAD, 'raise ValueError("prompts is empty")', "pass"
            ),
            "mask of 0/1 integers": _edit(
                LEFT_PAD, "torch.zeros(B, T, dtype=torch.bool)", "torch.zeros(B, T, dtype=torch.long)"
            ),
            "float ids": _edit(
                LEFT_PAD, "torch.full((B, T), pad_id, dtype=torch.long)", "torch.full((B, T), float(pad_id))"
            ),
        },
        "alternatives": {
            "built with F.pad row by row": """
def left_pad(prompts, pad_id):
    if not prompts or any(len(p) == 0 for p in prompts):
        raise ValueError("prompts must be a non-empty list of non-empty prompts")
    T = max(map(len, prompts))
    rows = [F.pad(torch.tensor(list(p)), (T - len(p), 0), value=pad_id) for p in prompts]
    masks = [F.pad(torch.ones(len(p), dtype=torch.bool), (T - len(p), 0), value=False) for p in prompts]
    return torch.stack(rows).long(), torch.stack(masks)
""",
            "mask from a position comparison": """
def left_pad(prompts, pad_id):
    if len(prompts) < 1:
        raise ValueError("no prompts")
    lens = torch.tensor([len(p) for p in prompts])
    if (lens == 0).any():
        raise ValueError("prompts: an empty prompt")
    T = int(lens.max())
    mask = torch.arange(T)[None, :] >= (T - lens)[:, None]
    ids = torch.full(mask.shape, pad_id, dtype=torch.long)
    ids[mask] = torch.tensor([t for p in prompts for t in p], dtype=torch.long)
    return ids, mask
""",
        },
    },
    "PagedKVCache": {
        "tests": ["test_PagedKVCache"],
        "mutants": {
            "length advances at every layer": _edit(
                PAGED,
                "        if layer == self.n_layers - 1:\n            self.lengths[seq_id] = end\n",
                "        self.lengths[seq_id] = end\n",
            ),
            "the length never advances": _edit(
                PAGED, "        if layer == self.n_layers - 1:\n            self.lengths[seq_id] = end\n", ""
            ),
            "the new positions all go into the last block": _edit(
                PAGED,
                "blocks = torch.tensor(table, device=self.k.device)[pos // self.block_size]",
                "blocks = torch.full_like(pos, table[-1])",
            ),
            "slot = position, not position % block_size (block 0 of the table only)": _edit(
                PAGED, "slots = pos % self.block_size", "slots = pos.clamp(max=self.block_size - 1)"
            ),
            "free() keeps the blocks off the free list": _edit(
                PAGED, "self.free_blocks.extend(self.block_tables.pop(seq_id))", "self.block_tables.pop(seq_id)"
            ),
            "no check before taking blocks (pop from an empty list)": _edit(
                PAGED,
                "        if needed > len(self.free_blocks):\n            raise RuntimeError",
                "        if False:\n            raise RuntimeError",
            ),
            "takes the blocks it can, then fails": _edit(
                PAGED,
                '        if needed > len(self.free_blocks):\n            raise RuntimeError(f"out of blocks: {needed} block(s) needed, {len(self.free_blocks)} free")\n        for _ in range(needed):\n            table.append(self.free_blocks.pop())',
                '        for i in range(needed):\n            if not self.free_blocks:\n                raise RuntimeError(f"out of blocks: {needed} block(s) needed, {i} taken")\n            table.append(self.free_blocks.pop())',
            ),
            "a ValueError when the pool runs out": _edit(PAGED, "raise RuntimeError(", "raise ValueError("),
            "gather returns whole blocks": _edit(
                PAGED,
                "return self._read(seq_id, layer, self.lengths[seq_id])",
                "return self._read(seq_id, layer, None)",
            ),
            "every layer writes layer 0's slots": _edit(
                PAGED,
                "self.k[layer, blocks, :, slots] = k",
                "self.k[0, blocks, :, slots] = k",
                "k = self.k[layer, table]",
                "k = self.k[0, table]",
            ),
            "float32 hard-coded": _edit(
                PAGED,
                "self.k = torch.zeros(shape, device=device, dtype=dtype)",
                "self.k = torch.zeros(shape, device=device)",
            ),
            "fresh blocks for the new positions, the last block's free slots ignored": _edit(
                PAGED,
                "needed = -(-end // self.block_size) - len(table)",
                "needed = -(-k.size(1) // self.block_size) if layer == 0 else 0",
            ),
        },
        "alternatives": {
            "a deque for the free list, blocks written position by position, one gather per block": """
import collections


class PagedKVCache:
    def __init__(self, n_layers, n_kv_heads, head_dim, block_size, n_blocks, device=None, dtype=torch.float32):
        self.n_layers, self.bs = n_layers, block_size
        self.k = torch.empty(n_layers, n_blocks, n_kv_heads, block_size, head_dim, device=device, dtype=dtype)
        self.v = torch.empty_like(self.k)
        self.free_blocks = list(range(n_blocks))
        self.block_tables, self.lengths = {}, {}

    def allocate(self, seq_id):
        if seq_id in self.lengths:
            raise ValueError(f"{seq_id} exists")
        self.block_tables[seq_id], self.lengths[seq_id] = [], 0

    def _check(self, seq_id):
        if seq_id not in self.lengths:
            raise ValueError(f"unknown seq_id {seq_id}")

    def append(self, seq_id, layer, k, v):
        self._check(seq_id)
        n0, n = self.lengths[seq_id], k.shape[1]
        table = self.block_tables[seq_id]
        want = (n0 + n + self.bs - 1) // self.bs - len(table)
        if want > len(self.free_blocks):
            raise RuntimeError(f"asked for {want} blocks but only {len(self.free_blocks)} are free")
        free = collections.deque(self.free_blocks)
        for _ in range(max(0, want)):
            table.append(free.popleft())
        self.free_blocks = list(free)
        for i in range(n):
            t = n0 + i
            self.k[layer, table[t // self.bs], :, t % self.bs] = k[:, i]
            self.v[layer, table[t // self.bs], :, t % self.bs] = v[:, i]
        if layer == self.n_layers - 1:
            self.lengths[seq_id] = n0 + n
        return self._get(seq_id, layer, n0 + n)

    def _get(self, seq_id, layer, n):
        table = self.block_tables[seq_id]
        if not table:
            return self.k[layer, 0, :, :0].clone(), self.v[layer, 0, :, :0].clone()
        k = torch.cat([self.k[layer, b] for b in table], dim=1)[:, :n]
        v = torch.cat([self.v[layer, b] for b in table], dim=1)[:, :n]
        return k, v

    def gather(self, seq_id, layer):
        self._check(seq_id)
        return self._get(seq_id, layer, self.lengths[seq_id])

    def free(self, seq_id):
        self._check(seq_id)
        self.free_blocks += self.block_tables.pop(seq_id)
        self.lengths.pop(seq_id)
""",
            "blocks taken at layer 0 only, index_select and flatten": _edit(
                PAGED,
                "needed = -(-end // self.block_size) - len(table)",
                "needed = (-(-end // self.block_size) - len(table)) if layer == 0 else 0",
                "k = self.k[layer, table].transpose(0, 1).reshape(H, len(table) * self.block_size, D)[:, :n]",
                "k = self.k[layer].index_select(0, table).permute(1, 0, 2, 3).flatten(1, 2)[:, :n]",
            ),
        },
    },
    "repeat_kv": {
        "tests": ["test_repeat_kv"],
        "mutants": {
            "heads interleaved (torch.repeat)": """
def repeat_kv(x, n_rep):
    if n_rep < 1:
        raise ValueError("n_rep must be >= 1")
    return x.repeat(1, n_rep, 1, 1)
""",
            "repeats along the positions": """
def repeat_kv(x, n_rep):
    if n_rep < 1:
        raise ValueError("n_rep must be >= 1")
    return x.repeat_interleave(n_rep, dim=2)
""",
            "no check of n_rep": """
def repeat_kv(x, n_rep):
    return x.repeat_interleave(max(n_rep, 1), dim=1)
""",
            "float32 hard-coded": """
def repeat_kv(x, n_rep):
    if n_rep < 1:
        raise ValueError("n_rep must be >= 1")
    return x.repeat_interleave(n_rep, dim=1).float()
""",
        },
        "alternatives": {
            "repeat_interleave": """
def repeat_kv(x, n_rep):
    if n_rep < 1:
        raise ValueError(f"n_rep={n_rep} must be >= 1")
    return torch.repeat_interleave(x, n_rep, dim=1)
""",
            "index by h // n_rep": """
def repeat_kv(x, n_rep):
    if not n_rep >= 1:
        raise ValueError("n_rep must be at least 1")
    return x[:, torch.arange(x.shape[1] * n_rep, device=x.device) // n_rep]
""",
        },
    },
    "gqa_attention": {
        "tests": ["test_gqa_attention"],
        "mutants": {
            "heads grouped by h % H_kv": _edit(
                GQA, "repeat_kv(k, n_rep), repeat_kv(v, n_rep)", "k.repeat(1, n_rep, 1, 1), v.repeat(1, n_rep, 1, 1)"
            ),
            "mask ignored": _edit(GQA, ", attn_mask=mask)", ")"),
            "mask inverted": _edit(GQA, "attn_mask=mask)", "attn_mask=None if mask is None else ~mask)"),
            "no check of the head counts": _edit(GQA, "if v.size(1) != H_kv or H % H_kv:", "if False:"),
            "values repeated with the keys' groups, keys not repeated": _edit(
                GQA, "repeat_kv(k, n_rep), repeat_kv(v, n_rep)", "repeat_kv(k[:, :1], H), repeat_kv(v, n_rep)"
            ),
        },
        "alternatives": {
            "by hand, a group dimension instead of repeating": """
def gqa_attention(q, k, v, mask=None):
    B, H, Tq, D = q.shape
    H_kv = k.shape[1]
    if k.shape[1] != v.shape[1] or H % H_kv != 0:
        raise ValueError("query heads must be a multiple of key/value heads")
    qg = q.reshape(B, H_kv, H // H_kv, Tq, D).double()
    scores = qg @ k.double()[:, :, None].transpose(-1, -2) / math.sqrt(D)
    if mask is not None:
        m = torch.broadcast_to(mask, (B, H, Tq, k.shape[2])).reshape(B, H_kv, H // H_kv, Tq, k.shape[2])
        scores = scores.masked_fill(~m, float("-inf"))
    out = scores.softmax(-1) @ v.double()[:, :, None]
    return out.reshape(B, H, Tq, D).to(q.dtype)
""",
            "PyTorch's enable_gqa": """
def gqa_attention(q, k, v, mask=None):
    if k.size(1) != v.size(1) or q.size(1) % k.size(1):
        raise ValueError("heads: H must be a multiple of H_kv")
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True)
""",
        },
    },
    "batched_forward": {
        "tests": ["test_batched_forward"],
        "mutants": {
            "positions from the first column (padding counted)": _edit(
                FORWARD,
                "pos = (past[:, None] + mask.long().cumsum(dim=1) - 1).clamp(min=0)",
                "pos = past[:, None] + torch.arange(T, device=ids.device)",
            ),
            "positions restart at 0 every pass": _edit(
                FORWARD,
                "pos = (past[:, None] + mask.long().cumsum(dim=1) - 1).clamp(min=0)",
                "pos = (mask.long().cumsum(dim=1) - 1).clamp(min=0)",
            ),
            "pads written into the cache": _edit(
                FORWARD,
                "cache.append(s, layer, k[b][:, mask[b]], v[b][:, mask[b]])",
                "cache.append(s, layer, k[b], v[b])",
            ),
            "no causal mask": _edit(
                FORWARD,
                "allowed = (j < n_keys[:, None, None]) & (j <= pos[:, :, None])",
                "allowed = (j < n_keys[:, None, None]).expand(B, T, L)",
            ),
            "every row uses the first row's cache": _edit(
                FORWARD,
                "cache.append(s, layer, k[b][:, mask[b]], v[b][:, mask[b]]) for b, s in enumerate(seq_ids)",
                "cache.append(seq_ids[0], layer, k[b][:, mask[b]], v[b][:, mask[b]]) for b, s in enumerate(seq_ids)",
            ),
            "n_kv_heads ignored (GQA models break)": _edit(
                FORWARD, 'H_kv = getattr(attn, "n_kv_heads", H)', "H_kv = H"
            ),
            "no check of seq_ids": _edit(FORWARD, "if len(seq_ids) != B:", "if False:"),
            "no check of the context length": _edit(
                FORWARD,
                "if int(pos.max()) >= model.config.n_positions:",
                "if int(pos.max()) > model.config.n_positions:",
            ),
        },
        "alternatives": {
            "the causal test alone (right-padded keys: j <= position already skips the padding)": _edit(
                FORWARD,
                "allowed = (j < n_keys[:, None, None]) & (j <= pos[:, :, None])",
                "allowed = j <= pos[:, :, None]",
            ),
            "keys padded on the left, float mask, row offsets": """
def batched_forward(model, ids, mask, cache, seq_ids):
    B, T = ids.shape
    if len(seq_ids) != B:
        raise ValueError("seq_ids must match the batch")
    start = torch.tensor([cache.lengths[s] for s in seq_ids], device=ids.device)
    n_real = mask.sum(1)
    pos = start[:, None] + torch.arange(T, device=ids.device) - (T - n_real)[:, None]
    if int((start + n_real).max()) > model.config.n_positions:
        raise ValueError("beyond n_positions")
    x = model.wte(ids) + model.wpe(pos.clamp(min=0))
    H = model.config.n_heads
    C = x.shape[-1]
    D = C // H
    for i, blk in enumerate(model.h):
        h_kv = getattr(blk.attn, "n_kv_heads", H)
        qkv = blk.attn.c_attn(blk.ln_1(x))
        q = qkv[..., :C].reshape(B, T, H, D).permute(0, 2, 1, 3)
        k = qkv[..., C : C + h_kv * D].reshape(B, T, h_kv, D).permute(0, 2, 1, 3)
        v = qkv[..., C + h_kv * D :].reshape(B, T, h_kv, D).permute(0, 2, 1, 3)
        ks, vs = [], []
        for b, s in enumerate(seq_ids):
            n = int(n_real[b])
            kb, vb = cache.append(s, i, k[b, :, T - n :], v[b, :, T - n :])
            ks.append(kb)
            vs.append(vb)
        L = max(t.shape[1] for t in ks)
        K = torch.stack([F.pad(t, (0, 0, L - t.shape[1], 0)) for t in ks])
        V = torch.stack([F.pad(t, (0, 0, L - t.shape[1], 0)) for t in vs])
        lens = torch.tensor([t.shape[1] for t in ks], device=ids.device)
        kpos = torch.arange(L, device=ids.device)[None, :] - (L - lens)[:, None]
        ok = (kpos[:, None, :] >= 0) & (kpos[:, None, :] <= pos[:, :, None])
        ok = ok | (~ok.any(-1, keepdim=True))
        bias = torch.zeros(ok.shape, dtype=x.dtype, device=x.device).masked_fill(~ok, float("-inf"))
        y = F.scaled_dot_product_attention(q, repeat_kv(K, H // h_kv), repeat_kv(V, H // h_kv), attn_mask=bias[:, None])
        x = x + blk.attn.c_proj(y.permute(0, 2, 1, 3).reshape(B, T, C))
        x = x + blk.mlp(blk.ln_2(x))
    return model.lm_head(model.ln_f(x))
""",
        },
    },
    "batched_generate": {
        "tests": ["test_batched_generate"],
        "mutants": {
            "finished rows stay in the batch (their tokens thrown away)": """
@torch.no_grad()
def batched_generate(model, prompts, max_new_tokens, cache, stop_token_ids=None, temperature=0.0, generator=None):
    device = model.wte.weight.device
    stop = set(stop_token_ids or [])
    ids, mask = left_pad(prompts, 0)
    ids, mask = ids.to(device), mask.to(device)
    out = [[] for _ in prompts]
    done = [max_new_tokens <= 0] * len(prompts)
    if all(done):
        return out
    rows = list(range(len(prompts)))
    for b in rows:
        cache.allocate(b)
    while not all(done):
        nxt = sample(batched_forward(model, ids, mask, cache, rows)[:, -1], temperature, generator)
        for b in rows:
            if not done[b]:
                out[b].append(int(nxt[b]))
                done[b] = int(nxt[b]) in stop or len(out[b]) == max_new_tokens
        ids, mask = nxt[:, None], torch.ones(len(rows), 1, dtype=torch.bool, device=device)
    for b in rows:
        cache.free(b)
    return out
""",
            "the whole batch stops at the first stop token": _edit(
                GENERATE,
                "        active = [active[r] for r in keep]\n",
                "        if len(keep) < len(active):\n"
                "            for r in keep:\n"
                "                cache.free(active[r])\n"
                "            break\n"
                "        active = [active[r] for r in keep]\n",
            ),
            "the stop token is dropped": _edit(
                GENERATE,
                "            out[b].append(t)\n            if t in stop",
                "            if t not in stop:\n                out[b].append(t)\n            if t in stop",
            ),
            "finished sequences are never freed": _edit(
                GENERATE, "                cache.free(b)\n", "                pass\n"
            ),
            "temperature ignored (always greedy)": _edit(
                GENERATE, "sample(logits, temperature, generator)", "sample(logits, 0.0, generator)"
            ),
            "the generator is not passed on": _edit(
                GENERATE, "sample(logits, temperature, generator)", "sample(logits, temperature)"
            ),
            "reads the logits of the first column (a pad on short rows)": _edit(
                GENERATE,
                "batched_forward(model, ids, mask, cache, active)[:, -1]",
                "batched_forward(model, ids, mask, cache, active)[:, 0 if ids.shape[1] > 1 else -1]",
            ),
            "one token short": _edit(
                GENERATE,
                "len(out[b]) == max_new_tokens",
                "len(out[b]) == max_new_tokens - 1 or len(out[b]) == max_new_tokens",
            ),
        },
        "alternatives": {
            "a boolean keep mask and a dict of rows": """
@torch.no_grad()
def batched_generate(model, prompts, max_new_tokens, cache, stop_token_ids=None, temperature=0.0, generator=None):
    dev = next(model.parameters()).device
    results = {b: [] for b in range(len(prompts))}
    if max_new_tokens == 0:
        return [results[b] for b in range(len(prompts))]
    ids, mask = left_pad(prompts, pad_id=1)
    seqs = torch.arange(len(prompts))
    for b in seqs.tolist():
        cache.allocate(b)
    ids, mask = ids.to(dev), mask.to(dev)
    stops = torch.tensor(list(stop_token_ids or []), dtype=torch.long, device=dev)
    while len(seqs):
        nxt = sample(batched_forward(model, ids, mask, cache, seqs.tolist())[:, -1], temperature, generator)
        for b, t in zip(seqs.tolist(), nxt.tolist()):
            results[b].append(t)
        finished = torch.isin(nxt, stops) | torch.tensor(
            [len(results[b]) >= max_new_tokens for b in seqs.tolist()], device=dev
        )
        for b in seqs[finished.cpu()].tolist():
            cache.free(b)
        keep = ~finished
        seqs, ids = seqs[keep.cpu()], nxt[keep].unsqueeze(1)
        mask = torch.ones_like(ids).bool()
    return [results[b] for b in range(len(prompts))]
""",
        },
    },
}

SPECULATIVE = """
@torch.no_grad()
def speculative_step(target, draft, ids, k, temperature=0.0, generator=None):
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    T = ids.shape[1]
    seq, qs = ids, []
    for _ in range(k):
        logits = draft(seq)[:, -1]
        if temperature == 0:
            guess = logits.argmax(dim=-1, keepdim=True)
        else:
            q = torch.softmax(logits.double() / temperature, dim=-1)
            guess = torch.multinomial(q, 1, generator=generator)
            qs.append(q[0])
        seq = torch.cat([seq, guess], dim=1)
    logits = target(seq)[0, T - 1 :]
    guesses = seq[0, T:]
    if temperature == 0:
        best = logits.argmax(dim=-1)
        n = 0
        while n < k and guesses[n] == best[n]:
            n += 1
        return torch.cat([ids, guesses[None, :n], best[None, n : n + 1]], dim=1), n
    p = torch.softmax(logits.double() / temperature, dim=-1)
    for i in range(k):
        x = guesses[i]
        if torch.rand(1, generator=generator, device=ids.device).item() < (p[i, x] / qs[i][x]).item():
            continue
        residual = (p[i] - qs[i]).clamp(min=0)
        residual = residual if residual.sum() > 0 else p[i]
        token = torch.multinomial(residual / residual.sum(), 1, generator=generator)
        return torch.cat([ids, guesses[None, :i], token[None]], dim=1), i
    bonus = torch.multinomial(p[k], 1, generator=generator)
    return torch.cat([ids, guesses[None], bonus[None]], dim=1), k
"""

EXERCISES["speculative_step"] = {
    "tests": ["test_speculative_step"],
    "mutants": {
        "greedy: every guess accepted": _edit(SPECULATIVE, "while n < k and guesses[n] == best[n]:", "while n < k:"),
        "greedy: no token of the target's own after the accepted guesses": _edit(
            SPECULATIVE,
            "torch.cat([ids, guesses[None, :n], best[None, n : n + 1]], dim=1), n",
            "torch.cat([ids, guesses[None, :max(n, 1)]], dim=1), max(n, 1) - 1",
        ),
        "greedy: the target's logits read one position late": _edit(
            SPECULATIVE,
            "logits = target(seq)[0, T - 1 :]",
            "logits = torch.cat([target(seq)[0, T:], target(seq)[0, -1:]])",
        ),
        "the target runs once per guess": _edit(
            SPECULATIVE,
            "logits = target(seq)[0, T - 1 :]",
            "logits = torch.stack([target(seq[:, : T + i])[0, -1] for i in range(k + 1)])",
        ),
        "sampling: every guess accepted": _edit(SPECULATIVE, "< (p[i, x] / qs[i][x]).item():", "< 2.0:"),
        "sampling: a rejected guess replaced by a draw from p": _edit(
            SPECULATIVE, "residual = (p[i] - qs[i]).clamp(min=0)", "residual = p[i]"
        ),
        "sampling: accepted with probability q / p": _edit(
            SPECULATIVE, "< (p[i, x] / qs[i][x]).item():", "< (qs[i][x] / p[i, x]).item():"
        ),
        "sampling: the bonus token drawn from the draft": _edit(
            SPECULATIVE,
            "bonus = torch.multinomial(p[k], 1, generator=generator)",
            "bonus = torch.multinomial(torch.softmax(draft(seq)[0, -1].double() / temperature, -1), 1, generator=generator)",
        ),
        "sampling: the guesses after a rejection kept": _edit(
            SPECULATIVE,
            "return torch.cat([ids, guesses[None, :i], token[None]], dim=1), i",
            "return torch.cat([ids, guesses[None], token[None]], dim=1), k",
        ),
        "sampling: the guesses drawn without the generator": _edit(
            SPECULATIVE, "guess = torch.multinomial(q, 1, generator=generator)", "guess = torch.multinomial(q, 1)"
        ),
        "no check of k": _edit(
            SPECULATIVE, "    if k < 1:\n        raise ValueError", "    if k < 0:\n        raise ValueError"
        ),
    },
    "alternatives": {
        "greedy by comparing whole tensors, sampling with uniform draws against p / q": """
@torch.no_grad()
def speculative_step(target, draft, ids, k, temperature=0.0, generator=None):
    if not k >= 1:
        raise ValueError("k must be at least 1")
    greedy = temperature == 0
    seq = ids.clone()
    q_rows = []
    for _ in range(k):
        lg = draft(seq)[0, -1]
        if greedy:
            nxt = lg.argmax().view(1, 1)
        else:
            q = F.softmax(lg.float() / temperature, dim=-1)
            q_rows.append(q)
            nxt = torch.multinomial(q, 1, generator=generator).view(1, 1)
        seq = torch.cat((seq, nxt), 1)
    T = ids.size(1)
    tl = target(seq)[0, T - 1 :]
    drafted = seq[0, T:]
    if greedy:
        agree = (tl[:k].argmax(-1) == drafted).long()
        n = int(agree.cumprod(0).sum())
        return torch.cat((seq[:, : T + n], tl[n].argmax().view(1, 1)), 1), n
    P = F.softmax(tl.float() / temperature, dim=-1)
    for i in range(k):
        x = int(drafted[i])
        u = torch.rand((), generator=generator, device=ids.device)
        if float(u) * float(q_rows[i][x]) <= float(P[i, x]):
            continue
        r = torch.clamp(P[i] - q_rows[i], min=0.0)
        if float(r.sum()) == 0.0:
            r = P[i]
        return torch.cat((seq[:, : T + i], torch.multinomial(r / r.sum(), 1, generator=generator).view(1, 1)), 1), i
    return torch.cat((seq, torch.multinomial(P[k], 1, generator=generator).view(1, 1)), 1), k
""",
    },
}

SERVE = """
@torch.no_grad()
def serve(model, requests, cache, max_batch, continuous=True, stop_token_ids=None):
    if max_batch < 1:
        raise ValueError(f"max_batch must be >= 1, got {max_batch}")
    start = time.perf_counter()
    device = model.wte.weight.device
    stop = set(stop_token_ids or [])
    results = [dict(tokens=[], admitted=None, first_token=None, done=None) for _ in requests]
    waiting, running, feed = list(range(len(requests))), [], {}
    while waiting or running:
        if continuous or not running:
            while waiting and len(running) < max_batch:
                r = waiting.pop(0)
                cache.allocate(r)
                running.append(r)
                feed[r] = list(requests[r][0])
                results[r]["admitted"] = time.perf_counter() - start
        ids, mask = left_pad([feed[r] for r in running], 0)
        logits = batched_forward(model, ids.to(device), mask.to(device), cache, running)[:, -1]
        next_ids = logits.argmax(-1).tolist()
        now = time.perf_counter() - start
        still = []
        for r, t in zip(running, next_ids):
            res = results[r]
            res["tokens"].append(t)
            if res["first_token"] is None:
                res["first_token"] = now
            if t in stop or len(res["tokens"]) >= requests[r][1]:
                res["done"] = now
                cache.free(r)
            else:
                still.append(r)
                feed[r] = [t]
        running = still
    return results
"""

EXERCISES["serve"] = {
    "tests": ["test_serve"],
    "mutants": {
        "always static (continuous ignored)": _edit(SERVE, "if continuous or not running:", "if not running:"),
        "always continuous": _edit(SERVE, "if continuous or not running:", "if True:"),
        "one row too many": _edit(SERVE, "len(running) < max_batch", "len(running) <= max_batch"),
        "last come, first served": _edit(SERVE, "r = waiting.pop(0)", "r = waiting.pop()"),
        "finished requests never freed": _edit(SERVE, "                cache.free(r)\n", ""),
        "first_token overwritten at every token": _edit(SERVE, 'if res["first_token"] is None:', "if True:"),
        "one token too many": _edit(
            SERVE, 'len(res["tokens"]) >= requests[r][1]', 'len(res["tokens"]) > requests[r][1]'
        ),
        "stop tokens ignored": _edit(SERVE, "if t in stop or len(", "if len("),
        "no check of max_batch (loops forever on 0: a ValueError is asked for)": _edit(
            SERVE, "    if max_batch < 1:\n        raise ValueError", "    if max_batch < 0:\n        raise ValueError"
        ),
        "one new request per pass": _edit(
            SERVE,
            "            while waiting and len(running) < max_batch:",
            "            for _ in range(1 if waiting and len(running) < max_batch else 0):",
        ),
    },
    "alternatives": {
        "a deque, slots refilled after each pass, times from one clock": """
import collections


@torch.no_grad()
def serve(model, requests, cache, max_batch, continuous=True, stop_token_ids=None):
    if not isinstance(max_batch, int) or max_batch <= 0:
        raise ValueError("max_batch must be a positive int")
    t0 = time.perf_counter()
    clock = lambda: time.perf_counter() - t0
    dev = next(model.parameters()).device
    queue = collections.deque(enumerate(requests))
    out = [{"tokens": [], "admitted": None, "first_token": None, "done": None} for _ in requests]
    live = {}

    def admit():
        while queue and len(live) < max_batch:
            r, (prompt, _) = queue.popleft()
            cache.allocate(r)
            live[r] = list(prompt)
            out[r]["admitted"] = clock()

    admit()
    while live:
        order = list(live)
        ids, mask = left_pad([live[r] for r in order], pad_id=7)
        logits = batched_forward(model, ids.to(dev), mask.to(dev), cache, order)
        toks = logits[:, -1].argmax(-1).tolist()
        t = clock()
        for r, tok_id in zip(order, toks):
            o = out[r]
            o["tokens"].append(tok_id)
            o["first_token"] = t if o["first_token"] is None else o["first_token"]
            if tok_id in (stop_token_ids or ()) or len(o["tokens"]) == requests[r][1]:
                o["done"] = t
                cache.free(r)
                del live[r]
            else:
                live[r] = [tok_id]
        if continuous or not live:
            admit()
    return out
""",
    },
}
