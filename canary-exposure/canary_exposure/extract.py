"""Extraction (Carlini et al. 2019, section 8): find the secret without knowing it, by a shortest-path search
over the slot's digit trie where a step costs -log2 of the digit's probability.

Best-first (Dijkstra): the cheapest open prefix is expanded next, so complete candidates come out in increasing
log-perplexity, the most likely first. Each expansion is one model query (the next-digit distribution of one
prefix), counted per search; ``batch`` prefixes are expanded per forward pass (forward passes counted too). At
a batch above 1 a round expands the batch's cheapest prefixes whether or not they lead anywhere: a memorised
6-digit canary then costs 1 + 10 + 4 x 64 = 267 queries at 64, where pure best-first (batch 1) needs 6 at least. A
canary is extracted when the search finds it within ``budget`` queries: far fewer than the 10^digits a brute
force needs, for a memorised canary.
"""

from __future__ import annotations

import heapq

import torch
from torch import nn
from torch.nn import functional as F

from .canaries import CanaryFormat
from .errors import ExposureError
from .scoring import LOG2E, Tokenizer, _device, _digit_tokens, log_perplexity
from .text import BOS, encode


@torch.inference_mode()
def extract(model: nn.Module, fmt: CanaryFormat, *, budget: int = 10_000, found: int = 1, batch: int = 64,
            tokenizer: Tokenizer = encode, target: str | None = None) -> dict:
    """The ``found`` most likely secrets the search reaches within ``budget`` queries, in order of
    log-perplexity; with ``target``, the search goes on until the target comes out or the budget is spent (the
    paper's extraction: other likely secrets may come out first), and says whether and after how many
    queries it did."""
    if budget < 1 or found < 1 or batch < 1:
        raise ExposureError("extraction needs a budget, a number of secrets to find and a batch of at least 1")
    model.eval()
    dev = _device(model)
    table = _digit_tokens(tokenizer)
    prefix = [BOS] + tokenizer(fmt.prefix)
    heap: list[tuple[float, str]] = [(0.0, "")]
    out: list[dict] = []
    queries = passes = 0
    hit = None
    # complete secrets already scored still come out after the budget is spent (they cost no more queries)
    while heap and (queries < budget or len(heap[0][1]) == fmt.digits) and \
            (len(out) < found or target is not None) and hit is None:
        if len(heap[0][1]) == fmt.digits:  # a complete secret at the top: no open path is cheaper, so it is next
            cost, digits = heapq.heappop(heap)
            out.append({"secret": digits, "slot_log_perplexity": cost, "queries": queries})
            if digits == target and hit is None:
                hit = queries
            continue
        popped = []  # the cheapest open prefixes, up to a batch, stopping at the first complete one
        while heap and len(popped) < min(batch, budget - queries) and len(heap[0][1]) < fmt.digits:
            popped.append(heapq.heappop(heap))
        by_length: dict[int, list[tuple[float, str]]] = {}
        for item in popped:  # one forward pass per prefix length: the batch may mix them
            by_length.setdefault(len(item[1]), []).append(item)
        for group in by_length.values():
            tokens = torch.tensor([prefix + [table[int(c)] for c in d] for _, d in group], device=dev)
            logp = F.log_softmax(model(tokens)[:, -1].float(), dim=-1)[:, table].double().cpu() * -LOG2E
            queries += len(group)
            passes += 1
            for (cost, digits), row in zip(group, logp.tolist()):
                for d, step in enumerate(row):
                    child = digits + str(d)
                    extra = 0.0
                    if len(child) == fmt.digits and fmt.suffix:
                        extra = float(log_perplexity(model, [fmt.prefix + child + fmt.suffix], tokenizer,
                                                     skip=len(prefix) - 1 + fmt.digits)[0])
                        queries += 1
                        passes += 1
                    heapq.heappush(heap, (cost + step + extra, child))
    return {"found": out, "queries": queries, "forward_passes": passes, "budget": budget, "batch": batch,
            "extracted": hit is not None if target is not None else None, "queries_to_target": hit}
