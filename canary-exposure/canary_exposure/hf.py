"""Exposure of a Hugging Face causal LM scored with its own tokenizer (Carlini et al. 2019, sections 4.1-4.3).

A canary is scored as the model would see it in training: its begin token (or none), then the tokenizer's
canonical tokens of the *whole* string, so a BPE that merges " 281" or "265" scores those merges, not one token
per digit. Log-perplexity is the total -log2 probability of the string's tokens, each given those before it; the
first token of the sequence (the begin token, or the text's first token where the model has none) is context,
never scored. Padding is masked by length.

Speed without changing a number: the candidates of a format share a token prefix (begin token and the
format's prefix, up to where the tokenizer starts merging with the secret); its key-value cache is computed once
and every batch of candidates is read on from it. Where every candidate is that prefix then one token per digit
(checked on every candidate, not assumed from the digits alone), the slot is read as a trie: the 10^(D-1)
prefixes of D-1 digits are run once each and their every position's next-token distribution gives the next
digit's cost, so |R| / 10 sequences are run instead of |R|. Otherwise every candidate is run on the cache.

Departures from the paper, and why: the paper's models were trained with a begin token; here the begin is
the tokenizer's own (``begin_tokens``), or the tokenizer's ``bos_token`` when it adds none, or none where the
tokenizer has no begin token at all, and then the text's first token is context (a causal LM gives it no
probability). The shared prefix's cost is added to every candidate, so numbers are whole-string log-perplexities
and ranks are unchanged by it.
"""

from __future__ import annotations

import heapq
import math
import re
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .canaries import CanaryFormat
from .errors import ExposureError

LOG2E = 1 / math.log(2)


@dataclass
class CausalLM:
    """A Hugging Face causal LM with its tokenizer and the begin tokens it was trained with."""

    model: nn.Module
    tokenizer: Any
    begin: tuple[int, ...]

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Each text's canonical tokens after the begin tokens (the tokenizer's own special tokens not added twice)."""
        ids = self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [list(self.begin) + list(t) for t in ids]


def begin_tokens(tokenizer, begin: str = "auto") -> tuple[int, ...]:
    """The tokens a text starts with for this model. ``auto``: the ones the tokenizer itself puts before a text
    (Llama's BOS), else its ``bos_token`` (GPT-2's <|endoftext|>, which separated its training documents), else
    none; ``none``: none; any other value: that token."""
    if begin == "none":
        return ()
    if begin != "auto":
        ids = tokenizer.convert_tokens_to_ids([begin])
        if not ids or ids[0] is None or ids[0] == tokenizer.unk_token_id:
            raise ExposureError(f"'{begin}' is not a token of this tokenizer; give --begin auto, none or a token")
        return (int(ids[0]),)
    plain = tokenizer("0", add_special_tokens=False)["input_ids"]
    full = tokenizer("0", add_special_tokens=True)["input_ids"]
    if len(full) > len(plain) and full[len(full) - len(plain):] == plain:
        return tuple(int(i) for i in full[:len(full) - len(plain)])
    if tokenizer.bos_token_id is not None:
        return (int(tokenizer.bos_token_id),)
    return ()


def _common_prefix(seqs: list[list[int]]) -> int:
    """Length of the token prefix every sequence shares, leaving each at least one token to score."""
    first = seqs[0]
    n = min(len(s) for s in seqs) - 1
    for s in seqs[1:]:
        i = 0
        while i < n and s[i] == first[i]:
            i += 1
        n = i
    return max(n, 0)


class _Context:
    """The shared prefix read once: its key-value cache, its own cost and the next token's log-probabilities."""

    def __init__(self, lm: CausalLM, tokens: list[int]):
        self.lm, self.length = lm, len(tokens)
        ids = torch.tensor([tokens], device=lm.device)
        out = lm.model(input_ids=ids, use_cache=True)
        logp = F.log_softmax(out.logits[0].float(), dim=-1)
        self.cost = float(-logp[:-1].gather(1, ids[0, 1:, None]).sum().double()) * LOG2E
        self.next = -logp[-1].double() * LOG2E  # cost of each token right after the prefix
        self.cache = out.cache
        self._expanded: dict[int, Any] = {}

    def run(self, tokens: torch.Tensor) -> torch.Tensor:
        """Log-probabilities (B, T, V) of the token after each of ``tokens`` (B, T), read on from the prefix."""
        b = tokens.shape[0]
        cache = self._expanded.get(b)
        if cache is None:
            import copy

            cache = copy.deepcopy(self.cache)
            cache.batch_repeat_interleave(b)
            self._expanded = {b: cache}  # the last batch size only: one expanded cache in memory
        out = self.lm.model(input_ids=tokens, cache=cache, use_cache=True)
        cache.crop(self.length - cache.get_seq_length())  # back to the shared prefix for the next batch
        return F.log_softmax(out.logits.float(), dim=-1)


