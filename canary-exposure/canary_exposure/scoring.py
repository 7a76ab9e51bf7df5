"""Log-perplexity and exposure (Carlini et al. 2019, sections 4.1-4.3).

Log-perplexity is the *total* -log2 probability of a sequence's tokens, each
given those before it (the first after the begin token); padding is masked by
length. Exposure of a secret s in R is log2 |R| - log2 rank(s), its rank
among all candidates of the format by log-perplexity (1 = the most likely).

- Exact: every candidate is scored. The secrets share the format's prefix
  and, digit by digit, their own prefixes, so the slot is scored as a trie:
  level j runs the model once on each of the 10^j digit prefixes and reads
  the next digit's 10 log-probabilities, 1.11 x 10^(D-1) sequences in all
  instead of 10^D (a suffix after the slot is scored on the full candidates).
  A recurrent model that can carry its state (``step``, the LSTM) reads the
  prefix once and each trie node's digit once: one token per node instead
  of the whole prefix.
- Extrapolated: the log-perplexities of random candidates are fitted by a
  skew-normal, and exposure = -log2 F(Px(s)) with F its CDF, computed in log
  space so that a canary far in the tail keeps a finite exposure (log(cdf)
  underflows to -inf near 1e-308; here the log-CDF is integrated from the
  log-density). A Kolmogorov-Smirnov test says whether the fit is fit to use.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .canaries import CanaryFormat
from .errors import ExposureError
from .text import BOS, encode

LOG2E = 1 / math.log(2)
Tokenizer = Callable[[str], list[int]]


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.inference_mode()
def log_perplexity(model: nn.Module, texts: list[str], tokenizer: Tokenizer = encode, batch_size: int = 512,
                   skip: int = 0) -> np.ndarray:
    """Each text's total -log2 probability after a begin token, its first ``skip`` tokens excluded from the sum
    (they are still the context of the rest)."""
    model.eval()
    dev = _device(model)
    seqs = [[BOS] + tokenizer(t) for t in texts]
    if any(len(s) <= 1 + skip for s in seqs):
        raise ExposureError("a text to score has no tokens past the ones skipped")
    out = np.empty(len(seqs))
    for lo in range(0, len(seqs), batch_size):
        chunk = seqs[lo:lo + batch_size]
        width = max(map(len, chunk))
        tokens = torch.full((len(chunk), width), BOS, dtype=torch.long)
        lengths = torch.tensor([len(s) for s in chunk])
        for i, s in enumerate(chunk):
            tokens[i, :len(s)] = torch.tensor(s)
        tokens = tokens.to(dev)
        logp = F.log_softmax(model(tokens[:, :-1]).float(), dim=-1)
        picked = -logp.gather(2, tokens[:, 1:, None])[..., 0].double().cpu() * LOG2E
        pos = torch.arange(width - 1)[None, :]
        mask = (pos >= skip) & (pos < (lengths - 1)[:, None])  # target t sits at position t - 1
        out[lo:lo + len(chunk)] = (picked * mask).sum(1).numpy()
    return out


def _digit_tokens(tokenizer: Tokenizer) -> list[int]:
    tokens = [tokenizer(str(d)) for d in range(10)]
    if any(len(t) != 1 for t in tokens):
        raise ExposureError("exact exposure needs every digit to be one token of the tokenizer")
    return [t[0] for t in tokens]


def _digits(codes: torch.Tensor, width: int, table: torch.Tensor) -> torch.Tensor:
    """(N, width) digit tokens of the numbers ``codes``, most significant first."""
    powers = 10 ** torch.arange(width - 1, -1, -1, device=codes.device)
    return table[(codes[:, None] // powers) % 10]


@torch.inference_mode()
def slot_log_perplexities(model: nn.Module, fmt: CanaryFormat, tokenizer: Tokenizer = encode,
                          batch_size: int = 2048, progress: Callable[[int, int], None] | None = None,
                          carry_state: bool = True) -> np.ndarray:
    """The log-perplexity of every candidate of ``fmt``, indexed by its number (the whole canary: prefix, secret
    and suffix). 10^digits float64 values. A model with ``step`` walks the trie carrying its state (unless
    ``carry_state`` is off); any other reads each node's whole prefix."""
    model.eval()
    dev = _device(model)
    table = torch.tensor(_digit_tokens(tokenizer)).to(dev)
    prefix = torch.tensor([BOS] + tokenizer(fmt.prefix)).to(dev)
    prefix_cost = float(log_perplexity(model, [fmt.prefix], tokenizer)[0]) if fmt.prefix else 0.0
    total = sum(10 ** j for j in range(fmt.digits))
    walk = _trie_by_state if carry_state and hasattr(model, "step") and 10 ** (fmt.digits - 1) <= STATE_NODES \
        else _trie_by_prefix
    scores = walk(model, prefix, table, fmt.digits, batch_size, progress, total)
    if fmt.suffix:
        texts = [fmt.prefix + fmt.secret(i) for i in range(fmt.space)]
        whole = log_perplexity(model, [t + fmt.suffix for t in texts], tokenizer, batch_size,
                               skip=len(tokenizer(texts[0])))
        scores += torch.from_numpy(whole)
    return scores.numpy() + prefix_cost


