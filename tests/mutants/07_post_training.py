"""Wrong implementations (mutants) that chapter 07's graded cells must reject, and correct
alternatives they must accept. Each is the source of a replacement definition.

The issue asks the tests to catch: masking off by one, a loss that is not shifted, padding that is
learned, a reward loss written as a sigmoid without the log, a DPO loss with the reference terms'
signs flipped or without beta, an unstable log-sigmoid. All of them are below."""


def advantages(body, check=True, dtype="torch.promote_types(rewards.dtype, torch.float32)"):
    guard = "rewards.dim() != 2" if check else "False"
    return (
        "def group_advantages(rewards, eps=1e-6):\n"
        f"    if {guard}:\n        raise ValueError('rewards must be 2-D')\n"
        "    if eps <= 0:\n        raise ValueError('eps')\n"
        f"    r = rewards.to({dtype})\n"
        f"    return ({body}).to(rewards.dtype)\n"
    )


def pg(
    pg_term="-(advantages.detach().float() * lp).mean()",
    kl="(torch.exp(d) - d - 1).mean()",
    d="ref_logps.detach().float() - lp",
    lp="logps.float()",
    check=True,
):
    guard = "kl_coef < 0" if check else "False"
    return (
        "def policy_gradient_loss(logps, advantages, ref_logps=None, kl_coef=0.0):\n"
        "    if advantages.shape != logps.shape:\n        raise ValueError('advantages')\n"
        f"    if {guard}:\n        raise ValueError('kl_coef')\n"
        "    if kl_coef > 0 and ref_logps is None:\n        raise ValueError('ref_logps')\n"
        "    if ref_logps is not None and ref_logps.shape != logps.shape:\n        raise ValueError('ref_logps')\n"
        f"    lp = {lp}\n    loss = {pg_term}\n"
        f"    if kl_coef > 0:\n        d = {d}\n        loss = loss + kl_coef * {kl}\n"
        "    return loss.to(logps.dtype)\n"
    )