@torch.inference_mode()
def score_sequences(lm: CausalLM, seqs: list[list[int]], batch_size: int = 128,
                    progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Total -log2 probability of each token sequence past its first token, the shared prefix read once."""
    lm.model.eval()
    if any(len(s) < 2 for s in seqs):
        raise ExposureError("a text to score has no token after its first; give the model a begin token or a "
                            "longer text")
    n = _common_prefix(seqs)
    out = np.empty(len(seqs))
    if n == 0:  # nothing shared: plain forward passes
        for lo in range(0, len(seqs), batch_size):
            out[lo:lo + batch_size] = _plain_scores(lm, seqs[lo:lo + batch_size])
        return out
    ctx = _Context(lm, seqs[0][:n])
    for lo in range(0, len(seqs), batch_size):
        rest = [s[n:] for s in seqs[lo:lo + batch_size]]
        width = max(map(len, rest))
        tokens = torch.zeros(len(rest), width, dtype=torch.long)
        lengths = torch.tensor([len(r) for r in rest])
        for i, r in enumerate(rest):
            tokens[i, :len(r)] = torch.tensor(r)
        tokens = tokens.to(lm.device)
        first = ctx.next[tokens[:, 0]].cpu()
        cost = first + _masked_cost(ctx.run(tokens[:, :-1]) if width > 1 else None, tokens, lengths)
        out[lo:lo + len(rest)] = (cost + ctx.cost).numpy()
        if progress:
            progress(min(lo + batch_size, len(seqs)), len(seqs))
    return out


def _masked_cost(logp: torch.Tensor | None, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Summed -log2 probability of tokens[:, 1:] under ``logp`` (predictions after tokens[:, :-1]), by length."""
    if logp is None:
        return torch.zeros(len(tokens), dtype=torch.float64)
    picked = -logp.gather(2, tokens[:, 1:, None])[..., 0].double().cpu() * LOG2E
    mask = torch.arange(tokens.shape[1] - 1)[None, :] < (lengths - 1)[:, None]
    return (picked * mask).sum(1)


def _plain_scores(lm: CausalLM, seqs: list[list[int]]) -> np.ndarray:
    width = max(map(len, seqs))
    tokens = torch.zeros(len(seqs), width, dtype=torch.long)
    for i, s in enumerate(seqs):
        tokens[i, :len(s)] = torch.tensor(s)
    logp = F.log_softmax(lm.model(input_ids=tokens.to(lm.device)).logits[:, :-1].float(), dim=-1)
    return _masked_cost(logp, tokens, torch.tensor([len(s) for s in seqs])).numpy()


def log_perplexity(lm: CausalLM, texts: list[str], batch_size: int = 128) -> np.ndarray:
    """Each text's total -log2 probability (its tokens after the begin tokens), as the model sees it."""
    return score_sequences(lm, lm.encode(texts), batch_size)


def digit_tokens(lm: CausalLM) -> list[int] | None:
    """The token of each digit 0-9 alone, or None where some digit is not one token."""
    ids = lm.tokenizer([str(d) for d in range(10)], add_special_tokens=False)["input_ids"]
    return [t[0] for t in ids] if all(len(t) == 1 for t in ids) else None


TOKENIZE_CHUNK = 100_000  # candidates tokenised at a time


def candidate_tokens(lm: CausalLM, fmt: CanaryFormat) -> list[list[int]]:
    """Every candidate of ``fmt`` as the model sees it, indexed by its number."""
    out: list[list[int]] = []
    for lo in range(0, fmt.space, TOKENIZE_CHUNK):
        out += lm.encode([fmt.render(fmt.secret(i)) for i in range(lo, min(fmt.space, lo + TOKENIZE_CHUNK))])
    return out


def per_digit(seqs: list[list[int]], fmt: CanaryFormat, table: list[int] | None) -> int | None:
    """The shared prefix's length where every candidate is that prefix then exactly one token per digit of its
    secret (and nothing after), else None: the condition under which the slot can be read as a digit trie."""
    if table is None or fmt.suffix:
        return None
    n = _common_prefix(seqs)
    width = n + fmt.digits
    if any(len(s) != width for s in seqs):
        return None
    slots = np.array([s[n:] for s in seqs])
    want = np.array(table)[_digit_matrix(fmt)]
    return n if np.array_equal(slots, want) else None


def _digit_matrix(fmt: CanaryFormat) -> np.ndarray:
    codes = np.arange(fmt.space, dtype=np.int64)
    powers = 10 ** np.arange(fmt.digits - 1, -1, -1, dtype=np.int64)
    return (codes[:, None] // powers) % 10


@torch.inference_mode()
def slot_log_perplexities(lm: CausalLM, fmt: CanaryFormat, batch_size: int = 128,
                          progress: Callable[[int, int], None] | None = None, trie: bool = True) -> np.ndarray:
    """The log-perplexity of every candidate of ``fmt`` (whole string, own tokenizer), indexed by its number:
    by the digit trie where every candidate tokenises one token per digit, otherwise candidate by candidate."""
    lm.model.eval()
    seqs = candidate_tokens(lm, fmt)
    n = per_digit(seqs, fmt, digit_tokens(lm)) if trie else None
    if n is None or fmt.digits == 1:
        return score_sequences(lm, seqs, batch_size, progress)
    table = torch.tensor(digit_tokens(lm))
    ctx = _Context(lm, seqs[0][:n])
    first = ctx.next[table.to(lm.device)].cpu()  # (10,) cost of the first digit
    nodes = 10 ** (fmt.digits - 1)
    powers = 10 ** torch.arange(fmt.digits - 2, -1, -1)
    out = torch.empty(nodes, 10, dtype=torch.float64)
    for lo in range(0, nodes, batch_size):
        codes = torch.arange(lo, min(nodes, lo + batch_size))
        digits = (codes[:, None] // powers) % 10  # (B, D-1): the node's digits
        logp = ctx.run(table[digits].to(lm.device))[..., table.to(lm.device)]  # (B, D-1, 10): next digit's
        steps = -logp.double().cpu() * LOG2E
        path = first[digits[:, 0]] + steps[:, :-1].gather(2, digits[:, 1:, None])[..., 0].sum(1)
        out[lo:lo + len(codes)] = path[:, None] + steps[:, -1]
        if progress:
            progress(min(lo + batch_size, nodes), nodes)
    return (out.reshape(-1) + ctx.cost).numpy()


@torch.inference_mode()
def extract(lm: CausalLM, fmt: CanaryFormat, *, budget: int = 10_000, found: int = 1, batch: int = 1,
            target: str | None = None) -> dict:
    """Best-first (Dijkstra) search for the most likely secrets over the model's own tokens: a step appends one
    vocabulary token that keeps the text a prefix of the slot (digits, and the text between the shared token
    prefix and the first digit, such as a space BPE merges into " 281"), at cost -log2 of its probability. A
    complete path counts only if it is the canonical tokenisation of its canary (another split of the same
    digits is not what the model sees), so secrets come out in increasing whole-string log-perplexity. One
    query is one expanded node (a next-token distribution); ``batch`` nodes are expanded per forward pass."""
    if budget < 1 or found < 1 or batch < 1:
        raise ExposureError("extraction needs a budget, a number of secrets to find and a batch of at least 1")
    lm.model.eval()
    probes = [fmt.render(fmt.secret(i)) for i in (0, fmt.space - 1, fmt.space // 3, 2 * fmt.space // 3)]
    seqs = lm.encode(probes)
    n = _common_prefix(seqs)
    context = seqs[0][:n]
    lead = fmt.prefix[len(_decode(lm, context[len(lm.begin):])):]
    if _decode(lm, context[len(lm.begin):]) + lead != fmt.prefix:
        raise ExposureError("the format's prefix does not decode from its own tokens; extraction needs a "
                            "tokenizer that round-trips text")
    steps = _slot_steps(lm, lead)
    ctx = _Context(lm, context)
    suffix_cost = fmt.suffix != ""
    slot = len(lead) + fmt.digits
    heap: list[tuple[float, str, tuple[int, ...]]] = [(0.0, "", ())]
    out: list[dict] = []
    queries = passes = 0
    hit = None
    while heap and (queries < budget or len(heap[0][1]) == slot) and (len(out) < found or target is not None) \
            and hit is None:
        if len(heap[0][1]) == slot:  # complete at the top: no open path is cheaper
            cost, text, path = heapq.heappop(heap)
            if path and path[-1] == -1:  # scored whole (with its suffix): it comes out now
                secret = text[len(lead):]
                out.append({"secret": secret, "slot_log_perplexity": cost, "queries": queries})
                if secret == target:
                    hit = queries
                continue
            canon = lm.encode([fmt.render(text[len(lead):])])[0]
            mine = context + list(path)
            if (canon[:len(mine)] if suffix_cost else canon) != mine:
                continue  # another tokenisation of these digits: not what the model sees
            extra = 0.0
            if suffix_cost:
                extra = float(score_sequences(lm, [canon])[0]) - ctx.cost - cost
                queries += 1
                passes += 1
            heapq.heappush(heap, (cost + extra, text, path + (-1,)))
            continue
        popped = []
        while heap and len(popped) < min(batch, budget - queries) and len(heap[0][1]) < slot:
            popped.append(heapq.heappop(heap))
        by_length: dict[int, list] = {}
        for item in popped:
            by_length.setdefault(len(item[2]), []).append(item)
        for group in by_length.values():
            if group[0][2]:
                logp = ctx.run(torch.tensor([p for _, _, p in group], device=lm.device))[:, -1]
                costs = (-logp.double() * LOG2E).cpu()
            else:
                costs = ctx.next.cpu()[None].expand(len(group), -1)
            queries += len(group)
            passes += 1
            for (cost, text, path), row in zip(group, costs):
                for token, piece in steps:
                    child = text + piece
                    if len(child) <= slot and _fits(child, lead):
                        heapq.heappush(heap, (cost + float(row[token]), child, path + (token,)))
    return {"found": out, "queries": queries, "forward_passes": passes, "budget": budget, "batch": batch,
            "extracted": hit is not None if target is not None else None, "queries_to_target": hit}


def _decode(lm: CausalLM, tokens: list[int]) -> str:
    return lm.tokenizer.decode(tokens, clean_up_tokenization_spaces=False) if tokens else ""


def _fits(text: str, lead: str) -> bool:
    head = text[:len(lead)]
    return lead.startswith(head) and (len(text) <= len(lead) or text[len(lead):].isdigit())


def _slot_steps(lm: CausalLM, lead: str) -> list[tuple[int, str]]:
    """Every vocabulary token whose text is made of the lead's characters and digits, with its text."""
    allowed = re.compile("[0-9" + re.escape("".join(sorted(set(lead)))) + "]+")
    ids = list(range(len(lm.tokenizer)))
    texts = lm.tokenizer.batch_decode([[i] for i in ids], clean_up_tokenization_spaces=False)
    special = set(lm.tokenizer.all_special_ids)
    return [(i, t) for i, t in zip(ids, texts) if i not in special and allowed.fullmatch(t)]


def load_causal_lm(path, device: str = "cpu", begin: str = "auto") -> CausalLM:
    """A local Hugging Face checkpoint (a folder with config.json, or a .gguf file) and its tokenizer, read with
    ``local_files_only``: nothing is downloaded, and weights load from safetensors or GGUF (never pickle)."""
    from pathlib import Path

    path = Path(path)
    gguf = {"gguf_file": path.name} if path.suffix == ".gguf" else {}
    folder = path.parent if gguf else path
    if not path.exists() or (not gguf and not (folder / "config.json").is_file()):
        raise ExposureError(f"{path} is not a Hugging Face checkpoint (a folder with config.json, or a .gguf "
                            "file); give a local checkpoint")
    check_device(device)
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging
    except ImportError:
        raise ExposureError("a Hugging Face model needs transformers: pip install 'canary-exposure[hf]'") from None
    hf_logging.disable_progress_bar()  # stderr stays for this program's one-line errors
    hf_logging.set_verbosity_error()
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, **gguf)
        model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True, use_safetensors=not gguf,
                                                     dtype=torch.float32, **gguf)
    except (OSError, ValueError, KeyError, ImportError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ExposureError(f"the checkpoint {path} does not load ({type(exc).__name__}: {first})") from None
    if gguf:  # transformers dequantised the GGUF to float32: a plain model from here on, saved as safetensors
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
    return CausalLM(model.to(device).eval(), tokenizer, begin_tokens(tokenizer, begin))


def check_device(device: str) -> None:
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ExposureError(f"--device {device}: no CUDA device here; use --device cpu")
    if not (device == "cpu" or device.startswith("cuda")):
        raise ExposureError(f"--device takes cpu or cuda (cuda:N), got '{device}'")
