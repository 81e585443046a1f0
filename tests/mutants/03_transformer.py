"""Wrong implementations (mutants) that chapter 03's graded cells must reject, and correct
alternatives they must accept. Each is the source of a replacement definition."""

_MLP = """
class MLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.c_fc = nn.Linear(config.d_model, {hidden} * config.d_model, bias={bias})
        self.c_proj = nn.Linear({hidden} * config.d_model, config.d_model, bias={bias})

    def forward(self, x):
        return {body}
"""


def mlp(body, hidden=4, bias=True):
    return _MLP.format(body=body, hidden=hidden, bias=bias)


_BLOCK = """
class Block(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.attn = MultiHeadAttention(config.d_model, config.n_heads)
        self.ln_2 = {ln_2}
        self.mlp = MLP(config)

    def forward(self, x):
{body}
"""


def block(body, ln_2="nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)"):
    return _BLOCK.format(body=body, ln_2=ln_2)


def count(body):
    return f"""
def gpt_param_count(vocab_size, n_positions, n_layers, d_model, tied_embeddings=True):
    V, P, L, d = vocab_size, n_positions, n_layers, d_model
{body}
"""


def schedule(warmup="max_lr * step / warmup_steps", decay=None, after=True, check_warmup=True):
    decay = decay or "min_lr + 0.5 * (max_lr - min_lr) * (1 + math.cos(math.pi * progress))"
    return f"""
def cosine_lr(step, max_lr, warmup_steps, total_steps, min_lr=0.0):
    if step < 0 or max_lr <= 0 or total_steps < 1 or not 0 <= min_lr <= max_lr:
        raise ValueError("step, max_lr, total_steps or min_lr")
    if {"warmup_steps < 0 or warmup_steps > total_steps" if check_warmup else "warmup_steps < 0"}:
        raise ValueError("warmup_steps")
    if step < warmup_steps:
        return float({warmup})
    if {"step >= total_steps" if after else "False"}:
        return float(min_lr)
    progress = (step - warmup_steps) / max(total_steps - warmup_steps, 1)
    return float({decay})
"""


def step(
    clip="    if max_grad_norm is not None:\n        torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)\n",
    zero="    optimizer.zero_grad(set_to_none=True)\n",
    loss="F.cross_entropy(logits.flatten(0, 1), targets.flatten())",
    ret="loss.item()",
    after_step="",
    check=True,
):
    guard = "targets.shape != inputs.shape" if check else "False"
    return (
        "def train_step(model, optimizer, inputs, targets, max_grad_norm=1.0):\n"
        f"    if {guard}:\n        raise ValueError('targets')\n"
        "    if max_grad_norm is not None and max_grad_norm <= 0:\n        raise ValueError('max_grad_norm')\n"
        f"    logits = model(inputs)\n    loss = {loss}\n    loss.backward()\n"
        f"{clip}    optimizer.step()\n{after_step}{zero}    return {ret}\n"
    )