def _trie_by_prefix(model: nn.Module, prefix: torch.Tensor, table: torch.Tensor, digits: int, batch_size: int,
                    progress, total: int) -> torch.Tensor:
    """Every candidate's slot log-perplexity, level by level: each node's whole sequence (prefix and its digits)
    read once, the next digit's 10 log-probabilities taken from its last position."""
    scores, done = torch.zeros(1, dtype=torch.float64), 0
    for level in range(digits):
        n = 10 ** level
        nxt = torch.empty(n, 10, dtype=torch.float64)
        for lo in range(0, n, batch_size):
            codes = torch.arange(lo, min(n, lo + batch_size), device=table.device)
            body = _digits(codes, level, table) if level else torch.empty(len(codes), 0, dtype=torch.long,
                                                                          device=table.device)
            tokens = torch.cat([prefix.expand(len(codes), -1), body], 1)
            logp = F.log_softmax(model(tokens)[:, -1].float(), dim=-1)[:, table]
            nxt[lo:lo + len(codes)] = -logp.double().cpu() * LOG2E
            done += len(codes)
            if progress:
                progress(done, total)
        scores = (scores[:, None] + nxt).reshape(-1)
    return scores


STATE_NODES = 10 ** 6  # trie nodes of the last level a carried state is kept for (10^6 x 2 x 256 floats: 2 GB)


def _trie_by_state(model: nn.Module, prefix: torch.Tensor, table: torch.Tensor, digits: int, batch_size: int,
                   progress, total: int) -> torch.Tensor:
    """Every candidate's slot log-perplexity by carrying the model's state down the digit trie: the prefix is read
    once, then each node's digit once (code = parent * 10 + digit, as the generic walk numbers them)."""
    logits, state = model.step(prefix[None])
    scores, done = torch.zeros(1, dtype=torch.float64), 0
    for level in range(digits):
        nxt = -F.log_softmax(logits.float(), dim=-1)[:, table].double().cpu() * LOG2E
        scores = (scores[:, None] + nxt).reshape(-1)
        done += len(nxt)
        if progress:
            progress(done, total)
        if level + 1 == digits:
            break
        children = len(nxt) * 10
        parent = torch.arange(children, device=table.device) // 10
        digit = table[torch.arange(children, device=table.device) % 10]
        outs, states = [], []
        for lo in range(0, children, batch_size):
            rows = parent[lo:lo + batch_size]
            carried = tuple(s[:, rows] for s in state)
            out, new = model.step(digit[lo:lo + batch_size, None], carried)
            outs.append(out)
            states.append(new)
        logits = torch.cat(outs)
        state = tuple(torch.cat([s[i] for s in states], 1) for i in range(len(states[0])))
    return scores


def exact_exposure(scores: np.ndarray, secrets: list[str], inserted: list[str] | tuple = ()) -> dict[str, dict]:
    """Rank and exposure of each secret among the candidates (``scores`` from ``slot_log_perplexities``), ranked
    as the paper ranks them: rank = |{r in R : Px(r) <= Px(s)}|, so a candidate with the same log-perplexity
    counts against the secret (as TensorFlow Privacy's secret sharer counts ties). The other ``inserted`` secrets
    are not candidates of a secret: the paper measures one canary per model, and with several in one model the
    memorised others would push each down (as TensorFlow Privacy ranks a canary among random references only).
    The space stays |R|."""
    ordered = np.sort(scores)
    out = {}
    for s in secrets:
        px = float(scores[int(s)])
        others = np.array([scores[int(x)] for x in inserted if x != s], dtype=scores.dtype)
        rank = int(np.searchsorted(ordered, px, side="right")) - int(np.count_nonzero(others <= px))
        out[s] = {"log_perplexity": px, "rank": rank, "exposure": math.log2(len(scores)) - math.log2(rank)}
    return out


def skewnorm_logcdf(x: float, a: float, loc: float, scale: float) -> float:
    """log F(x) of a skew-normal, finite far into the left tail: scipy's in the body, the log-density integrated
    below x in log space beyond 3 scales below the location (where scipy's difference of two small numbers
    loses its digits, then underflows)."""
    from scipy.special import log_ndtr, logsumexp
    from scipy.stats import skewnorm

    z = (x - loc) / scale
    if z > -3:
        return float(skewnorm.logcdf(x, a, loc, scale))
    width = 60.0 / max(abs(z) * (1 + abs(a)), 1.0)  # the mass below x lies within this many scales of it
    s = np.linspace(0.0, width, 4001)
    t = z - s
    logpdf = math.log(2) - 0.5 * t * t - 0.5 * math.log(2 * math.pi) + log_ndtr(a * t)
    weights = np.full(len(s), s[1] - s[0])
    weights[[0, -1]] *= 0.5  # the trapezoid rule
    return float(logsumexp(logpdf, b=weights))


def fit_references(reference_px: np.ndarray) -> dict:
    """A skew-normal fitted to the log-perplexities of never-inserted candidates, with a KS goodness of fit."""
    from scipy.stats import kstest, skewnorm

    if len(reference_px) < 50:
        raise ExposureError(f"extrapolation needs at least 50 reference candidates, got {len(reference_px)}")
    a, loc, scale = skewnorm.fit(reference_px)
    ks = kstest(reference_px, "skewnorm", args=(a, loc, scale))
    return {"a": float(a), "loc": float(loc), "scale": float(scale), "ks_statistic": float(ks.statistic),
            "ks_pvalue": float(ks.pvalue), "references": len(reference_px)}


def extrapolated_exposure(px: float, fit: dict) -> float:
    """-log2 of the fitted probability that a random candidate is at least as likely as this one."""
    return -skewnorm_logcdf(px, fit["a"], fit["loc"], fit["scale"]) * LOG2E