EXERCISES = {
    "sft_labels": {
        "tests": ["test_sft_labels"],
        "mutants": {
            "masking off by one: the last prompt token is learned": """
def sft_labels(input_ids, prompt_lengths, pad_id):
    pos = torch.arange(input_ids.size(1))
    in_prompt = pos[None, :] < (prompt_lengths[:, None] - 1)
    return input_ids.masked_fill(in_prompt | (input_ids == pad_id), -100)
""",
            "masking off by one: the first response token is masked": """
def sft_labels(input_ids, prompt_lengths, pad_id):
    pos = torch.arange(input_ids.size(1))
    in_prompt = pos[None, :] <= prompt_lengths[:, None]
    return input_ids.masked_fill(in_prompt | (input_ids == pad_id), -100)
""",
            "padding is learned": """
def sft_labels(input_ids, prompt_lengths, pad_id):
    pos = torch.arange(input_ids.size(1))
    in_prompt = pos[None, :] < prompt_lengths[:, None]
    return input_ids.masked_fill(in_prompt, -100)
""",
            "labels shifted here too (shifted twice)": """
def sft_labels(input_ids, prompt_lengths, pad_id):
    pos = torch.arange(input_ids.size(1))
    in_prompt = pos[None, :] < prompt_lengths[:, None]
    labels = input_ids.masked_fill(in_prompt | (input_ids == pad_id), -100)
    return torch.cat([labels[:, 1:], torch.full_like(labels[:, :1], -100)], dim=1)
""",
            "modifies input_ids in place": """
def sft_labels(input_ids, prompt_lengths, pad_id):
    for b in range(input_ids.size(0)):
        input_ids[b, : int(prompt_lengths[b])] = -100
    input_ids[input_ids == pad_id] = -100
    return input_ids
""",
            "uses the first row's prompt length for every row": """
def sft_labels(input_ids, prompt_lengths, pad_id):
    labels = input_ids.clone()
    labels[:, : int(prompt_lengths[0])] = -100
    labels[input_ids == pad_id] = -100
    return labels
""",
        },
        "alternatives": {
            "clone and a loop over rows": """
def sft_labels(input_ids, prompt_lengths, pad_id):
    labels = input_ids.clone()
    for b, n in enumerate(prompt_lengths.tolist()):
        labels[b, :n] = -100
    labels[input_ids == pad_id] = -100
    return labels
""",
            "torch.where with a broadcast comparison": """
def sft_labels(input_ids, prompt_lengths, pad_id):
    B, T = input_ids.shape
    keep = (torch.arange(T).expand(B, T) >= prompt_lengths.view(B, 1)) & (input_ids != pad_id)
    return torch.where(keep, input_ids, torch.full_like(input_ids, -100))
""",
        },
    },
    "sft_loss": {
        "tests": ["test_sft_loss"],
        "mutants": {
            "loss not shifted": """
def sft_loss(logits, labels):
    logp = torch.log_softmax(logits, dim=-1)
    mask = labels != -100
    picked = logp.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return -(picked * mask).sum() / mask.sum()
""",
            "shifted the wrong way": """
def sft_loss(logits, labels):
    logp = torch.log_softmax(logits[:, 1:], dim=-1)
    targets = labels[:, :-1]
    mask = targets != -100
    picked = logp.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return -(picked * mask).sum() / mask.sum()
""",
            "mean of per-sequence means": """
def sft_loss(logits, labels):
    logp = torch.log_softmax(logits[:, :-1], dim=-1)
    targets = labels[:, 1:]
    mask = targets != -100
    picked = logp.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (-(picked * mask).sum(1) / mask.sum(1)).mean()
""",
            "-100 positions counted (as token 0)": """
def sft_loss(logits, labels):
    logp = torch.log_softmax(logits[:, :-1], dim=-1)
    targets = labels[:, 1:].clamp(min=0)
    return -logp.gather(-1, targets.unsqueeze(-1)).mean()
""",
            "unstable log(softmax)": """
def sft_loss(logits, labels):
    logp = torch.log(torch.softmax(logits[:, :-1], dim=-1))
    targets = labels[:, 1:]
    mask = targets != -100
    picked = logp.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return -(picked * mask).sum() / mask.sum()
""",
            "sum instead of mean": """
def sft_loss(logits, labels):
    logp = torch.log_softmax(logits[:, :-1], dim=-1)
    targets = labels[:, 1:]
    mask = targets != -100
    picked = logp.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return -(picked * mask).sum()
""",
            "computed in float32 whatever the input": """
def sft_loss(logits, labels):
    logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    targets = labels[:, 1:]
    mask = targets != -100
    picked = logp.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return -(picked * mask).sum() / mask.sum()
""",
        },
        "alternatives": {
            "F.cross_entropy after the shift": """
def sft_loss(logits, labels):
    V = logits.size(-1)
    return F.cross_entropy(logits[:, :-1].reshape(-1, V), labels[:, 1:].reshape(-1), ignore_index=-100)
""",
            "logsumexp by hand, boolean indexing": """
def sft_loss(logits, labels):
    x = logits[:, :-1]
    y = labels[:, 1:]
    keep = y != -100
    x, y = x[keep], y[keep]                       # (N, V), (N,)
    nll = torch.logsumexp(x, dim=-1) - x.gather(-1, y[:, None])[:, 0]
    return nll.sum() / keep.sum()
""",
            "nll_loss on log_softmax": """
def sft_loss(logits, labels):
    logp = F.log_softmax(logits[:, :-1], dim=-1)
    return F.nll_loss(logp.transpose(1, 2), labels[:, 1:], ignore_index=-100)
""",
        },
    },
    "reward_model_loss": {
        "tests": ["test_reward_model_loss"],
        "mutants": {
            "sigmoid without the log": """
def reward_model_loss(r_chosen, r_rejected):
    return -torch.sigmoid(r_chosen - r_rejected).mean()
""",
            "1 - sigmoid (still no log)": """
def reward_model_loss(r_chosen, r_rejected):
    return (1 - torch.sigmoid(r_chosen - r_rejected)).mean()
""",
            "unstable log(sigmoid)": """
def reward_model_loss(r_chosen, r_rejected):
    return -torch.log(torch.sigmoid(r_chosen - r_rejected)).mean()
""",
            "chosen and rejected swapped": """
def reward_model_loss(r_chosen, r_rejected):
    return -F.logsigmoid(r_rejected - r_chosen).mean()
""",
            "sum instead of mean": """
def reward_model_loss(r_chosen, r_rejected):
    return -F.logsigmoid(r_chosen - r_rejected).sum()
""",
            "log-sigmoid of the mean difference": """
def reward_model_loss(r_chosen, r_rejected):
    return -F.logsigmoid((r_chosen - r_rejected).mean())
""",
        },
        "alternatives": {
            "softplus": """
def reward_model_loss(r_chosen, r_rejected):
    return F.softplus(r_rejected - r_chosen).mean()
""",
            "binary cross-entropy with logits, target 1": """
def reward_model_loss(r_chosen, r_rejected):
    d = r_chosen - r_rejected
    return F.binary_cross_entropy_with_logits(d, torch.ones_like(d))
""",
            "stable by hand": """
def reward_model_loss(r_chosen, r_rejected):
    d = r_chosen - r_rejected
    return (torch.clamp(-d, min=0) + torch.log1p(torch.exp(-d.abs()))).mean()
""",
        },
    },
    "dpo_loss": {
        "tests": ["test_dpo_loss"],
        "mutants": {
            "reference terms' signs flipped (added)": """
def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=0.1):
    if beta <= 0:
        raise ValueError("beta")
    z = beta * ((policy_chosen_logps + ref_chosen_logps) - (policy_rejected_logps + ref_rejected_logps))
    return -F.logsigmoid(z).mean()
""",
            "reference terms' signs flipped (ref - policy)": """
def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=0.1):
    if beta <= 0:
        raise ValueError("beta")
    z = beta * ((ref_chosen_logps - policy_chosen_logps) - (ref_rejected_logps - policy_rejected_logps))
    return -F.logsigmoid(z).mean()
""",
            "without beta": """
def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=0.1):
    if beta <= 0:
        raise ValueError("beta")
    z = (policy_chosen_logps - ref_chosen_logps) - (policy_rejected_logps - ref_rejected_logps)
    return -F.logsigmoid(z).mean()
""",
            "divides by beta": """
def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=0.1):
    if beta <= 0:
        raise ValueError("beta")
    z = ((policy_chosen_logps - ref_chosen_logps) - (policy_rejected_logps - ref_rejected_logps)) / beta
    return -F.logsigmoid(z).mean()
""",
            "unstable log(sigmoid)": """
def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=0.1):
    if beta <= 0:
        raise ValueError("beta")
    z = beta * ((policy_chosen_logps - ref_chosen_logps) - (policy_rejected_logps - ref_rejected_logps))
    return -torch.log(torch.sigmoid(z)).mean()
""",
            "sigmoid without the log": """
def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=0.1):
    if beta <= 0:
        raise ValueError("beta")
    z = beta * ((policy_chosen_logps - ref_chosen_logps) - (policy_rejected_logps - ref_rejected_logps))
    return -torch.sigmoid(z).mean()
""",
            "chosen and rejected swapped": """
def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=0.1):
    if beta <= 0:
        raise ValueError("beta")
    z = beta * ((policy_rejected_logps - ref_rejected_logps) - (policy_chosen_logps - ref_chosen_logps))
    return -F.logsigmoid(z).mean()
""",
            "log-sigmoid of the mean margin": """
def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=0.1):
    if beta <= 0:
        raise ValueError("beta")
    z = beta * ((policy_chosen_logps - ref_chosen_logps) - (policy_rejected_logps - ref_rejected_logps))
    return -F.logsigmoid(z.mean())
""",
            "no check on beta": """
def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=0.1):
    z = beta * ((policy_chosen_logps - ref_chosen_logps) - (policy_rejected_logps - ref_rejected_logps))
    return -F.logsigmoid(z).mean()
""",
        },
        "alternatives": {
            "softplus of the negated margin": """
def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=0.1):
    if not beta > 0:
        raise ValueError(f"beta must be > 0, got {beta}")
    policy_margin = policy_chosen_logps - policy_rejected_logps
    ref_margin = ref_chosen_logps - ref_rejected_logps
    return F.softplus(-beta * (policy_margin - ref_margin)).mean()
""",
            "stable by hand": """
def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=0.1):
    if beta <= 0:
        raise ValueError("beta must be positive")
    z = beta * (policy_chosen_logps - policy_rejected_logps - ref_chosen_logps + ref_rejected_logps)
    return (torch.clamp(-z, min=0) + torch.log1p(torch.exp(-z.abs()))).mean()
""",
            "binary cross-entropy with logits": """
def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=0.1):
    if beta <= 0:
        raise ValueError("beta must be > 0")
    z = beta * ((policy_chosen_logps - ref_chosen_logps) - (policy_rejected_logps - ref_rejected_logps))
    return F.binary_cross_entropy_with_logits(z, torch.ones_like(z))
""",
        },
    },
    "group_advantages": {
        "tests": ["test_group_advantages"],
        "mutants": {
            "the sample std (G - 1)": advantages(
                "(r - r.mean(dim=1, keepdim=True)) / (r.std(dim=1, keepdim=True) + eps)"
            ),
            "the whole batch's mean and std": advantages("(r - r.mean()) / (r.std(unbiased=False) + eps)"),
            "no division by the std": advantages("r - r.mean(dim=1, keepdim=True)"),
            "sqrt(var + eps) instead of std + eps": advantages(
                "(r - r.mean(dim=1, keepdim=True)) / torch.sqrt(r.var(dim=1, unbiased=False, keepdim=True) + eps)"
            ),
            "no eps (0 / 0 on equal rewards)": advantages(
                "(r - r.mean(dim=1, keepdim=True)) / r.std(dim=1, unbiased=False, keepdim=True)"
            ),
            "computed in the input's low precision": advantages(
                "(r - r.mean(dim=1, keepdim=True)) / (r.std(dim=1, unbiased=False, keepdim=True) + eps)",
                dtype="rewards.dtype",
            ),
            "mean and std over the group dimension of the wrong axis (dim=0)": advantages(
                "(r - r.mean(dim=0, keepdim=True)) / (r.std(dim=0, unbiased=False, keepdim=True) + eps)"
            ),
            "no ValueError for 1-D rewards": advantages(
                "(r - r.mean(dim=-1, keepdim=True)) / (r.std(dim=-1, unbiased=False, keepdim=True) + eps)",
                check=False,
            ),
        },
        "alternatives": {
            "variance by hand, in float64": """
def group_advantages(rewards, eps=1e-6):
    if rewards.ndim != 2:
        raise ValueError(f"rewards must have shape (B, G), got {tuple(rewards.shape)}")
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps}")
    r = rewards.double()
    centred = r - r.mean(dim=-1, keepdim=True)
    std = centred.pow(2).mean(dim=-1, keepdim=True).sqrt()
    return (centred / (std + eps)).to(rewards.dtype)
""",
            "torch.std_mean with correction=0": """
def group_advantages(rewards, eps=1e-6):
    if len(rewards.shape) != 2:
        raise ValueError("rewards: expected a (B, G) tensor")
    if eps <= 0:
        raise ValueError("eps must be > 0")
    work = rewards.float() if rewards.dtype in (torch.float16, torch.bfloat16) else rewards
    std, mean = torch.std_mean(work, dim=1, correction=0, keepdim=True)
    return ((work - mean) / (std + eps)).to(rewards.dtype)
""",
        },
    },
    "policy_gradient_loss": {
        "tests": ["test_policy_gradient_loss"],
        "mutants": {
            "advantages not detached": pg(pg_term="-(advantages.float() * lp).mean()"),
            "the sum, not the mean": pg(pg_term="-(advantages.detach().float() * lp).sum()"),
            "the sign flipped": pg(pg_term="(advantages.detach().float() * lp).mean()"),
            "the simple KL estimate logp - ref": pg(kl="(-d).mean()"),
            "k3 with the ratio upside down": pg(d="lp - ref_logps.detach().float()"),
            "kl_coef ignored": pg(kl="0.0 * d.mean()"),
            "reference not detached": pg(d="ref_logps.float() - lp"),
            "computed in the input's low precision": pg(
                pg_term="-(advantages.detach() * lp).mean()", d="ref_logps.detach() - lp", lp="logps"
            ),
            "k3 of the mean log-ratio": pg(kl="(torch.exp(d.mean()) - d.mean() - 1)"),
            "no ValueError for kl_coef < 0": pg(check=False),
        },
        "alternatives": {
            "expm1, float64, sum over numel": """
def policy_gradient_loss(logps, advantages, ref_logps=None, kl_coef=0.0):
    if tuple(advantages.shape) != tuple(logps.shape):
        raise ValueError(f"advantages: expected shape {tuple(logps.shape)}")
    if kl_coef < 0:
        raise ValueError(f"kl_coef must be >= 0, got {kl_coef}")
    if kl_coef and ref_logps is None:
        raise ValueError("kl_coef > 0 needs ref_logps")
    if ref_logps is not None and tuple(ref_logps.shape) != tuple(logps.shape):
        raise ValueError("ref_logps: wrong shape")
    lp = logps.double()
    n = logps.numel()
    loss = -(lp * advantages.detach().double()).sum() / n
    if kl_coef:
        log_ratio = ref_logps.detach().double() - lp
        loss = loss + kl_coef * (torch.expm1(log_ratio) - log_ratio).sum() / n
    return loss.to(logps.dtype)
""",
            "one expression through a ratio": """
def policy_gradient_loss(logps, advantages, ref_logps=None, kl_coef=0.0):
    if advantages.shape != logps.shape:
        raise ValueError("advantages must match logps")
    if not kl_coef >= 0:
        raise ValueError("kl_coef must be non-negative")
    if kl_coef > 0 and ref_logps is None:
        raise ValueError("ref_logps is required when kl_coef > 0")
    if ref_logps is not None and ref_logps.shape != logps.shape:
        raise ValueError("ref_logps must match logps")
    lp = logps.float()
    per_sample = -advantages.detach().float() * lp
    if ref_logps is not None and kl_coef > 0:
        ratio = torch.exp(ref_logps.detach().float() - lp)
        per_sample = per_sample + kl_coef * (ratio - torch.log(ratio) - 1)
    return per_sample.mean().to(logps.dtype)
""",
        },
    },
}
