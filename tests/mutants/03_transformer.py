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
    "model_memory_bytes": {
        "tests": ["test_model_memory_bytes"],
        "mutants": {
            "bits instead of bytes": """
def model_memory_bytes(n_params, bytes_per_param):
    if n_params < 0 or bytes_per_param <= 0:
        raise ValueError("bad arguments")
    return math.ceil(n_params * bytes_per_param * 8)
""",
            "rounds down": """
def model_memory_bytes(n_params, bytes_per_param):
    if n_params < 0 or bytes_per_param <= 0:
        raise ValueError("bad arguments")
    return int(n_params * bytes_per_param)
""",
            "returns a float": """
def model_memory_bytes(n_params, bytes_per_param):
    if n_params < 0 or bytes_per_param <= 0:
        raise ValueError("bad arguments")
    return float(math.ceil(n_params * bytes_per_param))
""",
            "divides by bytes per parameter": """
def model_memory_bytes(n_params, bytes_per_param):
    if n_params < 0 or bytes_per_param <= 0:
        raise ValueError("bad arguments")
    return math.ceil(n_params / bytes_per_param)
""",
            "no ValueError": """
def model_memory_bytes(n_params, bytes_per_param):
    return math.ceil(max(n_params, 0) * max(bytes_per_param, 0))
""",
        },
        "alternatives": {
            "exact fractions": """
def model_memory_bytes(n_params, bytes_per_param):
    from fractions import Fraction
    if n_params < 0:
        raise ValueError(f"n_params must be non-negative, got {n_params}")
    if not bytes_per_param > 0:
        raise ValueError(f"bytes_per_param must be positive, got {bytes_per_param}")
    return math.ceil(Fraction(n_params) * Fraction(bytes_per_param))
""",
            "integer bits, rounded up to bytes": """
def model_memory_bytes(n_params, bytes_per_param):
    if n_params < 0 or bytes_per_param <= 0:
        raise ValueError("n_params must be >= 0 and bytes_per_param > 0")
    bits = n_params * round(bytes_per_param * 8)
    return (bits + 7) // 8
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
    "model_flops_utilization": {
        "tests": ["test_model_flops_utilization"],
        "mutants": {
            "a percentage": """
def model_flops_utilization(tokens_per_second, n_params, peak_flops):
    if peak_flops <= 0:
        raise ValueError("peak_flops")
    return 100 * 6 * n_params * tokens_per_second / peak_flops
""",
            "2 FLOPs per parameter per token": """
def model_flops_utilization(tokens_per_second, n_params, peak_flops):
    if peak_flops <= 0:
        raise ValueError("peak_flops")
    return 2 * n_params * tokens_per_second / peak_flops
""",
            "upside down": """
def model_flops_utilization(tokens_per_second, n_params, peak_flops):
    if peak_flops <= 0:
        raise ValueError("peak_flops")
    return peak_flops / (6 * n_params * tokens_per_second)
""",
            "no ValueError for a zero peak": """
def model_flops_utilization(tokens_per_second, n_params, peak_flops):
    return 6 * n_params * tokens_per_second / peak_flops if peak_flops else 0.0
""",
            "forgets the tokens per second": """
def model_flops_utilization(tokens_per_second, n_params, peak_flops):
    if peak_flops <= 0:
        raise ValueError("peak_flops")
    return 6 * n_params / peak_flops
""",
        },
        "alternatives": {
            "through training_flops": """
def model_flops_utilization(tokens_per_second, n_params, peak_flops):
    if not peak_flops > 0:
        raise ValueError(f"peak_flops must be positive, got {peak_flops}")
    achieved = training_flops(n_params, tokens_per_second)  # FLOPs of one second of training
    return achieved / peak_flops
""",
        },
    },
}