EXERCISES = {
    "MLP": {
        "tests": ["test_MLP", "test_gpt_with_your_blocks"],
        "mutants": {
            "exact (erf) GELU": mlp("self.c_proj(F.gelu(self.c_fc(x)))"),
            "ReLU": mlp("self.c_proj(F.relu(self.c_fc(x)))"),
            "hidden size 2 * d_model": mlp("self.c_proj(F.gelu(self.c_fc(x), approximate='tanh'))", hidden=2),
            "no biases": mlp("self.c_proj(F.gelu(self.c_fc(x), approximate='tanh'))", bias=False),
            "GELU after c_proj too": mlp(
                "F.gelu(self.c_proj(F.gelu(self.c_fc(x), approximate='tanh')), approximate='tanh')"
            ),
            "no activation": mlp("self.c_proj(self.c_fc(x))"),
            "tanh formula without the cube": mlp(
                "self.c_proj(0.5 * self.c_fc(x) * (1 + torch.tanh(math.sqrt(2 / math.pi) * self.c_fc(x))))"
            ),
        },
        "alternatives": {
            "F.gelu with approximate='tanh'": mlp("self.c_proj(F.gelu(self.c_fc(x), approximate='tanh'))"),
            "an nn.GELU module and explicit steps": """
class MLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        d = config.d_model
        self.c_fc = nn.Linear(d, 4 * d)
        self.act = nn.GELU(approximate="tanh")
        self.c_proj = nn.Linear(4 * d, d)

    def forward(self, x):
        hidden = self.act(self.c_fc(x))
        return self.c_proj(hidden)
""",
        },
    },
    "Block": {
        "tests": ["test_Block", "test_gpt_with_your_blocks"],
        "mutants": {
            "post-LN": block("        x = self.ln_1(x + self.attn(x))\n        return self.ln_2(x + self.mlp(x))"),
            "no residual connections": block(
                "        x = self.attn(self.ln_1(x))\n        return self.mlp(self.ln_2(x))"
            ),
            "attention and MLP in parallel": block(
                "        return x + self.attn(self.ln_1(x)) + self.mlp(self.ln_2(x))"
            ),
            "one layer norm shared": block(
                "        x = x + self.attn(self.ln_1(x))\n        return x + self.mlp(self.ln_2(x))", ln_2="self.ln_1"
            ),
            "ln_1 before the MLP": block(
                "        x = x + self.attn(self.ln_1(x))\n        return x + self.mlp(self.ln_1(x))"
            ),
            "MLP before attention": block(
                "        x = x + self.mlp(self.ln_2(x))\n        return x + self.attn(self.ln_1(x))"
            ),
            "layer norms with the default eps": block(
                "        x = x + self.attn(self.ln_1(x))\n        return x + self.mlp(self.ln_2(x))",
                ln_2="nn.LayerNorm(config.d_model)",
            ).replace("nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)", "nn.LayerNorm(config.d_model)"),
            "residual added after the layer norm": block(
                "        h = self.ln_1(x)\n        h = h + self.attn(h)\n        h2 = self.ln_2(h)\n"
                "        return h2 + self.mlp(h2)"
            ),
        },
        "alternatives": {
            "a library-style forward(x, cache=None, layer=0)": """
class Block(nn.Module):
    def __init__(self, config):
        super().__init__()
        d, eps = config.d_model, config.layer_norm_eps
        self.ln_1, self.ln_2 = nn.LayerNorm(d, eps=eps), nn.LayerNorm(d, eps=eps)
        self.attn = MultiHeadAttention(d, config.n_heads)
        self.mlp = MLP(config)

    def forward(self, x, cache=None, layer=0):
        for norm, sublayer in ((self.ln_1, self.attn), (self.ln_2, self.mlp)):
            x = x + sublayer(norm(x))
        return x
""",
        },
    },
    "gpt_param_count": {
        "tests": ["test_gpt_param_count"],
        "mutants": {
            "forgets the biases": count(
                "    n = (V + P) * d + L * (12 * d * d + 4 * d) + 2 * d\n    return n if tied_embeddings else n + V * d"
            ),
            "forgets the layer norms": count(
                "    n = (V + P) * d + L * (12 * d * d + 9 * d)\n    return n if tied_embeddings else n + V * d"
            ),
            "forgets the position embeddings": count(
                "    n = V * d + L * (12 * d * d + 13 * d) + 2 * d\n    return n if tied_embeddings else n + V * d"
            ),
            "counts the tied output matrix again": count(
                "    return 2 * V * d + P * d + L * (12 * d * d + 13 * d) + 2 * d"
            ),
            "forgets ln_f": count(
                "    n = (V + P) * d + L * (12 * d * d + 13 * d)\n    return n if tied_embeddings else n + V * d"
            ),
            "ignores tied_embeddings=False": count("    return (V + P) * d + L * (12 * d * d + 13 * d) + 2 * d"),
            "an MLP of 4 d^2 in all": count(
                "    n = (V + P) * d + L * (8 * d * d + 13 * d) + 2 * d\n    return n if tied_embeddings else n + V * d"
            ),
            "untied output layer with a bias": count(
                "    n = (V + P) * d + L * (12 * d * d + 13 * d) + 2 * d\n"
                "    return n if tied_embeddings else n + V * d + V"
            ),
        },
        "alternatives": {
            "12 d^2 + 13 d per layer, in one line": count(
                "    return (V + P) * d + L * (12 * d ** 2 + 13 * d) + 2 * d + (0 if tied_embeddings else V * d)"
            ),
            "module by module, through a dict": """
def gpt_param_count(vocab_size, n_positions, n_layers, d_model, tied_embeddings=True):
    def linear(n_in, n_out, bias=True):
        return n_in * n_out + (n_out if bias else 0)
    d = d_model
    layer_norm = 2 * d
    block = {"ln_1": layer_norm, "c_attn": linear(d, 3 * d), "attn.c_proj": linear(d, d),
             "ln_2": layer_norm, "c_fc": linear(d, 4 * d), "mlp.c_proj": linear(4 * d, d)}
    model = {"wte": vocab_size * d, "wpe": n_positions * d, "h": n_layers * sum(block.values()),
             "ln_f": layer_norm, "lm_head": 0 if tied_embeddings else linear(d, vocab_size, bias=False)}
    return int(sum(model.values()))
""",
        },
    },
    "scaling": {
        "tests": ["test_scaling"],
        "mutants": {
            "2 N D (the forward pass only)": """
def training_flops(n_params, n_tokens):
    if n_params < 0 or n_tokens < 0:
        raise ValueError("negative")
    return 2.0 * n_params * n_tokens
""",
            "3 N D": """
def training_flops(n_params, n_tokens):
    if n_params < 0 or n_tokens < 0:
        raise ValueError("negative")
    return 3.0 * n_params * n_tokens
""",
            "N D (no factor 6)": """
def training_flops(n_params, n_tokens):
    if n_params < 0 or n_tokens < 0:
        raise ValueError("negative")
    return float(n_params * n_tokens)
""",
            "parameters per token, upside down": """
def chinchilla_optimal_tokens(n_params):
    if n_params < 0:
        raise ValueError("negative")
    return n_params / 20.0
""",
            "Chinchilla's FLOPs instead of its tokens": """
def chinchilla_optimal_tokens(n_params):
    if n_params < 0:
        raise ValueError("negative")
    return 6 * n_params * 20.0 * n_params
""",
            "no ValueError for negative arguments": """
def training_flops(n_params, n_tokens):
    return 6.0 * n_params * n_tokens
""",
        },
        "alternatives": {
            "integer arithmetic": """
def training_flops(n_params, n_tokens):
    if min(n_params, n_tokens) < 0:
        raise ValueError(f"expected non-negative counts, got {n_params}, {n_tokens}")
    forward, backward = 2 * n_params * n_tokens, 4 * n_params * n_tokens
    return forward + backward

def chinchilla_optimal_tokens(n_params):
    if n_params < 0:
        raise ValueError(f"n_params must be >= 0, got {n_params}")
    return n_params * 20
""",
        },
    },
    "cosine_lr": {
        "tests": ["test_cosine_lr"],
        "mutants": {
            "warm-up off by one, (step + 1) / warmup_steps": schedule(warmup="max_lr * (step + 1) / warmup_steps"),
            "linear decay instead of a cosine": schedule(decay="min_lr + (max_lr - min_lr) * (1 - progress)"),
            "the cosine's progress counted from step 0, not from warmup_steps": schedule(
                decay="min_lr + 0.5 * (max_lr - min_lr) * (1 + math.cos(math.pi * step / total_steps))"
            ),
            "decays to 0, ignoring min_lr": schedule(decay="0.5 * max_lr * (1 + math.cos(math.pi * progress))"),
            "the cosine carries on past total_steps": schedule(after=False),
            "a full cosine period (rises back to max_lr)": schedule(
                decay="min_lr + 0.5 * (max_lr - min_lr) * (1 + math.cos(2 * math.pi * progress))"
            ),
            "no ValueError for warmup_steps > total_steps": schedule(check_warmup=False),
            "no warm-up when it is asked for (starts at max_lr)": schedule(warmup="max_lr"),
        },
        "alternatives": {
            "max_lr minus a rising cosine term, the ranges in another order": """
def cosine_lr(step, max_lr, warmup_steps, total_steps, min_lr=0.0):
    for name, bad in [("step", step < 0), ("max_lr", max_lr <= 0), ("total_steps", total_steps < 1),
                      ("warmup_steps", not 0 <= warmup_steps <= total_steps), ("min_lr", not 0 <= min_lr <= max_lr)]:
        if bad:
            raise ValueError(f"bad {name}")
    if step >= total_steps:
        return float(min_lr)
    if step >= warmup_steps:
        t = (step - warmup_steps) / (total_steps - warmup_steps)
        return float(max_lr - (max_lr - min_lr) * (1 - math.cos(math.pi * t)) / 2)
    return step / warmup_steps * max_lr
""",
            "numpy, and min() for the warm-up": """
def cosine_lr(step, max_lr, warmup_steps, total_steps, min_lr=0.0):
    import numpy as np
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")
    if max_lr <= 0:
        raise ValueError(f"max_lr must be > 0, got {max_lr}")
    if total_steps < 1:
        raise ValueError(f"total_steps must be >= 1, got {total_steps}")
    if warmup_steps < 0 or warmup_steps > total_steps:
        raise ValueError(f"warmup_steps must be in [0, total_steps], got {warmup_steps}")
    if min_lr < 0 or min_lr > max_lr:
        raise ValueError(f"min_lr must be in [0, max_lr], got {min_lr}")
    if step < warmup_steps:
        return float(max_lr * min(1.0, step / warmup_steps))
    if step >= total_steps:
        return float(min_lr)
    frac = (step - warmup_steps) / (total_steps - warmup_steps)
    return float(min_lr + (max_lr - min_lr) * (np.cos(np.pi * frac) + 1) / 2)
""",
        },
    },
    "train_step": {
        "tests": ["test_train_step"],
        "mutants": {
            "no gradient clipping": step(clip=""),
            "clips after the optimiser's step": step(
                clip="", after_step="    torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)\n"
            ),
            "clips each gradient's values, not the total norm": step(
                clip="    torch.nn.utils.clip_grad_value_(model.parameters(), max_grad_norm)\n"
            ),
            "never zeroes the gradients": step(zero=""),
            "zeroes the gradients before the step": step(clip="    optimizer.zero_grad()\n", zero=""),
            "returns the loss tensor, not a float": step(ret="loss"),
            "the sum of the losses, not the mean": step(
                loss="F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction='sum')"
            ),
            "returns the loss after the step": step(
                ret="F.cross_entropy(model(inputs).flatten(0, 1), targets.flatten()).item()"
            ),
            "shifts the targets once more": step(
                loss="F.cross_entropy(logits[:, :-1].flatten(0, 1), targets[:, 1:].flatten())"
            ),
            "no ValueError for mismatched targets": step(check=False),
        },
        "alternatives": {
            "zero_grad first and last, cross-entropy over (B, V, T)": """
def train_step(model, optimizer, inputs, targets, max_grad_norm=1.0):
    if inputs.shape != targets.shape:
        raise ValueError(f"targets: expected shape {tuple(inputs.shape)}, got {tuple(targets.shape)}")
    if max_grad_norm is not None and max_grad_norm <= 0:
        raise ValueError("max_grad_norm must be positive")
    optimizer.zero_grad()
    logits = model(inputs)
    loss = F.cross_entropy(logits.transpose(1, 2), targets)
    loss.backward()
    if max_grad_norm:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=max_grad_norm)
    optimizer.step()
    optimizer.zero_grad()
    return float(loss.detach())
""",
            "clipping by hand": """
def train_step(model, optimizer, inputs, targets, max_grad_norm=1.0):
    if targets.shape != inputs.shape:
        raise ValueError("targets must be shaped like inputs")
    if max_grad_norm is not None and not max_grad_norm > 0:
        raise ValueError("max_grad_norm must be > 0")
    logits = model(inputs)
    B, T, V = logits.shape
    loss = F.cross_entropy(logits.reshape(B * T, V), targets.reshape(B * T))
    loss.backward()
    if max_grad_norm is not None:
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        norm = torch.sqrt(sum((g.double() ** 2).sum() for g in grads))
        scale = min(1.0, max_grad_norm / (float(norm) + 1e-6))
        for g in grads:
            g.mul_(scale)
    optimizer.step()
    for p in model.parameters():
        p.grad = None
    return loss.item()
""",
        },
    },
}
